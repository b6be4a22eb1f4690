"""Wire adapter for pycurl (libcurl) (`--impl=pycurl`): one `pycurl.Curl` handle per session.

A handle keeps libcurl's connection cache across `perform()` calls, so the requests of a session
may reuse a connection; options are reset before each request (`reset()` keeps live connections).
libcurl is told to speak HTTP/1.1 (no HTTP/2 by ALPN), to use no proxy but the session's (`PROXY`
"" disables the proxy environment variables libcurl reads itself; `NOPROXY` "" overrides NO_PROXY),
to ignore .netrc, and to follow no redirect (its default). Timeouts: `CONNECTTIMEOUT_MS` for
connecting and `TIMEOUT_MS` for the whole transfer: libcurl has no per-read timeout (its low-speed
limit averages over seconds and misses a stall after a few bytes). TLS settings are `CAINFO`, `SSLCERT`/`SSLKEY` and `SSL_VERIFYHOST`.

Headers come from HEADERFUNCTION as raw lines, read the way libcurl's own header store reads them
(`curl_easy_header()`, which pycurl does not wrap): the head of the last response (after any 1xx or
CONNECT response) is split at the first colon, the value without its leading and trailing blanks;
an obs-fold line is appended to the value before it with one of its leading blanks, and a
whitespace-preceded line with no field before it is read as a field once its blanks are dropped.
Lines after the final head (trailers) are not response headers.

Agent mode (the agent profile): a handle with libcurl's defaults plus the three options by which an
application switches on what libcurl does as a user agent: `FOLLOWLOCATION` (redirects, at most
`MAXREDIRS`' default: 30 in libcurl 8.3 and later, unlimited before; to the protocols of its
default `REDIR_PROTOCOLS`: HTTP, HTTPS, FTP and FTPS), `ACCEPT_ENCODING` "" (it offers and decodes
every content coding this libcurl was built with: gzip and deflate with zlib, br with brotli, zstd
with zstd, as `pycurl.version_info()` tells) and `COOKIEFILE` "" (the cookie engine, in memory).
The method is given the way libcurl follows redirects with it: nothing for GET, `NOBODY` for HEAD,
`POSTFIELDS` for POST (libcurl turns it into GET on 301, 302 and 303, its default `POSTREDIR`),
`UPLOAD` for PUT; any other method is a `CUSTOMREQUEST`, which libcurl keeps on every redirect.
RETRIES: libcurl sends a request once more, on a new connection, when a connection it reused
ends before any byte of the response ("Connection died, retrying a fresh connect"), whatever the
method. The proxy and .netrc settings are the wire session's (none); the CA is the scenario's.
libcurl pushes what it reads into WRITEFUNCTION (its streaming API); an application processes
each piece there. `stream()` runs `perform()` in a thread of its own, and WRITEFUNCTION hands each
piece to the reader and waits until it is taken: libcurl never runs more than one piece ahead, and
nothing is buffered that libcurl itself would not hold (pausing the transfer instead makes libcurl
keep the rest of what it decoded from one read, which for a bomb is most of it). `BUFFERSIZE` is
the chunk size: libcurl reads at most that much at once; it writes decoded data in pieces of at
most 16 KiB (CURL_MAX_WRITE_SIZE). TIMEOUT_MS bounds the whole transfer, reading time included.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import pycurl

from h1conform.suites.adapters._common import EVERY_FEATURE, ClientAdapter, refused_location
from h1conform.suites.harness.agent import (
    COOKIE_JAR,
    DECODES_BR,
    DECODES_DEFLATE,
    DECODES_GZIP,
    DECODES_ZSTD,
    FOLLOWS_REDIRECTS,
    RETRIES,
    AgentResponse,
    AgentSession,
)
from h1conform.suites.harness.errors import HarnessError
from h1conform.suites.harness.wire import (
    ErrorKind,
    RefusedInput,
    Response,
    TLSConfig,
    WireRequest,
    WireSession,
)

_TLS_CODES = {35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98}
_KIND_BY_CODE = {
    pycurl.E_OPERATION_TIMEDOUT: ErrorKind.TIMEOUT,
    pycurl.E_GOT_NOTHING: ErrorKind.CLOSED,  # "Empty reply from server"
    pycurl.E_COULDNT_CONNECT: ErrorKind.CLOSED,
    pycurl.E_SEND_ERROR: ErrorKind.CLOSED,
    pycurl.E_PARTIAL_FILE: ErrorKind.INCOMPLETE,  # "transfer closed with N bytes remaining to read"
    8: ErrorKind.PROTOCOL,  # CURLE_WEIRD_SERVER_REPLY
    pycurl.E_BAD_CONTENT_ENCODING: ErrorKind.PROTOCOL,  # a transfer coding; see _kind for content codings
    pycurl.E_TOO_MANY_REDIRECTS: ErrorKind.REDIRECT,
    pycurl.E_HTTP2: ErrorKind.PROTOCOL,
    97: ErrorKind.PROTOCOL,  # CURLE_PROXY: the proxy's reply to CONNECT was not usable
    100: ErrorKind.PROTOCOL,  # CURLE_TOO_LARGE: a header line or section over libcurl's limits
    pycurl.E_URL_MALFORMAT: ErrorKind.INVALID_INPUT,
    pycurl.E_BAD_FUNCTION_ARGUMENT: ErrorKind.INVALID_INPUT,
}


# CURLOPT_BUFFERSIZE's largest value (libcurl 7.88 and later; 512 KiB before, which it caps itself).
_LARGEST_BUFFER = 10 * 2**20
# How much longer than the client's own timeout a wait on libcurl's thread may last.
_MARGIN = 5.0

# SP and HTAB: what libcurl's header store strips around a value.
_BLANKS = " \t"


class _Head:
    """Collects the head of the last response from libcurl's header lines."""

    def __init__(self) -> None:
        self.status_line = ""
        self.headers: list[tuple[str, str]] = []
        self.complete = False

    def line(self, raw: bytes) -> None:
        text = raw.decode("latin-1").rstrip("\r\n")
        if text.startswith("HTTP/"):
            # A new response (after a 1xx, or after the proxy's answer to CONNECT).
            self.status_line, self.headers, self.complete = text, [], False
        elif self.complete:
            return  # a trailer field, after the final head
        elif not text:
            self.complete = True
        elif text[:1] in _BLANKS and self.headers:
            self._unfold(text)
        else:
            name, _, value = text.lstrip(_BLANKS).partition(":")
            self.headers.append((name, value.strip(_BLANKS)))

    def _unfold(self, line: str) -> None:
        # As libcurl's header store: the continuation keeps the last of its leading blanks (SP or
        # HTAB, as received) as the separator, and loses its trailing ones.
        content = line.rstrip(_BLANKS)
        if content:
            kept = len(content) - len(content.lstrip(_BLANKS)) - 1
            name, value = self.headers[-1]
            self.headers[-1] = (name, value + content[kept:])

    def version_and_reason(self) -> tuple[str | None, str]:
        parts = self.status_line.split(" ", 2)
        return (parts[0] or None), (parts[2] if len(parts) > 2 else "")


