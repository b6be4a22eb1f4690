"""A minimal wire adapter, registered as `example-wire` (see pyproject.toml).

It drives http.client.HTTPConnection for plain http URLs only. What it cannot express it does not
declare in `features` (no TLS, proxy, duplicate or custom-method support claimed here), so those
scenarios are reported unsupported rather than passed. Exceptions are mapped onto error kinds in
`classify`; anything else it cannot classify ends as `unclassified` in the report.
"""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

from h1conform.suites.harness.wire import (
    FEATURE_REASON,
    FEATURE_VERSION,
    ErrorKind,
    RefusedInput,
    Response,
    TLSConfig,
    Unsupported,
    WireAdapter,
    WireRequest,
    WireSession,
)


class ExampleSession(WireSession):
    """One connection per host:port, kept for the session so that keep-alive scenarios mean something."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.connections: dict[str, http.client.HTTPConnection] = {}

    def send(self, request: WireRequest) -> Response:
        url = urlsplit(request.url)
        if url.scheme != "http":
            raise Unsupported("the example adapter speaks plain http only")
        conn = self.connections.get(url.netloc)
        if conn is None:
            conn = self.connections[url.netloc] = http.client.HTTPConnection(url.netloc, timeout=self.timeout)
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        try:
            try:
                conn.request(request.method, target, body=request.body, headers=dict(request.headers))
            except ValueError as refused:  # http.client checks method, URL and fields before sending
                raise RefusedInput(str(refused)) from refused
            response = conn.getresponse()
            body = response.read()
        except BaseException:
            del self.connections[url.netloc]
            conn.close()
            raise
        return Response(response.status, response.reason, response.getheaders(), body,
                        "HTTP/1.0" if response.version == 10 else "HTTP/1.1")

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()


class ExampleAdapter(WireAdapter):
    name = "example-wire"
    features = frozenset({FEATURE_REASON, FEATURE_VERSION})
    # What http.client raises when it refuses a request before sending: only these prove a refusal.
    validation_errors = (ValueError, http.client.InvalidURL)

    def open_session(self, *, timeout: float, tls: TLSConfig | None = None, proxy: str | None = None) -> WireSession:
        if tls is not None or proxy is not None:
            raise Unsupported("the example adapter has no TLS or proxy settings")
        return ExampleSession(timeout)

    def classify(self, exc: BaseException) -> ErrorKind | None:
        if isinstance(exc, http.client.IncompleteRead):
            return ErrorKind.INCOMPLETE
        if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError):
            return ErrorKind.CLOSED
        if isinstance(exc, http.client.HTTPException):
            return ErrorKind.PROTOCOL
        if isinstance(exc, socket.timeout):
            return ErrorKind.TIMEOUT
        return None


WIRE_ADAPTER = ExampleAdapter()
