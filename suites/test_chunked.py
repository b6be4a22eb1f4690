"""The chunked transfer coding, beyond test_response_framing.py: extension syntax (quoted strings,
bad whitespace), line endings, trailer sections, and a body cut at every octet.

    chunked-body   = *chunk last-chunk trailer-section CRLF                  (RFC 9112 7.1)
    chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
    chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
    chunk-ext-val  = token / quoted-string
    quoted-string  = DQUOTE *( qdtext / quoted-pair ) DQUOTE                  (RFC 9110 5.6.4)
    quoted-pair    = "\\" ( HTAB / SP / VCHAR / obs-text )
    trailer-section = *( field-line CRLF )

A recipient ignores unknown extensions (RFC 9112 7.1.1) but must still find where each one ends:
a quoted-pair stands for the octet after the backslash (RFC 9110 5.6.4), and BWS is parsed and
removed (RFC 9110 5.6.3). Trailers are optional (RFC 9112 7.1), may be kept apart or discarded
(7.1.2), never merged into the header section. Each body decodes to b"hello world" unless a row
says otherwise; the server keeps the connection open where the client must find the end itself.
Floods of trailer fields, chunk-size digits, extensions and data-less framing are in test_limits.py.
"""

from __future__ import annotations

import gzip
import zlib

import pytest

from h1conform.servers import close, expect_request, respond, send
from h1conform.suites.harness import (
    API,
    MAY,
    MUST,
    SHOULD,
    WIRE,
    ErrorKind,
    Outcome,
    Response,
    body,
    check,
    each_delivery,
    expect_response,
    fails,
    scenario,
    variant,
)
from h1conform.suites.harness.wire import FEATURE_PERSISTENT

PROTOCOL, INCOMPLETE = ErrorKind.PROTOCOL, ErrorKind.INCOMPLETE
HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"


def _two_chunks(first_ext: bytes = b"", second_ext: bytes = b"", last_ext: bytes = b"") -> bytes:
    return b"5" + first_ext + b"\r\nhello\r\n6" + second_ext + b"\r\n world\r\n0" + last_ext + b"\r\n\r\n"


def _read_then_reuse(server, wire, raw: bytes, delivery):
    """Send `raw` on a kept-alive connection, then a second response: (first, second) outcomes.

    Only a client that keeps connections makes the second exchange (second is None otherwise): a
    request on a new connection would show nothing about where the first response ended. The
    server still keeps the first connection open, so every client must find the end itself.
    """
    if FEATURE_PERSISTENT not in wire.features:
        server.add_connection(respond(raw, delivery))
        return wire.request("GET", server.url("/1")), None
    server.add_connection(respond(raw, delivery), respond(NEXT))
    with wire.session() as session:
        first = session.request("GET", server.url("/1"))
        second = session.request("GET", server.url("/2")) if isinstance(first, Response) else None
    return first, second


def _check_positioned(second: Outcome | None,
                      rule: str = "the connection is positioned after the trailer section") -> None:
    """The response after the first one on its connection is the next one, for a client that made it."""
    if second is not None:
        assert expect_response(second).body == b"next", f"{rule}; the next response was {second}"


# =====================================================================================================
# chunk extensions: quoted strings and bad whitespace (wire)
# =====================================================================================================


@scenario("response.chunked.extension-quoted-pair", refs=["RFC9110-5.6.4-p3-s1", "RFC9112-7.1.1-p4-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("ext", [
    variant(b';a="plain"', id="control-quoted-string"),
    variant(b';a="\\""', id="escaped-quote"),
    variant(b';a="\\\\"', id="escaped-backslash"),
    variant(b';a="\\\\\\""', id="backslash-then-quote"),
    variant(b';a="x\\;y";b=c', id="escaped-semicolon-then-another"),
    variant(b';a="semi;colon=eq\\"uals";b', id="separators-inside"),
    variant(b';a="\\a\\b\\ \\\t"', id="escaped-ordinary-octets"),
    variant(b';a="caf\xe9 \\\xe9"', id="obs-text-and-escaped-obs-text"),
])
@each_delivery
def test_extension_quoted_pair(server, wire, ext, delivery):
    # A quoted-pair is one octet of the string: `"\""` is a string holding a quote, `"\\"` one
    # holding a backslash. A parser that ends the string at the first quote it meets (or treats
    # "\\" as escaping the closing quote) loses track of where the extension ends; one that
    # ignores extensions altogether is also right. The extension is on every chunk, the last too.
    raw = HEAD + _two_chunks(ext, ext, ext)
    first, second = _read_then_reuse(server, wire, raw, delivery)
    check(first, body(b"hello world"),
          "RFC 9110 5.6.4: a quoted-pair stands for the octet after the backslash; RFC 9112 7.1.1: unrecognised "
          "chunk extensions MUST be ignored", raw)
    _check_positioned(second)


