"""Response message framing: Content-Length, chunked, and Transfer-Encoding (RFC 9112 6, 7, 8).

RFC 9112 6.3 decides where a response body ends, in order of precedence:
- Transfer-Encoding with chunked as the final coding: decode the chunks until the last chunk and
  trailer section; Transfer-Encoding overrides Content-Length (a message with both "ought to be
  handled as an error"); in an HTTP/1.0 message, Transfer-Encoding means faulty framing (6.1).
- otherwise a valid Content-Length: exactly that many octets; fewer and then a close is an
  incomplete message; an invalid value is an unrecoverable error for a user agent (identical
  values in a list, "5, 5", MAY be taken as one value);
- otherwise the body ends when the server closes.

Every positive row checks the exact body the client returns. Every table that expects a
rejection has valid rows (controls) next to the invalid ones. Where the RFC allows two outcomes
(e.g. "5, 5": a body of 5 octets or an error), the table says so and either passes.
Response scenarios run with the response delivered whole and byte by byte (`@each_delivery`).
"""

from __future__ import annotations

import gzip

import pytest

from h1conform.servers import WHOLE, close, expect_request, half_close, respond, send, send_segments, split_at
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    MUST,
    SHOULD,
    WIRE,
    ErrorKind,
    Response,
    body,
    check,
    each_delivery,
    expect_response,
    fails,
    scenario,
    variant,
)
from h1conform.suites.harness.messages import chunked_body
from h1conform.suites.harness.waiting import client_closed

PROTOCOL, INCOMPLETE = ErrorKind.PROTOCOL, ErrorKind.INCOMPLETE


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
HELLO_CHUNKED = b"5\r\nhello\r\n0\r\n\r\n"
HELLO_WORLD_CHUNKED = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"  # 28 octets on the wire
# After each body: bytes a client that ignores the framing would take for body (or a response).
EXTRA = b"EXTRA"


def _cl_response(*values: bytes, payload: bytes = b"hello" + EXTRA) -> bytes:
    """A response with one Content-Length field line per value, then `payload`."""
    fields = b"".join(b"Content-Length: " + value + b"\r\n" for value in values)
    return b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n" + payload


def _send_and_close(server, raw: bytes, delivery) -> None:
    server.add_connection(expect_request(), send(raw, delivery), close())


# =====================================================================================================
# Content-Length
# =====================================================================================================


@scenario("response.framing.content-length.valid", refs=["RFC9112-6.3-p2-s8", "RFC9112-8-p2-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("raw, expected", [
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello", id="five"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b"", id="zero"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 0005\r\n\r\nhello", b"hello", id="leading-zeros"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello\r\n\r\n0\r\n", b"hello\r\n\r\n0\r\n",
            id="body-looks-like-framing"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 256\r\n\r\n" + bytes(range(256)), bytes(range(256)),
            id="all-octets"),
])
@each_delivery
def test_content_length_valid(server, wire, raw, expected, delivery):
    # The server keeps the connection open after the body: only a client that counts
    # Content-Length octets knows the body has ended (one waiting for a close times out).
    server.add_connection(respond(raw, delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    assert response.body == expected, (
        f"RFC 9112 6.3: a valid Content-Length defines the body length; expected {expected[:60]!r}, "
        f"got {response.body[:60]!r}")


@scenario("response.framing.content-length.incomplete", refs=["RFC9112-6.3-p2-s8", "RFC9112-8-p2-s1"],
          level=MUST, profile=WIRE)
@pytest.mark.parametrize("raw, expect", [
    variant(_cl_response(b"5", payload=b"hello"), body(b"hello"), id="control-complete"),
    variant(_cl_response(b"10", payload=b"hello"), fails(INCOMPLETE), id="half-the-body"),
    variant(_cl_response(b"5", payload=b"hell"), fails(INCOMPLETE), id="one-octet-short"),
    variant(_cl_response(b"5", payload=b""), fails(INCOMPLETE), id="no-body"),
])
@each_delivery
def test_content_length_incomplete(server, wire, raw, expect, delivery):
    # The server closes before Content-Length octets have arrived: the recipient MUST consider the
    # message incomplete, not return the octets it got as if they were the whole body.
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), expect,
          "RFC 9112 6.3 / 8: a body shorter than Content-Length followed by a close is an incomplete message", raw)


