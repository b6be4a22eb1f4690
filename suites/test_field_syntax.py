"""Field syntax a recipient must parse (RFC 9110 5): unrecognised fields, lists, control octets, lengths.

    #element  = [ element ] *( OWS "," OWS [ element ] )     ; what a recipient MUST accept (5.6.1.2)
    field-value = *field-content                              ; CTLs other than HTAB are invalid (5.5)

RFC 9110 5.1: recipients SHOULD ignore header fields they do not recognise, so a field whose name
only looks like a framing or connection field must change nothing. RFC 9110 5.6.1.2: a recipient
MUST parse and ignore empty list elements; the list fields a client itself interprets are
Transfer-Encoding and Connection, and a Content-Length list (RFC 9112 6.3) is parsed as a list too.
RFC 9110 5.5: CTLs other than CR, LF and NUL MAY be retained. RFC 9110 5.4: a client MAY discard
or truncate an over-long field line, but only one it can ignore without changing the framing.
RFC 9110 2.3: a recipient MUST parse elements at least as long as those it generates.

Every response ends with octets (`EXTRA`) that a client which lost the framing would take for body,
and every table that expects a change of behaviour has a plain row (a control) next to it.
"""

from __future__ import annotations

import pytest

from h1conform.servers import (
    WHOLE,
    Delivery,
    close,
    expect_request,
    half_close,
    respond,
    respond_if_sent,
    send,
)
from h1conform.suites.harness import (
    MAY,
    MUST,
    SHOULD,
    WIRE,
    ErrorKind,
    Response,
    body,
    check,
    each_delivery,
    expect_failure,
    expect_response,
    scenario,
    variant,
)
from h1conform.suites.harness.checks import control_passes
from h1conform.suites.harness.waiting import client_closed
from h1conform.suites.harness.wire import FEATURE_PERSISTENT

PROTOCOL = ErrorKind.PROTOCOL
EXTRA = b"EXTRA"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"
# Long messages are not sent byte by byte (60000 pauses): whole, and in segments of 4093 octets
# cut at odd places (inside the field name, the value and the line end).
LONG_DELIVERIES = pytest.mark.parametrize("delivery", [WHOLE, Delivery("segments-4093", tuple(range(7, 70_000, 4093)))],
                                          ids=str)




def _response(*field_lines: bytes, framing: bytes = b"Content-Length: 5\r\n", payload: bytes = b"hello") -> bytes:
    fields = b"".join(line + b"\r\n" for line in field_lines)
    return b"HTTP/1.1 200 OK\r\n" + fields + framing + b"\r\n" + payload


# =====================================================================================================
# unrecognised fields change nothing (wire)
# =====================================================================================================


# Field names of the rows below that only look like Connection: they change neither the framing nor
# the body, only (wrongly) whether the connection is kept.
CONNECTION_LOOKALIKES = {b"x-connection", b"connections", b"proxy-connection"}


