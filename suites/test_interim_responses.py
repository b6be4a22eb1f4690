"""Interim (1xx) responses (RFC 9110 15.2) and what follows them, beyond response.interim.skipped.

RFC9110-15.2-p3-s1: "A client MUST be able to parse one or more 1xx responses received prior to a
final response, even if the client does not expect one", and a user agent MAY ignore them
(RFC9110-15.2-p3-s2). An unregistered 1xx code is treated as 100 (RFC9110-15-p4-s1). A 1xx has no
content and its header fields are not the final response's. 101 (Switching Protocols) is different:
it is the last HTTP/1.1 response on the connection, which then speaks the protocol the server
switched to. A 1xx that arrives while no request is outstanding is not a response to the next
request (RFC9112-9.2-p3-s1, RFC9112-6.3-p8-s2).

RFC 9110 sets no bound on the number or size of interim responses; the header limits of
http.client apply inside them too (CVE-2021-3737), and later patch releases bound their number at
100 (gh-150743). Those scenarios cite the http.client documentation.
"""

from __future__ import annotations

import threading

import pytest

from h1conform.servers import WHOLE, call, close, expect_request, respond, respond_if_sent, send
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    MUST,
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
from h1conform.suites.harness.waiting import harness_wait
from h1conform.suites.harness.wire import FEATURE_PERSISTENT

PROTOCOL = ErrorKind.PROTOCOL
FINAL = b"HTTP/1.1 200 OK\r\nX-Final: yes\r\nContent-Length: 5\r\n\r\nfinal"
NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
EARLY_HINTS = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nX-Interim: yes\r\n\r\n"


# =====================================================================================================
# sequences of interim responses (wire)
# =====================================================================================================


@scenario("response.interim.sequences", refs=["RFC9110-15.2-p3-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("interim", [
    variant(b"", id="control-no-interim"),
    variant(CONTINUE, id="one-100"),
    variant(CONTINUE * 5, id="five-100"),
    # A 1xx's framing fields frame nothing: a 1xx ends at its empty line (RFC 9112 6.3 rule 1).
    variant(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
            id="100-with-framing-headers"),
    variant(b"HTTP/1.1 102 Processing\r\nX-Interim: yes\r\nX-Progress: 50%\r\n\r\n", id="102-with-headers"),
    variant(EARLY_HINTS, id="103-with-headers"),
    variant(EARLY_HINTS + b"HTTP/1.1 103 Early Hints\r\nLink: </t.js>; rel=preload\r\n\r\n", id="two-103"),
    variant(CONTINUE + b"HTTP/1.1 102 Processing\r\n\r\n" + EARLY_HINTS + CONTINUE, id="100-102-103-100"),
    variant(b"HTTP/1.1 199 Unregistered\r\nX-Interim: yes\r\n\r\n", id="199-unregistered",
            refs=["RFC9110-15.2-p3-s1", "RFC9110-15-p4-s1"]),
])
@each_delivery
def test_interim_sequences(server, wire, interim, delivery):
    # Every 1xx is unexpected (no Expect: 100-continue was sent). The final response has its own
    # header X-Final; those of the interim responses (X-Interim, Link) must not appear in it. A
    # second request on the connection shows nothing of the exchange was left unread: only a
    # client that keeps connections makes it (on a new connection it would show nothing).
    persistent = FEATURE_PERSISTENT in wire.features
    server.add_connection(respond(interim + FINAL, delivery), respond(NEXT, WHOLE) if persistent else [])
    with wire.session() as session:
        outcome = session.request("GET", server.url("/"))
        following = session.request("GET", server.url("/next")) if persistent and isinstance(outcome, Response) else None
    response = expect_response(outcome)
    assert (response.status, response.body) == (200, b"final"), (
        "RFC 9110 15.2: a client MUST parse the 1xx responses before the final one; expected the final 200 with "
        f"body b'final', got {response.status} {response.body!r} after {interim[:80]!r}")
    assert response.header_values("X-Final") == ["yes"]
    leaked = [(name, value) for name, value in response.headers if name.lower() in ("x-interim", "link", "x-progress")]
    assert not leaked, f"the header fields of a 1xx are not the final response's; got {leaked!r}"
    if persistent:
        second = expect_response(following)
        assert (second.status, second.body) == (200, b"next"), (
            f"the connection must be positioned after the final response; next response: {second.status} {second.body!r}")
        assert len(server.connections) == 1


