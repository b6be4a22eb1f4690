"""Limits, in every direction: each quantity a server (or a proxy) controls, flooded.

RFC 9110 2.3: "A recipient SHOULD parse a received protocol element defensively, with only
marginal expectations that the element will conform to its ABNF grammar and fit within a
reasonable buffer size" (RFC9110-2.3-p1-s1). No RFC sets a figure for any of these quantities, so
every flood here is a SHOULD: a client that reads a flood to its end misses it (fail-should),
never a MUST.

Each scenario floods one quantity: the server sends the response up to the flooded element, then
repeats one unit of it (a field line, 1 KiB more of a line, an interim response, a chunk) for as
long as the client reads, 64 MiB in all (65536 field lines of 1 KiB, 655 times http.client's
100; a line 1024 times its 65536 octets; 16384 interim responses), then ends the message
properly. A client that bounds the quantity stops with a protocol error long before the end, in
bounded memory: it passes. A client that reads the whole flood fails, whether it then accepts the
response or fails at the end (it would have read forever). Where the client runs in this process,
the memory it held meanwhile is observed with tracemalloc (Python allocations only) and must stay
under 16 MiB.

Every flood has its control: the same response with a few units (3 field lines of 1 KiB, one 1 KiB
line, 5 interim responses, 20 chunks), which every client reads: a control sized on http.client's
limits would fail clients whose limits are smaller and just as sane (Node.js bounds a header
section at 16 KiB, Go a trailer section at 4 KiB), and a control that fails on a limit RFC 9110 5.4
allows would report no fault at all.

The exact limits of http.client (100 field lines, 65536 octets a line, LineTooLong) are checked at
their boundaries by response.headers.limits-api, response.headers.line-length,
response.interim.flood, response.interim.header-limits and tunnel.reply.limits; the scenarios
here ask only that a limit exists and holds before the flood ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from h1conform.servers import expect_connect, expect_request, relay, respond
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    SHOULD,
    WIRE,
    ErrorKind,
    body,
    check,
    scenario,
    variant,
)
from h1conform.suites.harness.floods import MEMORY_BOUND, MIB, Quantity, judge_flood, mib, traced_peak

PROTOCOL, INCOMPLETE = ErrorKind.PROTOCOL, ErrorKind.INCOMPLETE
DEFENSIVE = "RFC9110-2.3-p1-s1"  # parse defensively, within a reasonable buffer size (SHOULD)

FIELD_UNIT = 1024  # octets of one flooded field line (or interim response, or chunk)
LINE_UNIT = 1024  # octets one unit adds to a flooded line (curl bounds a trailer line at 4096)
# Field lines a control sends: 3 KiB in all, under the smallest section limit seen in a client
# (Go reads a trailer section within its 4 KiB buffer).
CONTROL_FIELD_LINES = 3

CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
HELLO_CHUNK = b"5\r\nhello\r\n"
FINAL = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def _field(name: bytes) -> bytes:
    """A field line of FIELD_UNIT octets, its CRLF included."""
    prefix = name + b": "
    return prefix + b"v" * (FIELD_UNIT - len(prefix) - 2) + b"\r\n"


SIZES = pytest.mark.parametrize("size", [variant("control", id="control"), variant("flood", id="flood")])
HEAD_KINDS = (PROTOCOL,)
CHUNKED_KINDS = (PROTOCOL, INCOMPLETE)  # RFC 9112 8 calls a chunked decoding failure incomplete


def wire_flood(declared: pytest.MarkDecorator, quantity: Quantity, *, why: str,
               kinds: tuple[ErrorKind, ...] = HEAD_KINDS) -> Callable[..., None]:
    """The wire scenario `declared` (a literal `scenario(...)`, as the expectations check reads ids
    from the source) for one quantity: its control and its flood; `why` says what it checks."""

    @declared
    @SIZES
    def test(server, wire, size):
        units = quantity.control_units if size == "control" else quantity.flood_units
        step = quantity.step(units)
        server.add_connection(expect_request(), step)
        with traced_peak() as peak:
            outcome = wire.request("GET", server.url("/"))
        if size == "control":
            check(outcome, body(quantity.control_body()), f"{why}\nthe control: {units} unit(s) of {quantity.what}",
                  quantity.head + quantity.unit * units + quantity.tail)
            return
        judge_flood(quantity, step, outcome, peak, kinds, why)

    test.__doc__ = why
    return test


# =====================================================================================================
# the status line (wire)
# =====================================================================================================

test_status_line_flood = wire_flood(
    scenario("response.limits.status-line", refs=[DEFENSIVE, "RFC9112-4-p3-s1"], level=SHOULD, profile=WIRE),
    Quantity("whitespace between the HTTP version and the status code", b"HTTP/1.1", b" " * LINE_UNIT,
             b" 200 OK\r\nContent-Length: 5\r\n\r\nhello", control_units=0),
    why="RFC 9112 4: a recipient MAY parse the status line on whitespace boundaries, but only so much whitespace: "
        "besides the reason phrase it is the line's only element of open length (the control: one SP)")

test_reason_phrase_flood = wire_flood(
    scenario("response.limits.reason-phrase", refs=[DEFENSIVE, "RFC9112-4-p9-s1"], level=SHOULD, profile=WIRE),
    Quantity("reason phrase", b"HTTP/1.1 200 ", b"r" * LINE_UNIT, b"\r\nContent-Length: 5\r\n\r\nhello",
             control_units=1),
    why="RFC 9112 4: a client SHOULD ignore the reason phrase's content, not its length: a reason that never ends is "
        "a status line that never ends")


# =====================================================================================================
# the header section (wire)
# =====================================================================================================

test_header_fields_flood = wire_flood(
    scenario("response.limits.header-fields", refs=[DEFENSIVE, "RFC9110-5.4-p3-s1"], level=SHOULD, profile=WIRE,
             cves=["CVE-2013-1752"]),
    Quantity("header field lines", b"HTTP/1.1 200 OK\r\n", _field(b"X-Field"), b"Content-Length: 5\r\n\r\nhello",
             control_units=CONTROL_FIELD_LINES),
    why="RFC 9110 5.4: a client MAY discard field lines larger than it wishes to process; a header section that "
        "never ends it must stop reading")

test_header_line_flood = wire_flood(
    scenario("response.limits.header-line", refs=[DEFENSIVE, "RFC9110-5.4-p3-s1"], level=SHOULD, profile=WIRE,
             cves=["CVE-2013-1752"]),
    Quantity("one header field line", b"HTTP/1.1 200 OK\r\nX-Long: ", b"h" * LINE_UNIT,
             b"\r\nContent-Length: 5\r\n\r\nhello", control_units=1),
    why="RFC 9110 5.4: a client MAY discard or truncate a field line larger than it wishes to process, which it "
        "can only do by bounding what it reads of one")


# =====================================================================================================
# interim responses: how many, and the fields inside them (wire)
# =====================================================================================================

_INTERIM_PREFIX = b"HTTP/1.1 100 Continue\r\nX-Pad: "

test_interim_responses_flood = wire_flood(
    scenario("response.limits.interim-responses", refs=[DEFENSIVE, "RFC9110-15.2-p3-s1"], level=SHOULD, profile=WIRE),
    # 4 KiB each: 16384 of them, 164 times http.client's later limit of 100, read in seconds.
    Quantity("100 (Continue) interim responses of 4 KiB", b"",
             _INTERIM_PREFIX + b"p" * (4 * FIELD_UNIT - len(_INTERIM_PREFIX) - 4) + b"\r\n\r\n", FINAL,
             control_units=5),
    why="RFC 9110 15.2: a client MUST parse one or more 1xx before the final response, and no rule bounds their "
        "number: a server can keep a client reading 100 (Continue) forever")

test_interim_fields_flood = wire_flood(
    scenario("response.limits.interim-fields", refs=[DEFENSIVE, "RFC9110-15.2-p3-s1"], level=SHOULD, profile=WIRE,
             cves=["CVE-2021-3737"]),
    Quantity("field lines of a 100 (Continue)", b"HTTP/1.1 100 Continue\r\n", _field(b"X-Interim"),
             b"\r\n" + FINAL, control_units=CONTROL_FIELD_LINES),
    why="CVE-2021-3737: http.client skipped the header section of a 100 (Continue) without bound; an interim "
        "response's fields are bounded like the final one's")

test_interim_line_flood = wire_flood(
    scenario("response.limits.interim-line", refs=[DEFENSIVE, "RFC9110-15.2-p3-s1"], level=SHOULD, profile=WIRE,
             cves=["CVE-2021-3737"]),
    Quantity("one field line of a 100 (Continue)", b"HTTP/1.1 100 Continue\r\nX-Long: ", b"i" * LINE_UNIT,
             b"\r\n\r\n" + FINAL, control_units=1),
    why="CVE-2021-3737: an interim response's field line is bounded like the final one's")


# =====================================================================================================
# the chunked coding: size digits, extensions, data-less framing, trailers (wire)
# =====================================================================================================

_FRAMING_PREFIX = b"1;ext="
_TRAILERS_HEAD = CHUNKED_HEAD + HELLO_CHUNK + b"0\r\n"

test_chunk_size_digits_flood = wire_flood(
    scenario("response.limits.chunk-size-digits", refs=[DEFENSIVE, "RFC9112-7.1-p5-s1"], level=SHOULD, profile=WIRE),
    # The control's size has eight digits (curl refuses more than 16); response.chunked.size-leading-zeros
    # checks that a hundred leading zeros are still read as 5.
    Quantity("chunk-size digits (leading zeros)", CHUNKED_HEAD, b"0" * LINE_UNIT, b"00000005\r\nhello\r\n0\r\n\r\n",
             control_units=0),
    kinds=CHUNKED_KINDS,
    why="RFC 9112 7.1: chunk-size = 1*HEXDIG, and recipients MUST anticipate large numerals; leading zeros "
        "without end never overflow a number, but the line holding them never ends either")

test_chunk_extension_flood = wire_flood(
    scenario("response.limits.chunk-extension", refs=[DEFENSIVE, "RFC9112-7.1.1-p4-s1"], level=SHOULD, profile=WIRE),
    Quantity("one chunk extension", CHUNKED_HEAD + b"5;ext=", b"e" * LINE_UNIT, b"\r\nhello\r\n0\r\n\r\n",
             control_units=1),
    kinds=CHUNKED_KINDS,
    why="RFC 9112 7.1.1: a recipient MUST ignore unrecognised chunk extensions, which it can only do by reading past "
        "them: one that never ends must be refused")

test_chunk_framing_flood = wire_flood(
    scenario("response.limits.chunk-framing", refs=[DEFENSIVE, "RFC9112-7.1-p4-s1"], level=SHOULD, profile=WIRE,
             cves=["CVE-2023-39326"]),
    # In the grammar every chunk but the last carries at least one octet (a size of 0 is the last
    # chunk): chunks of one octet under a long extension are the nearest a server comes to chunks
    # carrying no data. The quantity: the framing received beyond a small allowance per chunk, net
    # of the data it carries.
    Quantity("chunks carrying one octet of data under 1 KiB of framing each", CHUNKED_HEAD + HELLO_CHUNK,
             _FRAMING_PREFIX + b"e" * (FIELD_UNIT - len(_FRAMING_PREFIX) - 5) + b"\r\nx\r\n", b"0\r\n\r\n",
             control_units=20, unit_body=b"x"),
    kinds=CHUNKED_KINDS,
    why="RFC 9112 7.1 (CVE-2023-39326, Go's net/http): chunks carrying next to no data under long extensions make a "
        "client read 1 KiB of framing for each octet of content, and never reach the last chunk")

test_trailer_fields_flood = wire_flood(
    scenario("response.limits.trailer-fields", refs=[DEFENSIVE, "RFC9112-7.1.2-p3-s1"], level=SHOULD, profile=WIRE,
             cves=["CVE-2013-1752"]),
    Quantity("trailer field lines", _TRAILERS_HEAD, _field(b"X-Trailer"), b"\r\n",
             control_units=CONTROL_FIELD_LINES),
    kinds=CHUNKED_KINDS,
    why="RFC 9112 7.1.2: a recipient MAY retain or discard trailer fields; discarding them as they come bounds the "
        "memory, not the time a trailer section that never ends takes (the body was complete before it)")

test_trailer_line_flood = wire_flood(
    scenario("response.limits.trailer-line", refs=[DEFENSIVE, "RFC9112-7.1.2-p3-s1"], level=SHOULD, profile=WIRE,
             cves=["CVE-2013-1752"]),
    Quantity("one trailer field line", _TRAILERS_HEAD + b"X-Trailer: ", b"t" * LINE_UNIT, b"\r\n\r\n",
             control_units=1),
    kinds=CHUNKED_KINDS,
    why="RFC 9112 7.1.2: a trailer field line, retained or discarded, is bounded like a header field line")


# =====================================================================================================
# the proxy's reply to CONNECT (api)
# =====================================================================================================

TUNNEL_DOC = "http.client.HTTPConnection.set_tunnel"
ORIGIN_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
_ESTABLISHED_LINE = b"HTTP/1.1 200 Connection established\r\n"


def tunnel_flood(declared: pytest.MarkDecorator, quantity: Quantity, *, why: str) -> Callable[..., None]:
    """The api scenario `declared` for one quantity of the proxy's reply to CONNECT: control and flood."""

    @declared
    @SIZES
    def test(proxy, server, client, size):
        units = quantity.control_units if size == "control" else quantity.flood_units
        step = quantity.step(units)
        if size == "control":
            proxy.add_connection(expect_connect(), step, relay(server))
            server.add_connection(respond(ORIGIN_OK))
        else:
            proxy.add_connection(expect_connect(), step)
        conn = client.connect(proxy)
        conn.set_tunnel("origin.example", 8080)
        stopped: BaseException | None = None
        with traced_peak() as peak:
            try:
                conn.connect()
            except client.module.HTTPException as exc:
                stopped = exc
        if size == "control":
            assert stopped is None, (
                f"{why}\nthe control, {units} unit(s) of {quantity.what}, opens the tunnel; got {stopped!r}")
            conn.request("GET", "/through")
            assert client.track(conn.getresponse()).read() == b"ok", "the tunnel carries the request"
            return
        judge_flood(quantity, step, stopped, peak, (), why, accepted="opened the tunnel")

    test.__doc__ = why
    return test