@scenario("response.framing.content-length.invalid",
          refs=["RFC9112-6.3-p2-s4", "RFC9112-6.3-p2-s7"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("value, expect", [
    variant(b"5", body(b"hello"), id="control-valid"),
    # Leading and trailing whitespace is OWS around the field value, not part of it (RFC 9110 5.5).
    variant(b"  5  ", body(b"hello"), id="control-ows-around", refs=["RFC9110-5.5-p3-s1", "RFC9112-6.3-p2-s4"]),
    variant(b"abc", fails(PROTOCOL), id="letters"),
    variant(b"-1", fails(PROTOCOL), id="negative"),
    variant(b"+5", fails(PROTOCOL), id="plus-sign"),
    variant(b"0_5", fails(PROTOCOL), id="underscore"),
    variant(b"0x5", fails(PROTOCOL), id="hex"),
    variant(b"5.0", fails(PROTOCOL), id="decimal-point"),
    variant(b"5 5", fails(PROTOCOL), id="inner-space"),
    variant(b"", fails(PROTOCOL), id="empty"),
])
@each_delivery
def test_content_length_invalid(server, wire, value, expect, delivery):
    # Content-Length = 1*DIGIT. Without Transfer-Encoding, an invalid Content-Length makes the
    # framing invalid: a user agent MUST treat it as an unrecoverable error, close the connection
    # and discard the response. Neither parsing it leniently (int() takes "+5", "0_5") nor
    # ignoring it and reading until close (the body would then be "helloEXTRA") is allowed.
    raw = _cl_response(value)
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), expect,
          "RFC 9112 6.3: an invalid Content-Length is an unrecoverable error for a user agent", raw)


@scenario("response.framing.content-length.multiple",
          refs=["RFC9112-6.3-p2-s4", "RFC9112-6.3-p2-s7", "RFC9110-8.6-p13-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("values, expect", [
    variant([b"5"], body(b"hello"), id="control-single"),
    # Identical values: RFC 9112 6.3 and RFC 9110 8.6 let a recipient either take the one value
    # (body "hello") or reject the message. Both are accepted here; reading until close is not.
    variant([b"5, 5"], body(b"hello", or_fails=(PROTOCOL,)), id="identical-list"),
    variant([b"5,5"], body(b"hello", or_fails=(PROTOCOL,)), id="identical-list-no-space"),
    variant([b"5", b"5"], body(b"hello", or_fails=(PROTOCOL,)), id="identical-field-lines"),
    variant([b"3, 5"], fails(PROTOCOL), id="different-list"),
    variant([b"3", b"5"], fails(PROTOCOL), id="different-field-lines"),
    variant([b"5", b"3"], fails(PROTOCOL), id="different-field-lines-reversed"),
])
@each_delivery
def test_content_length_multiple(server, wire, values, expect, delivery):
    # Conflicting Content-Length values are invalid: a user agent MUST close the connection and
    # discard the response. Taking the first (or the last) of two different values is the
    # response-splitting hazard the rule exists for.
    raw = _cl_response(*values)
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), expect,
          "RFC 9112 6.3: differing Content-Length values are an unrecoverable error for a user agent; "
          "identical values in a list MAY be taken as one", raw)


@scenario("response.framing.content-length.huge", refs=["RFC9110-8.6-p10-s1", "RFC9112-6.3-p2-s8"], level=MUST,
          profile=WIRE, cves=["CVE-2025-13836"])
