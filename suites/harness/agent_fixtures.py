"""Fixtures of the agent profile: origins (scripted servers answering by routes) and the `agent` face.

    def test_x(origins, agent):
        first, other = origins.http(), origins.http()        # two origins: other ports
        first.routes["/a"] = redirect(302, other.url("/b"))
        other.routes["/b"] = OK
        outcome = agent.request("GET", first.url("/a"), timeout=CLIENT_TIMEOUT)

An origin is a scheme, host and port (RFC 6454): `origins.http()` and `origins.https()` make a new
port, and `origin.url(path, host="localhost")` names the same server under another host, another
origin for the client. Registered by suites/plugin.py (`pytest_plugins`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from h1conform.servers import CertKind, RecordedRequest, ScriptedServer, TestPKI, serve
from h1conform.servers.routes import Answer
from h1conform.suites.harness import containment
from h1conform.suites.harness.agent import AgentClient
from h1conform.suites.harness.impls import Implementation
from h1conform.suites.harness.wire import TLSConfig


class Origin:
    """A server answering every request by its target from `routes` (servers/routes.py)."""

    def __init__(self, server: ScriptedServer, routes: dict[str, Answer]) -> None:
        self.server = server
        self.routes = routes

    @property
    def scheme(self) -> str:
        return "https" if self.server.tls is not None else "http"

    def url(self, path: str = "/", host: str | None = None) -> str:
        """This server's URL for `path`; under `host` (say "localhost" for 127.0.0.1), another origin."""
        name = host or (f"[{self.server.host}]" if ":" in self.server.host else self.server.host)
        return f"{self.scheme}://{name}:{self.server.port}{path}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request this server received, in the order of its connections; not the empty
        record of a request a kept-alive connection is still waiting for."""
        return [request for request in self.server.requests if request.raw]


class Origins:
    """Makes the origins of one scenario; each is closed at teardown with the scenario's servers."""

    def __init__(self, make_server: Callable[..., ScriptedServer], pki: Callable[[], TestPKI]) -> None:
        self._make_server = make_server
        self._pki = pki

    def http(self, host: str = "127.0.0.1") -> Origin:
        routes: dict[str, Answer] = {}
        return Origin(self._make_server(host, every_connection=[serve(routes)]), routes)

    def https(self, host: str = "127.0.0.1") -> Origin:
        routes: dict[str, Answer] = {}
        tls = self._pki().server(CertKind.GOOD)
        return Origin(self._make_server(host, tls=tls, every_connection=[serve(routes)]), routes)

    @property
    def tls(self) -> TLSConfig:
        """What an agent session trusts: the test CA of the https origins."""
        return TLSConfig(ca_file=str(self._pki().ca_file))


@pytest.fixture
def origins(make_server: Callable[..., ScriptedServer], request: pytest.FixtureRequest) -> Origins:
    """The scenario's origins; the test CA is made (once per session) only when one is https."""
    return Origins(make_server, lambda: request.getfixturevalue("tls_pki"))


@pytest.fixture
def agent(impl: Implementation, request: pytest.FixtureRequest) -> Iterator[AgentClient]:
    """The implementation as a user agent (agent profile)."""
    threads = containment.ThreadWatch(request.node.nodeid)
    handle = AgentClient(impl.name, impl.wire)
    yield handle
    with containment.client_code("closing its sessions", closing=True):
        handle.close_all()
    threads.check()


def redirect(status: int, location: str, *, extra: bytes = b"") -> bytes:
    """A redirect response with an empty body, kept alive."""
    return (b"HTTP/1.1 %d Redirect\r\nLocation: %s\r\nContent-Length: 0\r\n%s\r\n"
            % (status, location.encode("latin-1"), extra))


def ok(body: bytes = b"ok", *, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


__all__ = ["Origin", "Origins", "agent", "ok", "origins", "redirect"]
