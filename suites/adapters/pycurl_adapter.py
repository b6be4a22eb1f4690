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
"""

from __future__ import annotations

import io
import math

import pycurl

from h1conform.suites.adapters._common import EVERY_FEATURE, ClientAdapter
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
    pycurl.E_BAD_CONTENT_ENCODING: ErrorKind.PROTOCOL,
    pycurl.E_HTTP2: ErrorKind.PROTOCOL,
    97: ErrorKind.PROTOCOL,  # CURLE_PROXY: the proxy's reply to CONNECT was not usable
    100: ErrorKind.PROTOCOL,  # CURLE_TOO_LARGE: a header line or section over libcurl's limits
    pycurl.E_URL_MALFORMAT: ErrorKind.INVALID_INPUT,
    pycurl.E_BAD_FUNCTION_ARGUMENT: ErrorKind.INVALID_INPUT,
}


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


class _Session(WireSession):
    def __init__(self, timeout: float, tls: TLSConfig | None, proxy: str | None) -> None:
        self._timeout = timeout
        self._tls = tls
        self._proxy = proxy
        self._curl: pycurl.Curl | None = pycurl.Curl()

    def _configure(self, curl: pycurl.Curl, request: WireRequest, head: _Head, body: io.BytesIO) -> None:
        curl.setopt(pycurl.URL, request.url.encode("latin-1"))
        curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.NETRC, pycurl.NETRC_IGNORED)
        curl.setopt(pycurl.PROXY, self._proxy or "")
        curl.setopt(pycurl.NOPROXY, "")
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, math.ceil(self._timeout * 1000))
        curl.setopt(pycurl.TIMEOUT_MS, math.ceil(self._timeout * 1000))
        if self._tls is not None:
            if self._tls.ca_file is not None:
                curl.setopt(pycurl.CAINFO, self._tls.ca_file)
            if self._tls.client_cert is not None:
                curl.setopt(pycurl.SSLCERT, self._tls.client_cert)
                curl.setopt(pycurl.SSLKEY, self._tls.client_cert)
            if not self._tls.check_hostname:
                curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        # "Name;" is libcurl's way to send a field with an empty value ("Name:" removes the field).
        curl.setopt(pycurl.HTTPHEADER, [(f"{name}: {value}" if value else f"{name};").encode("latin-1")
                                        for name, value in request.headers])
        if request.method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
        else:
            curl.setopt(pycurl.CUSTOMREQUEST, request.method.encode("latin-1"))
        if request.body is not None:
            curl.setopt(pycurl.POSTFIELDSIZE_LARGE, len(request.body))
            curl.setopt(pycurl.POSTFIELDS, request.body)
        curl.setopt(pycurl.HEADERFUNCTION, head.line)
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
    return _KIND_BY_CODE.get(code)


class PycurlAdapter(ClientAdapter):
    name = "pycurl"
    features = EVERY_FEATURE
    # libcurl's errors (a malformed URL, an option it refuses) and pycurl's checks of option values.
    validation_errors = (pycurl.error, ValueError)


WIRE_ADAPTER = PycurlAdapter(_Session, _kind)
