"""A connection step that answers every request by its target, for scenarios where the client
decides how many requests it makes and on which connections (a user agent following redirects,
retrying, sending cookies back).

    server = ScriptedServer(every_connection=[serve(routes)])
    routes["/a"] = b"HTTP/1.1 302 Found\\r\\nLocation: /b\\r\\nContent-Length: 0\\r\\n\\r\\n"
    routes["/b"] = lambda request: b"HTTP/1.1 200 OK\\r\\n..."   # built from what the client sent

A target is looked up whole, then without its query; an unknown target gets a 404 that names it.
A response whose head says `Connection: close` closes the connection after it is sent.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass

from h1conform.servers.connection import ServerConnection
from h1conform.servers.requests import RecordedRequest
from h1conform.servers.steps import Send, Step, next_request

Answer = bytes | Callable[[RecordedRequest], bytes]
Routes = MutableMapping[str, Answer]


def not_found(target: str) -> bytes:
    body = f"no route for {target!r}".encode("latin-1", "replace")
    return b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def answer_for(routes: Routes, request: RecordedRequest) -> bytes:
    """The response bytes for `request`: its route's bytes, or what its route's function returns."""
    target = request.target.decode("latin-1")
    route = routes.get(target, routes.get(target.split("?", 1)[0]))
    if route is None:
        return not_found(target)
    return route(request) if callable(route) else route


def closes_connection(response: bytes) -> bool:
    head = response.split(b"\r\n\r\n", 1)[0].lower()
    return b"\r\nconnection: close" in head


@dataclass(frozen=True)
class Serve(Step):
    """Answer requests from `routes` until the client closes the connection (or a response closes it).

    The routes are read when each request arrives, so a scenario may change them while the client
    runs. A connection the client closes without sending a request ends quietly; a request cut
    short is a script error, as everywhere.
    """

    routes: Routes

    def run(self, conn: ServerConnection) -> None:
        while conn.open and next_request(conn):
            response = answer_for(self.routes, conn.record.requests[-1])
            Send(response).run(conn)
            if closes_connection(response):
                conn.record.events.append("server closed (Connection: close)")
                conn.close()

    def __str__(self) -> str:
        return f"serve({sorted(self.routes)})"


def serve(routes: Routes) -> Serve:
    return Serve(routes)
