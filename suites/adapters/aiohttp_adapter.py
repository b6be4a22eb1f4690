"""Wire adapter for aiohttp (`--impl=aiohttp`): one `aiohttp.ClientSession` per session, on an event
loop of its own that the adapter runs (an `asyncio.Runner`), so that scenarios stay synchronous.

The session has `trust_env=False` (no proxy, .netrc or SSLKEYLOGFILE from the environment), follows
no redirect, and has the session's timeout for connecting and for each read. TLS settings go in an
`ssl.SSLContext` given to the connector (`ssl=`); a proxy is the request's `proxy=` (https URLs
through a CONNECT tunnel). Request headers are a list of pairs, so a field name given twice is sent
twice; response headers are `ClientResponse.headers` (a multidict: in order, repeats kept).
aiohttp decodes the names, values and reason phrase it received as UTF-8 with surrogateescape,
which keeps every octet; the wire profile holds octets as ISO-8859-1 text, as http.client does, so
the adapter turns them back into the octets aiohttp kept and decodes those so.

Agent mode (the agent profile): a ClientSession with aiohttp's defaults, on a loop of its own as
above: redirects followed (`allow_redirects=True`, at most 10: `max_redirects`), the session's
default cookie jar (a `CookieJar()`, which by its default `unsafe=False` keeps no cookie from a
host named by an IP address), content decoded (`auto_decompress=True`) for the codings of its
default Accept-Encoding (gzip and deflate; br with brotli, zstd with a zstd module). RETRIES:
aiohttp sends a request once more, on a new connection, when a kept-alive connection it reused
was closed or reset (ServerDisconnectedError, ClientOSError) before the response, for the
idempotent methods only (GET, HEAD, OPTIONS, TRACE, PUT, DELETE): the session's
`_retry_connection`, on by default. `trust_env=False`; the CA is the scenario's. `stream()` steps
the loop once per piece of `StreamReader.iter_chunked(chunk_size)`.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import aiohttp.http_exceptions as parse_errors
from multidict import CIMultiDict

from h1conform.suites.adapters._common import EVERY_FEATURE, ClientAdapter, decoded_codings, http_version, ssl_context
from h1conform.suites.harness.agent import COOKIE_JAR, FOLLOWS_REDIRECTS, RETRIES, AgentResponse, AgentSession
from h1conform.suites.harness.wire import (
    ErrorKind,
    RefusedInput,
    Response,
    TLSConfig,
    WireRequest,
    WireSession,
)

# aiohttp checks the method, the URL (InvalidURL is a ValueError) and the header fields (ValueError)
# while building the request, before any byte is written.
VALIDATION_ERRORS = (ValueError,)
# ConnectionTimeoutError (aiohttp 3.10) splits connect timeouts from ServerTimeoutError, of which
# it is a subclass; before, ServerTimeoutError covered both.
_TIMEOUTS = (aiohttp.ServerTimeoutError, getattr(aiohttp, "ConnectionTimeoutError", aiohttp.ServerTimeoutError),
             asyncio.TimeoutError)


class _Loop:
    """A ClientSession on an event loop of its own, run only while a call of the adapter needs it."""

    def __init__(self, timeout: float, tls: TLSConfig | None) -> None:
        self._transports: list[asyncio.Transport] = []
        self._runner = asyncio.Runner()
        timeouts = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        context: Any = ssl_context(tls) if tls is not None else True
        try:
            self._session: aiohttp.ClientSession = self._runner.run(self._open(timeouts, context, self._transports))
        except BaseException:
            self._runner.close()
            raise

    @staticmethod
    async def _open(timeouts: aiohttp.ClientTimeout, context: Any,
                    transports: list[asyncio.Transport]) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=_TrackingConnector(transports, ssl=context), timeout=timeouts,
                                     trust_env=False)

    def close(self) -> None:
        # Called again at teardown after a `with` block closed the session: only the first counts.
        if self._session.closed:
            return
        try:
            self._runner.run(self._close())
        finally:
            self._runner.close()

    async def _close(self) -> None:
        # A request interrupted from outside (the scenario deadline stops the loop inside a hung
        # read) is still a pending task holding its connection: cancel it first, so that it
        # releases the connection, then close the session and with it every connection.
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self._session.close()
        # Whatever is still closing must be dropped now, or its socket outlives the loop (freed
        # unclosed: a ResourceWarning that would be this adapter's leak, not its client's): a
        # transport still holding request bytes that the server never read (aiohttp stops writing
        # a body when the response comes early) only closes once they are written, which is never;
        # a TLS transport, once it has sent its close_notify, waits for the server's, which a
        # server need not send (RFC 9112 9.8 lets the client close without it). abort() on a
        # transport already closed does nothing.
        for transport in self._transports:
            transport.abort()
        self._transports.clear()


class _Session(_Loop, WireSession):
    def __init__(self, timeout: float, tls: TLSConfig | None, proxy: str | None) -> None:
        self._proxy = proxy
        super().__init__(timeout, tls)

    def send(self, request: WireRequest) -> Response:
        return self._runner.run(self._send(request))

    async def _send(self, request: WireRequest) -> Response:
        try:
            context = self._session.request(request.method, request.url, headers=CIMultiDict(request.headers),
                                            data=_payload(request.body), allow_redirects=False, proxy=self._proxy)
            response = await context.__aenter__()
        except VALIDATION_ERRORS as refused:
            if isinstance(refused, aiohttp.ClientError) and not isinstance(refused, aiohttp.InvalidURL):
                raise
            raise RefusedInput(str(refused)) from refused
        try:
            body = await response.read()
        finally:
            await context.__aexit__(None, None, None)
            # The loop runs only inside send(): let it run once more the callbacks aiohttp has just
            # scheduled (a connection that must not be reused is closed by one), as a long-running
            # application's loop would, instead of freezing them until the next request.
            await asyncio.sleep(0)
        headers = [(_octets(name), _octets(value)) for name, value in response.headers.items()]
        return Response(response.status, _octets(response.reason or ""), headers, body,
                        http_version(tuple(response.version) if response.version else None))


class _AgentSession(_Loop, AgentSession):
    """A ClientSession with aiohttp's defaults (see the module's docstring)."""

    def _request(self, request: WireRequest) -> Any:
        return self._session.request(request.method, request.url, headers=CIMultiDict(request.headers),
                                     data=_payload(request.body))

    def send(self, request: WireRequest) -> AgentResponse:
        return self._runner.run(self._send(request))

    async def _send(self, request: WireRequest) -> AgentResponse:
        async with self._request(request) as response:
            body = await response.read()
        await asyncio.sleep(0)  # as in _Session._send
        headers = [(_octets(name), _octets(value)) for name, value in response.headers.items()]
        return AgentResponse(response.status, _octets(response.reason or ""), headers, body,
                             http_version(tuple(response.version) if response.version else None),
                             url=str(response.url))

    @contextmanager
    def stream(self, request: WireRequest, chunk_size: int) -> Iterator[Iterator[bytes]]:
        context = self._request(request)
        response = self._runner.run(context.__aenter__())
        try:
            yield self._pieces(response.content.iter_chunked(chunk_size))
        finally:
            self._runner.run(context.__aexit__(None, None, None))

    def _pieces(self, chunks: AsyncIterator[bytes]) -> Iterator[bytes]:
        """The pieces of `chunks`, the loop run only until the next one is there."""
        while (piece := self._runner.run(_next(chunks))) is not None:
            yield piece


async def _next(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return None


class _TrackingConnector(aiohttp.TCPConnector):
    """aiohttp's connector, noting each connection's transport as it is made (a response read whole
    with its head may have released its connection before the adapter could see it)."""

    def __init__(self, transports: list[asyncio.Transport], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._made = transports

    async def connect(self, *args: Any, **kwargs: Any) -> Any:
        connection = await super().connect(*args, **kwargs)
        if connection.transport is not None:
            self._made.append(connection.transport)
        return connection


def _octets(text: str) -> str:
    """aiohttp's text for received octets (UTF-8, undecodable octets as lone surrogates) as the
    wire profile holds them: one ISO-8859-1 character per octet."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def _payload(body: bytes | None) -> bytes | io.BytesIO | None:
    # aiohttp warns (a ResourceWarning) that a bytes body over 1 MiB may block the event loop and
    # asks for a file object instead; either way it sends the body with its Content-Length.
    return io.BytesIO(body) if body is not None and len(body) > _LARGE_BODY else body


