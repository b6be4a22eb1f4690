"""Wire adapter for httpx (`--impl=httpx`): one sync `httpx.Client` per session.

The client has `trust_env=False` (no proxy, CA bundle, SSLKEYLOGFILE or .netrc from the
environment), follows no redirect (httpx's default) and has the session's timeout for connect,
read, write and pool. TLS settings go in an `ssl.SSLContext` passed as `verify=` (the way httpx 0.28
documents: its `cert=` and string `verify=` are deprecated); a proxy is `proxy=`. Request headers
are a list of pairs of bytes, so a field name given twice is sent twice and a value may hold
obs-text: httpx encodes a str value as ASCII only, and takes bytes for any other octet. Response
headers are `Response.headers.raw`, in order, repeats kept, each name as the server sent it (the
str views lower-case names, which RFC 9110 5.1 lets a recipient do but hides what was received);
the reason phrase is the `reason_phrase` extension, the octets received (`Response.reason_phrase`
drops every octet that is not ASCII). The wire profile holds octets as ISO-8859-1 text, as
http.client does, so these bytes are decoded so; httpx's own str views decode the same octets as
ASCII, UTF-8 or ISO-8859-1 (`Headers.encoding`), nothing is lost either way.

Agent mode (the agent profile): an `httpx.Client` as an application makes it, with the one
setting that turns on its redirect following, `follow_redirects=True` (httpx follows none by
default), and its defaults otherwise: at most 20 redirects (`max_redirects`), the client's cookie
jar (`Client.cookies`), the content codings it has decoders for here, as its default
Accept-Encoding offers them (gzip and deflate; br with brotli or brotlicffi, zstd with zstandard
installed), and its transport's `retries=0`: httpx repeats no request (not RETRIES).
`trust_env=False` keeps the environment out; the CA is the scenario's (an SSLContext). A response
hook (httpx's `event_hooks`, called for every response, redirects included) notes whether a
redirect came, so that a URL refused after one is classified as a refused redirect. `stream()` is
`Client.stream()` and `Response.iter_bytes(chunk_size)`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from h1conform.suites.adapters._common import (
    EVERY_FEATURE,
    ClientAdapter,
    decoded_codings,
    refused_location,
    ssl_context,
)
from h1conform.suites.harness.agent import COOKIE_JAR, FOLLOWS_REDIRECTS, AgentResponse, AgentSession
from h1conform.suites.harness.wire import (
    ErrorKind,
    Headers,
    RefusedInput,
    Response,
    TLSConfig,
    WireRequest,
    WireSession,
)

# httpx checks the URL (InvalidURL, UnsupportedProtocol), header values (ValueError: not ASCII) while
# building the request, and h11 the whole request head (LocalProtocolError) before writing a byte.
VALIDATION_ERRORS = (ValueError, httpx.InvalidURL, httpx.LocalProtocolError, httpx.UnsupportedProtocol)
# The proxy parameter: `proxy` since httpx 0.26, `proxies` (a URL for every scheme) before.
_PROXY = "proxy" if "proxy" in inspect.signature(httpx.Client).parameters else "proxies"


def _proxy_option(proxy: str | None) -> dict[str, Any]:
    return {_PROXY: proxy}


class _Session(WireSession):
    def __init__(self, timeout: float, tls: TLSConfig | None, proxy: str | None) -> None:
        self._client = httpx.Client(trust_env=False, timeout=httpx.Timeout(timeout), follow_redirects=False,
                                    verify=ssl_context(tls) if tls is not None else True, **_proxy_option(proxy))

    def send(self, request: WireRequest) -> Response:
        try:
            built = self._client.build_request(request.method, request.url, headers=_octet_fields(request.headers),
                                               content=request.body)
        except VALIDATION_ERRORS as refused:
            # A URL httpx cannot parse, a header value that is not ASCII...: refused while building.
            raise RefusedInput(str(refused)) from refused
        response = self._client.send(built)
        try:
            body = response.read()
        finally:
            response.close()
        return Response(response.status_code, _reason(response), _text_pairs(response.headers.raw), body,
                        response.http_version)

    def close(self) -> None:
        self._client.close()


class _AgentSession(AgentSession):
    """An httpx.Client following redirects, with its defaults otherwise (see the module's docstring)."""

    def __init__(self, timeout: float, tls: TLSConfig | None) -> None:
        self._redirected = False
        self._client = httpx.Client(trust_env=False, timeout=httpx.Timeout(timeout), follow_redirects=True,
                                    verify=ssl_context(tls) if tls is not None else True,
                                    event_hooks={"response": [self._note]})

    def _note(self, response: httpx.Response) -> None:
        self._redirected = self._redirected or response.has_redirect_location

    @contextmanager
    def _refusals(self) -> Iterator[None]:
        """Marks a URL httpx refused after a redirect: a Location it could not parse or follow."""
        self._redirected = False
        try:
            yield
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.RemoteProtocolError) as exc:
            if self._redirected and (not isinstance(exc, httpx.RemoteProtocolError)
                                     or str(exc).startswith("Invalid URL in location header")):
                refused_location(exc)
            raise

    def send(self, request: WireRequest) -> AgentResponse:
        with self._refusals():
            response = self._client.request(request.method, request.url, headers=_octet_fields(request.headers),
                                            content=request.body)
        return AgentResponse(response.status_code, _reason(response), _text_pairs(response.headers.raw),
                             response.content, response.http_version, url=str(response.url))

    @contextmanager
    def stream(self, request: WireRequest, chunk_size: int) -> Iterator[Iterator[bytes]]:
        with self._refusals(), self._client.stream(request.method, request.url,
                                                   headers=_octet_fields(request.headers),
                                                   content=request.body) as response:
            yield response.iter_bytes(chunk_size)

    def close(self) -> None:
        self._client.close()


