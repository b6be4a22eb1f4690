"""The steps a connection's script is made of, and how response bytes are delivered.

A script is a sequence of steps run in order on one accepted connection:

    [expect_request(), send(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nhi", BYTEWISE)]

Once the last step has run, the server keeps reading (and recording) until the client closes or
the server shuts down, unless the script closed the connection itself.

On a TLS server (ScriptedServer(tls=...)) the same steps carry HTTP bytes as TLS application
data, and `close()` drops TCP without a closure alert; `handshake()`, `expect_client_hello()`,
`send_raw()` and `close_notify()` script the TLS layer itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from h1conform.servers.connection import ScriptError, ServerConnection
from h1conform.servers.requests import RequestParser
from h1conform.servers.tls_transport import TLSChannel

# Between segments the server waits this long, so that a client blocked in recv() wakes up and
# reads each segment on its own instead of finding them coalesced in its socket buffer.
SEGMENT_PAUSE = 0.0005


@dataclass(frozen=True)
class Delivery:
    """How a byte string is cut into separately sent segments."""

    name: str
    offsets: tuple[int, ...] | None = None  # cut points; None means one byte per segment

    def split(self, data: bytes) -> list[bytes]:
        if self.offsets is None:
            return [data[i : i + 1] for i in range(len(data))] or [b""]
        cuts = [0, *(o for o in self.offsets if 0 < o < len(data)), len(data)]
        return [data[a:b] for a, b in zip(cuts, cuts[1:], strict=False)] or [b""]

    def __str__(self) -> str:
        return self.name


WHOLE = Delivery("whole", ())
BYTEWISE = Delivery("bytewise")


def split_at(*offsets: int) -> Delivery:
    """Deliver in segments cut at the given byte offsets."""
    cuts = tuple(sorted(offsets))
    return Delivery("split@" + ",".join(map(str, cuts)), cuts)


class Step:
    """One action of a script; `run` performs it on the connection."""

    # True for steps that wait for the client to send something: if the server is closed while
    # such a step waits, the client never did what the scenario expected.
    awaits_client = False

    def run(self, conn: ServerConnection) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class ExpectRequest(Step):
    """Read one request (or only its head) and record it as h11 parsed it."""

    awaits_client = True

    body: bool = True
    strict: bool = True
    timeout: float | None = None

    def run(self, conn: ServerConnection) -> None:
        parser = RequestParser()
        conn.record.requests.append(parser.request)
        _parse(conn, parser, want_body=self.body, timeout=self.timeout)
        if self.strict and parser.request.error is not None:
            raise ScriptError(f"the client sent a request that h11 rejects: {parser.request.error}\n"
                              f"raw bytes: {parser.request.raw!r}")
        if not self.body:
            conn.parser = parser

    def __str__(self) -> str:
        return "expect_request()" if self.body else "expect_request(body=False)"


@dataclass(frozen=True)
class ExpectBody(Step):
    """Read the rest of a request whose head an `expect_request(body=False)` already read."""

    awaits_client = True

    timeout: float | None = None

    def run(self, conn: ServerConnection) -> None:
        parser = conn.parser
        if parser is None:
            raise ScriptError("expect_body() needs an earlier expect_request(body=False)")
        conn.parser = None
        conn.pending = b""  # the bytes past the head are already in this parser's buffer
        _parse(conn, parser, want_body=True, timeout=self.timeout)
        if parser.request.error is not None:
            raise ScriptError(f"the client sent a request body that h11 rejects: {parser.request.error}")

    def __str__(self) -> str:
        return "expect_body()"


def _parse(conn: ServerConnection, parser: RequestParser, *, want_body: bool, timeout: float | None) -> None:
    if conn.pending:
        parser.feed(conn.pending)
        conn.pending = b""
    while not parser.advance(want_body):
        data = conn.receive(conn.timeout if timeout is None else timeout)
        if data:
            parser.feed(data)
            continue
        parser.feed_eof()
        parser.advance(want_body)
        got = len(parser.request.raw)
        raise ScriptError(f"the client closed the connection after {got} bytes of an expected request"
                          + (f": {parser.request.raw[:200]!r}" if got else ""))
    conn.pending = parser.leftover()


@dataclass(frozen=True)
class Send(Step):
    """Send bytes, cut into segments by a Delivery, pausing between segments."""

    data: bytes
    delivery: Delivery = WHOLE
    pause: float = SEGMENT_PAUSE

    def run(self, conn: ServerConnection) -> None:
        segments = self.delivery.split(self.data)
        for number, segment in enumerate(segments):
            if number:
                conn.pause(self.pause)
            if not conn.send(segment):
                return

    def __str__(self) -> str:
        shown = self.data[:60] + (b"..." if len(self.data) > 60 else b"")
        return f"send({shown!r}, {self.delivery})"


def next_request(conn: ServerConnection) -> bool:
    """Read the next request of a connection the client may keep or close: False if the client
    closed it without starting one; a request cut short is still a script error."""
    try:
        ExpectRequest().run(conn)
    except ScriptError:
        if conn.record.client_closed and not conn.record.requests[-1].raw:
            conn.record.requests.pop()  # the placeholder of a request never sent
            return False
        raise
    return True


@dataclass(frozen=True)
class RespondIfSent(Step):
    """Answer up to `limit` more requests on this connection, for a client that sends them here.

    A client that closes the connection instead (it went to a new connection, or may do either)
    ends the step quietly; a request cut short is still a script error.
    """

    response: bytes
    limit: int = 1
    delivery: Delivery = WHOLE

    def run(self, conn: ServerConnection) -> None:
        for _ in range(self.limit):
            if not next_request(conn):
                return
            Send(self.response, self.delivery).run(conn)

    def __str__(self) -> str:
        return f"respond_if_sent({self.response[:40]!r}, limit={self.limit}, {self.delivery})"


@dataclass(frozen=True)
class Pause(Step):
    seconds: float

    def run(self, conn: ServerConnection) -> None:
        conn.pause(self.seconds)


class HalfClose(Step):
    """Shut down the server's sending side (FIN) and keep reading."""

    def run(self, conn: ServerConnection) -> None:
        conn.half_close()

    def __str__(self) -> str:
        return "half_close()"