_LARGE_BODY = 2**20


# aiohttp's refusals of a redirect: too many, and (aiohttp 3.10) a Location it cannot parse or
# whose scheme is not HTTP's.
_REDIRECT_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.TooManyRedirects, *(cls for cls in (getattr(aiohttp, "RedirectClientError", None),) if isinstance(cls, type)))


def _kind(exc: BaseException) -> ErrorKind | None:
    if isinstance(exc, _REDIRECT_ERRORS):
        return ErrorKind.REDIRECT
    if isinstance(exc, parse_errors.ContentEncodingError):
        # Raised by its decompressor ("Can not decode content-encoding"), inside a ClientPayloadError.
        return ErrorKind.DECODING
    if isinstance(exc, _TIMEOUTS):
        return ErrorKind.TIMEOUT
    if isinstance(exc, (aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch)):
        return ErrorKind.TLS
    if isinstance(exc, parse_errors.ContentLengthError | parse_errors.TransferEncodingError):
        # The body ended before its Content-Length or last chunk ("Not enough data to satisfy ...").
        return ErrorKind.INCOMPLETE if "not enough data" in str(exc).lower() else ErrorKind.PROTOCOL
    if isinstance(exc, parse_errors.HttpProcessingError):
        return ErrorKind.PROTOCOL
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ErrorKind.CLOSED
    if isinstance(exc, aiohttp.InvalidURL):
        return ErrorKind.INVALID_INPUT
    return None


def _fallback(exc: BaseException) -> ErrorKind | None:
    if isinstance(exc, aiohttp.ClientPayloadError):
        return ErrorKind.INCOMPLETE
    if isinstance(exc, (aiohttp.ClientResponseError, aiohttp.ClientHttpProxyError)):
        return ErrorKind.PROTOCOL
    if isinstance(exc, aiohttp.ClientConnectionError):
        return ErrorKind.CLOSED
    return None


class AiohttpAdapter(ClientAdapter):
    name = "aiohttp"
    features = EVERY_FEATURE
    validation_errors = VALIDATION_ERRORS
    agent_features = (frozenset({FOLLOWS_REDIRECTS, COOKIE_JAR})
                      # The session's switch for its retry on a reused connection, where this release has it.
                      | ({RETRIES} if "_retry_connection" in aiohttp.ClientSession.ATTRS else set())
                      | decoded_codings(str(aiohttp.ClientRequest.DEFAULT_HEADERS.get(aiohttp.hdrs.ACCEPT_ENCODING) or "")))


WIRE_ADAPTER = AiohttpAdapter(_Session, _kind, _fallback, _AgentSession)
