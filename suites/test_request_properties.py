"""Property scenarios for requests built step by step (putrequest / putheader / endheaders / send) and
for the host a connection is made for; test_properties.py covers request() itself.

1. Any valid request built through the step-by-step API, with its body given to endheaders(), sent
   in pieces with send(), or chunk-encoded from an iterable, is what h11 (an independent parser)
   reads back: the method, target, the caller's fields in order, and the body.
2. CR, LF or NUL inserted anywhere into the method or URL given to putrequest(), a field name or
   value given to putheader(), or the host given to HTTPConnection(), is refused (ValueError,
   InvalidURL for the URL and host) before a byte is sent.

Grammar relied on (RFC 9110 5.6.2, 5.5; RFC 9112 3, 7.1):

    method = token ; field-name = token ; field-value = *field-content
    origin-form = absolute-path [ "?" query ]
    chunked-body = *chunk last-chunk trailer-section CRLF
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from h1conform.servers import expect_request, respond, send
from h1conform.suites.harness import API, MUST, scenario, variant
from h1conform.suites.harness.checks import clean_request_passes, expect_refused_before_sending

FIXTURES_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
FIELD_VCHARS = [bytes([i]) for i in [*range(0x21, 0x7F), *range(0x80, 0x100)]]
RESERVED = ("host", "accept-encoding", "content-length", "transfer-encoding", "connection", "expect", "te",
            "upgrade", "trailer")

methods = st.text(TCHARS, min_size=1, max_size=10).filter(lambda method: method != "CONNECT")
names = st.text(TCHARS, min_size=1, max_size=12).filter(lambda name: name.lower() not in RESERVED)


@st.composite
def values(draw) -> bytes:
    """A field-value: visible octets and obs-text, SP / HTAB only between them."""
    octets = draw(st.lists(st.sampled_from(FIELD_VCHARS) | st.sampled_from([b" ", b"\t"]), max_size=16))
    return b"".join(octets).strip(b" \t")


PCHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@"
segments = st.lists(st.sampled_from(list(PCHARS)) | st.sampled_from(["%20", "%0D%0A", "%C3%A9"]), max_size=6).map("".join)
paths = st.builds(lambda segs, query: "/" + "/".join(segs) + ("" if query is None else "?" + query),
                  st.lists(segments, min_size=1, max_size=3), st.none() | segments)


# =====================================================================================================
# 1. Round trip through the step-by-step API
# =====================================================================================================


@scenario("request.properties.step-by-step-round-trip", refs=["RFC9110-2.2-p5-s1", "RFC9112-6.3-p7-s1"], level=MUST,
          profile=API)
@pytest.mark.parametrize("how", [
    variant("endheaders-body", id="endheaders-body"),
    variant("send-pieces", id="send-pieces"),
    variant("endheaders-chunked", id="endheaders-encode_chunked"),
])
@FIXTURES_OK
@given(method=methods, path=paths,
       fields=st.lists(st.tuples(names, values()), max_size=6, unique_by=lambda field: field[0].lower()),
       pieces=st.lists(st.binary(max_size=60), max_size=5))
# An empty piece between two others: in chunked coding it must be skipped, never sent as a last-chunk.
@example(method="POST", path="/", fields=[], pieces=[b"ab", b"", b"cd"])
def test_step_by_step_round_trip(make_server, client, how, method, path, fields, pieces):
    body = b"".join(pieces)
    with make_server() as server:
        server.add_connection(respond(OK))
        conn = client.connect(server)
        try:
            conn.putrequest(method, path)
            for name, value in fields:
                conn.putheader(name, value)
            if how == "endheaders-chunked":
                conn.putheader("Transfer-Encoding", "chunked")
                conn.endheaders(iter(pieces), encode_chunked=True)
            else:
                conn.putheader("Content-Length", str(len(body)))
                if how == "endheaders-body":
                    conn.endheaders(body)
                else:
                    conn.endheaders()
                    for piece in pieces:
                        conn.send(piece)
            conn.getresponse().read()
        finally:
            conn.close()
    sent = server.requests[0]
    rule = (f"RFC 9110 2.2 / RFC 9112 6.3: putrequest({method!r}, {path!r}), putheader() for {fields!r}, a body of "
            f"{len(body)} octets ({how}) must be sent as exactly that; h11 read {sent.raw[:400]!r}")
    assert sent.error is None and sent.complete, f"{rule}: h11 refused it: {sent.error}"
    assert (sent.method, sent.target, sent.http_version) == (method.encode(), path.encode(), b"1.1"), rule
    caller = [(name, value) for name, value in sent.headers
              if name.lower().decode() not in ("host", "accept-encoding", "content-length", "transfer-encoding")]
    assert caller == [(name.encode(), value) for name, value in fields], f"{rule}: the caller's fields in order"
    assert sent.body == body, f"{rule}: body {sent.body[:80]!r}"
    if how == "endheaders-chunked":
        assert sent.chunks == [piece for piece in pieces if piece], f"{rule}: one chunk per non-empty piece"


# =====================================================================================================
# 2. Injection through putrequest / putheader / the host
# =====================================================================================================

injected = st.sampled_from(["\r", "\n", "\x00", "\r\n"])


@st.composite
def with_injection(draw, clean) -> str:
    text = draw(clean)
    position = draw(st.integers(0, len(text)))
    return text[:position] + draw(injected) + text[position:]


clean_values = values().map(lambda value: value.decode("latin-1"))
hosts = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10).map(lambda label: label + ".example")


@scenario("request.properties.injection-step-by-step", refs=["RFC9110-2.2-p5-s1"], level=MUST, profile=API,
          cves=["CVE-2016-5699", "CVE-2019-9740", "CVE-2019-18348", "CVE-2020-26116"])
@pytest.mark.parametrize("element", [
    variant("control", id="control-clean"),
    variant("method", id="putrequest-method"),
    variant("url", id="putrequest-url"),
    variant("header-name", id="putheader-name"),
    variant("header-value", id="putheader-value"),
    variant("host", id="host"),
])
@FIXTURES_OK
@given(data=st.data())
def test_injection_step_by_step(make_server, client, element, data):
    def draw(name, clean):
        return data.draw(with_injection(clean) if element == name else clean, label=name)

    method, url, host = draw("method", methods), draw("url", paths), draw("host", hosts)
    name, value = draw("header-name", names), draw("header-value", clean_values)
    refused = element != "control"
    invalid = (ValueError, client.module.InvalidURL)
    if refused:
        # A module that refuses every request would refuse these too: first, a clean one is sent.
        clean_request_passes(make_server, client, "putrequest")
    with make_server() as server:
        server.add_connection(expect_request(strict=False), send(OK), optional=refused)
        try:
            conn = client.connect_via(server, host, 8080)
        except invalid:
            assert element == "host", f"HTTPConnection({host!r}) refused a clean host"
            assert not server.connections, "refused before any connection"
            return
        try:
            def start():
                conn.putrequest(method, url)
                conn.putheader(name, value)
                conn.endheaders()

            if refused:
                expect_refused_before_sending(
                    server, conn, start, invalid,
                    f"RFC 9110 2.2: a sender MUST NOT generate a {element} that does not match its grammar; CR, LF "
                    f"or NUL in it must raise ValueError (InvalidURL for the URL or host) before anything is sent: "
                    f"HTTPConnection({host!r}), putrequest({method!r}, {url!r}), putheader({name!r}, {value!r})")
                return
            start()
            conn.getresponse().read()
        finally:
            conn.close()
    sent = server.requests[0]
    assert (sent.method, sent.target, sent.header_values(name), sent.header("host")) == (
        method.encode(), url.encode(), [value.encode("latin-1")], f"{host}:8080".encode()), (
        f"control: a clean method, URL, field and host are sent as given; h11 read {sent.raw[:300]!r}")
