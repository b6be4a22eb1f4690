"""The wire adapter every module with the http.client API gets for free.

It drives the module the way everyday code does: one `HTTPConnection` per host and port, kept
across requests of a session (so keep-alive is the module's own behaviour), `request()` with the
body and headers as given, `getresponse()`, then `read()`. Nothing is retried and no connection
is reopened behind the module's back: what a scenario observes is what the module does.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from h1conform.suites.harness.wire import (
    EVERY_FEATURE,
    ErrorKind,
    RefusedInput,
    Response,
    TLSConfig,
    WireAdapter,
    WireRequest,
    WireSession,
)

# http.client's exception names mapped onto error kinds; looked up in the module under test
# first, then in the stdlib (so a module that re-exports the stdlib's classes maps the same).
_KIND_BY_NAME: list[tuple[str, ErrorKind]] = [
    ("IncompleteRead", ErrorKind.INCOMPLETE),
    ("RemoteDisconnected", ErrorKind.CLOSED),  # before BadStatusLine, of which it is a subclass
    ("InvalidURL", ErrorKind.INVALID_INPUT),
    ("BadStatusLine", ErrorKind.PROTOCOL),
    ("LineTooLong", ErrorKind.PROTOCOL),
    ("UnknownProtocol", ErrorKind.PROTOCOL),
    ("UnknownTransferEncoding", ErrorKind.PROTOCOL),
    ("HTTPException", ErrorKind.PROTOCOL),
]


def split_url(url: str) -> tuple[str, str, str]:
    """scheme, authority and request target of a URL, the target exactly as written.

    Not urllib.parse: it strips CR, LF and TAB and would hide from the module under test the very
    characters that URL-injection scenarios give it. An empty path stays empty (adding "/" is the
    client's job, RFC 9112 3.2.1); only the fragment, which never goes on the wire, is dropped.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError(f"not an absolute URL: {url!r}")
    authority_end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    target = rest[authority_end:].partition("#")[0]
    return scheme.lower(), rest[:authority_end], target


class _HeaderPairs:
    """Header pairs that http.client's request() can take in place of a dict, duplicates and all.

    request() only iterates the names (to see which automatic headers to add) and calls items().
    """

    def __init__(self, pairs: tuple[tuple[str, str], ...]) -> None:
        self._pairs = pairs

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._pairs)

    def items(self) -> tuple[tuple[str, str], ...]:
        return self._pairs


def ssl_context(tls: TLSConfig | None) -> ssl.SSLContext:
    """The SSLContext a careful caller builds from these settings (the stdlib's defaults otherwise)."""
    tls = tls or TLSConfig()
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.client_cert is not None:
        context.load_cert_chain(tls.client_cert)
    if not tls.check_hostname:
        context.check_hostname = False
    return context


class _Session(WireSession):
    def __init__(self, module: ModuleType, timeout: float, tls: TLSConfig | None, proxy: str | None) -> None:
        self._module = module
        self._timeout = timeout
        self._tls = tls
        self._proxy = split_url(proxy)[1] if proxy is not None else None
        self._connections: dict[tuple[str, str], Any] = {}

    def send(self, request: WireRequest) -> Response:
        scheme, netloc, target = split_url(request.url)
        key = (scheme, netloc)
        conn = self._connections.get(key)
        if conn is None:
            conn = self._open(scheme, netloc)
            self._connections[key] = conn
        if self._proxy is not None and scheme == "http":
            # Through a forward proxy, the request target is the absolute URI (RFC 9112 3.2.2).
            target = request.url.partition("#")[0]
        try:
            try:
                conn.request(request.method, target, body=request.body,
                             headers=_HeaderPairs(tuple(request.headers)))
            except ValueError as refused:
                if isinstance(refused, ssl.SSLError | ssl.CertificateError):
                    raise  # a failed handshake (SSLCertVerificationError is a ValueError too)
                # http.client validates the method, URL (InvalidURL is a ValueError) and headers
                # while building the request, before a byte is sent. Scenarios that care also
                # check that the server received nothing.
                raise RefusedInput(str(refused)) from refused
            response = conn.getresponse()
            try:
                body = response.read()
            finally:
                response.close()  # a module whose read() leaves the response open must not leak it
        except BaseException:
            # After an error the connection is in an unknown state: drop it, as callers do.
            del self._connections[key]
            conn.close()
            raise
        version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(getattr(response, "version", None) or 0)
        return Response(response.status, response.reason, list(response.getheaders()), body, version)

    def _open(self, scheme: str, netloc: str) -> Any:
        if scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme {scheme!r}")
        address = self._proxy or netloc
        if scheme == "http":
            return self._module.HTTPConnection(address, timeout=self._timeout)
        conn = self._module.HTTPSConnection(address, timeout=self._timeout, context=ssl_context(self._tls))
        if self._proxy is not None:
            host, port = _host_port(netloc)
            conn.set_tunnel(host, port)
        return conn

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()


def _host_port(netloc: str) -> tuple[str, int | None]:
    """Host (IPv6 literals without brackets, as set_tunnel wants them) and port of an authority."""
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, separator, port = netloc.rpartition(":")
    return (host, int(port)) if separator else (netloc, None)


def _classes(module: ModuleType, class_name: str) -> tuple[type[BaseException], ...]:
    """The exception class of that name in the module under test and in the stdlib's http.client."""
    found = (getattr(source, class_name, None) for source in (module, http.client))
    return tuple(dict.fromkeys(cls for cls in found if isinstance(cls, type) and issubclass(cls, BaseException)))


class HTTPClientAPIAdapter(WireAdapter):
    """Wire adapter for any module that offers http.client's HTTPConnection API."""

    features = EVERY_FEATURE
    no_agent_mode = ("an http.client-API module hands redirects, retries, cookies and content codings to "
                     "its caller: it has no user-agent behaviour of its own to test")

    def __init__(self, module: ModuleType, name: str) -> None:
        self.module = module
        self.name = name
        # http.client's checks of the method and header fields raise ValueError, of the URL InvalidURL.
        self.validation_errors: tuple[type[BaseException], ...] = (ValueError, *_classes(module, "InvalidURL"))

    def open_session(self, *, timeout: float, tls: TLSConfig | None = None, proxy: str | None = None) -> WireSession:
        return _Session(self.module, timeout, tls, proxy)

    def classify(self, exc: BaseException) -> ErrorKind | None:
        for class_name, kind in _KIND_BY_NAME:
            if isinstance(exc, _classes(self.module, class_name)):
                return kind
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return ErrorKind.TIMEOUT
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            return ErrorKind.TLS
        if isinstance(exc, ConnectionError):  # reset, aborted, broken pipe, refused
            return ErrorKind.CLOSED
        return None