class Close(Step):
    """Close the connection (FIN); the script ends here."""

    def run(self, conn: ServerConnection) -> None:
        conn.record.events.append("server closed")
        conn.close()

    def __str__(self) -> str:
        return "close()"


class Reset(Step):
    """Abort the connection with a TCP RST; the script ends here."""

    def run(self, conn: ServerConnection) -> None:
        conn.reset()

    def __str__(self) -> str:
        return "reset()"


class Stall(Step):
    """Send nothing more; keep the connection open until the client closes or the server stops."""

    def run(self, conn: ServerConnection) -> None:
        conn.record.events.append("server stalls")
        conn.drain()

    def __str__(self) -> str:
        return "stall()"


@dataclass(frozen=True)
class Call(Step):
    """Run a handler function on the connection, for what the other steps cannot express."""

    handler: Callable[[ServerConnection], None]

    def run(self, conn: ServerConnection) -> None:
        # Handlers wait on the test (which waits on the client) more than they work: their time
        # counts as the client's for the scenario deadline, or a client hanging before the test
        # lets the handler go on would never time out.
        with conn.awaiting_client():
            self.handler(conn)

    def __str__(self) -> str:
        return f"call({getattr(self.handler, '__name__', self.handler)!r})"


# A flood is handed to the kernel in pieces of about this size.
FLOOD_PIECE = 65536
# The last stretch of a flood: `FloodProgress.reached_end` turns True before it is sent. A client
# that stopped reading early leaves the server blocked in a send long before it: what the kernels
# can buffer between the two ends stays tens of MiB short of a flood of 64 MiB.
FLOOD_FINAL_STRETCH = 1 << 20


@dataclass
class FloodProgress:
    """How far a flood() step got, for the scenario to read while or after it runs."""

    octets: int = 0  # octets of the repeated unit handed to the kernel so far
    reached_end: bool = False  # the last stretch was sent or being sent: the client read (almost) all
    client_gone: bool = False  # the client closed or reset the connection during the flood


