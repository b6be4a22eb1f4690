"""Wire adapter for urllib3 (`--impl=urllib3`): a PoolManager (a ProxyManager with a proxy) per session.

Requests go through `urlopen()` with `retries=False` (no retry, no redirect: what the scenario
scripts is what urllib3 meets) and `preload_content=True` (the body is read whole and the
connection goes back to the pool, so a second request of the session may reuse it). TLS settings
are urllib3's own `ca_certs`, `cert_file` and `assert_hostname`.

Agent mode (the agent profile): a PoolManager as an application makes it, `request()` with its
defaults. Its default `Retry(3)` (`Retry.DEFAULT`) allows 3 increments in all for one request:
each redirect followed is one (a 4th redirect raises MaxRetryError, "too many redirects"); a
failure to connect is retried for any method; a read error (the connection closed or reset, a read
timeout, after the request was sent) is retried only for the methods of
`Retry.DEFAULT_ALLOWED_METHODS` (GET, HEAD, PUT, DELETE, OPTIONS, TRACE), never for POST; no status
is retried. Redirects are followed by the PoolManager (303 turns the method into GET), which drops
the fields of `Retry.remove_headers_on_redirect` on a redirect to another host. Content codings
are decoded (`decode_content=True`) for the codings urllib3 has decoders for here
(`urllib3.util.request.ACCEPT_ENCODING`: gzip and deflate, br with brotli installed, zstd with a
zstd module); urllib3 sends no Accept-Encoding of its own. urllib3 has no cookie jar. It reads no
environment variable (no proxy, CA bundle or .netrc); the CA is the scenario's `ca_certs`.
`stream()` is `request(preload_content=False)` then `HTTPResponse.stream(chunk_size)`.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin

import urllib3
import urllib3.exceptions as errors
import urllib3.util.request
from urllib3._collections import HTTPHeaderDict

from h1conform.suites.adapters._common import (
    EVERY_FEATURE,
    STDLIB_VALIDATION_ERRORS,
    ClientAdapter,
    close_leftovers,
    decoded_codings,
    http_version,
    raised_in,
    refused_location,
)
from h1conform.suites.harness.agent import FOLLOWS_REDIRECTS, RETRIES, AgentResponse, AgentSession
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
        headers = _header_dict(request)
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


def _header_dict(request: WireRequest) -> HTTPHeaderDict:
    headers = HTTPHeaderDict()
    for name, value in request.headers:
        headers.add(name, value)
    return headers


class _AgentSession(AgentSession):
    """A PoolManager with urllib3's defaults (see the module's docstring)."""

    def __init__(self, timeout: float, tls: TLSConfig | None) -> None:
        self._pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=timeout, read=timeout),
                                         cert_reqs="CERT_REQUIRED", ca_certs=tls.ca_file if tls else None)

    def _open(self, request: WireRequest, *, preload: bool) -> Any:
        try:
            return self._pool.request(request.method, request.url, body=request.body, headers=_header_dict(request),
                                      preload_content=preload)
        except BaseException as exc:
            if _refuses_url(exc) and _acceptable(request.url):
                # urllib3 parses no URL but the request's and the Locations it follows: this one
                # refused a Location.
                refused_location(exc)
            close_leftovers(exc, LEFTOVERS)
            raise

    def send(self, request: WireRequest) -> AgentResponse:
        response = self._open(request, preload=True)
        return AgentResponse(response.status, response.reason or "", list(response.headers.items()), response.data,
                             http_version(response.version), url=_final_url(response, request.url))

    @contextmanager
    def stream(self, request: WireRequest, chunk_size: int) -> Iterator[Iterator[bytes]]:
        response = self._open(request, preload=False)
        try:
            yield response.stream(chunk_size)
        finally:
            response.close()  # closes the connection too: a body not read to its end cannot be reused
            response.release_conn()

    def close(self) -> None:
        self._pool.clear()


def _refuses_url(exc: BaseException) -> bool:
    """Whether `exc` is urllib3's refusal of a URL, or urllib.parse's (urljoin of a Location)."""
    return isinstance(exc, errors.LocationValueError) or (isinstance(exc, ValueError)
                                                          and raised_in(exc) == "urllib.parse")


def _acceptable(url: str) -> bool:
    """Whether urllib3 takes `url` as a request URL: it parses, with a scheme it has pools for."""
    try:
        scheme = urllib3.util.parse_url(url).scheme
    except errors.LocationValueError:
        return False
    return scheme in ("http", "https")


def _final_url(response: Any, requested: str) -> str | None:
    """The URL urllib3 reports for the response (`geturl()`), resolved against the URL requested
    should it be relative. urllib3 1.26 reports the URL of the last redirect followed, else the
    URL `request()` was given for a GET, HEAD, DELETE or OPTIONS, else none."""
    url = response.geturl()
    return urljoin(requested, url) if url is not None else None


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
    if isinstance(exc, errors.DecodeError):
        return ErrorKind.DECODING
    if isinstance(exc, errors.ResponseError) and "redirect" in str(exc):
        # Retry's "too many redirects" (the reason of a MaxRetryError): only when redirects are followed.
        return ErrorKind.REDIRECT
    if isinstance(exc, (errors.InvalidHeader, errors.HeaderParsingError, errors.ResponseNotChunked,
                        *_INVALID_CHUNK_LENGTH)):
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
    # RETRIES: Retry.DEFAULT (see the module's docstring). No COOKIE_JAR: urllib3 has none.
    agent_features = (frozenset({FOLLOWS_REDIRECTS, RETRIES})
                      | decoded_codings(urllib3.util.request.ACCEPT_ENCODING))


WIRE_ADAPTER = Urllib3Adapter(_Session, urllib3_kind, urllib3_fallback, _AgentSession)
