"""What a client sent, parsed by h11: an independent, strict HTTP/1.1 parser.

The scripted server never trusts the code under test to tell it what was sent. Every request is
kept as the exact bytes received *and* as h11 understood them, so a scenario can assert on either.
h11 is strict where it matters here (request-line grammar, header syntax, a mandatory Host in
HTTP/1.1, chunk syntax), but it lets a few framing faults through; `framing_faults()` adds those.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h11

# h11 refuses incomplete heads larger than this; requests in scenarios can carry very long
# targets and many headers on purpose, so the server allows far more than h11's 16 KiB default.
MAX_HEAD_BYTES = 1 << 20

Header = tuple[bytes, bytes]


@dataclass
class RecordedRequest:
    """One request as the server received it.

    `raw` holds the exact bytes of this request (head, body and chunk framing). The parsed fields
    are what h11 made of them; `error` is h11's complaint when it refused the request, in which
    case the parsed fields hold whatever was understood before the fault.
    """

    raw: bytes = b""
    method: bytes = b""
    target: bytes = b""
    http_version: bytes = b""
    headers: list[Header] = field(default_factory=list)  # names in the case the client sent
    body: bytes = b""
    chunks: list[bytes] = field(default_factory=list)  # chunk payloads when sent chunked
    trailers: list[Header] = field(default_factory=list)
    complete: bool = False
    error: str | None = None

    def header_values(self, name: bytes | str) -> list[bytes]:
        """Every value sent for `name` (case-insensitive), in the order sent."""
        wanted = _as_bytes(name).lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def header(self, name: bytes | str) -> bytes | None:
        """The value of a header sent at most once; None when absent.

        Raises AssertionError when it was sent several times, so that a scenario checking
        "the value" does not silently look at the first of many.
        """
        values = self.header_values(name)
        if len(values) > 1:
            raise AssertionError(f"header {_as_bytes(name)!r} was sent {len(values)} times: {values!r}")
        return values[0] if values else None

    @property
    def header_names(self) -> list[bytes]:
        return [key for key, _ in self.headers]

    @property
    def connection_options(self) -> list[bytes]:
        """The connection options sent, lower-cased, in order: every Connection field line read
        as one comma-separated list, empty elements dropped (RFC 9110 7.6.1, 5.6.1)."""
        return [option for value in self.header_values("connection")
                for option in (item.strip(b" \t").lower() for item in value.split(b",")) if option]

    @property
    def field_lines(self) -> list[bytes]:
        """The raw field lines of the head as sent, without the request line and the blank line."""
        return raw_field_lines(self.head)

    @property
    def head(self) -> bytes:
        """The raw request line and header section, up to and including the blank line."""
        end = self.raw.find(b"\r\n\r\n")
        return self.raw if end < 0 else self.raw[: end + 4]

    def framing_faults(self) -> list[str]:
        """Framing rules of RFC 9112 section 6 that h11 does not enforce on what it parses."""
        faults = []
        if self.header_values(b"transfer-encoding") and self.header_values(b"content-length"):
            # RFC 9112 6.2: "A sender MUST NOT send a Content-Length header field in any message
            # that contains a Transfer-Encoding header field."
            faults.append("both Transfer-Encoding and Content-Length sent")
        return faults


def raw_field_lines(head: bytes) -> list[bytes]:
    end = head.find(b"\r\n\r\n")
    return (head if end < 0 else head[:end]).split(b"\r\n")[1:]


def field_lines(head: bytes) -> list[Header]:
    """(name, value) for each field line of a raw request head, in order, names as sent.

    Values lose their surrounding whitespace (RFC 9112 5: OWS is not part of the value); an
    obs-fold continuation line is joined to the previous value with one space.
    """
    fields: list[Header] = []
    for line in raw_field_lines(head):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b" " + line.strip(b" \t"))
            continue
        name, _, value = line.partition(b":")
        fields.append((name, value.strip(b" \t")))
    return fields


def _as_bytes(text: bytes | str) -> bytes:
    return text.encode("latin-1") if isinstance(text, str) else text


class RequestParser:
    """Feeds received bytes to h11 and turns its events into one RecordedRequest.

    A fresh h11 connection is used per request, because the server answers with scripted raw
    bytes that h11 never sees; bytes that arrive after the end of this request are handed back
    by `leftover()` to start the next one.
    """

    def __init__(self) -> None:
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._fed = bytearray()
        self.request = RecordedRequest()
        self.head_done = False
        self._chunked = False
        self._in_chunk = False  # inside a chunk whose data came in several Data events

    def feed(self, data: bytes) -> None:
        self._fed += data
        self._h11.receive_data(data)

    def feed_eof(self) -> None:
        self._h11.receive_data(b"")

    def advance(self, want_body: bool) -> bool:
        """Consume events; True once the head (or with `want_body`, the whole request) is in.

        On a protocol error the request is marked with it and True is returned: nothing more
        can be parsed.
        """
        request = self.request
        try:
            while True:
                if self.head_done and not want_body:
                    self._finish()
                    return True
                event = self._h11.next_event()
                if event is h11.NEED_DATA:
                    return False
                if event is h11.PAUSED:  # pragma: no cover - h11 pauses only after a full message
                    return True
                if isinstance(event, h11.Request):
                    request.method, request.target = bytes(event.method), bytes(event.target)
                    request.http_version = bytes(event.http_version)
                    self._chunked = any(b"chunked" in value.lower() for name, value in event.headers
                                        if name == b"transfer-encoding")
                    self.head_done = True
                elif isinstance(event, h11.Data):
                    request.body += bytes(event.data)
                    if self._chunked:
                        self._add_chunk_data(bytes(event.data), event.chunk_end)
                elif isinstance(event, h11.EndOfMessage):
                    request.trailers = [(bytes(k), bytes(v)) for k, v in event.headers.raw_items()]
                    request.complete = True
                    self._finish()
                    return True
                elif isinstance(event, h11.ConnectionClosed):
                    request.error = "connection closed before the request was complete"
                    self._finish()
                    return True
        except h11.RemoteProtocolError as exc:
            request.error = str(exc) or type(exc).__name__
            self._finish()
            return True

    def _add_chunk_data(self, data: bytes, chunk_end: bool) -> None:
        # h11's chunk_start is unreliable when a size line arrives apart from its data (the next
        # Data event then says chunk_start=False); chunk_end always marks a chunk's last piece.
        if self._in_chunk:
            self.request.chunks[-1] += data
        else:
            self.request.chunks.append(data)
        self._in_chunk = not chunk_end

    def _finish(self) -> None:
        self.request.raw = bytes(self._fed[: len(self._fed) - len(self.leftover())])
        # The field lines come from the raw head, not from h11's view of it: h11 merges repeated
        # identical Content-Length lines and drops everything when it rejects the head, and a
        # scenario must see exactly which lines the client sent.
        self.request.headers = field_lines(self.request.head)

    def leftover(self) -> bytes:
        """Bytes received beyond the end of this request (the start of the next one)."""
        if self.request.error is not None and not self.request.complete:
            return b""
        return bytes(self._h11.trailing_data[0])