@pytest.mark.parametrize("value, expect", [
    variant(b"5", body(b"hello"), id="control-five"),
    variant(b"4611686018427387904", fails(INCOMPLETE, PROTOCOL), id="2-pow-62"),
    variant(b"9223372036854775808", fails(INCOMPLETE, PROTOCOL), id="2-pow-63"),
    # 2**64 + 5: an implementation that wraps around at 64 bits reads 5 octets and succeeds.
    variant(b"18446744073709551621", fails(INCOMPLETE, PROTOCOL), id="2-pow-64-plus-5"),
    variant(b"1" * 40, fails(INCOMPLETE, PROTOCOL), id="40-digits"),
])
@each_delivery
def test_content_length_huge(server, wire, value, expect, delivery):
    # A recipient MUST anticipate large decimal numerals and prevent overflow or precision loss.
    # A 10-octet body then a close is an incomplete message whatever the announced length; a
    # client may also refuse a length it will not handle (protocol error). Allocating the announced
    # size up front (MemoryError, OverflowError) or wrapping the number around is neither.
    raw = _cl_response(value)
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), expect,
          "RFC 9110 8.6: a huge Content-Length must be parsed without overflow; with a tiny body and a close the "
          "message is incomplete", raw)


@scenario("response.framing.content-length.huge-api",
          refs=["http.client.IncompleteRead", "http.client.HTTPResponse.read"], level=API_LEVEL, profile=API,
          cves=["CVE-2025-13836"])
@pytest.mark.parametrize("value", [
    pytest.param(b"10", id="control-ten"),
    pytest.param(b"4611686018427387904", id="2-pow-62"),
    pytest.param(b"9223372036854775808", id="2-pow-63"),
])
def test_content_length_huge_api(server, client, value):
    # read() of a body cut short raises IncompleteRead with the octets received as .partial,
    # however large the announced length: memory grows with the data received, not with the
    # announced size (CVE-2025-13836: 3.10 to 3.13.0 try to allocate it all and raise MemoryError).
    server.add_connection(expect_request(), send(_cl_response(value, payload=b"hello")), close())
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    with pytest.raises(client.module.IncompleteRead) as caught:
        response.read()
    assert caught.value.partial == b"hello", (
        f"IncompleteRead.partial holds the body octets received: expected b'hello', got {caught.value.partial!r}")


@scenario("response.framing.content-length.extra-bytes", refs=["RFC9112-6.3-p8-s2", "RFC9112-6.3-p8-s1"],
          level=MUST, profile=WIRE)
