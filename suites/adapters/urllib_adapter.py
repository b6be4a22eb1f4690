"""Wire adapter for urllib.request (`--impl=urllib`): one `OpenerDirector` per session.

The opener is built by hand from urllib's own handlers: a `ProxyHandler` with the session's proxy
only (an empty one otherwise: no proxy from the environment), `HTTPHandler`, `HTTPSHandler` with the
session's `ssl.SSLContext`, and `UnknownHandler`. Without `HTTPRedirectHandler` and
`HTTPErrorProcessor`, every status comes back as a response (no redirect followed, no HTTPError
raised for 4xx/5xx). urllib.request opens a connection per request and asks for `Connection: close`:
keep-alive scenarios show that. Request headers are a dict keyed by `str.capitalize()`d names, so a
field name given twice cannot be sent (Unsupported).
"""

from __future__ import annotations

import urllib.error
import urllib.request

from h1conform.suites.adapters._common import (
    EVERY_FEATURE,
    STDLIB_VALIDATION_ERRORS,
    ClientAdapter,
    http_version,
    no_duplicates,
    ssl_context,
)
from h1conform.suites.harness.wire import (
    FEATURE_DUPLICATE_HEADERS,
    FEATURE_PERSISTENT,
    ErrorKind,
    RefusedInput,
    Response,
    TLSConfig,
    WireRequest,
    WireSession,
)


class _Session(WireSession):
    def __init__(self, timeout: float, tls: TLSConfig | None, proxy: str | None) -> None:
        self._timeout = timeout
        self._opener = urllib.request.OpenerDirector()
        proxies = {"http": proxy, "https": proxy} if proxy is not None else {}
        for handler in (urllib.request.ProxyHandler(proxies), urllib.request.UnknownHandler(),
                        urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(context=ssl_context(tls))):
            self._opener.add_handler(handler)

    def send(self, request: WireRequest) -> Response:
        no_duplicates(request, "urllib.request")
        try:
            prepared = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers),
                                              method=request.method)
        except ValueError as refused:
            raise RefusedInput(str(refused)) from refused
        try:
            response = self._opener.open(prepared, timeout=self._timeout)
        except ValueError as refused:
            # http.client's checks of the URL (InvalidURL), method and header fields, made while
            # building the request line and header section, before any byte is sent.
            raise RefusedInput(str(refused)) from refused
        except urllib.error.URLError as error:
            if isinstance(error.reason, str) and error.reason.startswith("unknown url type"):
                raise RefusedInput(error.reason) from error
            raise
        with response:
            body = response.read()
        return Response(response.status, response.reason, list(response.headers.items()), body,
                        http_version(response.version))

    def close(self) -> None:
        self._opener.close()


def _fallback(exc: BaseException) -> ErrorKind | None:
    # A URLError whose reason told nothing more precise (a refused connection...).
    return ErrorKind.CLOSED if isinstance(exc, urllib.error.URLError) else None


class UrllibAdapter(ClientAdapter):
    name = "urllib"
    # Not FEATURE_DUPLICATE_HEADERS: request headers are a dict.
    # urllib.request sends "Connection: close" with every request (RFC9112-9.3-p4-s1 lets a client
    # that does not keep connections do so): scenarios that need a reused connection are unsupported.
    features = EVERY_FEATURE - {FEATURE_DUPLICATE_HEADERS, FEATURE_PERSISTENT}
    # urllib.request's and http.client's checks of the URL, method and fields (ValueError,
    # InvalidURL), and the URLError it raises for a URL of unknown type (only that one is refused).
    validation_errors = (*STDLIB_VALIDATION_ERRORS, urllib.error.URLError)


WIRE_ADAPTER = UrllibAdapter(_Session, fallback=_fallback)