def _octet_fields(headers: Headers) -> list[tuple[bytes, bytes]] | list[tuple[str, str]]:
    """The caller's fields as the octets they stand for; as given if one holds a character beyond
    ISO-8859-1, for httpx to refuse as it refuses any str it cannot encode."""
    try:
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    except UnicodeEncodeError:
        return list(headers)


def _text_pairs(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]


def _reason(response: httpx.Response) -> str:
    received = response.extensions.get("reason_phrase")
    return received.decode("latin-1") if isinstance(received, bytes) else response.reason_phrase


def _kind(exc: BaseException) -> ErrorKind | None:
    if isinstance(exc, httpx.TimeoutException):
        return ErrorKind.TIMEOUT
    if isinstance(exc, (httpx.LocalProtocolError, httpx.UnsupportedProtocol)):
        # h11 checks the whole request head (method, target, fields) before any byte is written.
        return ErrorKind.INVALID_INPUT
    if isinstance(exc, httpx.RemoteProtocolError):
        message = str(exc)
        if message.startswith("Server disconnected without sending a response"):
            return ErrorKind.CLOSED
        if message.startswith(("peer closed connection without sending complete message body",
                               "peer unexpectedly closed connection")):
            # h11: the connection ended in the middle of the response (its head or its body).
            return ErrorKind.INCOMPLETE
        return ErrorKind.PROTOCOL
    if isinstance(exc, httpx.DecodingError):
        return ErrorKind.DECODING
    if isinstance(exc, httpx.TooManyRedirects):
        return ErrorKind.REDIRECT
    return None


def _fallback(exc: BaseException) -> ErrorKind | None:
    if isinstance(exc, (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return ErrorKind.CLOSED
    if isinstance(exc, httpx.ProxyError):
        return ErrorKind.PROTOCOL
    return None


def _default_accept_encoding() -> str:
    """The Accept-Encoding an httpx.Client sends by default: the codings it has decoders for."""
    with httpx.Client(trust_env=False, verify=False) as probe:
        return str(probe.headers.get("Accept-Encoding", ""))


class HttpxAdapter(ClientAdapter):
    name = "httpx"
    features = EVERY_FEATURE
    validation_errors = VALIDATION_ERRORS
    agent_features = frozenset({FOLLOWS_REDIRECTS, COOKIE_JAR}) | decoded_codings(_default_accept_encoding())


WIRE_ADAPTER = HttpxAdapter(_Session, _kind, _fallback, _AgentSession)