@pytest.mark.parametrize("head", [
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", id="http11-connection-close"),
    variant(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", id="http10"),
])
@each_delivery
def test_content_length_extra_bytes(server, wire, head, delivery):
    # The last response on a connection is complete after Content-Length octets; what follows
    # (here a whole fake response) is not part of its body, and a client MUST NOT process it as
    # a separate response: the next request goes on a new connection and gets that one's answer.
    # The poison leaves in the segment of the body's last octet, even byte by byte: once the client
    # has the whole response, it has what follows too. Sent later, it would race the client's next
    # request, and the verdict would be the server thread's speed (a client that put the connection
    # back in its pool gets the poison as the answer when that request wins, and drops the
    # connection when the poison wins).
    poison = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\npoison"
    segments = delivery.split(head + b"hello")
    segments[-1] += poison
    server.add_connection(expect_request(), send_segments(segments), close())
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh"))
    with wire.session() as session:
        first = expect_response(session.request("GET", server.url("/first")))
        second = expect_response(session.request("GET", server.url("/second")))
    assert first.body == b"hello", (
        f"RFC 9112 6.3: the body is the Content-Length octets, {b'hello'!r}; octets after it are not part of it "
        f"(got {first.body!r})")
    assert second.body == b"fresh", (
        f"RFC 9112 6.3: a client MUST NOT process data left after the last response as a separate response; "
        f"the second request got {second.body!r} instead of the new connection's b'fresh'")


# =====================================================================================================
# chunked
# =====================================================================================================


@scenario("response.framing.chunked.valid", refs=["RFC9112-7.1-p4-s1", "RFC9112-6.1-p4-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("chunked, expected", [
    variant(b"5\r\nhello\r\n0\r\n\r\n", b"hello", id="one-chunk"),
    variant(b"1\r\nh\r\n1\r\ne\r\n3\r\nllo\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", b"hello world", id="many-chunks"),
    variant(b"B\r\nhello world\r\n0\r\n\r\n", b"hello world", id="upper-hex"),
    variant(b"b\r\nhello world\r\n0\r\n\r\n", b"hello world", id="lower-hex"),
    variant(b"1A\r\nabcdefghijklmnopqrstuvwxyz\r\n1a\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n0\r\n\r\n",
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", id="two-hex-digits"),
    variant(b"005\r\nhello\r\n000\r\n\r\n", b"hello", id="leading-zeros"),
    variant(b"0\r\n\r\n", b"", id="empty-body"),
    # Chunk data that looks like chunk framing: only the sizes say where chunks end.
    variant(b"8\r\na\r\n0\r\n\r\n\r\n0\r\n\r\n", b"a\r\n0\r\n\r\n", id="data-looks-like-framing"),
    variant(b"100\r\n" + bytes(range(256)) + b"\r\n0\r\n\r\n", bytes(range(256)), id="all-octets"),
])
@each_delivery
def test_chunked_valid(server, wire, chunked, expected, delivery):
    # The server keeps the connection open: only the last chunk tells the client the body is over.
    server.add_connection(respond(CHUNKED_HEAD + chunked, delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    assert response.body == expected, (
        f"RFC 9112 7.1: a recipient MUST be able to parse and decode chunked; {chunked[:60]!r} decodes to "
        f"{expected[:60]!r}, got {response.body[:60]!r}")


LARGE_BODY = bytes(range(256)) * 256  # 64 KiB
LARGE_CHUNKED = chunked_body(LARGE_BODY, 0x1000, 7, 0x2000, 1, 0x3FFF)
_FIRST_DATA = len(CHUNKED_HEAD) + len(b"1000\r\n")


@scenario("response.framing.chunked.large", refs=["RFC9112-7.1-p4-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("delivery", [
    WHOLE,
    split_at(len(CHUNKED_HEAD) + 2),  # inside the first chunk-size line
    split_at(_FIRST_DATA - 1, _FIRST_DATA + 0x1000 + 1),  # between CR and LF, twice
    split_at(*range(1000, len(CHUNKED_HEAD) + len(LARGE_CHUNKED), 7919)),  # here and there
], ids=str)
def test_chunked_large(server, wire, delivery):
    server.add_connection(respond(CHUNKED_HEAD + LARGE_CHUNKED, delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    assert response.body == LARGE_BODY, (
        f"RFC 9112 7.1: a 64 KiB body in chunks of assorted sizes decodes to itself; got {len(response.body)} "
        f"octets{' (different content)' if len(response.body) == len(LARGE_BODY) else ''}")


@scenario("response.framing.chunked.extensions", refs=["RFC9112-7.1.1-p4-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("chunked", [
    variant(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", id="control-none"),
    variant(b"5;name=value\r\nhello\r\n6;a=b;c=d\r\n world\r\n0\r\n\r\n", id="token-values"),
    variant(b"5;flag\r\nhello\r\n6;other\r\n world\r\n0\r\n\r\n", id="name-only"),
    variant(b'5;name="quoted; \\"value\\" = x"\r\nhello\r\n6;q=""\r\n world\r\n0\r\n\r\n', id="quoted-string"),
    variant(b"5 ; name = value\r\nhello\r\n6\t;\tname\r\n world\r\n0\r\n\r\n", id="bws-around"),
    variant(b"5\r\nhello\r\n6\r\n world\r\n0;final=yes\r\n\r\n", id="on-last-chunk"),
    variant(b"5;pad=" + b"x" * 200 + b"\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", id="long-value"),
])
@each_delivery
def test_chunked_extensions(server, wire, chunked, delivery):
    # chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), the value a token
    # or a quoted-string (which may hold ";" and escaped quotes). A recipient MUST ignore
    # unrecognised extensions: the body is the same as without them.
    server.add_connection(respond(CHUNKED_HEAD + chunked, delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    assert response.body == b"hello world", (
        f"RFC 9112 7.1.1: a recipient MUST ignore unrecognised chunk extensions; {chunked[:80]!r} decodes to "
        f"b'hello world', got {response.body!r}")


@scenario("response.framing.chunked.trailers", refs=["RFC9112-7.1.2-p3-s3", "RFC9110-6.5.1-p3-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("raw, names, in_headers", [
    variant(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Checksum: abc\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            ["X-Checksum"], True, id="control-in-header-section"),
    variant(CHUNKED_HEAD + b"5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n", ["X-Checksum"], False, id="one-trailer"),
    variant(CHUNKED_HEAD + b"5\r\nhello\r\n0\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\n\r\n", ["X-A", "X-B", "X-C"], False,
            id="several-trailers"),
    variant(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
            b"5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n", ["X-Checksum"], False, id="announced-trailer"),
    # Content-Length is not allowed in trailers; merged into the header section it would misframe.
    variant(CHUNKED_HEAD + b"5\r\nhello\r\n0\r\nContent-Length: 999\r\n\r\n", ["Content-Length"], False,
            id="content-length-trailer"),
])
@each_delivery
def test_chunked_trailers(server, wire, raw, names, in_headers, delivery):
    # A recipient MAY keep or discard trailer fields, but MUST NOT merge them into the header
    # section (none of these fields' definitions allow it). The control shows that the same field
    # in the header section is seen. The server keeps the connection open: the client must find
    # the end of the trailer section by itself.
    server.add_connection(respond(raw, delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    assert response.body == b"hello", f"the chunked body is b'hello', got {response.body!r}"
    for name in names:
        values = response.header_values(name)
        if in_headers:
            assert values, f"{name} sent in the header section must be among the headers {response.headers}"
        else:
            assert not values, (
                f"RFC 9112 7.1.2: a recipient MUST NOT merge a trailer field into the header section; trailer "
                f"{name} appears in the response headers {response.headers}")


@scenario("response.framing.chunked.incomplete", refs=["RFC9112-8-p2-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("chunked, expect", [
    variant(b"5\r\nhello\r\n0\r\n\r\n", body(b"hello"), id="control-complete"),
    variant(b"5\r\nhello\r\n", fails(INCOMPLETE), id="no-last-chunk"),
    variant(b"5\r\nhello", fails(INCOMPLETE), id="after-chunk-data"),
    variant(b"a\r\nhello", fails(INCOMPLETE), id="in-chunk-data"),
    variant(b"5\r\n", fails(INCOMPLETE), id="after-size-line"),
    variant(b"5\r\nhello\r\n1", fails(INCOMPLETE), id="in-size-line"),
    variant(b"", fails(INCOMPLETE), id="no-chunk-at-all"),
    # RFC 9112 8: chunked is incomplete "if the zero-sized chunk that terminates the encoding has
    # not been received". Here it has, only the empty line after the trailer section is missing:
    # taking the body or reporting an incomplete message are both accepted.
    variant(b"5\r\nhello\r\n0\r\n", body(b"hello", or_fails=(INCOMPLETE,)), id="no-final-crlf"),
])
@each_delivery
def test_chunked_incomplete(server, wire, chunked, expect, delivery):
    raw = CHUNKED_HEAD + chunked
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), expect,
          "RFC 9112 8: a chunked body closed before its last chunk is incomplete and MUST be recorded as such", raw)


@scenario("response.framing.chunked.incomplete-api",
          refs=["http.client.IncompleteRead", "http.client.HTTPResponse.read", "RFC9112-8-p2-s1"],
          level=API_LEVEL, profile=API, cves=["CVE-2025-13836"])
@pytest.mark.parametrize("chunked, partial", [
    pytest.param(b"5\r\nhello\r\n0\r\n\r\n", None, id="control-complete"),
    pytest.param(b"5\r\nhello\r\n", b"hello", id="no-last-chunk"),
    pytest.param(b"5\r\nhello\r\n4000000000000000\r\nworld", b"hello", id="huge-chunk-size"),
])
def test_chunked_incomplete_api(server, client, chunked, partial):
    # read() of a chunked body cut short raises IncompleteRead whose .partial starts with the
    # complete chunks received; an announced chunk of 2**62 octets must not be allocated up front.
    server.add_connection(expect_request(), send(CHUNKED_HEAD + chunked), close())
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    if partial is None:
        assert response.read() == b"hello"
        return
    with pytest.raises(client.module.IncompleteRead) as caught:
        response.read()
    got = caught.value.partial
    assert got.startswith(partial) and b"helloworld".startswith(got), (
        f"IncompleteRead.partial holds the body octets received, at least the complete chunks {partial!r}; "
        f"got {got!r}")


@scenario("response.framing.chunked.invalid-size", refs=["RFC9112-7.1-p4-s1", "RFC9112-8-p2-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("chunked, expect", [
    variant(b"5\r\nhello\r\n0\r\n\r\n", body(b"hello"), id="control-valid"),
    variant(b"0x5\r\nhello\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="hex-prefix"),
    variant(b"-1\r\nhello\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="negative"),
    variant(b"+5\r\nhello\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="plus-sign"),
    variant(b"0_5\r\nhello\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="underscore"),
    variant(b" 5\r\nhello\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="leading-space"),
    variant(b"g\r\nhello\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="not-hex"),
    variant(b"\r\nhello\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="empty"),
    # RFC 9112 7.1: recipients MUST anticipate large hexadecimal numerals and prevent overflow.
    variant(b"ffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="overflow",
            refs=["RFC9112-7.1-p5-s1"]),
    variant(b"10000000000000005\r\nhello\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="wraps-to-5",
            refs=["RFC9112-7.1-p5-s1"]),
])
@each_delivery
def test_chunked_invalid_size(server, wire, chunked, expect, delivery):
    # chunk-size = 1*HEXDIG. Anything else is a chunked decoding failure, which RFC 9112 8 calls an
    # incomplete message: either error kind is accepted. Lenient number parsing ("0x5", "+5", "0_5"
    # and " 5" are all 5 to Python's int(x, 16)) is a known request-smuggling vector. A size of
    # 2**64 + 5 must not wrap around to 5; a 2**88 one must not crash the parser.
    raw = CHUNKED_HEAD + chunked
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), expect,
          "RFC 9112 7.1 / 8: chunk-size = 1*HEXDIG; an invalid or overflowing size is a decoding failure", raw)


@scenario("response.framing.chunked.missing-crlf", refs=["RFC9112-7.1-p4-s1", "RFC9112-8-p2-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("chunked, expect", [
    variant(b"5\r\nhello\r\n0\r\n\r\n", body(b"hello"), id="control-crlf"),
    variant(b"5\r\nhelloXX0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="junk-instead-of-crlf"),
    variant(b"5\r\nhello0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="crlf-missing"),
    variant(b"5\r\nhello world\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="data-longer-than-size"),
    variant(b"7\r\nhello\r\n0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="data-shorter-than-size"),
])
@each_delivery
def test_chunked_missing_crlf(server, wire, chunked, expect, delivery):
    # chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF: the CRLF after the data is part of the
    # grammar. Whatever stands there instead means the sizes and the data disagree: decoding fails.
    raw = CHUNKED_HEAD + chunked
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), expect,
          "RFC 9112 7.1 / 8: chunk-data is followed by CRLF; anything else is a chunked decoding failure", raw)


# =====================================================================================================
# Transfer-Encoding
# =====================================================================================================


@scenario("response.framing.transfer-encoding.with-content-length", refs=["RFC9112-6.1-p4-s1", "RFC9112-7.1-p4-s1"],
          level=MUST, profile=WIRE)
@pytest.mark.parametrize("fields", [
    variant(b"Transfer-Encoding: chunked\r\n", id="control-te-only"),
    variant(b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", id="cl-smaller"),
    variant(b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", id="cl-first"),
    variant(b"Transfer-Encoding: chunked\r\nContent-Length: 100\r\n", id="cl-larger"),
    variant(b"Transfer-Encoding: chunked\r\nContent-Length: 28\r\n", id="cl-equals-wire-length"),
    variant(b"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", id="cl-zero"),
])
@each_delivery
def test_te_with_content_length(server, wire, fields, delivery):
    # RFC 9112 6.3: with both fields, Transfer-Encoding overrides Content-Length, and the message
    # "ought to be handled as an error" (request smuggling / response splitting). Accepted: the
    # chunked body decoded, or a protocol error. Using Content-Length in any way is neither.
    raw = b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n" + HELLO_WORLD_CHUNKED
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), body(b"hello world", or_fails=(PROTOCOL,)),
          "RFC 9112 6.3: Transfer-Encoding overrides Content-Length; the client must not frame by Content-Length",
          raw)


@scenario("response.framing.transfer-encoding.coding-case", refs=["RFC9112-6.1-p4-s1", "RFC9112-7.1-p4-s1"],
          level=MUST, profile=WIRE)
@pytest.mark.parametrize("value", [
    variant(b"chunked", id="control-lower"),
    variant(b"Chunked", id="capitalised"),
    variant(b"CHUNKED", id="upper"),
    variant(b"cHuNkEd", id="mixed"),
    # OWS around a field value is not part of it (RFC 9110 5.5: MUST be excluded).
    variant(b"   chunked", id="leading-ows", refs=["RFC9110-5.5-p3-s1", "RFC9112-7.1-p4-s1"]),
    variant(b"chunked   ", id="trailing-ows", refs=["RFC9110-5.5-p3-s1", "RFC9112-7.1-p4-s1"]),
])
@each_delivery
def test_te_coding_case(server, wire, value, delivery):
    # RFC 9112 7: "All transfer-coding names are case-insensitive." A client that does not see
    # chunked here reads until close and returns the raw chunk framing as the body.
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: " + value + b"\r\n\r\n" + HELLO_WORLD_CHUNKED
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), body(b"hello world"),
          f"RFC 9112 7 / 7.1: transfer-coding names are case-insensitive and OWS is not part of the value; "
          f"Transfer-Encoding: {value!r} is chunked", raw)


GZIPPED = gzip.compress(b"hello world", mtime=0)
GZIPPED_CHUNKED = chunked_body(GZIPPED, 10)


@scenario("response.framing.transfer-encoding.final-chunked", refs=["RFC9112-6.1-p4-s1", "RFC9112-7.1-p4-s1"],
          level=MUST, profile=WIRE)
@pytest.mark.parametrize("fields, chunked", [
    variant(b"Transfer-Encoding: chunked\r\n", HELLO_WORLD_CHUNKED, id="control-chunked"),
    variant(b"Transfer-Encoding: gzip, chunked\r\n", GZIPPED_CHUNKED, id="gzip-chunked"),
    variant(b"Transfer-Encoding: gzip,chunked\r\n", GZIPPED_CHUNKED, id="gzip-chunked-no-space"),
    variant(b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", GZIPPED_CHUNKED, id="two-field-lines"),
])
@each_delivery
def test_te_final_chunked(server, wire, fields, chunked, delivery):
    # RFC 9112 6.3: if chunked is the final transfer coding, the body length is found by decoding
    # the chunks. Whether the client also removes the gzip coding is its choice (RFC 9112 6.1: a
    # recipient MAY decode transfer codings); a client that cannot decode gzip may also report an
    # error. Accepted: b"hello world", the gzip octets, or a protocol error. The raw chunk framing
    # in the body (what a client that only recognises the exact value "chunked" returns) is not.
    raw = b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n" + chunked
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), body(b"hello world", GZIPPED, or_fails=(PROTOCOL,)),
          "RFC 9112 6.3: when chunked is the final transfer coding, the body is found by decoding the chunks", raw)


@scenario("response.framing.transfer-encoding.not-final", refs=["RFC9110-2.4-p1-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("fields, payload, expect", [
    variant(b"", b"hello world", body(b"hello world"), id="control-no-framing-fields"),
    variant(b"Transfer-Encoding: gzip\r\n", GZIPPED, body(b"hello world", GZIPPED, or_fails=(PROTOCOL,)),
            id="gzip-only"),
])
@each_delivery
def test_te_not_final(server, wire, fields, payload, expect, delivery):
    # RFC 9112 6.3: "If a Transfer-Encoding header field is present in a response and the chunked
    # transfer coding is not the final encoding, the message body length is determined by reading
    # the connection until it is closed by the server." The gzip octets (or their decoding, or a
    # protocol error for a coding the client cannot handle) are accepted; treating them as chunks
    # or as an empty body is not.
    raw = b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n" + payload
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), expect,
          "RFC 9112 6.3: a response whose final transfer coding is not chunked is delimited by the close", raw)


@scenario("response.framing.transfer-encoding.chunked-parameters", refs=["RFC9112-7.1-p6-s1"], level=SHOULD,
          profile=WIRE)
@pytest.mark.parametrize("value, expect", [
    variant(b"chunked", body(b"hello world"), id="control-no-parameter"),
    variant(b"chunked;foo=bar", fails(PROTOCOL), id="parameter"),
    variant(b"chunked; q=1", fails(PROTOCOL), id="q-parameter"),
])
@each_delivery
def test_te_chunked_parameters(server, wire, value, expect, delivery):
    # RFC 9112 7.1: "The chunked coding does not define any parameters. Their presence SHOULD be
    # treated as an error."
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: " + value + b"\r\n\r\n" + HELLO_WORLD_CHUNKED
    _send_and_close(server, raw, delivery)
    check(wire.request("GET", server.url("/")), expect,
          "RFC 9112 7.1: parameters on the chunked coding SHOULD be treated as an error", raw)


@scenario("response.framing.transfer-encoding.http10", refs=["RFC9112-6.1-p16-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("head", [
    variant(b"HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\n", id="control-http10-content-length"),
    variant(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n", id="keep-alive"),
    variant(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\n",
            id="keep-alive-with-content-length"),
    variant(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5\r\n\r\n", id="keep-alive-field"),
    variant(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", id="no-keep-alive"),
])
@each_delivery
def test_te_http10(server, wire, head, delivery):
    # RFC 9112 6.1: a client that receives an HTTP/1.0 message with Transfer-Encoding MUST treat
    # the framing as faulty, even with a Content-Length, and close the connection after
    # processing the message ("the sender might have retained a portion of the message").
    # How the body is read is left open (decoded, read until close, or an error); what is checked
    # is that the client closes the connection. The server half-closes after the body so that a
    # client reading until close finishes; it never closes its reading side, so only the client
    # can end the connection. The control is an HTTP/1.0 response without keep-alive, which
    # a client closes too.
    chunked = b"" if b"Transfer-Encoding" not in head else b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    raw = head + (chunked or b"hello world")
    server.add_connection(expect_request(), send(raw, delivery), half_close())
    with wire.session() as session:
        outcome = session.request("GET", server.url("/"))
        closed = client_closed(server.connection(0))  # asked once the request is over
    if isinstance(outcome, Response):
        # decoded, or (framing distrusted) read until the server's close
        allowed = (b"hello world", chunked) if chunked else (b"hello world",)
        assert outcome.body in allowed, f"expected a body among {allowed}, got {outcome.body!r}"
    assert closed, (
        f"RFC 9112 6.1: after an HTTP/1.0 message with Transfer-Encoding the client MUST close the connection; "
        f"it kept it open (outcome: {outcome if not isinstance(outcome, Response) else outcome.status})"
        f"\nsent: {raw!r}")
