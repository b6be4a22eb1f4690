"""Wire adapter for urllib3 (`--impl=urllib3`): a PoolManager (a ProxyManager with a proxy) per session.

Requests go through `urlopen()` with `retries=False` (no retry, no redirect: what the scenario
scripts is what urllib3 meets) and `preload_content=True` (the body is read whole and the
connection goes back to the pool, so a second request of the session may reuse it). TLS settings
are urllib3's own `ca_certs`, `cert_file` and `assert_hostname`.
"""

from __future__ import annotations

import http.client
from typing import Any

import urllib3
import urllib3.exceptions as errors
from urllib3._collections import HTTPHeaderDict

from h1conform.suites.adapters._common import (
    EVERY_FEATURE,
    STDLIB_VALIDATION_ERRORS,
    ClientAdapter,
    close_leftovers,
    http_version,
)
from h1conform.suites.harness.wire import (
    ErrorKind,
    RefusedInput,
    Response,
    TLSConfig,
    WireRequest,
    WireSession,
)

# What urllib3 may leave open when it raises (see close_leftovers).
LEFTOVERS = (http.client.HTTPResponse,)

# urllib3 checks URLs (LocationValueError, and URLSchemeUnknown where the release has it), methods
# and header fields (the last two through http.client's putrequest and putheader, which raise
# ValueError; InvalidURL for the target) while building the request, before a byte is sent.
VALIDATION_ERRORS: tuple[type[BaseException], ...] = (
    errors.LocationValueError, getattr(errors, "URLSchemeUnknown", errors.LocationValueError), *STDLIB_VALIDATION_ERRORS)
# InvalidChunkLength (a bad chunk-size line) appeared in urllib3 1.26.9; before, it is a ProtocolError.
_INVALID_CHUNK_LENGTH: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(errors, "InvalidChunkLength", None),) if isinstance(cls, type))


class _Session(WireSession):
    def __init__(self, timeout: float, tls: TLSConfig | None, proxy: str | None) -> None:
        tls = tls or TLSConfig()
        options: dict[str, Any] = {
            "timeout": urllib3.Timeout(connect=timeout, read=timeout),
            "retries": False,
            "cert_reqs": "CERT_REQUIRED",
            "ca_certs": tls.ca_file,
            "cert_file": tls.client_cert,
        }
        if not tls.check_hostname:
            # Only when needed: urllib3 1.26's PoolManager hands it to plain-HTTP connections too,
            # whose constructor has no such parameter.
            options["assert_hostname"] = False
        self._pool = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)

    def send(self, request: WireRequest) -> Response:
        headers = HTTPHeaderDict()
        for name, value in request.headers:
            headers.add(name, value)
        try:
            response = self._pool.urlopen(request.method, request.url, body=request.body, headers=headers,
                                          retries=False, redirect=False, preload_content=True)
        except VALIDATION_ERRORS as refused:
            if isinstance(refused, errors.HTTPError) and not isinstance(refused, errors.LocationValueError):
                close_leftovers(refused, LEFTOVERS)
                raise
            raise RefusedInput(str(refused)) from refused
        except BaseException as exc:
            close_leftovers(exc, LEFTOVERS)
            raise
        return Response(response.status, response.reason or "", list(response.headers.items()), response.data,
                        http_version(response.version))

    def close(self) -> None:
        self._pool.clear()


def urllib3_kind(exc: BaseException) -> ErrorKind | None:
    """The kind of one of urllib3's precise exceptions (None for its generic wrappers); requests uses it too."""
    if isinstance(exc, _INVALID_CHUNK_LENGTH):
        # urllib3 makes a bad chunk-size line an IncompleteRead; it is one only when the line is missing.
        return ErrorKind.INCOMPLETE if not getattr(exc, "length", None) else ErrorKind.PROTOCOL
    if isinstance(exc, errors.IncompleteRead):
        # A negative number still expected means urllib3 read more than the Content-Length it took
        # (http.client read on to the close): the body overran its framing, nothing is missing.
        return ErrorKind.PROTOCOL if (exc.expected or 0) < 0 else ErrorKind.INCOMPLETE
    if isinstance(exc, errors.TimeoutError):
        return ErrorKind.TIMEOUT
    if isinstance(exc, errors.ProtocolError) and "ended prematurely" in str(exc):
        return ErrorKind.INCOMPLETE
    if isinstance(exc, (errors.InvalidHeader, errors.HeaderParsingError, errors.DecodeError,
                        errors.ResponseNotChunked, *_INVALID_CHUNK_LENGTH)):
        return ErrorKind.PROTOCOL
    return None


def urllib3_fallback(exc: BaseException) -> ErrorKind | None:
    # A generic wrapper whose cause told nothing more precise.
    if isinstance(exc, errors.SSLError):
        return ErrorKind.TLS
    if isinstance(exc, (errors.ProtocolError, errors.ProxyError)):
        return ErrorKind.PROTOCOL
    if isinstance(exc, errors.NewConnectionError):
        return ErrorKind.CLOSED
    return None


class Urllib3Adapter(ClientAdapter):
    name = "urllib3"
    features = EVERY_FEATURE
    validation_errors = VALIDATION_ERRORS


WIRE_ADAPTER = Urllib3Adapter(_Session, urllib3_kind, urllib3_fallback)
