"""Property scenarios: Hypothesis explores response splits, header sets, chunkings, malformed
responses and requests, where the table-driven files pin down single cases.

Each property builds its messages from the grammar it relies on:

    token        = 1*tchar                                            (RFC 9110 5.6.2)
    field-value  = *field-content                                      (RFC 9110 5.5)
    field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
    field-vchar  = VCHAR / obs-text
    reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )                (RFC 9112 4)
    chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF       (RFC 9112 7.1)
    chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )

Function-scoped fixtures are not reset between Hypothesis examples, so every example starts its own
scripted server (`make_server()`) and closes it, and its own connection. The examples are
derandomized (suites/conftest.py): a run always tries the same ones, and a failure reproduces with
the shrunk counterexample Hypothesis prints. HYPOTHESIS_PROFILE=thorough tries 500 per property; the
scenario deadline applies to each example on its own, so a property may take as long as its examples.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from h1conform.servers import close, expect_request, respond, send, split_at
from h1conform.suites.harness import API, API_LEVEL, MUST, WIRE, expect_response, scenario, variant
from h1conform.suites.harness.checks import clean_request_passes, expect_refused_before_sending
from h1conform.suites.harness.wire import FEATURE_REASON, comparable_fields

# The fixtures (client, wire, make_server) hand out factories and handles, never per-example state.
FIXTURES_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
# Sent after each complete response, before the server closes: a client that misses where the
# message ends takes these octets for body (or fails) at once, instead of waiting for a timeout.
STRAY = b"STRAY"

# -- strategies -------------------------------------------------------------------------------------

TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
VCHAR_OBS_TEXT = [bytes([i]) for i in [*range(0x21, 0x7F), *range(0x80, 0x100)]]

tokens = st.text(TCHARS, min_size=1, max_size=12).map(str.encode)


@st.composite
def field_values(draw, max_size: int = 16) -> bytes:
    """A field-value: visible octets and obs-text, with SP / HTAB only between them."""
    octets = draw(st.lists(st.sampled_from(VCHAR_OBS_TEXT) | st.sampled_from([b" ", b"\t"]), max_size=max_size))
    return b"".join(octets).strip(b" \t")


def field_names(*excluded: str):
    return tokens.filter(lambda name: name.lower().decode() not in excluded)


ows = st.sampled_from([b" ", b"", b"\t", b"  ", b" \t"])  # OWS = *( SP / HTAB )


def cut_points(data: bytes, max_cuts: int = 8):
    """Offsets at which to cut `data` into separately sent segments (none: sent whole)."""
    if len(data) < 2:
        return st.just([])
    return st.lists(st.integers(1, len(data) - 1), max_size=max_cuts, unique=True)


def latin1(fields: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in fields]


# =====================================================================================================
# 1. Any valid Content-Length response, in any split, is read exactly
# =====================================================================================================


@st.composite
def content_length_responses(draw) -> tuple[bytes, list[int], int, bytes, list[tuple[bytes, bytes]], bytes]:
    """(raw response, where to cut it, status, reason, header fields in order, body)."""
    # 1xx, 204 and 304 have no body whatever their headers say (RFC 9112 6.3): not this property.
    status = draw(st.integers(200, 599).filter(lambda code: code not in (204, 304)))
    reason = draw(field_values())
    fields = draw(st.lists(st.tuples(field_names("content-length", "transfer-encoding"), field_values()),
                           max_size=8))
    body = draw(st.binary(max_size=200))
    fields.insert(draw(st.integers(0, len(fields))), (b"Content-Length", b"%d" % len(body)))
    lines = b"".join(name + b":" + draw(ows) + value + b"\r\n" for name, value in fields)
    raw = b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (status, reason, lines, body)
    return raw, draw(cut_points(raw)), status, reason, fields, body


@scenario("response.properties.content-length", refs=["RFC9112-6.3-p2-s8", "RFC9112-2.2-p2-s1"], level=MUST,
          profile=WIRE)
@FIXTURES_OK
@given(case=content_length_responses())
# A counterexample found by the property, kept so that every run tries it: NBSP (0xA0) is obs-text,
# allowed at either end of a reason-phrase, and a Unicode space once decoded as Latin-1.
@example(case=(b"HTTP/1.1 200 \xa0\r\nContent-Length: 0\r\n\r\n", [], 200, b"\xa0", [(b"Content-Length", b"0")], b""))
def test_content_length_response(make_server, wire, case):
    raw, cuts, status, reason, fields, body = case
    with make_server() as server:
        server.add_connection(expect_request(), send(raw + STRAY, split_at(*cuts)), close())
        response = expect_response(wire.request("GET", server.url("/")))
        rule = (f"RFC 9112 2.2 / 6.3: a response is parsed as octets and its body is exactly Content-Length "
                f"octets, however the bytes arrive; sent {raw[:300]!r} cut at {sorted(cuts)}")
        assert response.status == status, f"{rule}: status {response.status}, expected {status}"
        assert response.body == body, f"{rule}: body {response.body[:80]!r}, expected {body[:80]!r}"
        expected = comparable_fields(latin1(fields), wire.features)
        assert comparable_fields(response.headers, wire.features) == expected, (
            f"{rule}: every field line (in order, names as sent, for a client that keeps the order), values "
            f"without the OWS around them: got {response.headers}, expected {latin1(fields)}")
        if FEATURE_REASON in wire.features:
            # Last, so that Hypothesis reports a broken reason phrase apart from broken fields.
            assert response.reason == reason.decode("latin-1"), (
                f"{rule}: reason {response.reason!r}, expected {reason.decode('latin-1')!r}")


# =====================================================================================================
# 2. Any chunking of any body decodes to that body
# =====================================================================================================

qdtext = [bytes([i]) for i in [0x09, 0x20, 0x21, *range(0x23, 0x5C), *range(0x5D, 0x7F), *range(0x80, 0x100)]]
quoted_strings = st.lists(st.sampled_from(qdtext) | st.sampled_from([b'\\"', b"\\\\", b"\\;"]), max_size=10).map(
    lambda parts: b'"' + b"".join(parts) + b'"')
bws = st.sampled_from([b"", b"", b" ", b"\t"])


@st.composite
def chunk_extensions(draw) -> bytes:
    """chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ); val = token / quoted-string."""
    out = b""
    for _ in range(draw(st.integers(0, 3))):
        out += draw(bws) + b";" + draw(bws) + draw(tokens)
        value = draw(st.none() | tokens | quoted_strings)
        if value is not None:
            out += draw(bws) + b"=" + draw(bws) + value
    return out


@st.composite
def chunk_sizes(draw, size: int) -> bytes:
    """chunk-size = 1*HEXDIG, in upper or lower case, with or without leading zeros."""
    digits = b"%x" % size
    if draw(st.booleans()):
        digits = digits.upper()
    return b"0" * draw(st.integers(0, 2)) + digits


@st.composite
def chunked_bodies(draw) -> tuple[bytes, bytes]:
    """(chunked message body, decoded body)."""
    body = draw(st.binary(max_size=300))
    cuts = sorted(draw(st.lists(st.integers(1, max(1, len(body) - 1)), max_size=8, unique=True))) if body else []
    bounds = [0, *(c for c in cuts if c < len(body)), len(body)] if body else [0]
    out = b""
    for start, end in zip(bounds, bounds[1:], strict=False):
        out += draw(chunk_sizes(end - start)) + draw(chunk_extensions()) + b"\r\n" + body[start:end] + b"\r\n"
    out += b"0" * draw(st.integers(1, 3)) + draw(chunk_extensions()) + b"\r\n"  # last-chunk
    trailers = draw(st.lists(st.tuples(tokens, field_values()), max_size=4))
    out += b"".join(name + b":" + draw(ows) + value + b"\r\n" for name, value in trailers) + b"\r\n"
    return out, body


@scenario("response.properties.chunked", refs=["RFC9112-7.1-p4-s1", "RFC9112-7.1.1-p4-s1"], level=MUST, profile=WIRE)
@FIXTURES_OK
@given(case=chunked_bodies(), data=st.data())
def test_chunked_response(make_server, wire, case, data):
    chunked, body = case
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
    cuts = data.draw(cut_points(raw), label="cuts")
    with make_server() as server:
        server.add_connection(expect_request(), send(raw + STRAY, split_at(*cuts)), close())
        response = expect_response(wire.request("GET", server.url("/")))
        assert response.body == body, (
            "RFC 9112 7.1 / 7.1.1: a recipient MUST decode chunked (sizes in either case, leading zeros) and "
            f"ignore chunk extensions and the trailer section; {chunked[:300]!r} cut at {sorted(cuts)} decodes "
            f"to {body[:80]!r}, got {response.body[:80]!r}")


# =====================================================================================================
# 3. A malformed response only ever raises http.client's documented exceptions
# =====================================================================================================


@st.composite
def framed_responses(draw) -> tuple[bytes, bytes, list[str]]:
    """(a small response, its body, the framing faults added): Content-Length or chunked framing,
    a few fields, and 0-2 framing fields repeated with the same or another value, or the other
    framing added (none: a valid response)."""
    body = draw(st.binary(max_size=30))
    fields = draw(st.lists(st.tuples(field_names("content-length", "transfer-encoding"), field_values(8)),
                           max_size=3))
    if draw(st.booleans()):
        framing, payload = [(b"Content-Length", b"%d" % len(body))], body
    else:
        framing = [(b"Transfer-Encoding", b"chunked")]
        payload = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    faults = []
    for _ in range(draw(st.integers(0, 2))):
        framing.append(draw(st.sampled_from([
            (b"Content-Length", b"%d" % len(body)),
            (b"Content-Length", b"%d" % draw(st.integers(0, 2 * len(body) + 5))),
            (b"Transfer-Encoding", b"chunked"),
        ])))
        faults.append(f"added {framing[-1][0].decode()}: {framing[-1][1].decode()}")
    fields[draw(st.integers(0, len(fields))):0] = framing
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(name + b": " + value + b"\r\n" for name, value in fields)
    return head + b"\r\n" + payload, body, faults


@st.composite
def mutations(draw, raw: bytes) -> tuple[bytes, list[str]]:
    """`raw` after 0-3 random mutations, and what they were (0: the control, a valid response)."""
    steps = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["flip", "insert", "truncate"]))
        position = draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            mask = draw(st.integers(1, 255))
            raw = raw[:position] + bytes([raw[position] ^ mask]) + raw[position + 1:]
            steps.append(f"flip {position} ^ {mask:#x}")
        elif kind == "insert":
            octet = draw(st.sampled_from([b"\r", b"\n", b"\x00", b" "]))
            raw = raw[:position] + octet + raw[position:]
            steps.append(f"insert {octet!r} at {position}")
        else:
            raw = raw[:position]
            steps.append(f"truncate at {position}")
    return raw, steps


@scenario("response.properties.malformed", refs=["http.client.HTTPException", "http.client.HTTPResponse.read"],
          level=API_LEVEL, profile=API)
@FIXTURES_OK
@given(case=framed_responses(), data=st.data())
def test_malformed_response(make_server, client, case, data):
    # The server sends the (mutated) response and closes: nothing a correct client does can hang.
    # With no fault (what Hypothesis tries first) this is the control: the response is read.
    framed, body, faults = case
    raw, mutated = data.draw(mutations(framed), label="mutated")
    steps = faults + mutated
    cuts = data.draw(cut_points(raw, 4), label="cuts")
    allowed = (client.module.HTTPException, ConnectionError)
    with make_server() as server:
        server.add_connection(expect_request(), send(raw, split_at(*cuts)), close())
        conn = client.connect(server)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            got = response.read()
        except allowed as exc:
            event(f"raised {type(exc).__name__}")  # shown by --hypothesis-show-statistics
            got = None
        except Exception as exc:
            raise AssertionError(
                "http.client documents HTTPException (and its subclasses) for a response it cannot read, or a "
                f"ConnectionError when the connection drops; got {type(exc).__name__}: {exc} for {raw!r} "
                f"({'; '.join(steps) or 'not mutated'}, cut at {sorted(cuts)})") from exc
        finally:
            conn.close()
        if got is not None:
            event("read")
        if not steps:
            assert got == body, f"the valid response {raw!r} is read: expected body {body!r}, got {got!r}"


# =====================================================================================================
# 4. Any valid request built through the API is what an independent parser reads back
# =====================================================================================================

AUTOMATIC = ("host", "accept-encoding", "content-length")
# absolute-path = 1*( "/" segment ) [ "?" query ] of pchar = unreserved / pct-encoded / sub-delims / ":" / "@"
PCHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@"
segments = st.lists(st.sampled_from(list(PCHARS)) | st.sampled_from(["%20", "%0D%0A", "%2F", "%C3%A9"]),
                    max_size=8).map("".join)
paths = st.builds(lambda segs, query: "/" + "/".join(segs) + ("" if query is None else "?" + query),
                  st.lists(segments, min_size=1, max_size=4), st.none() | segments.map(lambda q: q + "/?"))
# CONNECT asks for a tunnel: its target is an authority, not an origin-form path.
methods = st.text(TCHARS, min_size=1, max_size=10).filter(lambda method: method != "CONNECT")


@scenario("request.properties.round-trip", refs=["RFC9112-3.2-p5-s1", "RFC9110-2.2-p5-s1"], level=MUST, profile=API)
@FIXTURES_OK
@given(method=methods, path=paths,
       fields=st.lists(st.tuples(field_names(*AUTOMATIC, "transfer-encoding"), field_values()), max_size=6,
                       unique_by=lambda field: field[0].lower()),
       body=st.binary(max_size=200))
def test_request_round_trip(make_server, client, method, path, fields, body):
    headers = dict(latin1(fields))
    with make_server() as server:
        server.add_connection(respond(OK))
        conn = client.connect(server)
        try:
            conn.request(method, path, body=body, headers=headers)
            conn.getresponse().read()
        finally:
            conn.close()
    sent = server.requests[0]
    rule = (f"RFC 9110 2.2 / RFC 9112 3.2: request({method!r}, {path!r}, body of {len(body)} octets, "
            f"headers={headers!r}) must be sent as exactly that, plus Host, Accept-Encoding and Content-Length; "
            f"h11 read {sent.raw[:400]!r}")
    assert (sent.method, sent.target, sent.http_version) == (method.encode(), path.encode(), b"1.1"), rule
    caller = [field for field in sent.headers if field[0].lower().decode() not in AUTOMATIC]
    assert caller == fields, f"{rule}: the caller's fields in order, names as given: expected {fields}, sent {caller}"
    assert sent.header_values("host") == [server.authority.encode()], f"{rule}: Host"
    assert sent.header_values("accept-encoding") == [b"identity"], f"{rule}: Accept-Encoding"
    assert sent.header_values("content-length") == [b"%d" % len(body)], f"{rule}: Content-Length"
    assert sent.body == body, f"{rule}: body {sent.body[:80]!r}"


# =====================================================================================================
# 5. CR, LF or NUL anywhere in a method, URL, field name or value: refused before a byte is sent
# =====================================================================================================

injected = st.sampled_from(["\r", "\n", "\x00", "\r\n"])


@st.composite
def injections(draw, clean) -> str:
    text = draw(clean)
    position = draw(st.integers(0, len(text)))
    return text[:position] + draw(injected) + text[position:]


clean_names = st.text(TCHARS, min_size=1, max_size=12).filter(lambda name: name.lower() not in
                                                              (*AUTOMATIC, "transfer-encoding"))
clean_values = field_values().map(lambda value: value.decode("latin-1"))


@scenario("request.properties.injection", refs=["RFC9110-2.2-p5-s1"], level=MUST, profile=API,
          cves=["CVE-2016-5699", "CVE-2019-9740"])
@pytest.mark.parametrize("element", [
    variant("control", id="control-clean"),
    variant("method", id="method"),
    variant("url", id="url"),
    variant("header-name", id="header-name"),
    variant("header-value", id="header-value"),
])
@FIXTURES_OK
@given(data=st.data())
def test_injection_refused(make_server, client, element, data):
    method = data.draw(injections(methods) if element == "method" else methods, label="method")
    url = data.draw(injections(paths) if element == "url" else paths, label="url")
    name = data.draw(injections(clean_names) if element == "header-name" else clean_names, label="name")
    value = data.draw(injections(clean_values) if element == "header-value" else clean_values, label="value")
    refused = element != "control"
    if refused:
        # A module that refuses every request would refuse these too: first, a clean one is sent.
        clean_request_passes(make_server, client)
    with make_server() as server:
        server.add_connection(expect_request(strict=False), send(OK), optional=refused)
        conn = client.connect(server)
        try:
            def start():
                conn.request(method, url, headers={name: value})

            if refused:
                expect_refused_before_sending(
                    server, conn, start, (ValueError, client.module.InvalidURL),
                    f"RFC 9110 2.2: a sender MUST NOT generate a {element} that does not match its grammar; CR, LF "
                    f"or NUL in it must raise ValueError (InvalidURL for the URL) before anything is sent "
                    f"(CVE-2016-5699, CVE-2019-9740): request({method!r}, {url!r}, headers={{{name!r}: {value!r}}})")
                return
            start()
            conn.getresponse().read()
        finally:
            conn.close()
    sent = server.requests[0]
    assert (sent.method, sent.target, sent.header_values(name)) == (method.encode(), url.encode(),
                                                                     [value.encode("latin-1")]), (
        f"control: a clean method, URL and field are sent as given; h11 read {sent.raw[:300]!r}")