# =====================================================================================================
# the api view of a response that came after interim responses (api)
# =====================================================================================================


@scenario("response.interim.api", refs=["RFC9110-15.2-p3-s1", "http.client.HTTPConnection.getresponse"],
          level=MUST, profile=API)
@pytest.mark.parametrize("interim", [
    pytest.param(b"", id="control-no-interim"),
    pytest.param(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n", id="100-with-header"),
    pytest.param(EARLY_HINTS, id="103-early-hints"),
    pytest.param(b"HTTP/1.1 102 Processing\r\n\r\n" + EARLY_HINTS, id="102-then-103"),
])
@each_delivery
def test_interim_api(server, client, interim, delivery):
    server.add_connection(respond(interim + FINAL, delivery), respond(NEXT))
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    assert (response.status, response.reason, response.version) == (200, "OK", 11), (
        "RFC 9110 15.2: getresponse() returns the final response, after the interim ones; got "
        f"{response.status} {response.reason!r}")
    assert response.getheaders() == [("X-Final", "yes"), ("Content-Length", "5")], (
        f"getheaders() holds the final response's fields only, got {response.getheaders()!r}")
    assert response.getheader("Link") is None and response.headers.get_all("X-Interim") is None
    assert response.read() == b"final"
    conn.request("GET", "/next")
    second = client.track(conn.getresponse())
    assert (second.status, second.read()) == (200, b"next"), "the connection stays usable after the exchange"


# =====================================================================================================
# a flood of interim responses (api) and interim responses with a huge header section (wire)
# =====================================================================================================


@scenario("response.interim.flood", refs=["http.client.HTTPResponse", "http.client.HTTPException"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("count, accepted", [
    pytest.param(5, True, id="control-5"),
    pytest.param(150, False, id="150"),
])
def test_interim_flood(server, client, count, accepted):
    # RFC 9110 sets no bound on the number of 1xx responses, so a server could keep a client
    # reading them forever. http.client (gh-150743) gives up after 100 interim responses with an
    # HTTPException; a handful is read and skipped as usual.
    server.add_connection(expect_request(), send(CONTINUE * count + FINAL), close())
    conn = client.connect(server)
    conn.request("GET", "/")
    if accepted:
        response = client.track(conn.getresponse())
        assert (response.status, response.read()) == (200, b"final")
        return
    try:
        response = client.track(conn.getresponse())
    except client.module.HTTPException:
        return
    raise AssertionError(f"{count} interim responses in a row must be refused (http.client stops after 100); "
                         f"the client read them all and returned {response.status} {response.read()!r}")


def _interim_with(field_lines: bytes) -> bytes:
    return b"HTTP/1.1 100 Continue\r\n" + field_lines + b"\r\n" + FINAL


@scenario("response.interim.header-limits", refs=["http.client.HTTPResponse", "http.client.LineTooLong"],
          level=API_LEVEL, profile=WIRE, cves=["CVE-2021-3737"])
@pytest.mark.parametrize("raw, expected", [
    variant(_interim_with(b"".join(b"X-I%d: v\r\n" % i for i in range(5))), body(b"final"), id="control-5-fields"),
    variant(_interim_with(b"".join(b"X-I%d: v\r\n" % i for i in range(2000))), fails(PROTOCOL), id="2000-fields"),
    variant(_interim_with(b"X-Long: " + b"a" * 70000 + b"\r\n"), fails(PROTOCOL), id="line-70000-octets"),
    variant(EARLY_HINTS.replace(b"\r\n\r\n", b"\r\n" + b"Link: </x.css>; rel=preload\r\n" * 2000 + b"\r\n") + FINAL,
            fails(PROTOCOL), id="103-with-2000-fields"),
])
def test_interim_header_limits(server, wire, raw, expected):
    # CVE-2021-3737: http.client skipped the header section of a 100 Continue without any bound,
    # so a server could make it read forever. The limits of a final response's header section
    # (100 field lines, 65536 octets a line) apply inside interim responses too.
    server.add_connection(expect_request(), send(raw), close())
    outcome = wire.request("GET", server.url("/"))
    check(outcome, expected, "CVE-2021-3737: the header limits apply to the header section of a 1xx response", raw)


# =====================================================================================================
# 101 Switching Protocols: the final HTTP/1.1 response (api)
# =====================================================================================================

SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
WEBSOCKET_FRAME = b"\x81\x05hello"  # what the server sends next, in the new protocol


@scenario("response.interim.switching-protocols",
          refs=["RFC9110-7.8-p2-s1", "http.client.HTTPResponse.status", "http.client.HTTPResponse.read",
                "http.client.HTTPResponse.getheader"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("raw, status, content", [
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, b"hello", id="control-upgrade-declined"),
    pytest.param(SWITCHING, 101, b"", id="101"),
    pytest.param(SWITCHING + WEBSOCKET_FRAME, 101, b"", id="101-then-new-protocol-octets"),
])
@each_delivery
def test_switching_protocols(server, client, raw, status, content, delivery):
    # The client invites an upgrade (RFC 9110 7.8). A 101 is the server's final HTTP/1.1 response
    # to it: it has no content, and the octets after its empty line belong to the new protocol,
    # so getresponse() returns the 101 itself (it is not skipped like other 1xx) and read()
    # returns b"" instead of taking the new protocol's octets for a body.
    server.add_connection(expect_request(), send(raw, delivery))
    conn = client.connect(server)
    conn.request("GET", "/chat", headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    response = client.track(conn.getresponse())
    assert response.status == status, f"expected status {status}, got {response.status} {response.reason!r}"
    if status == 101:
        assert response.getheader("Upgrade") == "websocket", "the 101's header fields are the response's"
    assert response.read() == content, (
        f"read() of a {status} response returns {content!r}: a 101 has no content, what follows it is the new "
        "protocol's")
    assert server.requests[0].header("upgrade") == b"websocket"


# =====================================================================================================
# a 1xx after the final response, on a kept-alive connection (wire)
# =====================================================================================================

FIRST = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"


@scenario("response.interim.after-final", refs=["RFC9112-9.2-p3-s1", "RFC9112-6.3-p8-s2"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("stray", [
    variant(b"", id="control-nothing"),
    variant(CONTINUE, id="100"),
    variant(b"HTTP/1.1 102 Processing\r\n\r\n", id="102"),
    variant(EARLY_HINTS, id="103"),
])
@each_delivery
def test_interim_after_final(server, wire, stray, delivery):
    # The server sends a 1xx after the client has read the complete final response, and before its
    # next request: that data arrived with no request outstanding, and the client MUST NOT take it
    # for the response to its next request (it SHOULD close the connection). Either the second
    # request goes on the same connection and gets the server's real answer, or on a new one.
    # Two events order the steps: the 1xx is sent only once the first exchange is over, and the
    # second request only once the 1xx is on its way.
    first_read, stray_sent = threading.Event(), threading.Event()
    server.add_connection(expect_request(), send(FIRST, delivery),
                          call(lambda conn: harness_wait(first_read.wait, "the test did not let the server go on")),
                          send(stray, delivery),
                          call(lambda conn: stray_sent.set()), respond_if_sent(SECOND))
    server.add_connection(respond(SECOND), optional=True)
    with wire.session() as session:
        try:
            first = expect_response(session.request("GET", server.url("/first")))
        finally:
            first_read.set()
        harness_wait(stray_sent.wait, "the server did not send the 1xx")
        second = expect_response(session.request("GET", server.url("/second")))
    assert first.body == b"first", f"the first response's body is its 5 octets, got {first.body!r}"
    assert (second.status, second.body) == (200, b"second"), (
        "RFC 9112 9.2: data received on a connection with no outstanding request MUST NOT be considered a valid "
        f"response; after {stray!r} the second request got {second.status} {second.body!r} instead of the server's "
        "answer b'second'")
    sent = [request.target for request in server.requests if request.complete]
    assert sent == [b"/first", b"/second"], f"each request is sent once; the server got {sent!r}"
