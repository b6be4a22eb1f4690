"""Responses that have no body whatever their framing headers say (interim responses: test_interim_responses.py).

RFC 9112 6.3, rule 1: "Any response to a HEAD request and any response with a 1xx (Informational),
204 (No Content), or 304 (Not Modified) status code is always terminated by the first empty line
after the header fields, regardless of the header fields present in the message". That sentence
carries no BCP 14 keyword; the requirement table files the client's duty under RFC9110-6-p6-s1
("a client MUST retain knowledge of the request when parsing ... a corresponding response"), which
is what these scenarios cite. A client that reads a body anyway either hangs or eats the next
response on the connection, so each scenario sends a second request on the same connection.
"""

import pytest

from h1conform.servers import expect_request, half_close, respond, send
from h1conform.suites.harness import API, API_LEVEL, MUST, WIRE, each_delivery, expect_response, scenario
from h1conform.suites.harness.reuse import check_same_connection, script_two_exchanges
from h1conform.suites.harness.wire import FEATURE_PERSISTENT

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


@scenario("response.no-body.reuse", refs=["RFC9110-6-p6-s1", "RFC9112-9.3-p7-s2"], level=MUST, profile=WIRE,
          needs={FEATURE_PERSISTENT})
@pytest.mark.parametrize("method, headers, first, first_body", NO_BODY_CL)
@each_delivery
def test_no_body_then_reuse(server, wire, method, headers, first, first_body, delivery):
    # Two exchanges: the first response has no body (or, for the control, exactly the 10 announced
    # bytes); the second follows on the same connection once asked for, unless the client
    # announced the close of the first (suites/harness/reuse.py).
    script_two_exchanges(server, respond(first, delivery), NEXT, delivery)
    with wire.session() as session:
        response = expect_response(session.request(method, server.url("/first"), headers))
        assert response.body == first_body, (
            f"RFC 9112 6.3 rule 1: a response to HEAD and a 204 or 304 response end at the empty line after "
            f"the header section whatever Content-Length / Transfer-Encoding say; got body {response.body!r}")
        second = expect_response(session.request("GET", server.url("/second")))
    assert second.status == 200 and second.body == b"next", (
        f"the next response on the connection must be read intact, got {second.status} {second.body!r}")
    check_same_connection(server, "RFC 9112 9.3: both requests share the persistent connection")
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