test_connect_reply_fields_flood = tunnel_flood(
    scenario("tunnel.limits.reply-fields", refs=[DEFENSIVE, TUNNEL_DOC], level=SHOULD, profile=API,
             cves=["CVE-2013-1752"]),
    Quantity("field lines in the proxy's reply to CONNECT", _ESTABLISHED_LINE, _field(b"X-Proxy"), b"\r\n",
             control_units=CONTROL_FIELD_LINES),
    why="a proxy's reply to CONNECT is a response head like any other, read before the tunnel opens: one whose field "
        "lines never end must not keep connect() reading (Python 3.11 counts none)")

test_connect_reply_line_flood = tunnel_flood(
    scenario("tunnel.limits.reply-line", refs=[DEFENSIVE, TUNNEL_DOC], level=SHOULD, profile=API,
             cves=["CVE-2013-1752"]),
    Quantity("one field line in the proxy's reply to CONNECT", _ESTABLISHED_LINE + b"X-Long: ", b"c" * LINE_UNIT,
             b"\r\n\r\n", control_units=1),
    why="a field line of the proxy's reply to CONNECT is bounded like any response's")


# =====================================================================================================
# a body that never ends, read with a size (api)
# =====================================================================================================

ASKED = 1000  # octets each call asks for
CALLS = 3
PEEK_BOUND = MIB  # peek() may return what is buffered, more than asked, but not the flood

