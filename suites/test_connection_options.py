"""Connection options and special request forms: a caller's "close", CONNECT's authority-form and
its 2xx response, OPTIONS "*", the TE field a client generates, and chunking applied only once.

RFC 9112 9.6: a client that sends "close" MUST NOT send further requests on that connection and MUST
close it after reading the response. 3.2.3 / 3.2.4: CONNECT sends only host:port, a server-wide
OPTIONS sends only "*". 6.3 / RFC 9110 9.3.6: Content-Length and Transfer-Encoding of a 2xx to CONNECT
are ignored. 7.4: never "chunked" in TE, and TE goes with a "TE" connection option. 6.1: chunked is
never applied twice.
"""

from __future__ import annotations

import pytest

from h1conform.servers import expect_request, respond, respond_if_sent, send
from h1conform.suites.harness import API, MUST, WIRE, expect_response, scenario, variant
from h1conform.suites.harness.waiting import client_closed
from h1conform.suites.harness.wire import FEATURE_PERSISTENT

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
FIRST = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"

CLOSE_RULE = ("RFC 9112 9.6: a client that sends a 'close' connection option MUST NOT send further requests "
              "on that connection and MUST close it after reading the response")


def request_line(raw: bytes) -> bytes:
    return raw.partition(b"\r\n")[0]


def _script_close(server, caller_close: bool) -> None:
    """One connection for both requests, or (after the caller's close) a first connection the server
    keeps open, answering a request wrongly sent on it (recorded, and judged), and a second one. The
    server never closes first: whether a client noticed a close of the server's before its second
    request would depend on the machine's load, not on the client."""
    if caller_close:
        server.add_connection(respond(FIRST), respond_if_sent(SECOND))
        server.add_connection(respond(SECOND), optional=True)
    else:
        server.add_connection(respond(FIRST), respond(SECOND))


def _check_close(server, caller_close: bool, outcome_text: str) -> None:
    if caller_close:
        closed = client_closed(server.connection(0))  # asked once the second request is over
        sent_again = [request.raw for request in server.connection(0).requests[1:]]
        assert not sent_again, (f"{CLOSE_RULE}; it sent {sent_again[0][:80]!r} on the first connection "
                                f"(second request: {outcome_text})")
        assert closed, f"{CLOSE_RULE}; the first connection is still open"
        assert len(server.connections) == 2 and len(server.connection(1).requests) == 1, (
            f"{CLOSE_RULE}: the second request goes on a new connection")
    else:
        assert len(server.connections) == 1, (
            "RFC 9112 9.3: without 'close' an HTTP/1.1 connection persists and the second request reuses it; "
            f"the client opened {len(server.connections)} connections")
        assert [r.target for r in server.connection(0).requests] == [b"/1", b"/2"]


CLOSE_ROWS = [
    pytest.param(False, id="control-no-close"),
    pytest.param(True, id="caller-close"),
]


