"""The scripted CONNECT proxy: steps that make a ScriptedServer connection act as an HTTP proxy.

A proxy is an ordinary `ScriptedServer`; what makes one of its connections a proxy's is the script:

    proxy.add_connection(expect_connect(), send(ESTABLISHED), relay(origin))

`expect_connect()` reads and records the CONNECT request (h11 parses the authority-form target),
`send()` answers it with exact bytes (200, another 2xx, 407 with Proxy-Authenticate, 5xx, a
malformed or oversized head, or nothing at all before `close()`), and `relay(origin)` opens a TCP
connection to another scripted server and pipes bytes both ways until either side closes. The
relay works on bytes, so a TLS origin works unchanged and its own records show exactly what came
through the tunnel (that a Proxy-Authorization meant for the proxy never reached it, say).

Forward-proxy requests for http URLs need nothing new: `respond(...)` on the proxy records the
absolute-form request and answers it in the origin's place.
"""

from __future__ import annotations

import select
import socket
from dataclasses import dataclass
from typing import Protocol

from h1conform.servers.connection import RECV_SIZE, ScriptError, ServerConnection, ServerShutdown
from h1conform.servers.steps import ExpectRequest, Step, send

# The reply most proxies send to a CONNECT they accept.
ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"


def proxy_auth_required(challenge: bytes = b'Basic realm="scripted proxy"', body: bytes = b"") -> bytes:
    """A 407 reply carrying a Proxy-Authenticate challenge (RFC 9110 11.7.1) and an optional body."""
    return (b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: " + challenge
            + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


class Address(Protocol):
    """Anything with a host and a port to connect to: a ScriptedServer, or a `(host, port)` pair via at()."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


@dataclass(frozen=True)
class _Endpoint:
    host: str
    port: int


def at(host: str, port: int) -> Address:
    """An address for relay() that is not a ScriptedServer."""
    return _Endpoint(host, port)


@dataclass(frozen=True)
class ExpectConnect(Step):
    """Read one request, which must be a CONNECT, and record it."""

    awaits_client = True

    strict: bool = True
    timeout: float | None = None

    def run(self, conn: ServerConnection) -> None:
        ExpectRequest(body=True, strict=self.strict, timeout=self.timeout).run(conn)
        request = conn.record.requests[-1]
        if self.strict and request.method != b"CONNECT":
            raise ScriptError(f"the proxy expected a CONNECT request, the client sent {request.head[:300]!r}")

    def __str__(self) -> str:
        return "expect_connect()" if self.strict else "expect_connect(strict=False)"


@dataclass(frozen=True)
class Relay(Step):
    """Connect to `origin` and pipe bytes both ways until either side closes, then close both.

    RFC 9110 9.3.6: "A tunnel is closed when a tunnel intermediary detects that either side has
    closed its connection: the intermediary MUST attempt to send any outstanding data that came
    from the closed side to the other side, close both connections". Bytes are forwarded as they
    arrive, so nothing is outstanding when an end is seen. Bytes from the client are recorded in
    this connection's record as usual (`record.unparsed` holds the tunnelled ones), bytes from the
    origin in `record.sent`. The step ends at the first close, or when the proxy shuts down; it is
    the last step of a script (the connection is closed after it).
    """

    origin: Address

    def run(self, conn: ServerConnection) -> None:
        record = conn.record
        target = f"{self.origin.host}:{self.origin.port}"
        try:
            upstream = socket.create_connection((self.origin.host, self.origin.port), timeout=conn.timeout)
        except OSError as exc:
            raise ScriptError(f"relay: cannot connect to the origin {target}: {exc}") from None
        try:
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            record.events.append(f"relay to {target} opened")
            if conn.pending:  # bytes the client sent right after the CONNECT head
                upstream.sendall(conn.pending)
                conn.pending = b""
            self._pipe(conn, upstream)
        finally:
            upstream.close()
            conn.close()

    @staticmethod
    def _pipe(conn: ServerConnection, upstream: socket.socket) -> None:
        record = conn.record
        # The connection's wake-up socket ends the wait when the proxy shuts down.
        wake = conn._wake
        while True:
            with conn.awaiting_client():  # the origin's own server says when it is the one working
                readable, _, _ = select.select([conn.sock, upstream, wake], [], [])
            if wake in readable:
                raise ServerShutdown
            if conn.sock in readable:
                data = conn.receive(timeout=None)  # records the bytes, or the client's close
                if not data:
                    record.events.append("relay: the client closed the tunnel; origin side closed")
                    return
                try:
                    upstream.sendall(data)
                except OSError as exc:
                    record.events.append(f"relay: the origin is gone ({type(exc).__name__}); client side closed")
                    return
            if upstream in readable:
                try:
                    data = upstream.recv(RECV_SIZE)
                except OSError:
                    data = b""
                if not data:
                    record.events.append("relay: the origin closed the tunnel; client side closed")
                    return
                if not conn.send(data):
                    return

    def __str__(self) -> str:
        return f"relay({self.origin.host}:{self.origin.port})"


def expect_connect(*, strict: bool = True, timeout: float | None = None) -> Step:
    """Read the client's CONNECT request; with `strict`, h11 must accept it and it must be a CONNECT."""
    return ExpectConnect(strict=strict, timeout=timeout)


def relay(origin: Address) -> Step:
    """Pipe bytes between the client and `origin` (a ScriptedServer, or `at(host, port)`) until one closes."""
    return Relay(origin)


def tunnel(origin: Address, reply: bytes = ESTABLISHED) -> list[Step]:
    """The common proxy script: read a CONNECT, accept it with `reply`, relay to `origin`."""
    return [expect_connect(), send(reply), relay(origin)]


__all__ = [
    "ESTABLISHED", "Address", "ExpectConnect", "Relay", "at", "expect_connect", "proxy_auth_required", "relay",
    "tunnel",
]
