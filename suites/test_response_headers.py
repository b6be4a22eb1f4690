"""The header section of a response (RFC 9112 5, RFC 9110 5): field lines, their names and values.

RFC 9112 5: "field-line = field-name ":" OWS field-value OWS", and "No whitespace is allowed between
the field name and colon". A field name is a token (RFC 9110 5.1) and is case-insensitive; OWS
around a value is not part of it (RFC9110-5.5-p3-s1); obs-text octets in a value are opaque data
(RFC9110-5.5-p4-s2). A user agent MUST replace obs-fold with SP (RFC9112-5.2-p6-s1), a bare CR
MUST be rejected or replaced with SP (RFC9112-2.2-p4-s2), NUL likewise (RFC9110-5.5-p5-s1), and
whitespace between the status line and the first field line MUST be rejected or the
whitespace-preceded lines ignored (RFC9112-2.2-p8-s1).

Where a malformed field line has no rule of its own for a user agent, the scenario checks what
matters for the message: the response is either rejected, or it is framed by the Content-Length
that follows the bad line. Every response ends its body with octets a client that lost the
framing would take for body (`EXTRA`) and the server then closes.

Limits (header count, line length) are not set by the RFCs; those scenarios cite the http.client
documentation and its known security history (CVE-2013-1752).
"""

from __future__ import annotations

import re

import pytest

from h1conform.servers import WHOLE, close, expect_request, send
from h1conform.suites.harness import (
    API,
    API_LEVEL,
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
    fails,
    scenario,
    variant,
)

PROTOCOL = ErrorKind.PROTOCOL
STATUS_LINE = b"HTTP/1.1 200 OK\r\n"
EXTRA = b"EXTRA"  # after the 5-octet body: what a client that lost Content-Length reads as body


def _response(*field_lines: bytes) -> bytes:
    """A 200 whose header section is `field_lines` (each without CRLF) then Content-Length: 5,
    followed by the body b"hello" and EXTRA octets that are not part of it."""
    fields = b"".join(line + b"\r\n" for line in field_lines)
    return STATUS_LINE + fields + b"Content-Length: 5\r\n\r\nhello" + EXTRA


def _get(server, wire, raw: bytes, delivery):
    """Send `raw` in answer to one GET, then close; return the outcome."""
    server.add_connection(expect_request(), send(raw, delivery), close())
    return wire.request("GET", server.url("/"))


def _get_api(server, client, raw: bytes, delivery=WHOLE):
    """The api face: one GET answered with `raw` (then a close); the tracked response."""
    server.add_connection(expect_request(), send(raw, delivery), close())
    conn = client.connect(server)
    conn.request("GET", "/")
    return client.track(conn.getresponse())


# =====================================================================================================
# field values: OWS, empty values, obs-text, name case (wire)
# =====================================================================================================


@scenario("response.headers.values", refs=["RFC9110-5.5-p3-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("line, name, expected", [
    variant(b"X-A: v", "X-A", "v", id="control-one-sp"),
    variant(b"X-A:v", "X-A", "v", id="no-ows"),
    variant(b"X-A:    v", "X-A", "v", id="leading-spaces"),
    variant(b"X-A:\t v", "X-A", "v", id="leading-htab"),
    variant(b"X-A: v   ", "X-A", "v", id="trailing-spaces"),
    variant(b"X-A: v\t", "X-A", "v", id="trailing-htab"),
    variant(b"X-A: \t v \t ", "X-A", "v", id="ows-both-sides"),
    variant(b"X-A: a  \t b", "X-A", "a  \t b", id="inner-whitespace-kept"),
    variant(b"X-A:", "X-A", "", id="empty"),
    variant(b"X-A:  \t ", "X-A", "", id="empty-with-ows"),
    variant(b"x-MiXeD-cAsE: v", "X-Mixed-Case", "v", id="name-case-insensitive",
            refs=["RFC9110-5.5-p3-s1", "RFC9112-2.2-p2-s1"]),
    # obs-text (%x80-FF) is allowed in a field value and is opaque data; http.client-style APIs
    # decode octets as ISO-8859-1, so the str holds each octet as one code point.
    variant(b"X-A: caf\xe9 \x80\xff", "X-A", "caf\xe9 \x80\xff", id="obs-text", level=SHOULD,
            refs=["RFC9110-5.5-p4-s2"]),
    variant("X-A: Überall ✓".encode(), "X-A", "Überall ✓".encode().decode("latin-1"), id="utf8-octets",
            level=SHOULD, refs=["RFC9110-5.5-p4-s2"]),
])
@each_delivery
def test_field_values(server, wire, line, name, expected, delivery):
    response = expect_response(_get(server, wire, _response(line), delivery))
    values = response.header_values(name)
    assert values == [expected], (
        f"RFC 9110 5.5: OWS before and after a field value is not part of it (a parser MUST exclude it), "
        f"inner whitespace and obs-text octets are; for {line!r} expected {name} = {expected!r}, got {values!r}")
    assert response.body == b"hello", f"the body is the 5 octets of Content-Length, got {response.body!r}"


