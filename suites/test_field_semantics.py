"""Fields whose meaning a client may act on, or must pass on intact (RFC 9110 6.6, 8.3, 8.4, 10.2):
content-coding aliases, a missing Content-Type, an invalid Date, and fields that are data for the
caller (dates in the three HTTP-date formats, Via, Retry-After, Content-Type parameters, Trailer).

An http.client-style client decodes no content coding and parses no date: it reports the octets
and the field values it received. A client that does decode or interpret must do it the way the
RFC says: "x-gzip" is "gzip" and "x-compress" is "compress" (SHOULD), a missing Content-Type may be
taken as application/octet-stream or sniffed (MAY) but the content is not altered, and an invalid
Date may be replaced by the time of receipt (MAY) but does not make the response unreadable.
"""

from __future__ import annotations

import gzip
import re

import pytest

from h1conform.servers import respond
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    MAY,
    SHOULD,
    WIRE,
    Failure,
    each_delivery,
    expect_response,
    scenario,
    variant,
)
from h1conform.suites.harness.messages import chunked_body
from h1conform.suites.harness.wire import FEATURE_PERSISTENT

TEXT = b"hello world"
GZIPPED = gzip.compress(TEXT, mtime=0)


def lzw_literals(data: bytes) -> bytes:
    """`data` in the "compress" format (LZW, RFC 9110 8.4.1.1) using literal codes only: the magic
    1F 9D, flags 0x90 (block mode, 16-bit maximum), then one 9-bit code per octet, LSB first.
    A valid stream (every decoder grows its table as it goes, and 9 bits cover the first 256
    new entries), just not a compressed one."""
    out, accumulator, bits = bytearray(b"\x1f\x9d\x90"), 0, 0
    for octet in data:
        accumulator |= octet << bits
        bits += 9
        while bits >= 8:
            out.append(accumulator & 0xFF)
            accumulator >>= 8
            bits -= 8
    if bits:
        out.append(accumulator & 0xFF)
    return bytes(out)


COMPRESSED = lzw_literals(TEXT)


# =====================================================================================================
# content-coding aliases (wire)
# =====================================================================================================


