"""Responses that have no body whatever their framing headers say, and interim (1xx) responses.

RFC 9112 6.3, rule 1: "Any response to a HEAD request and any response with a 1xx (Informational),
204 (No Content), or 304 (Not Modified) status code is always terminated by the first empty line
after the header fields, regardless of the header fields present in the message". That sentence
carries no BCP 14 keyword; the requirement table files the client's duty under RFC9110-6-p6-s1
("a client MUST retain knowledge of the request when parsing ... a corresponding response"), which
is what these scenarios cite. A client that reads a body anyway either hangs or eats the next
response on the connection, so each scenario sends a second request on the same connection.

RFC 9110 15.2 (RFC9110-15.2-p3-s1): a client MUST be able to parse one or more 1xx responses
received before the final response, even when it did not expect one.
"""

import pytest

from servers import WHOLE, expect_request, half_close, respond, send
from suites.harness import API, API_LEVEL, MUST, WIRE, Response, each_delivery, expect_response, scenario, variant

NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"

# id -> (method, request headers, response head (and body for the control))
NO_BODY_CL = [
    pytest.param("HEAD", [], b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", b"", id="head-content-length-10"),
    pytest.param("HEAD", [], b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"", id="head-chunked"),
    pytest.param("GET", [], b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", b"", id="204-content-length-10"),
    pytest.param("GET", [("If-None-Match", '"v1"')],
                 b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n', b"",
                 id="304-content-length-10"),
    # control: the same Content-Length on a 200 to GET does frame a 10-byte body
    pytest.param("GET", [], b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", b"0123456789",
                 id="control-200-content-length-10"),
]


@scenario("response.no-body.reuse", refs=["RFC9110-6-p6-s1", "RFC9112-9.3-p7-s2"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("method, headers, first, first_body", NO_BODY_CL)
@each_delivery
def test_no_body_then_reuse(server, wire, method, headers, first, first_body, delivery):
    # One connection, two exchanges: the first response has no body (or, for the control, exactly
    # the 10 announced bytes); the second follows on the same connection once asked for.
    server.add_connection(respond(first, delivery), respond(NEXT, delivery))
    with wire.session() as session:
        response = expect_response(session.request(method, server.url("/first"), headers))
        assert response.body == first_body, (
            f"RFC 9112 6.3 rule 1: a response to HEAD and a 204 or 304 response end at the empty line after "
            f"the header section whatever Content-Length / Transfer-Encoding say; got body {response.body!r}")
        second = expect_response(session.request("GET", server.url("/second")))
    assert second.status == 200 and second.body == b"next", (
        f"the next response on the connection must be read intact, got {second.status} {second.body!r}")
    assert len(server.connections) == 1, (
        f"both requests should share the persistent connection; the client opened {len(server.connections)}")
    assert [r.target for r in server.requests] == [b"/first", b"/second"]
    assert server.requests[0].method == method.encode()


@scenario("response.no-body.transfer-encoding", refs=["RFC9110-6-p6-s1", "RFC9112-6.1-p9-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("method, head, rest, body", [
    pytest.param("HEAD", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"", b"", id="head"),
    pytest.param("GET", b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", b"", b"", id="304"),
    pytest.param("GET", b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", b"", b"", id="204"),
    pytest.param("GET", b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                 b"", b"", id="304-chunked-and-content-length"),
    # control: on a 200 the same header frames a chunked body (here empty: just the last chunk)
    pytest.param("GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"0\r\n\r\n", b"",
                 id="control-200-chunked-empty"),
    pytest.param("GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"2\r\nok\r\n0\r\n\r\n", b"ok",
                 id="control-200-chunked"),
])
@each_delivery
def test_no_body_despite_transfer_encoding(server, wire, method, head, rest, body, delivery):
    # RFC 9112 6.1 lets a server send Transfer-Encoding in a response to HEAD or in a 304, "neither
    # of which includes a message body". The server sends the head and then half-closes: a client
    # that tries to decode a chunked body it should not expect finds the end of the stream and
    # reports an incomplete message instead of the (complete) response.
    server.add_connection(expect_request(), send(head + rest, delivery), half_close())
    response = expect_response(wire.request(method, server.url("/")))
    assert response.body == body, f"expected body {body!r}, got {response.body!r}"


@scenario("response.no-body.api", refs=["http.client.HTTPResponse.read", "http.client.HTTPResponse.readinto",
                                        "http.client.HTTPResponse.getheader", "RFC9110-6-p6-s1"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("method, first", [
    pytest.param("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", id="head"),
    pytest.param("GET", b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", id="204"),
    pytest.param("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", id="304"),
])
def test_no_body_api(server, client, method, first):
    server.add_connection(respond(first), respond(NEXT))
    conn = client.connect(server)
    conn.request(method, "/")
    response = client.track(conn.getresponse())
    assert response.getheader("Content-Length") == "10", "the header stays visible even though it frames nothing"
    assert response.read(5) == b"", "read(amt) of a body-less response returns b''"
    assert response.readinto(bytearray(5)) == 0, "readinto() of a body-less response returns 0"
    assert response.read() == b"", "read() of a body-less response returns b''"
    conn.request("GET", "/next")
    second = client.track(conn.getresponse())
    assert (second.status, second.read()) == (200, b"next"), "the connection stays usable for the next request"
    assert len(server.connections) == 1


FINAL = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"


@scenario("response.interim.skipped", refs=["RFC9110-15.2-p3-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("interim", [
    variant(b"", id="control-no-interim"),
    variant(b"HTTP/1.1 100 Continue\r\n\r\n", id="100-continue"),
    variant(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n", id="100-with-header"),
    variant(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n", id="two-100"),
    variant(b"HTTP/1.1 102 Processing\r\n\r\n", id="102-processing"),
    variant(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n", id="103-early-hints"),
    variant(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nX-Interim: yes\r\n\r\n",
            id="100-then-103"),
])
@each_delivery
def test_interim_responses_skipped(server, wire, interim, delivery):
    # The request does not ask for 100-continue: every 1xx here is unexpected, which the client
    # MUST still parse (and MAY ignore) before the final response. A second request on the same
    # connection shows that nothing of the exchange was left unread.
    server.add_connection(respond(interim + FINAL, delivery), respond(NEXT, WHOLE))
    with wire.session() as session:
        outcome = session.request("GET", server.url("/"))
        # The second request is made before any assertion, so that a client which stops at an
        # interim response still sends what the script waits for (and the server reports nothing).
        following = session.request("GET", server.url("/next")) if isinstance(outcome, Response) else None
    response = expect_response(outcome)
    assert (response.status, response.body) == (200, b"final"), (
        "RFC 9110 15.2: a client MUST parse 1xx responses received before the final response; "
        f"expected the final 200 with body b'final', got {response.status} {response.body!r}")
    assert not response.header_values("X-Interim"), "the header fields of a 1xx are not the final response's"
    second = expect_response(following)
    assert (second.status, second.body) == (200, b"next"), (
        f"the connection must be positioned after the final response; next response: {second.status} {second.body!r}")
    assert len(server.connections) == 1
