"""What scenarios receive: the api face (`client`) and the wire face (`wire`) of an implementation.

Both track what they open and close it at teardown, so a scenario never leaks a socket even when
it fails halfway.
"""

from __future__ import annotations

import socket
from types import ModuleType
from typing import Any

from h1conform.servers import ScriptedServer
from h1conform.suites.harness.containment import client_starts, close_each
from h1conform.suites.harness.impls import Implementation
from h1conform.suites.harness.wire import CLIENT_TIMEOUT, Headers, Outcome, SessionHandle, TLSConfig, Unsupported

__all__ = ["CLIENT_TIMEOUT", "ApiClient", "WireClient", "cannot_express"]



class ApiClient:
    """The http.client-API module under test, with connections that are closed at teardown."""

    def __init__(self, impl: Implementation) -> None:
        assert impl.module is not None
        self.impl = impl
        self.module: ModuleType = impl.module
        self._opened: list[Any] = []

    def connect(self, server: ScriptedServer, **kwargs: Any) -> Any:
        """`module.HTTPConnection` to the server, with CLIENT_TIMEOUT unless told otherwise."""
        kwargs.setdefault("timeout", CLIENT_TIMEOUT)
        return self.track(self.module.HTTPConnection(server.host, server.port, **kwargs))

    def connect_via(self, server: ScriptedServer, *args: Any) -> Any:
        """`module.HTTPConnection(*args)` (a host that need not resolve, and its port) whose socket
        goes to the scripted server instead: what it sends for that host is seen there."""

        class Redirected(self.module.HTTPConnection):  # type: ignore[name-defined,misc]
            def connect(self) -> None:
                self.sock = socket.create_connection((server.host, server.port), self.timeout)

        return self.track(Redirected(*args, timeout=CLIENT_TIMEOUT))

    def track(self, conn: Any) -> Any:
        """Close `conn` (anything with close()) at teardown."""
        client_starts()
        self._opened.append(conn)
        return conn

    def close_all(self) -> None:
        """Close every tracked connection, even when closing one fails (then raise that)."""
        close_each(self._opened, lambda conn: conn.close())


def cannot_express(impl_name: str, features: set[str] | frozenset[str]) -> str:
    """The reason a wire scenario is unsupported for an adapter without these features."""
    return f"{impl_name}'s adapter cannot express {sorted(features)}"


class WireClient:
    """The implementation's wire adapter, as scenarios use it."""

    def __init__(self, impl: Implementation) -> None:
        self.impl = impl
        self.features = impl.wire.features
        self._sessions: list[SessionHandle] = []

    def session(self, *, timeout: float = CLIENT_TIMEOUT, tls: TLSConfig | None = None,
                proxy: str | None = None) -> SessionHandle:
        """A session: its requests may reuse connections. Closed at teardown if not before."""
        client_starts()
        handle = SessionHandle(self.impl.wire, self.impl.wire.open_session(timeout=timeout, tls=tls, proxy=proxy))
        self._sessions.append(handle)
        return handle

    def require(self, feature: str, why: str) -> None:
        """Unsupported unless the adapter declares `feature`: for a row that needs it where the rest
        of its scenario does not (a row that checks a kept connection, for a client that opens one
        per request)."""
        if feature not in self.features:
            raise Unsupported(f"{cannot_express(self.impl.name, {feature})}: {why}")

    def request(self, method: str, url: str, headers: Headers = (), body: bytes | None = None,
                *, timeout: float = CLIENT_TIMEOUT, tls: TLSConfig | None = None,
                proxy: str | None = None) -> Outcome:
        """One request in a session of its own."""
        with self.session(timeout=timeout, tls=tls, proxy=proxy) as session:
            return session.request(method, url, headers, body)

    def close_all(self) -> None:
        """Close every session, even when closing one fails (then raise that)."""
        close_each(self._sessions, lambda session: session.close())