# =====================================================================================================
# repeated field names, Set-Cookie (wire)
# =====================================================================================================

COOKIES = [b"a=1; Path=/; Expires=Wed, 21 Oct 2015 07:28:00 GMT", b"b=2; HttpOnly", b"c=3"]


@scenario("response.headers.duplicates", refs=["RFC9110-5.3-p1-s1"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("lines, name, expected", [
    variant([b"X-A: a", b"X-B: b"], "X-A", ["a"], id="control-distinct-names"),
    variant([b"X-A: a", b"X-A: b"], "X-A", ["a", "b"], id="same-name-twice"),
    variant([b"X-A: a", b"x-a: b"], "X-A", ["a", "b"], id="same-name-different-case"),
    variant([b"X-A: a", b"X-B: z", b"X-A: b, c"], "X-A", ["a", "b", "c"], id="interleaved-with-list"),
    variant([b"Set-Cookie: " + c for c in COOKIES], "Set-Cookie", None, id="set-cookie-three-times"),
])
@each_delivery
def test_duplicate_fields(server, wire, lines, name, expected, delivery):
    # RFC 9110 5.3: a recipient MAY combine field lines of the same name into one, in order,
    # separated by commas, "without changing the semantics"; so either form passes, as long as no
    # value is lost or reordered. Set-Cookie is the well-known exception: its values contain
    # commas and cannot be combined, so each field line must stay a value of its own.
    response = expect_response(_get(server, wire, _response(*lines), delivery))
    values = response.header_values(name)
    if expected is None:
        wanted = [c.decode() for c in COOKIES]
        assert values == wanted, (
            f"RFC 9110 5.3: Set-Cookie field lines cannot be combined into one value; expected each of "
            f"{wanted!r} in order, got {values!r}")
    else:
        combined = [item.strip() for value in values for item in value.split(",")]
        assert combined == expected, (
            f"RFC 9110 5.3: field lines with the same name (case-insensitively) form one list in the order "
            f"received; expected {expected!r}, got {values!r}")
    assert response.body == b"hello"


# =====================================================================================================
# obs-fold (wire)
# =====================================================================================================


@scenario("response.headers.obs-fold", refs=["RFC9112-5.2-p6-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("lines, expected", [
    variant([b"X-A: a b"], "a b", id="control-no-fold"),
    variant([b"X-A: a", b" b"], "a b", id="sp"),
    variant([b"X-A: a", b"\tb"], "a b", id="htab"),
    variant([b"X-A: a ", b"    b"], "a b", id="wide-whitespace"),
    variant([b"X-A: a", b" b", b"\t c"], "a b c", id="several-folds"),
    variant([b"X-A:", b" b"], "b", id="after-empty-value"),
    variant([b"X-A: a", b" b", b"X-B: next"], "a b", id="followed-by-field"),
])
@each_delivery
def test_obs_fold(server, wire, lines, expected, delivery):
    # obs-fold = OWS CRLF RWS (RFC 9112 5.2). A user agent MUST replace each obs-fold with one or
    # more SP before interpreting the value: the value must hold no CR, LF or HTAB of the fold,
    # and the folded line's content is part of the value (not a field of its own).
    response = expect_response(_get(server, wire, _response(*lines), delivery))
    values = response.header_values("X-A")
    assert len(values) == 1, f"one field line (with its continuation lines) is one value; got {values!r}"
    value = values[0]
    assert not re.search(r"[\r\n\t]", value), (
        f"RFC 9112 5.2: a user agent MUST replace each received obs-fold with one or more SP octets; the value "
        f"still holds the fold: {value!r}")
    assert re.sub(" +", " ", value).strip(" ") == expected, (
        f"RFC 9112 5.2: the folded value is {expected!r} (with one or more SP for each fold), got {value!r}")
    assert response.body == b"hello"
    if any(line == b"X-B: next" for line in lines):
        assert response.header_values("X-B") == ["next"], "the field line after a fold is a field of its own"


# =====================================================================================================
# malformed field lines: whitespace before the colon, no colon, names that are not tokens (wire)
# =====================================================================================================

HELLO, PROTOCOL_OR_HELLO = body(b"hello"), body(b"hello", or_fails=(PROTOCOL,))


@scenario("response.headers.malformed-line", refs=["RFC9112-2.2-p2-s1", "RFC9112-6.3-p2-s8"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("line, expected", [
    variant(b"X-A: v", HELLO, id="control-valid-line"),
    variant(b"X!#$%&'*+-.^_`|~A: v", HELLO, id="control-every-tchar"),
    variant(b"X-A : v", PROTOCOL_OR_HELLO, id="space-before-colon"),
    variant(b"X-A\t: v", PROTOCOL_OR_HELLO, id="htab-before-colon"),
    variant(b"X-A v", PROTOCOL_OR_HELLO, id="no-colon"),
    variant(b"X A: v", PROTOCOL_OR_HELLO, id="space-in-name"),
    variant(b": v", PROTOCOL_OR_HELLO, id="empty-name"),
    variant(b"X@A: v", PROTOCOL_OR_HELLO, id="separator-in-name"),
    variant(b"X\xe9: v", PROTOCOL_OR_HELLO, id="non-ascii-name"),
])
@each_delivery
def test_malformed_field_line(server, wire, line, expected, delivery):
    # RFC 9112 5.1: "No whitespace is allowed between the field name and colon"; a field name is a
    # token (RFC 9110 5.1) and a field line has a colon. The bad line comes before Content-Length:
    # a client may reject the response, but one that accepts it MUST still frame it by that
    # Content-Length (5 octets), not lose the fields after the bad line and read until close.
    raw = _response(line)
    outcome = _get(server, wire, raw, delivery)
    check(outcome, expected,
          "RFC 9112 5.1 / 6.3: a field line that breaks the field-line grammar makes the response invalid; "
          "a client that accepts it anyway must not drop the field lines after it (here Content-Length: 5, "
          "so the body is b'hello', not b'helloEXTRA')", raw)
    if isinstance(outcome, Response):
        assert outcome.header_values("Content-Length") == ["5"], (
            f"the Content-Length field after {line!r} must not be lost; headers: {outcome.headers!r}")


# =====================================================================================================
# CR and NUL inside a value (wire)
# =====================================================================================================

_CR_RULE = "RFC 9112 2.2: a recipient of a bare CR MUST consider the element invalid or replace each bare CR with SP"
_NUL_RULE = "RFC 9110 5.5: a recipient of NUL in a field value MUST either reject the message or replace it with SP"


@scenario("response.headers.invalid-octets", refs=["RFC9112-2.2-p4-s2"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("line, replaced, rule", [
    variant(b"X-A: a b", "a b", _CR_RULE, id="control-sp"),
    variant(b"X-A: a\rb", "a b", _CR_RULE, id="bare-cr"),
    variant(b"X-A: ab\r", "ab", _CR_RULE, id="bare-cr-before-crlf"),
    variant(b"X-A: a\rX-Injected: 1", "a X-Injected: 1", _CR_RULE, id="bare-cr-injection"),
    variant(b"X-A: a\x00b", "a b", _NUL_RULE, id="nul", refs=["RFC9110-5.5-p5-s1"]),
    variant(b"X-A: \x00", "", _NUL_RULE, id="nul-only", refs=["RFC9110-5.5-p5-s1"]),
])
@each_delivery
def test_invalid_octets_in_value(server, wire, line, replaced, rule, delivery):
    # Either outcome the rule allows passes: a protocol error, or the response with every bare CR
    # or NUL replaced by SP (then OWS-stripped). Never a split field (a CR taken as a line end,
    # which lets a server-controlled value inject a field) and never a value holding CR or NUL.
    raw = _response(line)
    outcome = _get(server, wire, raw, delivery)
    if not isinstance(outcome, Response):
        expect_failure(outcome, PROTOCOL)
        return
    values = outcome.header_values("X-A")
    assert len(values) == 1 and re.sub(" +", " ", values[0]).strip(" ") == replaced, (
        f"{rule}; for {line!r} expected X-A = {replaced!r} (or a rejection), got {values!r}")
    assert not outcome.header_values("X-Injected"), (
        f"{rule}: a bare CR is not a line terminator; the client made a field of its own out of it: "
        f"{outcome.headers!r}")
    assert outcome.body == b"hello", (
        f"{rule}; the field lines after it are fields as usual: the response is framed by Content-Length: 5, "
        f"got body {outcome.body!r}")


# =====================================================================================================
# whitespace between the status line and the first field line (wire)
# =====================================================================================================


@scenario("response.headers.whitespace-line", refs=["RFC9112-2.2-p8-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("lines, ignored", [
    variant([], [], id="control-none"),
    variant([b" X-Ignored: v"], ["X-Ignored"], id="space"),
    variant([b"\tX-Ignored: v"], ["X-Ignored"], id="htab"),
    variant([b" X-Ignored: v", b"\tX-Ignored2: w"], ["X-Ignored", "X-Ignored2"], id="two-lines"),
    variant([b" Content-Length: 3"], [], id="looks-like-content-length"),
])
@each_delivery
def test_whitespace_line_after_status_line(server, wire, lines, ignored, delivery):
    # RFC 9112 2.2: the recipient MUST either reject the message or consume each
    # whitespace-preceded line "without further processing of it" (so no field, and no framing
    # from " Content-Length: 3"); the field lines after them are processed as usual.
    raw = _response(*lines, b"X-Real: 1")
    outcome = _get(server, wire, raw, delivery)
    if lines and not isinstance(outcome, Response):
        expect_failure(outcome, PROTOCOL)
        return
    response = expect_response(outcome)
    rule = ("RFC 9112 2.2: whitespace-preceded lines between the status line and the first field MUST make the "
            "message invalid or be ignored entirely")
    for name in ignored:
        assert not response.header_values(name), f"{rule}; the client kept {name}: {response.headers!r}"
    assert not any("X-Ignored" in value for _, value in response.headers), (
        f"{rule}; the line was folded into a value: {response.headers!r}")
    assert response.body == b"hello", f"{rule}; the body is framed by Content-Length: 5, got {response.body!r}"
    assert response.header_values("X-Real") == ["1"], (
        f"the field line after the ignored lines is a field as usual: {response.headers!r}")


# =====================================================================================================
# limits: number of field lines and length of one (api and wire)
# =====================================================================================================


def _many_fields(count: int) -> bytes:
    """A header section of exactly `count` field lines, the last being Content-Length: 5."""
    return _response(*(b"X-F%d: v" % i for i in range(count - 1)))


def _long_line(octets: int) -> bytes:
    """A response whose X-Long field line is `octets` long, counting its CRLF."""
    prefix = b"X-Long: "
    return _response(prefix + b"a" * (octets - len(prefix) - 2))


OK, EITHER, ERROR = "response", "response or error", "error"


@scenario("response.headers.limits-api", refs=["http.client.HTTPResponse", "http.client.LineTooLong",
                                               "http.client.HTTPException"],
          level=API_LEVEL, profile=API, cves=["CVE-2013-1752"])
@pytest.mark.parametrize("raw, outcome, error", [
    pytest.param(_many_fields(99), OK, None, id="control-99-fields"),
    # http.client's limit is 100 header lines; 3.12 counts the blank line and so already raises
    # at 100 fields. Either way a hundred fields or one more is at the limit: both outcomes pass.
    pytest.param(_many_fields(100), EITHER, None, id="100-fields"),
    pytest.param(_many_fields(101), EITHER, None, id="101-fields"),
    pytest.param(_many_fields(2000), ERROR, "HTTPException", id="2000-fields"),
    pytest.param(_long_line(65536), OK, None, id="control-line-65536-octets"),
    pytest.param(_long_line(70000), ERROR, "LineTooLong", id="line-70000-octets"),
])
def test_header_limits_api(server, client, raw, outcome, error):
    # CVE-2013-1752: endless field lines or an endless line made the client hold whatever the
    # server sent. http.client refuses more than 100 header lines (HTTPException "got more than
    # 100 headers") and a line over 65536 octets (LineTooLong).
    server.add_connection(expect_request(), send(raw), close())
    conn = client.connect(server)
    conn.request("GET", "/")
    try:
        response = client.track(conn.getresponse())
    except client.module.HTTPException as exc:
        assert outcome != OK, f"a header section like this one must be read, got {type(exc).__name__}: {exc}"
        if error is not None:
            assert isinstance(exc, getattr(client.module, error)), (
                f"expected {error}, got {type(exc).__name__}: {exc}")
        return
    assert outcome != ERROR, (
        f"CVE-2013-1752: http.client bounds the header section; expected {error}, but the response was accepted "
        f"with {len(response.getheaders())} fields")
    assert response.read() == b"hello"
    assert response.getheader("Content-Length") == "5"
    if raw == _long_line(65536):
        assert len(response.getheader("X-Long")) == 65536 - len(b"X-Long: \r\n")


@scenario("response.headers.line-length", refs=["http.client.LineTooLong"], level=API_LEVEL, profile=WIRE,
          cves=["CVE-2013-1752"])
@pytest.mark.parametrize("octets, expected", [
    variant(4096, HELLO, id="control-4096-octets"),
    variant(65536, HELLO, id="65536-octets"),
    variant(70000, fails(PROTOCOL), id="70000-octets"),
])
def test_header_line_length(server, wire, octets, expected):
    # The http.client limit on one field line is 65536 octets with its CRLF (LineTooLong beyond):
    # a line of exactly that size is read; a longer one is a protocol error, not a response.
    # The line at the limit is http.client's boundary, not a control: a client with a smaller
    # header limit (Node.js: 16 KiB) refuses it and differs from http.client there. The control
    # is a line of 4 KiB, which every client reads.
    raw = _long_line(octets)
    outcome = _get(server, wire, raw, WHOLE)
    check(outcome, expected, f"a field line of {octets} octets (limit 65536 with the CRLF)", raw)


# =====================================================================================================
# the http.client API's views of the header section (api)
# =====================================================================================================


@scenario("response.headers.api-views",
          refs=["http.client.HTTPResponse.getheader", "http.client.HTTPResponse.getheaders",
                "http.client.HTTPResponse.msg", "http.client.HTTPResponse.headers", "http.client.HTTPResponse.info",
                "http.client.HTTPMessage.get_all"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("lines, pairs", [
    pytest.param([b"Content-Type: text/plain"], [("Content-Type", "text/plain")], id="one-field"),
    pytest.param([b"X-Dup: a", b"Content-Type: text/plain", b"x-dup: b"],
                 [("X-Dup", "a"), ("Content-Type", "text/plain"), ("x-dup", "b")], id="duplicates"),
    pytest.param([b"Set-Cookie: " + c for c in COOKIES], [("Set-Cookie", c.decode()) for c in COOKIES],
                 id="set-cookie-three-times"),
    pytest.param([b"x-MiXeD-cAsE: v", b"ETAG: \"x\""], [("x-MiXeD-cAsE", "v"), ("ETAG", '"x"')], id="name-case"),
    pytest.param([b"X-A: caf\xe9 \xff"], [("X-A", "caf\xe9 \xff")], id="obs-text-latin-1"),
    pytest.param([b"X-Empty:", b"X-A:   v"], [("X-Empty", ""), ("X-A", "v")], id="empty-and-leading-ows"),
])
@each_delivery
def test_header_api_views(server, client, lines, pairs, delivery):
    response = _get_api(server, client, _response(*lines), delivery)
    expected = [*pairs, ("Content-Length", "5")]
    assert response.getheaders() == expected, (
        "getheaders() is the list of (name, value) pairs in the order received, names as sent, duplicates kept, "
        f"octets decoded as ISO-8859-1; expected {expected!r}, got {response.getheaders()!r}")
    message = response.msg
    assert isinstance(message, client.module.HTTPMessage), "HTTPResponse.msg is an http.client.HTTPMessage"
    assert response.headers is message and response.info() is message, (
        "HTTPResponse.headers, .msg and info() are the same HTTPMessage")
    assert list(message.keys()) == [name for name, _ in expected], "the message keeps every field, names as sent"
    for name in dict.fromkeys(name.lower() for name, _ in expected):
        values = [value for key, value in expected if key.lower() == name]
        for spelling in (name, name.upper(), name.title()):
            assert message.get_all(spelling) == values, (
                f"HTTPMessage.get_all({spelling!r}) gives every value of the field, in order, whatever the case "
                f"of the name: expected {values!r}, got {message.get_all(spelling)!r}")
            assert response.getheader(spelling) == ", ".join(values), (
                f"getheader({spelling!r}) joins the field's values with ', ': expected {', '.join(values)!r}, "
                f"got {response.getheader(spelling)!r}")
            assert spelling in message and message[spelling] == values[0], (
                f"HTTPMessage lookup is case-insensitive; message[{spelling!r}] is the first value")
    assert response.read() == b"hello"


@scenario("response.headers.getheader-default", refs=["http.client.HTTPResponse.getheader"], level=API_LEVEL,
          profile=API)
@pytest.mark.parametrize("name, default, expected", [
    pytest.param("X-Missing", ["a", "b"], "a, b", id="missing-list-joined"),
    pytest.param("X-Missing", ("a",), "a", id="missing-one-element-tuple"),
    pytest.param("X-Missing", [], "", id="missing-empty-list"),
    pytest.param("X-Missing", "a,b", "a,b", id="missing-str-not-split"),
    pytest.param("X-Missing", 5, 5, id="missing-non-iterable-as-is"),
    pytest.param("X-Missing", None, None, id="missing-none"),
    pytest.param("X-One", ["a", "b"], "one", id="present-list-ignored"),
    pytest.param("x-dup", ["a", "b"], "1, 2", id="duplicates-list-ignored"),
    pytest.param("X-Empty", ["a", "b"], "", id="present-empty-value-list-ignored"),
])
def test_getheader_default(server, client, name, default, expected):
    # The docs: getheader(name, default=None) returns the header's value, several values joined
    # by ', ', or default when there is no such header; "if default is any iterable other than a
    # single string, its elements are similarly returned joined by commas". A present field with
    # an empty value is present: its value "" is returned, not the default.
    response = _get_api(server, client, _response(b"X-One: one", b"X-Dup: 1", b"x-dup: 2", b"X-Empty:"))
    value = response.getheader(name, default)
    assert value == expected, f"getheader({name!r}, {default!r}) returned {value!r}, expected {expected!r}"
    assert response.read() == b"hello"