@scenario("response.chunked.extension-bws", refs=["RFC9110-5.6.3-p5-s2", "RFC9110-5.6.3-p6-s1", "RFC9112-7.1.1-p4-s1"],
          level=MUST, profile=WIRE)
@pytest.mark.parametrize("ext", [
    variant(b";a=b", id="control-no-whitespace"),
    variant(b" ;a=b", id="sp-before-semicolon"),
    variant(b"\t;a=b", id="htab-before-semicolon"),
    variant(b"; a=b", id="sp-after-semicolon"),
    variant(b";a =b", id="sp-before-equals"),
    variant(b";a= b", id="sp-after-equals"),
    variant(b' \t; \t a \t = \t "q" \t; b', id="everywhere"),
    variant(b"  ;  flag", id="name-only"),
])
@each_delivery
def test_extension_bws(server, wire, ext, delivery):
    # chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ). BWS is whitespace
    # a sender must not generate, but a recipient MUST parse for it and remove it: "5 ;a=b" is
    # the size 5 with an extension, not an invalid size "5 ".
    raw = HEAD + _two_chunks(ext, ext, ext)
    first, second = _read_then_reuse(server, wire, raw, delivery)
    check(first, body(b"hello world"),
          "RFC 9110 5.6.3: a recipient MUST parse for bad whitespace (BWS) and remove it before interpreting the "
          "chunk extension", raw)
    _check_positioned(second)


# =====================================================================================================
# chunk sizes: many leading zeros (wire)
# =====================================================================================================


@scenario("response.chunked.size-leading-zeros", refs=["RFC9112-7.1-p4-s1", "RFC9112-7.1-p5-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("chunked, expected", [
    variant(b"5\r\nhello\r\n0\r\n\r\n", b"hello", id="control-no-zeros"),
    variant(b"0000000000000005\r\nhello\r\n0\r\n\r\n", b"hello", id="sixteen-digits"),
    variant(b"0" * 100 + b"5\r\nhello\r\n0\r\n\r\n", b"hello", id="hundred-zeros"),
    variant(b"5\r\nhello\r\n" + b"0" * 100 + b"\r\n\r\n", b"hello", id="hundred-zero-last-chunk"),
    variant(b"0000000000000000000000000000000a\r\n0123456789\r\n0\r\n\r\n", b"0123456789", id="32-digits-ten"),
])
@each_delivery
def test_size_leading_zeros(server, wire, chunked, expected, delivery):
    # chunk-size = 1*HEXDIG: any number of leading zeros. A parser that bounds the number of
    # digits (to prevent overflow, RFC 9112 7.1) must still read 0...05 as 5, not as too large.
    first, second = _read_then_reuse(server, wire, HEAD + chunked, delivery)
    check(first, body(expected), "RFC 9112 7.1: chunk-size = 1*HEXDIG; leading zeros do not change the size",
          HEAD + chunked)
    _check_positioned(second, "RFC 9112 7.1: the connection is positioned after the last chunk's empty line")


# =====================================================================================================
# line endings inside the chunked framing (wire)
# =====================================================================================================

LF_RULE = ("RFC 9112 2.2: a recipient MAY recognise a single LF as a line terminator; a client that does not must "
           "reject the body, never decode it differently")
# The variants at level MUST: whatever a client makes of a bare LF, the chunk boundaries must hold.
CHUNK_BOUNDARY_RULE = ("RFC 9112 7.1: a recipient MUST parse the chunked coding: a bare LF may end a line (2.2), a bare "
                       "CR does not, and neither may move a chunk's boundaries or cut the body")


