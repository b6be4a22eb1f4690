"""HTTPResponse: the status line, interim responses, headers, and the body as a binary stream."""

from __future__ import annotations

import io
import socket
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ._constants import MAX_INTERIM_RESPONSES
from ._errors import (
    BadStatusLine,
    IncompleteRead,
    InvalidResponse,
    RemoteDisconnected,
    ResponseNotReady,
    TooManyHeaders,
    UnknownProtocol,
)
from ._framing import Body, BufferedFile, ChunkedBody, CutHeadBody, LengthBody, UntilCloseBody
from ._headers import (
    Field,
    HTTPMessage,
    buffered_head,
    build_message,
    parse_lines,
    read_fields,
    read_raw_line,
    strip_terminator,
)
from ._socketfile import buffered_beyond, open_response_file
from ._syntax import DIGITS, HTTP_VERSION, OWS, STATUS_CODE

# The fields whose values decide the body's framing and the connection's reuse.
FRAMING_FIELDS = frozenset({"transfer-encoding", "content-length", "connection"})
# The compression codings of RFC 9112 7.2, which define no parameters.
COMPRESSION_CODINGS = frozenset({"compress", "x-compress", "deflate", "gzip", "x-gzip"})
# Significant digits a Content-Length may have: 10**4000 octets is beyond any message, and int()
# refuses more than 4300 decimal digits.
MAX_LENGTH_DIGITS = 4000

_UNKNOWN = "UNKNOWN"
T = TypeVar("T")


def _tokens(values: Iterable[str]) -> list[str]:
    """The lower-cased elements of comma-separated list fields (RFC 9110 5.6.1), empty ones dropped."""
    return [item.strip(" \t").lower() for value in values for item in value.split(",") if item.strip(" \t")]