@scenario("connection.close.caller-option", refs=["RFC9112-9.6-p5-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("caller_close", CLOSE_ROWS)
def test_caller_close_wire(server, wire, caller_close):
    if not caller_close:
        wire.require(FEATURE_PERSISTENT, "this row checks that the connection is kept")
    _script_close(server, caller_close)
    headers = [("Connection", "close")] if caller_close else []
    with wire.session() as session:
        one = expect_response(session.request("GET", server.url("/1"), headers=headers))
        outcome = session.request("GET", server.url("/2"))
        _check_close(server, caller_close, str(outcome))
        two = expect_response(outcome)
    assert (one.body, two.body) == (b"first", b"second")
    if caller_close:
        assert b"close" in server.connection(0).requests[0].header_values("connection"), (
            "the caller's Connection: close was sent")


@scenario("connection.close.caller-option.api", refs=["RFC9112-9.6-p5-s1"], level=MUST, profile=API)
@pytest.mark.parametrize("caller_close", CLOSE_ROWS)
def test_caller_close_api(server, client, caller_close):
    _script_close(server, caller_close)
    conn = client.connect(server)
    conn.request("GET", "/1", headers={"Connection": "close"} if caller_close else {})
    with conn.getresponse() as response:
        first = response.read()
    try:
        conn.request("GET", "/2")
        with conn.getresponse() as response:
            second = response.read()
        outcome = f"response {second!r}"
    except (OSError, client.module.HTTPException) as exc:
        second, outcome = None, f"{type(exc).__name__}: {exc}"
    _check_close(server, caller_close, outcome)
    assert (first, second) == (b"first", b"second"), f"second request: {outcome}"


# -- CONNECT ----------------------------------------------------------------------------------------

TUNNEL = b"0123456789"  # bytes the server sends through the tunnel right after the 2xx head


@scenario("request.line.connect-authority-form",
          refs=["RFC9112-3.2.3-p3-s1", "RFC9112-3.2-p5-s2", "RFC9112-6.3-p2-s1", "RFC9110-9.3.6-p12-s2"],
          level=MUST, profile=API)
@pytest.mark.parametrize("response, expected", [
    variant(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 6\r\n\r\ndenied", b"denied",
            id="control-407-body-read", refs=["RFC9112-3.2.3-p3-s1", "RFC9112-3.2-p5-s2"]),
    variant(b"HTTP/1.1 200 Connection established\r\nContent-Length: 10\r\n\r\n" + TUNNEL, b"",
            id="200-content-length-ignored"),
    variant(b"HTTP/1.1 200 Connection established\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"", id="200-transfer-encoding-ignored"),
])
def test_connect_authority_form(server, client, response, expected):
    # h11 may refuse CONNECT framing: record the request without judging it, assert on the raw bytes.
    server.add_connection(expect_request(strict=False), send(response))
    conn = client.connect(server)
    conn.request("CONNECT", "origin.example:443")
    got = conn.getresponse().read()
    sent = server.requests[0]
    problems = []
    if request_line(sent.raw) != b"CONNECT origin.example:443 HTTP/1.1":
        problems.append("RFC 9112 3.2.3: a CONNECT request MUST send only host:port as the request-target; "
                        f"request line {request_line(sent.raw)!r}")
    if sent.header_values("host") != [b"origin.example:443"]:
        problems.append("RFC 9112 3.2: Host MUST be identical to the target URI's authority "
                        f"(origin.example:443); sent {sent.header_values('host')!r}")
    if got != expected:
        problems.append(("RFC 9112 6.3 / RFC 9110 9.3.6: a client MUST ignore Content-Length and Transfer-Encoding "
                         "in a 2xx response to CONNECT (no body)" if expected == b"" else
                         "a non-2xx response to CONNECT is read with its Content-Length")
                        + f"; read() returned {got!r}, expected {expected!r}")
    assert not problems, "\n".join(problems)


# -- OPTIONS * --------------------------------------------------------------------------------------


@scenario("request.line.options-asterisk", refs=["RFC9112-3.2.4-p3-s1"], level=MUST, profile=API)
@pytest.mark.parametrize("target", [
    pytest.param("/x", id="control-origin-form"),
    pytest.param("*", id="asterisk"),
])
def test_options_asterisk(server, client, target):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("OPTIONS", target)
    conn.getresponse().read()
    line = request_line(server.requests[0].raw)
    assert line == b"OPTIONS " + target.encode() + b" HTTP/1.1", (
        "RFC 9112 3.2.4: an OPTIONS request for the server as a whole MUST send only '*' as the "
        f"request-target (and a named resource its path); request line {line!r}")


# -- TE ---------------------------------------------------------------------------------------------


def _tokens(values: list[bytes]) -> list[bytes]:
    return [t.strip().split(b";")[0].strip().lower() for v in values for t in v.split(b",") if t.strip()]


def te_problems(sent) -> list[str]:
    problems = []
    te = sent.header_values("te")
    if b"chunked" in _tokens(te):
        problems.append(f"RFC 9112 7.4: a client MUST NOT send 'chunked' in TE; sent TE {te!r}")
    if te and b"te" not in sent.connection_options:
        problems.append("RFC 9112 7.4 / RFC 9110 10.1.4: a sender of TE MUST also send a 'TE' connection option; "
                        f"sent Connection {sent.header_values('connection')!r}")
    return problems


CALLER_TE = [("TE", "trailers"), ("Connection", "TE")]


@scenario("request.headers.te-not-chunked", refs=["RFC9112-7.4-p2-s1", "RFC9112-7.4-p8-s1", "RFC9110-10.1.4-p6-s1"],
          level=MUST, profile=WIRE)
@pytest.mark.parametrize("method, headers, body", [
    # control: a valid TE (the caller's) passes the same check
    pytest.param("GET", CALLER_TE, None, id="control-caller-te-trailers"),
    pytest.param("GET", [], None, id="get"),
    pytest.param("HEAD", [], None, id="head"),
    pytest.param("POST", [], b"hello", id="post"),
])
def test_te_wire(server, wire, method, headers, body):
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/"), headers=headers, body=body))
    sent = server.requests[0]
    if headers:
        assert sent.header_values("te") == [b"trailers"], "the caller's TE was sent"
    problems = te_problems(sent)
    assert not problems, "\n".join(problems) + f"\nhead: {sent.head!r}"


@scenario("request.headers.te-not-chunked.api",
          refs=["RFC9112-7.4-p2-s1", "RFC9112-7.4-p8-s1", "RFC9110-10.1.4-p6-s1"], level=MUST, profile=API)
@pytest.mark.parametrize("how", [
    pytest.param("control-caller-te-trailers", id="control-caller-te-trailers"),
    pytest.param("request", id="request"),
    pytest.param("request-iterable-body", id="request-iterable-body"),
    pytest.param("putrequest", id="putrequest-endheaders"),
])
def test_te_api(server, client, how):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    if how == "control-caller-te-trailers":
        conn.request("GET", "/", headers=dict(CALLER_TE))
    elif how == "request":
        conn.request("GET", "/")
    elif how == "request-iterable-body":
        conn.request("POST", "/", body=iter([b"ab"]))
    else:
        conn.putrequest("GET", "/")
        conn.endheaders()
    conn.getresponse().read()
    sent = server.requests[0]
    problems = te_problems(sent)
    assert not problems, "\n".join(problems) + f"\nhead: {sent.head!r}"


# -- chunked once -----------------------------------------------------------------------------------


@scenario("request.body.chunked-once", refs=["RFC9112-6.1-p4-s2"], level=MUST, profile=API)
@pytest.mark.parametrize("encode, body, expected", [
    # control: the caller encoded the body itself (encode_chunked=False): sent unchanged
    pytest.param(False, [b"2\r\nab\r\n0\r\n\r\n"], b"ab", id="control-pre-encoded"),
    pytest.param(True, [b"ab", b"cd"], b"abcd", id="encode_chunked"),
])
def test_chunked_once(server, client, encode, body, expected):
    server.add_connection(expect_request(strict=False), send(OK))
    conn = client.connect(server)
    conn.request("POST", "/", body=iter(body), headers={"Transfer-Encoding": "chunked"}, encode_chunked=encode)
    conn.getresponse().read()
    sent = server.requests[0]
    assert sent.error is None and sent.complete and sent.body == expected, (
        "RFC 9112 6.1: a sender MUST NOT apply the chunked coding more than once; the body should decode "
        f"to {expected!r}, h11 decoded {sent.body!r} (error: {sent.error}) from {sent.raw!r}")
    assert sent.header_values("transfer-encoding") == [b"chunked"], (
        f"Transfer-Encoding names chunked once: {sent.header_values('transfer-encoding')!r}")