def _configure(curl: pycurl.Curl, request: WireRequest, timeout: float, tls: TLSConfig | None, proxy: str | None,
               head: _Head) -> None:
    """What every handle of the adapter is told: the URL, HTTP/1.1, the session's proxy (none
    from the environment), no .netrc, the timeouts, TLS settings, the request's fields, and where
    the response's header lines go."""
    curl.setopt(pycurl.URL, request.url.encode("latin-1"))
    curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    curl.setopt(pycurl.NOSIGNAL, 1)
    curl.setopt(pycurl.NETRC, pycurl.NETRC_IGNORED)
    curl.setopt(pycurl.PROXY, proxy or "")
    curl.setopt(pycurl.NOPROXY, "")
    curl.setopt(pycurl.CONNECTTIMEOUT_MS, math.ceil(timeout * 1000))
    curl.setopt(pycurl.TIMEOUT_MS, math.ceil(timeout * 1000))
    if tls is not None:
        if tls.ca_file is not None:
            curl.setopt(pycurl.CAINFO, tls.ca_file)
        if tls.client_cert is not None:
            curl.setopt(pycurl.SSLCERT, tls.client_cert)
            curl.setopt(pycurl.SSLKEY, tls.client_cert)
        if not tls.check_hostname:
            curl.setopt(pycurl.SSL_VERIFYHOST, 0)
    # "Name;" is libcurl's way to send a field with an empty value ("Name:" removes the field).
    curl.setopt(pycurl.HTTPHEADER, [(f"{name}: {value}" if value else f"{name};").encode("latin-1")
                                    for name, value in request.headers])
    curl.setopt(pycurl.HEADERFUNCTION, head.line)