@scenario("response.chunked.line-endings", refs=["RFC9112-2.2-p3-s1"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("chunked, expected", [
    variant(b"5\r\nhello\r\n0\r\n\r\n", body(b"hello"), id="control-crlf"),
    variant(b"5\nhello\r\n0\r\n\r\n", body(b"hello", or_fails=(PROTOCOL, INCOMPLETE)), id="lf-after-size"),
    variant(b"5\r\nhello\n0\r\n\r\n", body(b"hello", or_fails=(PROTOCOL, INCOMPLETE)), id="lf-after-data"),
    variant(b"5\r\nhello\r\n0\n\r\n", body(b"hello", or_fails=(PROTOCOL, INCOMPLETE)), id="lf-after-last-chunk"),
    variant(b"5\r\nhello\r\n0\r\n\n", body(b"hello", or_fails=(PROTOCOL, INCOMPLETE)), id="lf-final"),
    variant(b"5\nhello\n0\n\n", body(b"hello", or_fails=(PROTOCOL, INCOMPLETE)), id="all-lf"),
    # After "hello", a bare LF and the size 10 of a 16-octet chunk. A decoder that skips two
    # octets blindly after chunk data eats "\n1" and reads the size "0": a last chunk, so that
    # the real chunk becomes a "trailer" and the body is cut to b"hello" without an error.
    variant(b"5\r\nhello\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
            body(b"hello0123456789abcdef", or_fails=(PROTOCOL, INCOMPLETE)), id="lf-after-data-then-size-10",
            level=MUST, refs=["RFC9112-7.1-p4-s1", "RFC9112-8-p2-s1"]),
    # A bare CR is no line terminator: the CRLF after the chunk data is missing.
    variant(b"5\r\nhello\r0\r\n\r\n", fails(PROTOCOL, INCOMPLETE), id="cr-only-after-data", level=MUST,
            refs=["RFC9112-7.1-p4-s1", "RFC9112-2.2-p4-s2"]),
])
@each_delivery
def test_line_endings(server, wire, chunked, expected, delivery, scenario_info):
    # The server closes after the body, so that a client waiting for more ends at once.
    raw = HEAD + chunked
    server.add_connection(expect_request(), send(raw, delivery), close())
    rule = LF_RULE if scenario_info.level is MAY else CHUNK_BOUNDARY_RULE
    check(wire.request("GET", server.url("/")), expected, rule, raw)


# =====================================================================================================
# trailer sections (wire)
# =====================================================================================================


@scenario("response.chunked.trailer-section",
          refs=["RFC9112-7.1-p1-s1", "RFC9112-7.1.2-p3-s1", "RFC9110-6.5.2-p3-s1"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("trailers", [
    variant(b"", id="control-none"),
    variant(b"X-Sum: 1\r\n", id="one"),
    variant(b"".join(b"X-T%d: %d\r\n" % (i, i) for i in range(20)), id="twenty"),
    variant(b"X-Empty:\r\n", id="empty-value"),
    variant(b"X-Sum:1\r\nx-sum:\t2 \r\n", id="ows-and-repeated-name"),
    variant(b"X-Fold: a\r\n b\r\n", id="obs-fold"),
    variant(b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n", id="framing-names"),
])
@each_delivery
def test_trailer_section(server, wire, trailers, delivery):
    # trailer-section = *( field-line CRLF ): zero or more field lines, then the empty line that
    # ends the message. A recipient MAY keep or discard them (and keep them apart from the
    # header fields); either way it finds the end of the message. Framing and connection names
    # in a trailer frame nothing (a trailer cannot carry them, RFC 9110 6.5.1), so the body and
    # the next response on the connection are unchanged.
    raw = HEAD + b"5\r\nhello\r\n6\r\n world\r\n0\r\n" + trailers + b"\r\n"
    first, second = _read_then_reuse(server, wire, raw, delivery)
    check(first, body(b"hello world"), "RFC 9112 7.1: the trailer section is OPTIONAL and ends at an empty line", raw)
    _check_positioned(second, "RFC 9112 7.1.2: trailer fields may be kept or discarded, but the connection is "
                              "positioned after the empty line that ends them")
    names = {name.lower() for name, _ in first.headers}
    assert not {"x-sum", "x-t0", "x-empty", "x-fold", "content-length"} & names, (
        f"trailers are not header fields: {first.headers}")
    assert first.header_values("Transfer-Encoding") == ["chunked"], f"the header section is as sent: {first.headers}"


# =====================================================================================================
# trailers through the http.client API (api)
# =====================================================================================================


@scenario("response.chunked.trailers-api",
          refs=["RFC9112-7.1.2-p3-s2", "RFC9112-7.1.2-p3-s3", "RFC9110-6.5.1-p3-s1", "RFC9110-6.5.2-p3-s1",
                "http.client.HTTPResponse.getheaders", "http.client.HTTPResponse.msg"], level=MUST, profile=API)
@pytest.mark.parametrize("trailers", [
    pytest.param(b"", id="control-no-trailer"),
    pytest.param(b"X-Sum: 1\r\n", id="one"),
    pytest.param(b"Content-Type: text/html\r\nX-Sum: 1\r\nContent-Length: 99\r\n", id="header-names"),
])
@each_delivery
def test_trailers_api(server, client, trailers, delivery):
    # A recipient that retains trailer fields MUST keep them apart from the header fields, and MUST
    # NOT merge them into the header section: the header fields seen before the body was read are
    # the header fields after it (http.client has no trailer API, so it discards them).
    raw = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n6\r\n world\r\n0\r\n" + trailers + b"\r\n")
    server.add_connection(respond(raw, delivery), respond(NEXT))
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    before = response.getheaders()
    assert response.read() == b"hello world"
    after = response.getheaders()
    assert after == before, (
        "RFC 9112 7.1.2 / RFC 9110 6.5.1: a recipient MUST NOT merge trailer fields into the header section; the "
        f"headers were {before!r} before the body was read and {after!r} after")
    assert response.getheader("X-Sum") is None and response.msg.get_all("Content-Length") is None
    assert response.getheader("Content-Type") == "text/plain", "a trailer must not replace a header field"
    conn.request("GET", "/next")
    with conn.getresponse() as second:
        assert second.read() == b"next", "the connection is positioned after the trailer section"


# =====================================================================================================
# a chunked body cut at every octet (wire)
# =====================================================================================================

CUT_BODY = b"5;e=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
LAST_CHUNK_END = CUT_BODY.index(b"0\r\n") + 3  # from here on, the terminating last chunk has arrived
CUTS = [
    variant(len(CUT_BODY), body(b"hello world"), id="control-complete"),
    *(variant(cut, fails(INCOMPLETE, PROTOCOL), id=f"cut-{cut:02d}") for cut in range(LAST_CHUNK_END)),
    # RFC 9112 8: chunked is incomplete "if the zero-sized chunk that terminates the encoding has
    # not been received"; past it, only the trailer section or its final empty line is missing.
    *(variant(cut, body(b"hello world", or_fails=(INCOMPLETE,)), id=f"cut-{cut:02d}-after-last-chunk")
      for cut in range(LAST_CHUNK_END, len(CUT_BODY))),
]


@scenario("response.chunked.cut-everywhere", refs=["RFC9112-8-p2-s1", "RFC9112-7.1-p4-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("cut, expected", CUTS)
@each_delivery
def test_cut_everywhere(server, wire, cut, expected, delivery):
    # The server closes the connection after `cut` octets of the chunked body. Before the last
    # chunk has arrived the message is incomplete and MUST be recorded as such: an error of kind
    # incomplete-message (or protocol-error, for a decoder that fails on the cut line), never a
    # response with the octets received so far.
    raw = HEAD + CUT_BODY[:cut]
    server.add_connection(expect_request(), send(raw, delivery), close())
    check(wire.request("GET", server.url("/")), expected,
          "RFC 9112 8: a chunked body closed before its last chunk is an incomplete message", raw)


# =====================================================================================================
# codings applied before chunked (wire)
# =====================================================================================================

_TEXT = b"hello world"
_GZIP = gzip.compress(_TEXT, mtime=0)
_DEFLATE = zlib.compress(_TEXT)


def _coded(codings: bytes, data: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: " + codings + b"\r\n\r\n"
            + b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))


@scenario("response.chunked.coding-before-chunked", refs=["RFC9112-6.1-p8-s1", "RFC9112-7.1-p4-s1"], level=MAY,
          profile=WIRE)
@pytest.mark.parametrize("codings, data", [
    variant(b"chunked", _TEXT, id="control-chunked-only"),
    variant(b"gzip, chunked", _GZIP, id="gzip"),
    variant(b"deflate, chunked", _DEFLATE, id="deflate"),
    variant(b"x-unknown-coding, chunked", _TEXT, id="unknown-coding"),
])
@each_delivery
def test_coding_before_chunked(server, wire, codings, data, delivery):
    # With chunked as the final coding the chunks frame the body (RFC 9112 6.3); the codings
    # before it a recipient MAY decode (RFC 9112 6.1), or pass on as they are, or refuse (one it
    # does not know). Accepted: the decoded text, the coded octets, or a protocol error; the
    # chunk framing itself in the body (the octets read until close) is none of them.
    raw = _coded(codings, data)
    server.add_connection(expect_request(), send(raw, delivery), close())
    check(wire.request("GET", server.url("/")), body(_TEXT, data, or_fails=(PROTOCOL,)),
          "RFC 9112 6.1 / 6.3: chunked is the final coding and frames the body; the codings before it may be decoded",
          raw)


@scenario("response.chunked.compression-parameters", refs=["RFC9112-7.2-p3-s1"], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("codings, expected", [
    variant(b"gzip, chunked", body(_TEXT, _GZIP, or_fails=(PROTOCOL,)), id="control-no-parameter"),
    variant(b"gzip;level=9, chunked", fails(PROTOCOL), id="gzip-parameter"),
    variant(b"gzip ; q=1, chunked", fails(PROTOCOL), id="gzip-q-parameter"),
])
@each_delivery
def test_compression_parameters(server, wire, codings, expected, delivery):
    # RFC 9112 7.2: the compression codings (compress, deflate, gzip) define no parameters, and
    # "The presence of parameters with any of these compression codings SHOULD be treated as an
    # error."
    raw = _coded(codings, _GZIP)
    server.add_connection(expect_request(), send(raw, delivery), close())
    check(wire.request("GET", server.url("/")), expected,
          "RFC 9112 7.2: parameters on a compression coding SHOULD be treated as an error", raw)