@dataclass(frozen=True)
class Flood(Step):
    """Send `head`, then `unit` `count` times, then `tail`: for as long as the client reads.

    A server that keeps sending one quantity (fields, a line, interim responses...) until the
    client stops. The flood's octets are counted, not recorded: a record of 64 MiB would weigh on
    the harness and on any memory a scenario measures. A client that stops reading holds the
    step in its send until it closes the connection (the step then ends) or the server shuts down.
    Plain TCP only (a TLS server's record layer would have to record what it encrypts).
    """

    head: bytes
    unit: bytes
    count: int
    tail: bytes = b""
    progress: FloodProgress = field(default_factory=FloodProgress, compare=False)

    def run(self, conn: ServerConnection) -> None:
        if conn.channel is not None:
            raise ScriptError("flood() needs a plain TCP server, not a TLS one")
        if not self.unit:
            raise ScriptError("flood() needs a unit of at least one octet")
        progress = self.progress
        per_piece = max(1, FLOOD_PIECE // len(self.unit))
        piece = self.unit * per_piece
        left = self.count
        delivered = conn.send(self.head)
        while delivered and left:
            units = min(left, per_piece)
            data = piece if units == per_piece else self.unit * units
            progress.reached_end = progress.reached_end or left * len(self.unit) <= FLOOD_FINAL_STRETCH
            delivered = conn.raw_send(data)
            if delivered:
                progress.octets += len(data)
                conn.record.flooded += len(data)
                left -= units
        delivered = delivered and conn.send(self.tail)
        progress.client_gone = not delivered
        conn.note(f"flood: {progress.octets} of {self.count * len(self.unit)} octets sent"
                  + ("; the client went away" if progress.client_gone else ""))

    def __str__(self) -> str:
        return f"flood({self.head[:40]!r}, {self.unit[:20]!r} x {self.count}, {self.tail[:20]!r})"


# -- TLS: steps for a server made with tls=ServerTLS(...) -------------------------------------------


@dataclass(frozen=True)
class Handshake(Step):
    """Make the TLS handshake now; `succeeds` True/False: the script fails if it ends otherwise.

    A failed handshake ends the script's use of TLS; the connection then reads raw bytes until
    the client closes, so that the client sees the server's alert rather than a reset.
    """

    awaits_client = True

    succeeds: bool | None = True
    timeout: float | None = None

    def run(self, conn: ServerConnection) -> None:
        channel = _channel(conn, self)
        ok = channel.handshake(conn.timeout if self.timeout is None else self.timeout)
        if self.succeeds is True and not ok:
            raise ScriptError(f"the TLS handshake failed: {channel.record.handshake_error}")
        if self.succeeds is False and ok:
            raise ScriptError("the client completed the TLS handshake, which the scenario expected it to refuse")

    def __str__(self) -> str:
        return "handshake()" if self.succeeds else f"handshake(succeeds={self.succeeds})"


@dataclass(frozen=True)
class ExpectClientHello(Step):
    """Read raw bytes until the client's whole ClientHello has arrived, without answering it."""

    awaits_client = True

    timeout: float | None = None

    def run(self, conn: ServerConnection) -> None:
        channel = _channel(conn, self)
        if not channel.read_client_hello(conn.timeout if self.timeout is None else self.timeout):
            raise ScriptError("the client sent no TLS ClientHello: "
                              f"{bytes(channel.record.raw_received[:100])!r}")

    def __str__(self) -> str:
        return "expect_client_hello()"


@dataclass(frozen=True)
class SendRaw(Step):
    """Send bytes on the TCP connection, outside TLS: before the handshake, none is made then."""

    data: bytes

    def run(self, conn: ServerConnection) -> None:
        conn.send_raw(self.data)

    def __str__(self) -> str:
        shown = self.data[:60] + (b"..." if len(self.data) > 60 else b"")
        return f"send_raw({shown!r})"


class CloseNotify(Step):
    """Send a TLS closure alert (close_notify); TCP stays open until a close() step or the client's close."""

    def run(self, conn: ServerConnection) -> None:
        channel = _channel(conn, self)
        if channel.state != "done":
            raise ScriptError(f"close_notify() needs a TLS session; the handshake {channel.state}")
        channel.close_notify()

    def __str__(self) -> str:
        return "close_notify()"


def _channel(conn: ServerConnection, step: Step) -> TLSChannel:
    if conn.channel is None:
        raise ScriptError(f"{step} needs a TLS server (ScriptedServer(tls=...))")
    return conn.channel


# The builders scenarios use: short names that read like the script they write.
def expect_request(*, body: bool = True, strict: bool = True, timeout: float | None = None) -> Step:
    return ExpectRequest(body=body, strict=strict, timeout=timeout)


def expect_body(*, timeout: float | None = None) -> Step:
    return ExpectBody(timeout=timeout)


def send(data: bytes, delivery: Delivery = WHOLE, *, pause: float = SEGMENT_PAUSE) -> Step:
    return Send(data, delivery, pause)


def send_segments(segments: Sequence[bytes], *, pause: float = SEGMENT_PAUSE) -> Step:
    offsets, position = [], 0
    for segment in segments[:-1]:
        position += len(segment)
        offsets.append(position)
    return Send(b"".join(segments), Delivery("segments", tuple(offsets)), pause)


def pause(seconds: float) -> Step:
    return Pause(seconds)


def half_close() -> Step:
    return HalfClose()


def close() -> Step:
    return Close()


def reset() -> Step:
    return Reset()


def stall() -> Step:
    return Stall()


def call(handler: Callable[[ServerConnection], None]) -> Step:
    return Call(handler)


def handshake(*, succeeds: bool | None = True, timeout: float | None = None) -> Step:
    return Handshake(succeeds, timeout)


def expect_client_hello(*, timeout: float | None = None) -> Step:
    return ExpectClientHello(timeout)


def send_raw(data: bytes) -> Step:
    return SendRaw(data)


def close_notify() -> Step:
    return CloseNotify()


def respond_if_sent(response: bytes, delivery: Delivery = WHOLE, *, limit: int = 1) -> Step:
    return RespondIfSent(response, limit, delivery)


def flood(head: bytes, unit: bytes, count: int, tail: bytes = b"") -> Flood:
    """Send `head`, `unit` `count` times, then `tail`, as long as the client reads; the step's
    `progress` says how far it got."""
    return Flood(head, unit, count, tail)


def respond(response: bytes, delivery: Delivery = WHOLE) -> list[Step]:
    """The most common script: read one request, send one response."""
    return [expect_request(), send(response, delivery)]


__all__ = [
    "BYTEWISE", "WHOLE", "Delivery", "Flood", "FloodProgress", "Step", "call", "close", "close_notify", "expect_body",
    "expect_client_hello", "expect_request", "flood", "half_close", "handshake", "pause", "reset", "respond", "respond_if_sent", "send",
    "send_raw", "send_segments", "split_at", "stall",
]