@scenario("response.content.coding-alias", refs=["RFC9110-8.4.1.3-p1-s1"], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("name, alias, data", [
    variant("gzip", "x-gzip", GZIPPED, id="x-gzip"),
    variant("gzip", "X-GZIP", GZIPPED, id="x-gzip-upper-case"),
    variant("compress", "x-compress", COMPRESSED, id="x-compress", refs=["RFC9110-8.4.1.1-p1-s1"]),
])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@each_delivery
def test_coding_alias(server, wire, name, alias, data, framing, delivery):
    # The same content is fetched twice, labelled with the coding's name and with its alias. A
    # client that decodes the coding SHOULD decode the alias too, one that does not passes both
    # on as they are: either way the two outcomes are the same. The field value is data.
    def response(coding: str) -> bytes:
        if framing == "content-length":
            framed = b"Content-Length: %d\r\n\r\n" % len(data) + data
        else:
            framed = b"Transfer-Encoding: chunked\r\n\r\n" + chunked_body(data, 7)
        return b"HTTP/1.1 200 OK\r\nContent-Encoding: " + coding.encode() + b"\r\n" + framed

    # Both on one connection for a client that keeps connections; one each for a client that does not.
    if FEATURE_PERSISTENT in wire.features:
        server.add_connection(respond(response(name), delivery), respond(response(alias), delivery))
    else:
        server.add_connection(respond(response(name), delivery))
        server.add_connection(respond(response(alias), delivery))
    with wire.session() as session:
        plain = session.request("GET", server.url("/plain"))
        aliased = session.request("GET", server.url("/alias"))
    assert not isinstance(plain, Failure) or not isinstance(aliased, Failure) or plain.kind == aliased.kind
    first, second = expect_response(plain), expect_response(aliased)
    assert first.body in (data, TEXT), f"Content-Encoding: {name} gives the coded octets or their decoding"
    assert second.body == first.body, (
        f"RFC 9110 8.4.1: a recipient SHOULD consider {alias!r} equivalent to {name!r}; with {name} the client "
        f"returned {first.body[:40]!r}, with {alias} {second.body[:40]!r}")
    if second.body == data:  # passed on as is: the field says how to decode it
        assert second.header_values("Content-Encoding") == [alias]


# =====================================================================================================
# no Content-Type (wire)
# =====================================================================================================

SNIFFABLE = [
    variant(b"plain octets", id="control-text"),
    variant(b"\xef\xbb\xbfbom then utf-8", id="utf8-bom"),
    variant(b"\xff\xfeu\x00t\x00f\x001\x006\x00", id="utf16-bom"),
    variant(b"<html><body>x</body></html>", id="html-looking"),
    variant(b"\x1f\x8b\x08\x00gzip-magic-but-not-gzip", id="gzip-magic"),
    variant(bytes(range(256)), id="all-octets"),
]


@scenario("response.content.type-absent", refs=["RFC9110-8.3-p5-s2"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("content", SNIFFABLE)
@each_delivery
def test_content_type_absent(server, wire, content, delivery):
    # Without Content-Type a recipient MAY assume application/octet-stream or examine the data to
    # determine its type. Either way the content itself is delivered octet for octet (no charset
    # decoding, no decompression of what merely looks compressed), and the header section the
    # client reports holds no Content-Type other than application/octet-stream.
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(content) + content
    server.add_connection(respond(raw, delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    assert response.body == content, (
        f"RFC 9110 8.3: without Content-Type the recipient may assume or sniff a type, but the content is the "
        f"octets received; got {response.body[:60]!r}")
    types = response.header_values("Content-Type")
    assert types in ([], ["application/octet-stream"]), f"no Content-Type was sent, the client reports {types!r}"


# =====================================================================================================
# an invalid Date (wire)
# =====================================================================================================

IMF_FIXDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d\d:\d\d:\d\d GMT")


@scenario("response.fields.date-invalid", refs=["RFC9110-6.6.1-p9-s1"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("value", [
    variant(b"Sun, 06 Nov 1994 08:49:37 GMT", id="control-imf-fixdate"),
    variant(b"yesterday", id="not-a-date"),
    variant(b"Sun, 32 Nov 1994 25:61:61 GMT", id="out-of-range"),
    variant(b"Sun, 06 Nov 1994 08:49:37 PST", id="not-gmt"),
    variant(b"1994-11-06T08:49:37Z", id="iso-8601"),
    variant(b"", id="empty"),
])
@each_delivery
def test_date_invalid(server, wire, value, delivery):
    # A recipient with a clock MAY replace an invalid Date value with the time the response was
    # received. Whatever it does, an invalid Date does not make the response unreadable: the
    # value is reported as sent or replaced by a valid IMF-fixdate, and the content is intact.
    raw = b"HTTP/1.1 200 OK\r\nDate: " + value + b"\r\nContent-Length: 5\r\n\r\nhello"
    server.add_connection(respond(raw, delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    dates = response.header_values("Date")
    assert len(dates) == 1 and (dates[0] == value.decode() or IMF_FIXDATE.fullmatch(dates[0])), (
        f"RFC 9110 6.6.1: an invalid Date may be kept or replaced with the time of receipt; got {dates!r}")
    assert response.body == b"hello"


# =====================================================================================================
# fields that are data for the caller (api)
# =====================================================================================================

DATA_FIELDS = [
    ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),  # IMF-fixdate
    ("Last-Modified", "Sunday, 06-Nov-94 08:49:37 GMT"),  # rfc850-date (obsolete)
    ("Expires", "Sun Nov  6 08:49:37 1994"),  # asctime-date (obsolete), two spaces kept
    ("Via", "1.0 fred, 1.1 p.example.net (Apache/1.1)"),
    ("Retry-After", "120"),
    ("Content-Type", 'text/plain; charset="utf-16"; format=flowed'),
    ("Trailer", "X-Checksum, X-Sig"),
    ("Vary", "Accept-Encoding, , User-Agent"),
    ("Cache-Control", 'max-age=60, no-cache="Set-Cookie, X-A"'),
    ("Link", '<https://example.org/a,b>; rel="preload"; title="x, y"'),
]


@scenario("response.fields.values-as-data", refs=["http.client.HTTPResponse.getheader",
                                                  "http.client.HTTPResponse.getheaders", "http.client.HTTPResponse.read"],
          level=API_LEVEL, profile=API)
@each_delivery
def test_values_as_data(server, client, delivery):
    # http.client interprets none of these fields: each value comes back exactly as received
    # (dates in all three HTTP-date formats, quoted strings with commas, empty list elements),
    # and the content is the octets received whatever the Content-Type's charset says.
    content = "ħello".encode("utf-16")
    lines = b"".join(f"{name}: {value}\r\n".encode() for name, value in DATA_FIELDS)
    raw = b"HTTP/1.1 200 OK\r\n" + lines + b"Content-Length: %d\r\n\r\n" % len(content) + content
    server.add_connection(respond(raw, delivery))
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    for name, value in DATA_FIELDS:
        assert response.getheader(name) == value, f"getheader({name!r}) returns the value as received: {value!r}"
    assert response.getheaders()[: len(DATA_FIELDS)] == DATA_FIELDS
    assert response.read() == content, "the content is the octets received, not decoded by its charset"