_BODY_UNIT = b"b" * LINE_UNIT  # no LF: readline(n) must stop at n, not at a line's end
ENDLESS = {
    "close-delimited": Quantity("a close-delimited body", b"HTTP/1.1 200 OK\r\n\r\n", _BODY_UNIT, b"", 0),
    "chunked": Quantity("a chunked body", CHUNKED_HEAD, b"%x\r\n%s\r\n" % (LINE_UNIT, _BODY_UNIT), b"0\r\n\r\n", 0),
}


def _readinto(response: Any, size: int) -> bytes:
    buffer = bytearray(size)
    return bytes(buffer[: response.readinto(buffer)])


READS: dict[str, Callable[[Any, int], bytes]] = {
    "read": lambda response, size: response.read(size),
    "read1": lambda response, size: response.read1(size),
    "readline": lambda response, size: response.readline(size),
    "readinto": _readinto,
    "peek": lambda response, size: response.peek(size),
}


@scenario("response.limits.endless-body-sized-reads",
          refs=["http.client.HTTPResponse.read", "http.client.HTTPResponse.read1", "http.client.HTTPResponse.readline",
                "http.client.HTTPResponse.readinto", "http.client.HTTPResponse.peek", DEFENSIVE],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("framing", list(ENDLESS))
@pytest.mark.parametrize("method", list(READS))
def test_endless_body_sized_reads(server, client, framing, method):
    # read(n), read1(n), readline(n) and readinto() of n octets return at most n octets (the
    # io.BufferedIOBase contract the docs give HTTPResponse); peek() what is at hand. On a body
    # that keeps coming (until the server closes, or chunk after chunk), each call must return
    # while the server is still sending, in bounded memory: not wait for an end that never comes.
    quantity = ENDLESS[framing]
    step = quantity.step(quantity.flood_units)
    server.add_connection(expect_request(), step)
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    read = READS[method]
    bound = PEEK_BOUND if method == "peek" else ASKED
    with traced_peak() as peak:
        results = [read(response, ASKED) for _ in range(CALLS)]
    got = [len(result) for result in results]
    assert all(0 < length <= bound for length in got), (
        f"{method}({ASKED}) on {quantity.what} that keeps coming returns 1 to {bound} octets a call; got {got}")
    assert not step.progress.reached_end, (
        f"{method}({ASKED}) returned only after the server had sent {mib(step.progress.octets)}: it read the body "
        "to its end instead of returning what was asked")
    assert set(b"".join(results)) == {ord("b")}, f"the body's octets, without framing: {results[0][:60]!r}"
    assert peak.octets < MEMORY_BOUND, f"{method}({ASKED}) held {mib(peak.octets)} of memory"
    response.close()