class HTTPResponse(io.BufferedIOBase):
    """A response, as returned by HTTPConnection.getresponse(); not created by callers directly."""

    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: str | None = None,
                 url: str | None = None) -> None:
        self.fp: Any
        self.fp, self._counting_raw = open_response_file(sock)
        self._sock = sock
        self.debuglevel = debuglevel
        self._method = method
        self.url = url
        self.headers: HTTPMessage | None = None
        self.msg: HTTPMessage | None = None
        self.version: int | str = _UNKNOWN  # 10 or 11 once read
        self.status: int | str = _UNKNOWN
        self.reason: str = _UNKNOWN
        self.will_close: bool | str = _UNKNOWN
        self._body: Body | None = None  # None until begin(), and for a response without content
        self._head_cut = False  # the connection ended inside the head (RFC 9112 8: incomplete)
        self._framing: dict[str, list[str]] = {}  # FRAMING_FIELDS received, by lower-cased name
        # Set by the connection when it sent another request before this body was read: the octets
        # after this message are then that request's response, not stray data.
        self.another_response_follows = False

    # -- reading the head -----------------------------------------------------------------------

    def begin(self) -> None:
        """Read the status line, skip interim responses, read the headers and choose the framing."""
        if self.headers is not None:
            return  # already begun
        try:
            self._begin()
        except BaseException:
            self._abort()
            raise

    def _begin(self) -> None:
        for _ in range(MAX_INTERIM_RESPONSES + 1):
            version, status, reason, fields, complete = self._read_head()
            # RFC 9110 15.2: "A client MUST be able to parse one or more 1xx responses received
            # prior to a final response, even if the client does not expect one." 101 is final
            # for HTTP/1.1: the connection then speaks another protocol.
            if not (100 <= status < 200) or status == 101:
                break
            if not complete:
                raise IncompleteRead(b"")  # the connection ended before the final response
        else:
            raise TooManyHeaders(f"got more than {MAX_INTERIM_RESPONSES} interim responses")
        self.version, self.status, self.reason = version, status, reason
        self.headers = self.msg = build_message(fields)
        # The fields that decide the framing and the connection's fate, by lower-cased name: one
        # pass over the fields instead of a get_all() over all of them for each.
        framing: dict[str, list[str]] = {}
        for name, value in fields:
            key = name.lower()
            if key in FRAMING_FIELDS:
                framing.setdefault(key, []).append(value)
        self._framing = framing
        if not complete:
            # RFC 9112 8: the connection ended inside the head. The status and the fields that
            # arrived are the response (a server may answer 401 and close while the request is
            # still being sent), but the message is incomplete, and reading it says so.
            self._body, self.will_close, self._head_cut = CutHeadBody(), True, True
            return
        self._body, framing_closes = self._choose_body()
        # After a 101, or a 2xx to CONNECT, the connection is no longer HTTP's: the response keeps
        # the socket open for the caller (fileno()) until it is closed, and it is never reused.
        handed_over = status == 101 or (self._method == "CONNECT" and 200 <= status < 300)
        self.will_close = framing_closes or handed_over or self._connection_closes()
        if self._body is None and not handed_over:
            self._finish()

    def _read_head(self) -> tuple[int, int, str, list[Field], bool]:
        """One response head (interim or final): version, status, reason, fields, and whether the
        head was complete. The status line is judged before the fields are parsed."""
        buffered = buffered_head(self.fp) if self.debuglevel == 0 else None
        if buffered is not None:
            status_line, field_lines = buffered
            version, status, reason = self._parse_status(status_line)
            return version, status, reason, parse_lines(field_lines, "header line"), True
        raw = read_raw_line(self.fp, "status line")
        if not raw:
            raise RemoteDisconnected("Remote end closed connection without response")
        if self.debuglevel > 0:
            print("reply:", repr(raw.decode("latin-1")))
        # A line that the end of the connection cut is parsed as it is (the head is then found
        # incomplete); one that is no status line is BadStatusLine either way.
        version, status, reason = self._parse_status(
            strip_terminator(raw if raw.endswith(b"\n") else raw + b"\n", "status line"))
        fields, complete = read_fields(self.fp)
        self._debug_fields(fields)
        return version, status, reason, fields, complete

    @staticmethod
    def _parse_status(line: bytes) -> tuple[int, int, str]:
        # status-line = HTTP-version SP status-code SP [ reason-phrase ]  (RFC 9112 4)
        version, _, rest = line.partition(b" ")
        code, _, reason = rest.partition(b" ")
        match = HTTP_VERSION.fullmatch(version)
        if match is None:
            if version.startswith(b"HTTP/") and version[5:6].isdigit() and not version.startswith(b"HTTP/1."):
                raise UnknownProtocol(version.decode("latin-1"))
            raise BadStatusLine(line.decode("latin-1"))
        if match[1] != b"1":
            raise UnknownProtocol(version.decode("latin-1"))
        # RFC 9110 15: status-code = 3DIGIT; RFC 9110 2.5: a minor version above ours is read as ours.
        if not STATUS_CODE.fullmatch(code):
            raise BadStatusLine(line.decode("latin-1"))
        return (10 if match[2] == b"0" else 11), int(code), reason.strip(OWS).decode("latin-1")

    def _debug_fields(self, fields: list[Field]) -> None:
        if self.debuglevel > 0:
            for name, value in fields:
                print("header:", name + ":", value)

    def _choose_body(self) -> tuple[Body | None, bool]:
        """The body framing of RFC 9112 6.3, in its order; and whether it forces a close."""
        assert isinstance(self.status, int)
        status, framing = self.status, self._framing
        # 1. HEAD, 1xx, 204 and 304 have no content; neither has a 2xx to CONNECT, whose
        #    Content-Length or Transfer-Encoding a client "MUST ignore" (RFC 9110 9.3.6).
        if (self._method == "HEAD" or status < 200 or status in (204, 304)
                or (self._method == "CONNECT" and 200 <= status < 300)):
            return None, False
        if "transfer-encoding" in framing:
            if self.version == 10:
                # RFC 9112 6.1: a client that "receives an HTTP/1.0 message containing a
                # Transfer-Encoding header field MUST treat the message as if the framing is
                # faulty": no framing is trusted, the body runs to the close.
                return UntilCloseBody(), True
            return self._transfer_coded_body(_tokens(framing["transfer-encoding"]))
        if "content-length" in framing:
            return LengthBody(self._content_length(framing["content-length"])), False
        return UntilCloseBody(), True

    def _transfer_coded_body(self, codings: list[str]) -> tuple[Body, bool]:
        if any(coding != "chunked" and coding.partition(";")[0].rstrip(" \t") == "chunked" for coding in codings):
            # RFC 9112 7: chunked defines no parameters; "Their presence SHOULD be treated as an error."
            raise InvalidResponse(f"chunked with parameters: {codings}")
        compressed_with_parameters = [coding for coding in codings if ";" in coding
                                      and coding.partition(";")[0].rstrip(" \t") in COMPRESSION_CODINGS]
        if compressed_with_parameters:
            # RFC 9112 7.2: "The presence of parameters with any of these compression codings
            # SHOULD be treated as an error."
            raise InvalidResponse(f"compression coding with parameters: {compressed_with_parameters}")
        if codings.count("chunked") > 1:
            # RFC 9112 6.1: "A sender MUST NOT apply the chunked transfer coding more than once".
            raise InvalidResponse(f"chunked applied more than once: {codings}")
        if not codings or codings[-1] != "chunked":
            # RFC 9112 6.3: chunked not final: "the message body length is determined by reading
            # the connection until it is closed by the server".
            return UntilCloseBody(), True
        # RFC 9112 6.3: Transfer-Encoding overrides Content-Length; such a message "ought to be
        # handled as an error": it is read as chunked, and the connection is not reused.
        return ChunkedBody(), "content-length" in self._framing

    @staticmethod
    def _content_length(values: list[str]) -> int:
        # Content-Length = 1*DIGIT (RFC 9110 8.6). A list of identical values MAY be taken as
        # one; anything else is an unrecoverable framing error (RFC 9112 6.3), and the caller
        # closes the connection.
        if len(values) == 1 and values[0].isascii() and values[0].isdigit() and len(values[0]) <= MAX_LENGTH_DIGITS:
            return int(values[0])  # the usual case: one field, digits only, no leading-zero question
        items = {item.strip(" \t") for value in values for item in value.split(",")}
        if len(items) != 1:
            raise InvalidResponse(f"conflicting Content-Length values {values}")
        (item,) = items
        if not DIGITS.fullmatch(item.encode("latin-1")):
            raise InvalidResponse(f"invalid Content-Length {item!r}")
        # Leading zeros carry no value, and without them int() stays within CPython's limit on
        # decimal digits (ValueError beyond 4300); a length that still exceeds it is no length any
        # message could have (RFC 9110 8.6: "anticipate potentially large decimal numerals").
        significant = item.lstrip("0") or "0"
        if len(significant) > MAX_LENGTH_DIGITS:
            raise InvalidResponse(f"Content-Length of {len(significant)} digits")
        return int(significant)

    def _connection_closes(self) -> bool:
        # RFC 9110 7.6.1: Connection = #connection-option: every field line, as a token list.
        options = _tokens(self._framing.get("connection", ()))
        if "close" in options:
            return True
        # RFC 9112 9.3: an HTTP/1.0 response persists only with the keep-alive option.
        return self.version == 10 and "keep-alive" not in options

    # -- the body ---------------------------------------------------------------------------------

    def _close_conn(self) -> None:
        fp, self.fp = self.fp, None
        if fp is not None:
            fp.close()

    def _finish(self) -> None:
        """The message is complete: release the socket file, and the connection if it is unusable.

        Octets already received beyond the end of the message belong to no request. RFC 9112 9.2:
        the client "MUST NOT consider that data to be a valid response" and SHOULD close the
        connection; dropping them silently would let them prefix the next response instead.
        """
        body = self._body
        if isinstance(body, ChunkedBody) and body.trailers_cut:
            self._abort()
        elif self.will_close is False and not self.another_response_follows and self._has_stray_octets():
            self._abort()
        else:
            self._close_conn()

    def _has_stray_octets(self) -> bool:
        # What the file read from the socket beyond the message, known without reading. Octets
        # still in the socket are the connection's idle check's to find, before the next request.
        # The file of a socket double or wrapper cannot be looked at so: the check steps aside.
        raw = self._counting_raw
        return raw is not None and buffered_beyond(self.fp, raw) > 0

    def _abort(self) -> None:
        """End the connection after a framing error or a broken response.

        RFC 9112 6.3: after invalid framing a user agent "MUST close the connection to the server
        and discard the received response"; shutting the socket down also keeps the connection
        object from sending another request on it (it reconnects instead). The socket is closed
        too, so that its descriptor is released even when the caller drops the connection
        without close() (the connection sees a closed socket as none to reuse).
        """
        self.will_close = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass  # already closed or reset, or a socket double without shutdown()
        try:
            self._sock.close()  # the descriptor goes once the file below is closed too
        except AttributeError:
            pass  # a socket double without close()
        self._close_conn()

    def _reading(self, action: Callable[[BufferedFile, Body], T], at_end: T) -> T:
        """Run a body read; `at_end` once the body is finished. Errors end the connection."""
        if self.headers is None:
            raise ResponseNotReady("the response head has not been read (call begin())")
        fp: BufferedFile | None = self.fp
        body = self._body
        if fp is None or body is None:
            return at_end
        try:
            result = action(fp, body)
        except BaseException:
            self._abort()
            raise
        if body.done:
            self._finish()
        return result

    def read(self, amt: int | None = None) -> bytes:
        """Read and return up to `amt` octets of the body (all of it when `amt` is None)."""
        return self._reading(lambda fp, body: body.read(fp, amt), b"")

    def readinto(self, b: Any) -> int:
        """Read into a writable buffer; return how many octets were read (0 at the end)."""
        with memoryview(b) as view, view.cast("B") as octets:
            return self._reading(lambda fp, body: body.readinto(fp, octets), 0)

    def read1(self, n: int = -1) -> bytes:
        """Read up to `n` octets with at most one read on the socket."""
        return self._reading(lambda fp, body: body.read1(fp, n), b"")

    def peek(self, n: int = -1) -> bytes:
        """Body octets that can be returned without blocking (at least one unless at the end)."""
        return self._reading(lambda fp, body: body.peek(fp), b"")

    def readline(self, limit: int | None = -1) -> bytes:
        """Read one line of the body (up to `limit` octets)."""
        size = -1 if limit is None or limit < 0 else limit
        return self._reading(lambda fp, body: body.readline(fp, size), b"")

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._close_conn()

    def flush(self) -> None:
        super().flush()
        if self.fp is not None:
            self.fp.flush()

    def isclosed(self) -> bool:
        """True once the body has been read to its end or the response closed."""
        return self.fp is None

    def fileno(self) -> int:
        if self.fp is None:
            raise ValueError("I/O operation on closed response")
        return self.fp.fileno()  # type: ignore[no-any-return]

    # -- stdlib-compatible accessors -------------------------------------------------------------

    @property
    def length(self) -> int | None:
        """Octets of the body still to read when its length is known (http.client's attribute)."""
        return self._body.remaining if isinstance(self._body, LengthBody) else None

    @property
    def chunked(self) -> bool:
        return isinstance(self._body, ChunkedBody)

    @property
    def chunk_left(self) -> int | None:
        return self._body.chunk_left if isinstance(self._body, ChunkedBody) else None

    def getheader(self, name: str, default: Any = None) -> Any:
        """The value of header `name`, several values joined by ", "; `default` when absent."""
        if self.headers is None:
            raise ResponseNotReady()
        values = self.headers.get_all(name) or default
        if isinstance(values, str) or not hasattr(values, "__iter__"):
            return values
        return ", ".join(values)

    def getheaders(self) -> list[tuple[str, str]]:
        """All (name, value) header pairs, in order."""
        if self.headers is None:
            raise ResponseNotReady()
        return list(self.headers.items())

    def info(self) -> HTTPMessage | None:
        """The headers (for urllib.response compatibility)."""
        return self.headers

    def geturl(self) -> str | None:
        """The URL of the resource retrieved, when known (for urllib compatibility)."""
        return self.url

    def getcode(self) -> int | str:
        """The status code (for urllib compatibility)."""
        return self.status