class _Session(WireSession):
    def __init__(self, timeout: float, tls: TLSConfig | None, proxy: str | None) -> None:
        self._timeout = timeout
        self._tls = tls
        self._proxy = proxy
        self._curl: pycurl.Curl | None = pycurl.Curl()

    def _configure(self, curl: pycurl.Curl, request: WireRequest, head: _Head, body: io.BytesIO) -> None:
        _configure(curl, request, self._timeout, self._tls, self._proxy, head)
        if request.method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
        else:
            curl.setopt(pycurl.CUSTOMREQUEST, request.method.encode("latin-1"))
        if request.body is not None:
            curl.setopt(pycurl.POSTFIELDSIZE_LARGE, len(request.body))
            curl.setopt(pycurl.POSTFIELDS, request.body)
        curl.setopt(pycurl.WRITEFUNCTION, body.write)

    def send(self, request: WireRequest) -> Response:
        curl = self._curl
        if curl is None:
            raise RuntimeError("the session is closed")
        head, body = _Head(), io.BytesIO()
        curl.reset()
        try:
            self._configure(curl, request, head, body)
        except (ValueError, pycurl.error) as refused:
            raise RefusedInput(str(refused)) from refused
        try:
            curl.perform()
        except pycurl.error as exc:
            # Whether a response had begun: it tells a truncated response from no response at all
            # where libcurl's error does not (a TLS connection ended without close_notify).
            exc.response_started = bool(head.status_line)  # type: ignore[attr-defined]
            raise
        version, reason = head.version_and_reason()
        return Response(curl.getinfo(pycurl.RESPONSE_CODE), reason, head.headers, body.getvalue(), version)

    def close(self) -> None:
        if self._curl is not None:
            self._curl.close()
            self._curl = None


class _RedirectWatch(_Head):
    """The head of the last response, and whether a redirect (a 3xx response) came."""

    def __init__(self) -> None:
        super().__init__()
        self.redirected = False

    def line(self, raw: bytes) -> None:
        super().line(raw)
        if raw.startswith(b"HTTP/"):
            self.redirected = self.redirected or self.status_line.split(" ")[1:2] in (["301"], ["302"], ["303"],
                                                                                       ["307"], ["308"])


