"""Expect: 100-continue as a caller sends it through the http.client API, and what the client does with
the 100 (Continue), a 417 (Expectation Failed), or a final response that arrives before the body.

http.client never generates an expectation and never waits for a 100 (Continue): a caller that puts
`Expect: 100-continue` into the headers gets the body sent right after the head, which RFC 9110
10.1.1 allows ("such a client MAY proceed to send the content even if it has not yet received a
response"). getresponse() then reads and skips the 100 (Continue) and returns the final response.

RFC 9110 10.1.1: a client MUST NOT generate a 100-continue expectation in a request without
content. RFC 9110 7.5: a client that receives a response while still sending the request SHOULD
continue sending it unless told otherwise.
"""

from __future__ import annotations

import pytest

from h1conform.servers import call, expect_body, expect_request, respond, send
from h1conform.suites.harness import API, API_LEVEL, MAY, MUST, SHOULD, WIRE, expect_response, scenario, variant
from h1conform.suites.harness.instruments import require_debug_output
from h1conform.suites.harness.waiting import client_closed

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
BODY = b"0123456789" * 100
EXPECT = {"Expect": "100-continue"}


def read_all(conn):
    with conn.getresponse() as response:
        return response.status, response.read()


def expectations(sent) -> list[bytes]:
    return [token.strip().lower() for value in sent.header_values("expect") for token in value.split(b",")]


# -- what is sent ----------------------------------------------------------------------------------------


@scenario("request.expect.not-generated", refs=["RFC9110-10.1.1-p11-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("method, headers, body", [
    # control: the caller's expectation on a request with content is sent, so the check sees it
    pytest.param("PUT", [("Expect", "100-continue")], BODY, id="control-caller-expect-with-content"),
    pytest.param("GET", [], None, id="get"),
    pytest.param("HEAD", [], None, id="head"),
    pytest.param("DELETE", [], None, id="delete"),
    pytest.param("POST", [], None, id="post-without-content"),
    pytest.param("PUT", [], b"", id="put-empty-content"),
])
def test_expect_not_generated(server, wire, method, headers, body):
    # RFC 9110 10.1.1: "A client MUST NOT generate a 100-continue expectation in a request that does
    # not include content." A server that is sent one would wait for content that never comes.
    if headers:
        server.add_connection(expect_request(body=False), send(CONTINUE), expect_body(), send(OK))
    else:
        server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/"), headers=headers, body=body))
    sent = server.requests[0]
    if headers:
        assert expectations(sent) == [b"100-continue"] and sent.body == BODY, "the caller's Expect is sent"
        return
    assert b"100-continue" not in expectations(sent), (
        "RFC 9110 10.1.1: a client MUST NOT generate a 100-continue expectation in a request without content; "
        f"{method} without content sent Expect {sent.header_values('expect')!r}")


@scenario("request.expect.sent-with-body", refs=["RFC9110-10.1.1-p11-s3", "http.client.HTTPConnection.request"],
          level=MAY, profile=API)
@pytest.mark.parametrize("how", ["request-bytes", "request-iterable", "step-by-step"])
def test_expect_body_sent_without_waiting(server, client, how):
    # RFC 9110 10.1.1: "A client that sends a 100-continue expectation is not required to wait for any
    # specific length of time; such a client MAY proceed to send the content even if it has not yet
    # received a response." http.client sends the body right after the head: the server reads the
    # whole request before it answers anything, and the client still gets its response.
    server.add_connection(respond(OK))
    conn = client.connect(server)
    if how == "request-bytes":
        conn.request("PUT", "/", body=BODY, headers=EXPECT)
    elif how == "request-iterable":
        conn.request("PUT", "/", body=iter([BODY[:500], BODY[500:]]), headers=EXPECT)
    else:
        conn.putrequest("PUT", "/")
        conn.putheader("Expect", "100-continue")
        conn.putheader("Content-Length", len(BODY))
        conn.endheaders()
        conn.send(BODY)
    assert read_all(conn) == (200, b"ok")
    sent = server.requests[0]
    assert expectations(sent) == [b"100-continue"] and sent.complete and sent.body == BODY, (
        "the head with the caller's Expect and the whole body are sent without waiting for 100 (Continue)")


