"""The response API at its edges: lines longer than the client's limit (status line, chunk-size line),
reads on a HEAD response, peek() on a chunked body cut short, a response read before its head,
the urllib-compatible accessors, and the HTTPMessage compatibility method.

The http.client documentation: LineTooLong is "raised if an excessively long line is received in
the HTTP protocol from the server"; HTTPResponse implements io.BufferedIOBase (readinto, read1,
peek, readline, readable); `url` / geturl() give the URL of the resource.
"""

from __future__ import annotations

import pytest

from h1conform.servers import close, expect_request, respond, send
from h1conform.suites.harness import API, API_LEVEL, scenario
from h1conform.suites.harness.waiting import harness_wait

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"
LONG = 70000  # longer than the 65536-octet line limit of http.client


# -- line limits ----------------------------------------------------------------------------------------


@scenario("response.limits.line-too-long", refs=["http.client.LineTooLong"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("response, too_long", [
    pytest.param(b"HTTP/1.1 200 " + b"O" * 60000 + b"\r\nContent-Length: 2\r\n\r\nok", False,
                 id="control-long-status-line-within-limit"),
    pytest.param(b"HTTP/1.1 200 " + b"O" * LONG + b"\r\nContent-Length: 2\r\n\r\nok", True, id="status-line"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"0" * 60000 + b"2\r\nok\r\n0\r\n\r\n",
                 False, id="control-long-chunk-size-within-limit"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=" + b"x" * LONG + b"\r\nok\r\n0\r\n\r\n",
                 True, id="chunk-size-line"),
])
def test_line_too_long(server, client, response, too_long):
    # A line longer than the client's limit raises LineTooLong instead of being read without bound.
    server.add_connection(expect_request(), send(response), close())
    conn = client.connect(server)
    conn.request("GET", "/")
    if not too_long:
        with conn.getresponse() as got:
            assert got.read() == b"ok", "a line below the limit is read"
        return
    with pytest.raises(client.module.LineTooLong) as raised:
        with conn.getresponse() as got:
            got.read()
    assert isinstance(raised.value, client.module.HTTPException)


# -- reads on a HEAD response, peek on a cut chunked body ------------------------------------------------


@scenario("response.read.head-methods", refs=["http.client.HTTPResponse.readinto", "http.client.HTTPResponse.read1",
                                              "http.client.HTTPResponse.peek", "http.client.HTTPResponse.readline"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("method", [
    pytest.param("GET", id="control-get"),
    pytest.param("HEAD", id="head"),
])
@pytest.mark.parametrize("call", ["readinto", "read1", "peek", "readline"])
def test_head_response_reads(server, client, method, call):
    # A response to HEAD has no content whatever its Content-Length says (RFC 9110 9.3.2): every read
    # method returns nothing, and the connection carries the next request.
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + (b"hello" if method == "GET" else b"")),
                          respond(OK))
    conn = client.connect(server)
    conn.request(method, "/")
    response = client.track(conn.getresponse())
    if call == "readinto":
        buffer = bytearray(10)
        got = bytes(buffer[:response.readinto(buffer)])
    elif call == "peek":
        got = response.peek(5)[:5]
    else:
        got = getattr(response, call)()
    expected = b"" if method == "HEAD" else b"hello"
    assert got == expected, f"{call}() on a {method} response returns {expected!r}; got {got!r}"
    response.read()
    response.close()
    conn.request("GET", "/next")
    with conn.getresponse() as second:
        assert second.read() == b"ok"


@scenario("response.read.peek-cut-chunked", refs=["http.client.HTTPResponse.peek", "http.client.IncompleteRead"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("ending, complete", [
    pytest.param(b"0\r\n\r\n", True, id="control-complete"),
    pytest.param(b"", False, id="closed-before-next-chunk"),
])
def test_peek_on_cut_chunked_body(server, client, ending, complete):
    # After the first chunk, peek() looks at the next one. If the server closed before it, peek()
    # returns no data (peek does not judge the framing) or raises IncompleteRead; it never invents bytes.
    server.add_connection(expect_request(), send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                                 b"5\r\nhello\r\n" + ending), close())
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    assert response.read(5) == b"hello"
    try:
        peeked = response.peek(1)
    except client.module.IncompleteRead:
        peeked = None
    assert not peeked, f"peek() after the last chunk returns no data; got {peeked!r}"
    if complete:
        assert response.read() == b"", "a complete chunked body ends after its last chunk"


# -- a response before its head ---------------------------------------------------------------------------


@scenario("response.api.before-begin", refs=["http.client.ResponseNotReady", "http.client.HTTPResponse.getheader",
                                             "http.client.HTTPResponse.getheaders"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("call", ["getheader", "getheaders"])
def test_headers_before_begin(server, client, call):
    # A response object whose head has not been read yet has no headers to give: getheader() and
    # getheaders() raise ResponseNotReady. (getresponse() reads the head; here the response is made
    # from the connection's socket directly.)
    server.add_connection()
    conn = client.connect(server)
    conn.connect()
    harness_wait(lambda bound: server.wait_connections(1, bound), "the server did not accept the connection")
    response = client.track(client.module.HTTPResponse(conn.sock))
    with pytest.raises(client.module.ResponseNotReady):
        if call == "getheader":
            response.getheader("Content-Length")
        else:
            response.getheaders()


@scenario("response.api.compat", refs=["http.client.HTTPResponse.url", "http.client.HTTPResponse.geturl",
                                       "http.client.HTTPResponse.info", "http.client.HTTPResponse.getcode",
                                       "http.client.HTTPResponse"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("accessor", ["info", "getcode", "readable", "geturl"])
def test_compat_accessors(server, client, accessor):
    # info() is the older spelling of `headers`, getcode() of `status`; readable() is True
    # (HTTPResponse is a readable io.BufferedIOBase); the documentation lists the attribute `url`
    # ("URL of the resource retrieved") and geturl() as its deprecated spelling.
    server.add_connection(respond(b"HTTP/1.1 203 Non-Authoritative\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok"))
    conn = client.connect(server)
    conn.request("GET", "/")
    with conn.getresponse() as response:
        if accessor == "info":
            assert response.info() is response.headers and response.info()["X-A"] == "b"
        elif accessor == "getcode":
            assert response.getcode() == response.status == 203
        elif accessor == "readable":
            assert response.readable() is True
        else:
            try:
                url = response.geturl()
            except AttributeError as exc:
                raise AssertionError("the documentation lists HTTPResponse.url and geturl() (its deprecated "
                                     f"spelling); a response from getresponse() has neither: {exc}") from None
            assert url == response.url, "geturl() returns the url attribute"
        assert response.read() == b"ok"


@scenario("response.api.message-matching-headers", refs=["http.client.HTTPMessage", "http.client.HTTPResponse.msg"],
          level=API_LEVEL, profile=API)
def test_message_matching_headers(server, client):
    # HTTPMessage (an email.message.Message) keeps the old method getallmatchingheaders(name), which
    # no document describes beyond its docstring. It returns [] for a name that is not there. (For a
    # name that is there it returns [] too: it compares field names with "name:", which never match;
    # the documented way is get_all(), checked here alongside.)
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nX-Dup: 1\r\nX-Once: a\r\nX-Dup: 2\r\nContent-Length: 0\r\n\r\n"))
    conn = client.connect(server)
    conn.request("GET", "/")
    with conn.getresponse() as response:
        response.read()
        assert isinstance(response.msg, client.module.HTTPMessage)
        assert response.msg.getallmatchingheaders("X-Absent") == []
        assert response.msg.get_all("x-dup") == ["1", "2"] and response.msg.get_all("X-Absent") is None