class _AgentSession(AgentSession):
    """A libcurl handle as an application sets it up to act as a user agent (see the module's docstring)."""

    def __init__(self, timeout: float, tls: TLSConfig | None) -> None:
        self._timeout = timeout
        self._tls = tls
        self._curl: pycurl.Curl | None = pycurl.Curl()

    def _prepare(self, request: WireRequest, write: Callable[[bytes], int | None]) -> tuple[pycurl.Curl, _RedirectWatch]:
        curl = self._curl
        if curl is None:
            raise RuntimeError("the session is closed")
        head = _RedirectWatch()
        curl.reset()  # keeps the connections and the cookies
        _configure(curl, request, self._timeout, self._tls, None, head)
        curl.setopt(pycurl.FOLLOWLOCATION, 1)
        curl.setopt(pycurl.ACCEPT_ENCODING, "")
        curl.setopt(pycurl.COOKIEFILE, "")
        body = request.body
        if request.method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
        elif request.method == "POST":
            curl.setopt(pycurl.POSTFIELDSIZE_LARGE, len(body or b""))
            curl.setopt(pycurl.POSTFIELDS, body or b"")
        elif request.method == "PUT":
            curl.setopt(pycurl.UPLOAD, 1)
            curl.setopt(pycurl.READDATA, io.BytesIO(body or b""))
            curl.setopt(pycurl.INFILESIZE_LARGE, len(body or b""))
        else:
            if request.method != "GET":
                curl.setopt(pycurl.CUSTOMREQUEST, request.method.encode("latin-1"))
            if body is not None:
                curl.setopt(pycurl.POSTFIELDSIZE_LARGE, len(body))
                curl.setopt(pycurl.POSTFIELDS, body)
        curl.setopt(pycurl.WRITEFUNCTION, write)
        return curl, head

    def send(self, request: WireRequest) -> AgentResponse:
        body = io.BytesIO()
        curl, head = self._prepare(request, body.write)
        try:
            curl.perform()
        except pycurl.error as exc:
            _note_failure(exc, head)
            raise
        version, reason = head.version_and_reason()
        return AgentResponse(curl.getinfo(pycurl.RESPONSE_CODE), reason, head.headers, body.getvalue(), version,
                             url=curl.getinfo(pycurl.EFFECTIVE_URL))

    @contextmanager
    def stream(self, request: WireRequest, chunk_size: int) -> Iterator[Iterator[bytes]]:
        handoff = _Handoff()
        curl, head = self._prepare(request, handoff.write)
        curl.setopt(pycurl.BUFFERSIZE, max(1024, min(chunk_size, _LARGEST_BUFFER)))  # what libcurl reads at once
        # libcurl calls it about once a second even while it waits on the network: once the reader
        # is gone, it stops the transfer without waiting for the server's next bytes.
        curl.setopt(pycurl.NOPROGRESS, 0)
        curl.setopt(pycurl.XFERINFOFUNCTION, handoff.abandoned)
        bound = self._timeout + _MARGIN

        def perform() -> None:
            try:
                curl.perform()
            except pycurl.error as exc:
                _note_failure(exc, head)
                handoff.finish(exc)
            else:
                handoff.finish(None)

        performer = threading.Thread(target=perform, name="pycurl-stream", daemon=True)
        performer.start()
        try:
            yield iter(partial(handoff.take, bound), None)
        finally:
            handoff.close()
            performer.join(bound)
            if performer.is_alive():
                raise HarnessError(f"libcurl's transfer did not end within {bound} s of the reader leaving it")

    def close(self) -> None:
        if self._curl is not None:
            self._curl.close()
            self._curl = None


class _Handoff:
    """Hands the pieces libcurl writes, one at a time, from the thread running `perform()` to the
    reader: WRITEFUNCTION waits there until the reader has taken the piece before, as it would
    while an application processed that piece inside the callback."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._piece: bytes | None = None
        self._end: BaseException | bool = False  # True once the transfer is complete, or its error
        self._closed = False  # the reader is gone

    def write(self, data: bytes) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: self._piece is None or self._closed)
            if self._closed:
                return 0  # libcurl then stops the transfer (CURLE_WRITE_ERROR)
            self._piece = data
            self._changed.notify_all()
        return None

    def finish(self, error: BaseException | None) -> None:
        with self._changed:
            self._end = error or True
            self._changed.notify_all()

    def take(self, bound: float) -> bytes | None:
        """The next piece; None at the end of the body; libcurl's error if the transfer failed."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._piece is not None or self._end is not False, bound):
                raise HarnessError(f"libcurl neither wrote nor ended within {bound} s, past its own TIMEOUT_MS")
            if self._piece is not None:
                piece, self._piece = self._piece, None
                self._changed.notify_all()
                return piece
            if isinstance(self._end, BaseException):
                raise self._end
            return None

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def abandoned(self, *progress: int) -> int:
        """XFERINFOFUNCTION: non-zero (stop the transfer) once the reader is gone."""
        return 1 if self._closed else 0