@scenario("response.fields.unrecognized-ignored", refs=["RFC9110-5.1-p6-s2"], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("lines", [
    variant([], id="control-none"),
    variant([b"X-Unknown: 3"], id="unknown"),
    variant([b"Content-Lengths: 3"], id="content-length-plural"),
    variant([b"X-Content-Length: 3"], id="content-length-prefixed"),
    variant([b"Content-Length-Range: 0-3"], id="content-length-suffixed"),
    variant([b"Transfer-Encodings: chunked"], id="transfer-encoding-plural"),
    variant([b"X-Transfer-Encoding: chunked"], id="transfer-encoding-prefixed"),
    variant([b"TE: chunked"], id="te-in-response"),
    variant([b"X-Connection: close"], id="connection-prefixed"),
    variant([b"Connections: close"], id="connection-plural"),
    variant([b"Proxy-Connection: close"], id="proxy-connection"),
    variant([b"X-F%d: %d" % (i, i) for i in range(50)], id="fifty-unknown"),
])
@each_delivery
def test_unrecognized_fields(server, wire, lines, delivery):
    # The real framing is Content-Length: 5 and the connection persists. A client that takes a
    # look-alike field for Content-Length, Transfer-Encoding or Connection mis-frames the body
    # (b'hel', a chunked decoding error) or drops the connection; one that ignores it (RFC 9110
    # 5.1: recipients SHOULD ignore unrecognised fields) reads b'hello' and then the second
    # response on the same connection. The fields themselves may still be reported as data.
    # A client that opens a connection per request is judged on the framing alone: it makes no
    # second request, and the rows of Connection look-alikes have nothing to show it.
    persistent = FEATURE_PERSISTENT in wire.features
    if {line.partition(b":")[0].lower() for line in lines} & CONNECTION_LOOKALIKES:
        wire.require(FEATURE_PERSISTENT, "a Connection look-alike can only be seen to leave a kept connection alone")
    server.add_connection(respond(_response(*lines), delivery), respond(SECOND) if persistent else [])
    with wire.session() as session:
        first = expect_response(session.request("GET", server.url("/1")))
        second = session.request("GET", server.url("/2")) if persistent else None
    rule = ("RFC 9110 5.1: a recipient SHOULD ignore header fields it does not recognise; a name that only looks "
            "like Content-Length, Transfer-Encoding or Connection must not change the framing or the connection")
    assert first.body == b"hello", f"{rule}; body {first.body!r}, expected b'hello' (Content-Length: 5)"
    if persistent:
        assert expect_response(second).body == b"second", f"{rule}; the next response was {second}"
        assert len(server.connections) == 1, f"{rule}; the client opened {len(server.connections)} connections"


# =====================================================================================================
# empty list elements and OWS in the list fields a client interprets (wire)
# =====================================================================================================

CHUNKED = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"


@scenario("response.fields.list-empty-elements.transfer-encoding",
          refs=["RFC9110-5.6.1.2-p1-s1", "RFC9110-5.6.1.2-p1-s2"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("value", [
    variant(b"chunked", id="control-chunked"),
    variant(b", chunked", id="leading-empty"),
    variant(b",chunked", id="leading-comma"),
    variant(b"chunked,", id="trailing-comma"),
    variant(b"chunked , ,", id="trailing-empties"),
    variant(b" , , chunked", id="two-leading-empties"),
    variant(b",,,chunked,,,", id="commas-around"),
])
@each_delivery
def test_transfer_encoding_empty_elements(server, wire, value, delivery):
    # Transfer-Encoding = #transfer-coding. RFC 9110 5.6.1.2: a recipient MUST accept
    # "#element => [ element ] *( OWS "," OWS [ element ] )": ", chunked" names the single coding
    # chunked, which is then the final coding and frames the body. A client that compares the
    # whole value with "chunked" reads until close and returns the chunk framing as the body.
    raw = _response(framing=b"Transfer-Encoding: " + value + b"\r\n", payload=CHUNKED)
    server.add_connection(expect_request(), send(raw, delivery), close())
    check(wire.request("GET", server.url("/")), body(b"hello world"),
          f"RFC 9110 5.6.1.2: a recipient MUST parse and ignore empty list elements; Transfer-Encoding: {value!r} "
          "is the coding chunked", raw)


FIRST = b"first"


@scenario("response.fields.list-empty-elements.connection",
          refs=["RFC9110-5.6.1.2-p1-s1", "RFC9110-5.6.1.2-p1-s2", "RFC9112-9.6-p8-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("value, persists", [
    variant(b"keep-alive", True, id="control-keep-alive", level=SHOULD, refs=["RFC9112-9.3-p1-s1"]),
    variant(b"close", False, id="control-close"),
    variant(b"close,", False, id="trailing-comma"),
    variant(b", close", False, id="leading-empty"),
    variant(b",, close ,,", False, id="empties-around"),
    variant(b"keep-alive, , close", False, id="empty-between"),
    # OWS around the commas is part of the list syntax; a recipient MAY also turn it into one SP.
    variant(b"keep-alive \t,\t close", False, id="ows-around-comma",
            refs=["RFC9110-5.6.1.2-p1-s2", "RFC9110-5.6.3-p4-s1", "RFC9112-9.6-p8-s1"]),
    # Options are tokens: one that merely contains the letters "close" is not the close option,
    # and a connection closed for it is a persistent connection given up (RFC 9112 9.3: SHOULD).
    variant(b"x-noclose", True, id="token-containing-close", level=SHOULD,
            refs=["RFC9112-9.3-p1-s1", "RFC9110-2.4-p1-s1"]),
    variant(b"keep-alive, closed", True, id="token-closed", level=SHOULD, refs=["RFC9112-9.3-p1-s1", "RFC9110-2.4-p1-s1"]),
])
@each_delivery
def test_connection_empty_elements(server, wire, value, persists, delivery):
    # Connection = #connection-option. With the close option in the list (however many empty
    # elements surround it) the client MUST NOT send another request on the connection; without
    # it (an unknown option) the HTTP/1.1 connection persists, which only a client that keeps
    # connections can show.
    first = _response(b"Connection: " + value, payload=FIRST)
    if persists:
        wire.require(FEATURE_PERSISTENT, "this row checks that the connection is kept")
        server.add_connection(respond(first, delivery), respond_if_sent(SECOND))
        server.add_connection(respond(SECOND), optional=True)
    else:
        server.add_connection(respond(first, delivery), half_close())
        server.add_connection(respond(SECOND))
    with wire.session() as session:
        one = expect_response(session.request("GET", server.url("/1")))
        outcome = session.request("GET", server.url("/2"))
        if not persists:
            client_closed(server.connection(0))  # if it gave the connection up, all it sent there is recorded
            sent_again = server.connection(0).unparsed
            assert not sent_again, (
                f"RFC 9110 5.6.1.2 / RFC 9112 9.6: Connection: {value!r} holds the close option (empty list elements "
                f"are ignored); the client MUST NOT send another request on the connection, it sent {sent_again[:60]!r}")
    two = expect_response(outcome)
    assert (one.body, two.body) == (FIRST, b"second")
    expected = 1 if persists else 2
    assert len(server.connections) == expected, (
        f"Connection: {value!r} {'keeps the connection (no close option)' if persists else 'closes it'}: expected "
        f"{expected} connection(s) for two requests, the client opened {len(server.connections)}")


@scenario("response.fields.list-empty-elements.content-length",
          refs=["RFC9110-5.6.1.2-p1-s1", "RFC9112-6.3-p2-s4"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("value", [
    variant(b"5", id="control-single"),
    variant(b"5, , 5", id="identical-with-empty"),
    variant(b"5,", id="trailing-comma"),
    variant(b", 5", id="leading-comma"),
])
@each_delivery
def test_content_length_list(server, wire, value, delivery):
    # RFC 9112 6.3: a Content-Length value that "can be successfully parsed as a comma-separated
    # list" of identical valid values is processed with that value; RFC 9110 5.6.1.2: empty
    # elements are ignored in such a list. Taking the one value (body b'hello') or refusing the
    # message as invalid are both accepted; ignoring the field and reading until the close
    # (b'helloEXTRA') is not: the framing would come from the server's close, not from the field.
    raw = _response(framing=b"Content-Length: " + value + b"\r\n", payload=b"hello" + EXTRA)
    server.add_connection(expect_request(), send(raw, delivery), close())
    check(wire.request("GET", server.url("/")), body(b"hello", or_fails=(PROTOCOL,)),
          f"RFC 9112 6.3 / RFC 9110 5.6.1.2: Content-Length: {value!r} is a list of the one value 5, or an invalid "
          "field; never absent", raw)


# =====================================================================================================
# control characters other than CR, LF, NUL (wire)
# =====================================================================================================


@scenario("response.fields.other-ctl", refs=["RFC9110-5.5-p5-s2"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("value", [
    variant(b"a\tb", id="control-htab"),
    variant(b"a\x01b", id="soh"),
    variant(b"a\x1b[31mb", id="escape-sequence"),
    variant(b"a\x0bb", id="vertical-tab"),
    variant(b"a\x0cb", id="form-feed"),
    variant(b"a\x1fb", id="unit-separator"),
    variant(b"a\x7fb", id="del"),
])
@each_delivery
def test_other_ctl(server, wire, value, delivery):
    # RFC 9110 5.5: field values with CTLs (other than HTAB) are invalid, but a recipient MAY
    # retain them. Accepted: the value as sent, the value with each CTL replaced by SP, or a
    # protocol error. A CTL must never end the field line or the header section (VT and FF are
    # line breaks to Python's str.splitlines): the field after it and the framing stay intact.
    raw = _response(b"X-A: " + value, b"X-B: after") + EXTRA
    server.add_connection(expect_request(), send(raw, delivery), close())
    outcome = wire.request("GET", server.url("/"))
    if not isinstance(outcome, Response):
        assert value != b"a\tb", f"HTAB is allowed inside a field value; the client failed with {outcome}"
        expect_failure(outcome, PROTOCOL)
        return
    text = value.decode("latin-1")
    allowed = {text, "".join(" " if c < " " and c != "\t" or c == "\x7f" else c for c in text)}
    rule = ("RFC 9110 5.5: HTAB is field content, kept as it is" if value == b"a\tb" else
            "RFC 9110 5.5: a recipient MAY retain other CTLs (or reject the message, or replace each by SP)")
    assert outcome.header_values("X-A") in ([v] for v in allowed), (
        f"{rule}; X-A: {value!r} became {outcome.header_values('X-A')!r}")
    assert outcome.header_values("X-B") == ["after"], f"the field after the CTL is intact: {outcome.headers!r}"
    assert outcome.body == b"hello", f"the framing (Content-Length: 5) is intact, got body {outcome.body!r}"


# =====================================================================================================
# long field lines: discard or truncate only what does not frame (wire)
# =====================================================================================================


@scenario("response.fields.long-line", refs=["RFC9110-5.4-p3-s1"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("octets", [
    variant(100, id="control-100-octets"),
    variant(16_000, id="16000-octets"),
    variant(60_000, id="60000-octets"),
])
@LONG_DELIVERIES
def test_long_unknown_field(server, wire, octets, delivery):
    # RFC 9110 5.4: a client MAY discard or truncate a field line larger than it wishes to process
    # "if the field semantics are such that the dropped value(s) can be safely ignored without
    # changing the message framing or response semantics". An unknown field may be kept, cut
    # (a prefix of its value) or dropped, or the response refused; the body is framed as usual.
    value = bytes(b"abcdefghij"[i % 10] for i in range(octets))
    raw = _response(b"X-Big: " + value) + EXTRA
    server.add_connection(expect_request(), send(raw, delivery), close())
    outcome = wire.request("GET", server.url("/"))
    if not isinstance(outcome, Response):
        assert octets > 100, f"a 100-octet field line must be read; the client failed with {outcome}"
        expect_failure(outcome, PROTOCOL)
        return
    kept = outcome.header_values("X-Big")
    assert kept == [] or (len(kept) == 1 and value.decode().startswith(kept[0])), (
        f"RFC 9110 5.4: a long field line may be kept, truncated or discarded, not altered; got {str(kept)[:120]}")
    if octets == 100:
        assert kept == [value.decode()], "a 100-octet field is kept as it is"
    assert outcome.body == b"hello", f"RFC 9110 5.4: the framing must not change; got body {outcome.body[:40]!r}"


@scenario("response.fields.long-framing-field", refs=["RFC9110-5.4-p3-s1", "RFC9110-8.6-p10-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("zeros", [
    variant(0, id="control-no-padding"),
    variant(100, id="100-leading-zeros"),
    variant(5000, id="5000-leading-zeros"),
    variant(60_000, id="60000-leading-zeros"),
])
@LONG_DELIVERIES
def test_long_content_length(server, wire, zeros, delivery):
    # Content-Length: 000...05 is a valid Content-Length (1*DIGIT) of 5, however many zeros lead.
    # A client MAY refuse a field line too long for it (a protocol error), but it cannot discard
    # or truncate this one: the field frames the message (RFC 9110 5.4). Its number must be read
    # without a parsing error (RFC 9110 8.6: "prevent parsing errors due to integer conversion").
    # Reading until the server's close (b'helloEXTRA') means the field was dropped.
    raw = _response(framing=b"Content-Length: " + b"0" * zeros + b"5\r\n", payload=b"hello" + EXTRA)
    server.add_connection(expect_request(), send(raw, delivery), close())
    expected = body(b"hello") if zeros <= 100 else body(b"hello", or_fails=(PROTOCOL,))
    check(wire.request("GET", server.url("/")), expected,
          f"RFC 9110 5.4 / 8.6: a Content-Length with {zeros} leading zeros is 5; a client may refuse the long line, "
          "never drop it or fail to convert the number", raw[:80])


# =====================================================================================================
# what the client generates, it parses (wire)
# =====================================================================================================


CONTROL_OCTETS = 100


@scenario("response.fields.generated-lengths", refs=["RFC9110-2.3-p3-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("octets", [
    variant(CONTROL_OCTETS, id="control-100-octets"),
    variant(8_000, id="8000-octets"),
    variant(32_000, id="32000-octets"),
    variant(60_000, id="60000-octets"),
])
def test_generated_lengths(make_server, server, wire, octets):
    # RFC 9110 2.3: "a recipient MUST be able to parse and process protocol element lengths that
    # are at least as long as the values that it generates for those same protocol elements in
    # other messages". The client sends a field value of `octets` octets; the response carries a
    # field value just as long, which the client must read and report intact.
    outcome = _send_echo(server, wire, octets, optional=True)
    if not isinstance(outcome, Response) and outcome.kind is ErrorKind.INVALID_INPUT and not server.bytes_received:
        # The client does not generate such a value, so the rule asks nothing of it; unless it
        # refuses any value (then the refusal proves nothing): the control row's value must go.
        if octets != CONTROL_OCTETS:
            control_passes(make_server, lambda control: _check_echo(
                control, _send_echo(control, wire, CONTROL_OCTETS), CONTROL_OCTETS))
        return
    _check_echo(server, outcome, octets)


def _echo_value(octets):
    return "".join("0123456789abcdef"[i % 16] for i in range(octets))


def _send_echo(server, wire, octets, optional=False):
    value = _echo_value(octets)
    server.add_connection(respond(_response(b"X-Echo: " + value.encode())), optional=optional)
    return wire.request("GET", server.url("/"), headers=[("X-Echo", value)])


def _check_echo(server, outcome, octets):
    value = _echo_value(octets)
    assert server.requests[0].header_values("x-echo") == [value.encode()], (
        "harness: the client sent the long field value as given")
    response = expect_response(outcome)
    assert response.header_values("X-Echo") == [value], (
        f"RFC 9110 2.3: the client generated a {octets}-octet field value, so it MUST parse a field value of that "
        f"length; got {str(response.header_values('X-Echo'))[:80]}")
    assert response.body == b"hello"
