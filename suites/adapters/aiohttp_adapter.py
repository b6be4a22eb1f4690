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
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import aiohttp.http_exceptions as parse_errors
from multidict import CIMultiDict

from h1conform.suites.adapters._common import EVERY_FEATURE, ClientAdapter, http_version, ssl_context
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


class _Session(WireSession):
    def __init__(self, timeout: float, tls: TLSConfig | None, proxy: str | None) -> None:
        self._proxy = proxy
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


def _kind(exc: BaseException) -> ErrorKind | None:
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


WIRE_ADAPTER = AiohttpAdapter(_Session, _kind, _fallback)