LARGE = b"x" * (2 * 1024 * 1024)  # large enough that clients which ever wait for 100 (Continue) do
# How long the server waits for content it did not ask for before calling it withheld, and, never
# sending 100 (Continue), for a client that expected one. A client sending its content keeps it
# coming, so only a client that holds it back reaches these bounds: generous, so that a loaded
# machine's pauses are never taken for withheld content.
PROMPT = 4.0
PATIENT = 4.0


def _answer_expectation(conn):
    """Send 100 (Continue) if the request asked for it; otherwise the content must follow at once."""
    request = conn.record.requests[-1]
    if b"100-continue" in expectations(request):
        send(CONTINUE).run(conn)
        expect_body().run(conn)
    else:
        expect_body(timeout=PROMPT).run(conn)


@scenario("request.expect.waiting", refs=["RFC9110-10.1.1-p11-s2"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("server_sends_100", [
    variant(True, id="server-sends-100"),
    # RFC 9110 10.1.1: a client that sent the expectation SHOULD NOT wait indefinitely for the 100.
    variant(False, id="server-never-sends-100", level=SHOULD, refs=["RFC9110-10.1.1-p11-s4"]),
])
def test_waiting_for_continue(server, wire, server_sends_100):
    # RFC 9110 10.1.1: "A client that will wait for a 100 (Continue) response before sending the request
    # content MUST send an Expect header field containing a 100-continue expectation." A client that
    # holds its content back without having asked makes the server wait for content it cannot ask
    # for: the server gives a client without the expectation PROMPT seconds. A client that asked
    # "SHOULD NOT wait for an indefinite period": with no 100 ever sent, the content must still come.
    if server_sends_100:
        script = [expect_request(body=False), call(_answer_expectation)]
    else:
        script = [expect_request(body=False), expect_body(timeout=PATIENT)]
    server.add_connection(*script, send(OK))
    outcome = wire.request("PUT", server.url("/large"), body=LARGE)
    sent = server.requests[0]
    assert sent.complete and sent.body == LARGE, (
        "RFC 9110 10.1.1: the content follows the head (a client waits for 100 (Continue) only after sending "
        f"Expect: 100-continue, and never indefinitely); the server received {len(sent.body)} of {len(LARGE)} octets")
    expect_response(outcome)


# -- the 100 (Continue), a 417, an early final response ------------------------------------------------


@scenario("request.expect.continue-then-final", refs=["RFC9110-15.2-p3-s1", "http.client.HTTPConnection.getresponse"],
          level=MUST, profile=API)
@pytest.mark.parametrize("interim", [
    pytest.param(b"", id="control-no-100"),
    pytest.param(CONTINUE, id="100"),
    pytest.param(b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n", id="100-with-fields"),
    pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n" * 2, id="two-100"),
])
@pytest.mark.parametrize("how", ["request", "step-by-step"])
def test_continue_then_final(server, client, interim, how):
    # The server reads the head, sends its 100 (Continue), reads the body and answers. The client
    # (which did not wait) reads the 100, skips it (RFC 9110 15.2: a client MUST be able to parse 1xx
    # responses before the final one) and returns the final response; the connection stays usable.
    steps = [expect_request(body=False), send(interim), expect_body()] if interim else [expect_request(body=False),
                                                                                        expect_body()]
    server.add_connection(*steps, send(b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone"), respond(OK))
    conn = client.connect(server)
    if how == "request":
        conn.request("PUT", "/upload", body=BODY, headers=EXPECT)
    else:
        conn.putrequest("PUT", "/upload")
        conn.putheader("Expect", "100-continue")
        conn.putheader("Content-Length", str(len(BODY)))
        conn.endheaders()
        conn.send(BODY[:100])
        conn.send(BODY[100:])
    assert read_all(conn) == (201, b"done"), (
        "RFC 9110 15.2: the 100 (Continue) is skipped and getresponse() returns the final response")
    assert server.requests[0].body == BODY
    conn.request("GET", "/next")
    assert read_all(conn) == (200, b"ok"), "after the exchange the connection carries the next request"


@scenario("request.expect.continue-debug", refs=["http.client.HTTPConnection.set_debuglevel", "http.client.HTTPResponse.debuglevel"],
          level=API_LEVEL, profile=API)
def test_continue_debug_output(make_server, server, client, capsys):
    # At debuglevel 1 the status line of the 100 (Continue) is printed, and so are its fields.
    require_debug_output(make_server, client, capsys)
    server.add_connection(expect_request(body=False), send(b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"),
                          expect_body(), send(OK))
    conn = client.connect(server)
    conn.set_debuglevel(1)
    capsys.readouterr()
    conn.request("PUT", "/", body=b"data", headers=EXPECT)
    assert read_all(conn) == (200, b"ok")
    lines = capsys.readouterr().out.splitlines()
    replies = [line for line in lines if line.startswith("reply:")]
    assert replies == ["reply: " + repr("HTTP/1.1 100 Continue\r\n"), "reply: " + repr("HTTP/1.1 200 OK\r\n")], (
        f"debuglevel 1 prints 'reply:' with each status line, the interim one first; got {lines!r}")
    interim_fields = [line for line in lines[lines.index(replies[0]):lines.index(replies[1])] if "X-Interim" in line]
    assert interim_fields, f"debuglevel 1 also prints the fields of the 100 (Continue); got {lines!r}"


@scenario("request.expect.417", refs=["http.client.HTTPConnection.getresponse", "http.client.HTTPConnection.request"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("first", [
    pytest.param(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n", id="417"),
    pytest.param(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 6\r\nConnection: close\r\n\r\nfailed",
                 id="417-close"),
])
def test_expectation_failed(server, client, first):
    # RFC 9110 10.1.1: a client that receives 417 (Expectation Failed) SHOULD repeat the request
    # without the expectation. http.client leaves that to the caller: getresponse() returns the 417
    # (the body was already sent: the server reads it to keep the framing), and the caller's repeat
    # without Expect goes through, on the same connection or, after a close, on a new one.
    closes = b"close" in first
    server.add_connection(expect_request(body=False), send(first), expect_body(), *([] if closes else [respond(OK)]))
    if closes:
        server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("PUT", "/", body=BODY, headers=EXPECT)
    status, _ = read_all(conn)
    assert status == 417, "the 417 is the response to the request"
    conn.request("PUT", "/", body=BODY)
    assert read_all(conn) == (200, b"ok"), "the repeat without Expect gets the final response"
    repeat = server.requests[1]
    assert expectations(repeat) == [] and repeat.body == BODY, "the repeat carries the body and no Expect"
    assert len(server.connections) == (2 if closes else 1)


@scenario("request.expect.final-before-body", refs=["RFC9110-7.5-p3-s1"], level=SHOULD, profile=API)
@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no-expect"),
    pytest.param(EXPECT, id="with-expect"),
])
@pytest.mark.parametrize("when", [
    pytest.param("control-after-body", id="control-after-body"),
    pytest.param("after-head", id="after-head"),
])
def test_final_response_before_body(server, client, headers, when):
    # RFC 9110 7.5: "A client that receives a response while it is still sending the associated
    # request SHOULD continue sending that request unless it receives an explicit indication to the
    # contrary." The server answers 200 right after the head (no "close"), then reads the body: the
    # client sends the whole body, then reads that response, and the connection stays in step.
    early = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly"
    if when == "after-head":
        server.add_connection(expect_request(body=False), send(early), expect_body(), respond(OK))
    else:
        server.add_connection(respond(early), respond(OK))
    conn = client.connect(server)
    conn.putrequest("POST", "/")
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(BODY)))
    conn.endheaders()
    for start in range(0, len(BODY), 100):
        conn.send(BODY[start:start + 100])
    assert read_all(conn) == (200, b"early")
    conn.request("GET", "/next")
    assert read_all(conn) == (200, b"ok")  # once answered, the server has read the whole first request
    sent = server.requests[0]
    assert sent.complete and sent.body == BODY, (
        "RFC 9110 7.5: a client that receives a response while still sending the request SHOULD continue "
        f"sending it; the server received {len(sent.body)} of {len(BODY)} body octets")


@scenario("request.expect.early-close", refs=["http.client.HTTPConnection.getresponse"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no-expect"),
    pytest.param(EXPECT, id="with-expect"),
])
def test_early_response_with_close(server, client, headers):
    # The server refuses the content right after the head (413 with "close") and half-closes, but
    # keeps reading so that no reset destroys its response. The client, which sent the body anyway,
    # reads the 413; the connection is closed and the next request opens a new one.
    refusal = b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo long"
    server.add_connection(expect_request(body=False), send(refusal))
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("POST", "/", body=BODY, headers=headers)
    assert read_all(conn) == (413, b"too long")
    conn.request("GET", "/next")
    assert read_all(conn) == (200, b"ok")
    assert client_closed(server.connection(0)), "the client closes the connection the 413 ended"
    assert len(server.connections) == 2
