"""The http.client API's diagnostics: debug output, audit events, the IncompleteRead exception's
attributes and repr, send()'s type check, and line reads of a HEAD response.

These scenarios document what the stdlib (Python 3.12) does: `set_debuglevel(1)` prints "send:",
"reply:" and "header:" lines; `connect()` raises the audit event `http.client.connect` and every
`send()` raises `http.client.send`. All use the api profile and the implementation's own classes.
"""

import pytest

from h1conform.servers import respond
from h1conform.suites.harness import API, API_LEVEL, scenario, variant
from h1conform.suites.harness.instruments import require_audit_event, require_debug_output
from h1conform.suites.harness.waiting import harness_wait

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Debug-Probe: probe-value\r\n\r\nhello"


# -- debug output ----------------------------------------------------------------------------------


@scenario("api.debug.output", refs=["http.client.HTTPConnection.set_debuglevel", "http.client.HTTPConnection.send"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("debuglevel", [
    pytest.param(1, id="debuglevel-1"),
    pytest.param(0, id="debuglevel-0"),  # control: the default level prints nothing
])
def test_debug_output(make_server, server, client, capsys, debuglevel):
    require_debug_output(make_server, client, capsys)
    server.add_connection(respond(RESPONSE))
    conn = client.connect(server)
    conn.set_debuglevel(debuglevel)
    capsys.readouterr()  # drop anything printed before the request
    conn.request("GET", "/debug")
    response = client.track(conn.getresponse())
    assert response.read() == b"hello"
    lines = capsys.readouterr().out.splitlines()
    if debuglevel == 0:
        assert lines == [], f"at debuglevel 0 (the default) nothing is printed; got {lines!r}"
        return
    sent = server.requests[0].raw
    send_lines = [line for line in lines if line.startswith("send: ")]
    assert send_lines, f"set_debuglevel(1): each send() prints 'send: <repr of the bytes>'; got {lines!r}"
    assert all(line[len("send: "):].startswith(("b'", 'b"')) for line in send_lines), (
        f"the 'send:' line shows the repr of the bytes sent; got {send_lines!r}")
    request_line = sent.split(b"\r\n", 1)[0] + b"\r\n"
    assert any(repr(request_line)[2:-1] in line for line in send_lines), (
        f"the 'send:' output contains the request line sent ({request_line!r}); got {send_lines!r}")
    reply_lines = [line for line in lines if line.startswith("reply: ")]
    assert reply_lines == ["reply: " + repr("HTTP/1.1 200 OK\r\n")], (
        f"set_debuglevel(1) prints 'reply: ' and the repr of the status line (as str); got {lines!r}")
    header_lines = [line for line in lines if line.startswith("header: ")]
    assert "header: Content-Length: 5" in header_lines and "header: X-Debug-Probe: probe-value" in header_lines, (
        f"set_debuglevel(1) prints 'header: Name: value' for each response header; got {lines!r}")
    assert lines.index(reply_lines[0]) < lines.index("header: Content-Length: 5"), (
        "the status line is printed before the headers")


# -- audit events ----------------------------------------------------------------------------------

@scenario("api.audit.connect-and-send", refs=["http.client.connect", "http.client.send"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("does_request", [
    pytest.param(True, id="request"),
    pytest.param(False, id="no-request"),  # control: a connection that sends nothing raises no event
])
def test_audit_connect_and_send(make_server, server, client, audit, does_request):
    if not does_request:
        conn = client.connect(server)
        audit.watch(conn)
        conn.close()
        assert audit.events == [], (
            f"a connection that never connects or sends raises no audit event; got {audit.events!r}")
        return
    # An http.client older than 3.10, or a replacement, may raise neither event: it cannot be judged here.
    require_audit_event(make_server, client, audit, "http.client.connect", "http.client.send")
    server.add_connection(respond(RESPONSE))
    conn = client.connect(server)
    audit.watch(conn)
    events = audit.events
    conn.request("POST", "/audit", body=b"payload")
    response = client.track(conn.getresponse())
    assert response.read() == b"hello"
    names = [name for name, _ in events]
    assert names[:1] == ["http.client.connect"], (
        f"connect() raises the audit event http.client.connect before anything is sent; got {names!r}")
    assert names.count("http.client.connect") == 1, f"one connection, one connect event; got {names!r}"
    _, connect_args = events[0]
    assert len(connect_args) == 3 and connect_args[1:] == (conn.host, conn.port), (
        f"http.client.connect has the arguments (self, host, port); got {connect_args!r}")
    assert conn.port == server.port
    sends = audit.named("http.client.send")
    assert sends and all(len(args) == 2 for args in sends), (
        f"each send() raises http.client.send with the arguments (self, data); got {sends!r}")
    sent = b"".join(bytes(args[1]) for args in sends)
    assert sent == server.requests[0].raw, (
        "the data of the http.client.send events, joined, are the bytes the server received: "
        f"{sent!r} != {server.requests[0].raw!r}")


# -- IncompleteRead ---------------------------------------------------------------------------------


@scenario("api.errors.incomplete-read-repr", refs=["http.client.IncompleteRead"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("expected, text", [
    pytest.param(3, "IncompleteRead(5 bytes read, 3 more expected)", id="with-expected"),
    pytest.param(None, "IncompleteRead(5 bytes read)", id="without-expected"),
    pytest.param(0, "IncompleteRead(5 bytes read, 0 more expected)", id="zero-expected"),
])
def test_incomplete_read_repr(client, expected, text):
    cls = client.module.IncompleteRead
    error = cls(b"hello", expected) if expected is not None else cls(b"hello")
    assert error.partial == b"hello", "IncompleteRead.partial is the bytes read before the body ended"
    assert error.expected == expected, "IncompleteRead.expected is the number of bytes still missing (or None)"
    assert repr(error) == text, f"repr of IncompleteRead is {text!r} (the stdlib's format); got {repr(error)!r}"
    assert isinstance(error, client.module.HTTPException), "IncompleteRead is an HTTPException"


# -- send() type check -----------------------------------------------------------------------------


@scenario("api.errors.send-type", refs=["http.client.HTTPConnection.send"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("data, error", [
    pytest.param(b"x", None, id="bytes"),  # control
    pytest.param(memoryview(b"x"), None, id="memoryview"),  # control: any bytes-like object
    pytest.param(object(), TypeError, id="object"),
    pytest.param(12, TypeError, id="int"),
])
def test_send_type(server, client, data, error):
    # No request is expected: the server only records what arrives until the client closes.
    server.add_connection()
    conn = client.connect(server)
    conn.connect()
    if error is None:
        conn.send(data)
    else:
        with pytest.raises(error) as raised:
            conn.send(data)
        assert "bytes-like" in str(raised.value), (
            f"send() of a {type(data).__name__} raises TypeError naming what it accepts; got {raised.value!r}")
    conn.close()
    harness_wait(lambda bound: server.wait_connections(1, bound), "the server did not accept the connection")
    harness_wait(server.connection(0).wait_finished, "the server did not see the connection end")
    received = bytes(server.connection(0).received)
    if error is None:
        assert received == b"x", f"send() sends a bytes-like object as it is; the server received {received!r}"
    else:
        assert received == b"", f"nothing is sent for data of the wrong type; the server received {received!r}"


# -- HEAD and line reads ----------------------------------------------------------------------------


@scenario("api.read.head-readline", refs=["http.client.HTTPResponse.readline", "http.client.HTTPResponse.read1",
                                          "http.client.HTTPResponse.read"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("method, first_line", [
    variant("HEAD", b"", id="head"),
    variant("GET", b"line one\n", id="get"),  # control: the same response to a GET has a body
])
def test_head_readline(server, client, method, first_line):
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\nline one\nline two\n"))
    conn = client.connect(server)
    conn.request(method, "/")
    response = client.track(conn.getresponse())
    assert response.readline() == first_line, (
        f"readline() of a {method} response returns {first_line!r} (a HEAD response has no body)")
    if method == "HEAD":
        assert response.read1() == b"", "read1() of a HEAD response returns b''"
        assert response.read() == b"", "read() of a HEAD response returns b''"
    else:
        assert response.read1() + response.read() == b"line two\n", "the rest of the body follows the first line"
