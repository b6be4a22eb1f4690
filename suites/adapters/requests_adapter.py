"""Wire adapter for requests (`--impl=requests`): one `requests.Session` per session.

The session has `trust_env = False` (no proxy, CA bundle or .netrc from the environment), keeps its
default headers (User-Agent, Accept-Encoding, Accept, Connection: keep-alive) and its transport's
default of no retries; redirects are not followed. TLS settings are requests' own `verify=` and
`cert=`; `check_hostname=False` mounts a transport adapter whose pools skip the name check (the
documented way to tune urllib3 under requests). A field name given twice cannot be sent: requests
keeps request headers in a case-insensitive dict (Unsupported). Response headers are
`Response.headers`, where requests joins repeated fields with ", ".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import requests.adapters
import requests.exceptions as errors
import requests.utils

from h1conform.suites.adapters._common import (
    EVERY_FEATURE,
    ClientAdapter,
    close_leftovers,
    decoded_codings,
    http_version,
    no_duplicates,
    refused_location,
)
from h1conform.suites.adapters.urllib3_adapter import LEFTOVERS, urllib3_fallback, urllib3_kind
from h1conform.suites.adapters.urllib3_adapter import VALIDATION_ERRORS as URLLIB3_VALIDATION_ERRORS
from h1conform.suites.harness.agent import COOKIE_JAR, FOLLOWS_REDIRECTS, AgentResponse, AgentSession
from h1conform.suites.harness.wire import (
    FEATURE_DUPLICATE_HEADERS,
    ErrorKind,
    RefusedInput,
    Response,
    TLSConfig,
    WireRequest,
    WireSession,
)

# requests checks the URL and header fields while preparing the request; urllib3 and http.client
# check the method, target and fields while sending, before any byte goes out.
VALIDATION_ERRORS: tuple[type[BaseException], ...] = (
    errors.InvalidURL, errors.MissingSchema, errors.InvalidSchema, errors.InvalidHeader,
    errors.URLRequired, *URLLIB3_VALIDATION_ERRORS)


class _NoHostnameCheck(requests.adapters.HTTPAdapter):
    """requests' transport adapter with pools that verify the chain but not the server's name."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, assert_hostname=False, **kwargs)


class _Session(WireSession):
    def __init__(self, timeout: float, tls: TLSConfig | None, proxy: str | None) -> None:
        tls = tls or TLSConfig()
        self._timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.verify = tls.ca_file or True
        self._session.cert = tls.client_cert
        if not tls.check_hostname:
            self._session.mount("https://", _NoHostnameCheck())
        if proxy is not None:
            self._session.proxies = {"http": proxy, "https": proxy}

    def send(self, request: WireRequest) -> Response:
        no_duplicates(request, "requests")
        try:
            prepared = self._session.prepare_request(requests.Request(
                request.method, request.url, headers=dict(request.headers), data=request.body))
        except (ValueError, errors.RequestException) as refused:
            raise RefusedInput(str(refused)) from refused
        try:
            response = self._session.send(prepared, timeout=(self._timeout, self._timeout), allow_redirects=False)
        except ValueError as refused:
            # Raised (not wrapped) by urllib3 and http.client's checks of the method and header
            # fields, while building the request line and header section, before any byte is sent.
            if isinstance(refused, errors.RequestException):
                close_leftovers(refused, LEFTOVERS)
                raise
            raise RefusedInput(str(refused)) from refused
        except BaseException as exc:
            close_leftovers(exc, LEFTOVERS)
            raise
        with response:
            body = response.content
        return Response(response.status_code, response.reason or "", list(response.headers.items()), body,
                        http_version(getattr(response.raw, "version", None)))

    def close(self) -> None:
        self._session.close()


class _AgentSession(AgentSession):
    """A `requests.Session` with its defaults, as an application uses it: redirects followed (30 at
    most), bodies decoded, cookies kept in the session's jar, no retries (its transport's default);
    only the environment is left out (`trust_env = False`), and the CA is the scenario's.

    A response hook (requests' own `hooks`, called for every response, redirects included) notes
    whether a redirect came: a URL refused after one (ValueError: requests' InvalidURL and
    InvalidSchema, urllib3's LocationValueError, urllib.parse's) came from its Location."""

    def __init__(self, timeout: float, tls: TLSConfig | None) -> None:
        self._timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.verify = (tls.ca_file if tls else None) or True
        self._redirected = False

    def _note(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._redirected = self._redirected or response.is_redirect

    def _request(self, request: WireRequest, *, stream: bool) -> requests.Response:
        no_duplicates(request, "requests")
        self._redirected = False
        try:
            return self._session.request(request.method, request.url, headers=dict(request.headers),
                                         data=request.body, timeout=(self._timeout, self._timeout), stream=stream,
                                         hooks={"response": self._note})
        except BaseException as exc:
            if isinstance(exc, ValueError) and self._redirected:
                refused_location(exc)
            raise

    def send(self, request: WireRequest) -> AgentResponse:
        # Read in the adapter's own `with`, so that a body that fails to decode still closes its
        # connection at once; with stream=False requests drops such a response to the garbage
        # collector, which a run that forces collections reports as a leak of whichever object dies first.
        with self._request(request, stream=True) as response:
            body = response.content
        return AgentResponse(response.status_code, response.reason or "", list(response.headers.items()), body,
                             http_version(getattr(response.raw, "version", None)), url=response.url)

    @contextmanager
    def stream(self, request: WireRequest, chunk_size: int) -> Iterator[Iterator[bytes]]:
        with self._request(request, stream=True) as response:
            yield response.iter_content(chunk_size)

    def close(self) -> None:
        self._session.close()


def _kind(exc: BaseException) -> ErrorKind | None:
    if isinstance(exc, errors.Timeout):
        return ErrorKind.TIMEOUT
    if isinstance(exc, errors.ContentDecodingError):
        return ErrorKind.DECODING
    if isinstance(exc, errors.TooManyRedirects):
        return ErrorKind.REDIRECT
    return urllib3_kind(exc)


def _fallback(exc: BaseException) -> ErrorKind | None:
    if isinstance(exc, errors.SSLError):
        return ErrorKind.TLS
    if isinstance(exc, errors.ChunkedEncodingError):
        return ErrorKind.INCOMPLETE
    if isinstance(exc, (errors.ProxyError, errors.InvalidHeader)):
        return ErrorKind.PROTOCOL
    if isinstance(exc, errors.ConnectionError):
        return ErrorKind.CLOSED
    return urllib3_fallback(exc)


class RequestsAdapter(ClientAdapter):
    name = "requests"
    # Not FEATURE_DUPLICATE_HEADERS: request headers are a mapping.
    features = EVERY_FEATURE - {FEATURE_DUPLICATE_HEADERS}
    validation_errors = VALIDATION_ERRORS
    # Not RETRIES: its transport adapters retry nothing unless given max_retries.
    agent_features = (frozenset({FOLLOWS_REDIRECTS, COOKIE_JAR})
                      | decoded_codings(requests.utils.DEFAULT_ACCEPT_ENCODING))


WIRE_ADAPTER = RequestsAdapter(_Session, _kind, _fallback, _AgentSession)