def _note_failure(exc: pycurl.error, head: _RedirectWatch) -> None:
    """Note on an agent session's libcurl error whether a response had begun and that content
    codings were being decoded, and mark its refusal of a URL (a malformed one, or a protocol it
    does not follow) after a redirect as a refused redirect."""
    exc.response_started = bool(head.status_line)  # type: ignore[attr-defined]
    exc.decodes_content = True  # type: ignore[attr-defined]  # ACCEPT_ENCODING "": its error 61 may be a content coding's
    code = exc.args[0] if exc.args else None
    if code in (pycurl.E_UNSUPPORTED_PROTOCOL, pycurl.E_URL_MALFORMAT) and head.redirected:
        refused_location(exc)


def _kind(exc: BaseException) -> ErrorKind | None:
    if not isinstance(exc, pycurl.error) or not exc.args or not isinstance(exc.args[0], int):
        return None
    code: int = exc.args[0]
    message = str(exc.args[1] if len(exc.args) > 1 else "")
    if code in _TLS_CODES:
        return ErrorKind.TLS
    if code == pycurl.E_UNSUPPORTED_PROTOCOL:
        # A URL scheme libcurl does not know (refused before connecting), or a response whose
        # HTTP version it does not support.
        return ErrorKind.INVALID_INPUT if "not supported" in message and "Protocol" in message else ErrorKind.PROTOCOL
    if code == pycurl.E_RECV_ERROR:
        lowered = message.lower()
        if "unexpected eof" in lowered:
            # The TLS connection ended without close_notify while libcurl still expected data:
            # the transport's end, as a TCP FIN is for plain HTTP (RFC 9112 9.8).
            return ErrorKind.INCOMPLETE if getattr(exc, "response_started", False) else ErrorKind.CLOSED
        if "ssl" in lowered or "tls" in lowered:
            return ErrorKind.TLS
        if "reset" in lowered or "connection" in lowered:
            return ErrorKind.CLOSED
        return ErrorKind.PROTOCOL  # e.g. a malformed chunked encoding
    if code == pycurl.E_BAD_CONTENT_ENCODING and getattr(exc, "decodes_content", False) and \
            "transfer-encoding" not in message.lower():
        # libcurl's error for a content coding it could not decode (only asked for in agent mode),
        # unless it names a transfer coding ("Unsolicited Transfer-Encoding (gzip) found").
        return ErrorKind.DECODING
    return _KIND_BY_CODE.get(code)


def _decoded_codings() -> frozenset[str]:
    """The DECODES_... of the content codings this libcurl was built to decode."""
    features = pycurl.version_info()[4]
    libraries = {DECODES_GZIP: "VERSION_LIBZ", DECODES_DEFLATE: "VERSION_LIBZ", DECODES_BR: "VERSION_BROTLI",
                 DECODES_ZSTD: "VERSION_ZSTD"}
    return frozenset(feature for feature, flag in libraries.items() if features & getattr(pycurl, flag, 0))


class PycurlAdapter(ClientAdapter):
    name = "pycurl"
    features = EVERY_FEATURE
    # libcurl's errors (a malformed URL, an option it refuses) and pycurl's checks of option values.
    validation_errors = (pycurl.error, ValueError)
    agent_features = frozenset({FOLLOWS_REDIRECTS, COOKIE_JAR, RETRIES}) | _decoded_codings()


WIRE_ADAPTER = PycurlAdapter(_Session, _kind, agent_session=_AgentSession)
