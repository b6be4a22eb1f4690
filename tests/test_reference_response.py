"""The reference's response side where the scenario suites do not reach: status line variants, the
strict header parser, trailers, interim responses, debug output and the stream/accessor API.

Pure parsing is driven directly (reference._headers on io.BytesIO); everything else goes through an
HTTPConnection to a ScriptedServer. Each refusal has a valid control next to it.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from h1conform import reference
from h1conform.reference import _constants, _framing, _headers
from h1conform.servers import ScriptedServer, call, close, expect_request, reset, respond, send

TIMEOUT = 5.0
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


@contextlib.contextmanager
def exchange(server: ScriptedServer, raw: bytes, method: str = "GET",
             debuglevel: int = 0) -> Iterator[reference.HTTPConnection]:
    """A connection that has sent one request, answered with `raw`; closed afterwards."""
    server.add_connection(respond(raw))
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.set_debuglevel(debuglevel)
    try:
        conn.request(method, "/")
        yield conn
    finally:
        conn.close()


def fields(raw: bytes) -> list[tuple[str, str]]:
    """The fields of a complete header section."""
    parsed, complete = _headers.read_fields(io.BytesIO(raw))
    assert complete, "the section ends with its blank line"
    return parsed


def assert_not_reused(conn: reference.HTTPConnection) -> None:
    """The connection's socket is closed (`sock` may still name it, as with http.client)."""
    assert conn.sock is None or conn.sock.fileno() == -1, "a broken response closes the connection"


# -- the status line ----------------------------------------------------------------------------


@pytest.mark.parametrize("status_line, version, status, reason", [
    (b"HTTP/1.1 200 OK", 11, 200, "OK"),
    (b"HTTP/1.0 404 Not Found", 10, 404, "Not Found"),
    (b"HTTP/1.1 204", 11, 204, ""),  # no SP, no reason phrase
    (b"HTTP/1.1 201 ", 11, 201, ""),  # SP and an empty reason phrase
    (b"HTTP/1.2 299 Fine \t", 11, 299, "Fine"),  # a higher minor version is read as 1.1
])
def test_status_line(server: ScriptedServer, status_line: bytes, version: int, status: int, reason: str) -> None:
    with exchange(server, status_line + b"\r\nContent-Length: 0\r\n\r\n") as conn, conn.getresponse() as response:
        assert (response.version, response.status, response.reason) == (version, status, reason)
        assert response.getcode() == status


@pytest.mark.parametrize("status_line, error", [
    (b"HTTP/1.1 200 OK", None),  # the control
    (b"HTTP/1.10 200 OK", reference.BadStatusLine),
    (b"HTTP/2.0 200 OK", reference.UnknownProtocol),
    (b"HTTP/3 200 OK", reference.UnknownProtocol),
    (b"http/1.1 200 OK", reference.BadStatusLine),
    (b"HTTP/1.1 099 Low", reference.BadStatusLine),
    (b"HTTP/1.1 600 High", reference.BadStatusLine),
    (b"HTTP/1.1 2000 Long", reference.BadStatusLine),
    (b"HTTP/1.1 +20 Sign", reference.BadStatusLine),
])
def test_status_line_refused(server: ScriptedServer, status_line: bytes, error: type[Exception] | None) -> None:
    with exchange(server, status_line + b"\r\nContent-Length: 2\r\n\r\nok") as conn:
        if error is None:
            assert conn.getresponse().read() == b"ok"
            return
        with pytest.raises(error) as info:
            conn.getresponse()
        assert type(info.value) is error
        expected = status_line.split(b" ")[0] if error is reference.UnknownProtocol else status_line
        assert str(info.value) == expected.decode()
        assert_not_reused(conn)


# -- the field parser ---------------------------------------------------------------------------


def test_obs_fold_is_joined_with_one_space() -> None:
    # RFC 9112 5.2: each obs-fold is replaced by SP; the continuation's own OWS goes with it.
    raw = b"X-A: a  \r\n  b \r\n\tc\r\nX-B: d\r\n\r\nbody"
    assert fields(raw) == [("X-A", "a b c"), ("X-B", "d")]
    assert fields(b"X-A: a b c\r\nX-B: d\r\n\r\n") == [("X-A", "a b c"), ("X-B", "d")]  # the unfolded control


def test_obs_fold_end_to_end(server: ScriptedServer) -> None:
    raw = b"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 2\r\n\r\nok"
    with exchange(server, raw) as conn, conn.getresponse() as response:
        assert response.getheader("X-A") == "one two"
        assert response.read() == b"ok"


@pytest.mark.parametrize("line, message", [
    pytest.param(b"X-A: a b", None, id="control"),
    pytest.param(b"X-A: a\rb", r"bare CR in the header line: b'X-A: a\rb'", id="bare-cr"),
    pytest.param(b"X-A: a\r\r", r"bare CR in the header line", id="cr-before-crlf"),
    pytest.param(b"X-A: a\x00b", "NUL in the value of X-A", id="nul"),
    pytest.param(b"X-A : a", "invalid field name b'X-A '", id="space-before-colon"),
    pytest.param(b"X-A\t: a", r"invalid field name b'X-A\t'", id="tab-before-colon"),
    pytest.param(b"X A: a", "invalid field name b'X A'", id="space-in-name"),
    pytest.param(b"X\xe9: a", r"invalid field name b'X\xe9'", id="obs-text-in-name"),
    pytest.param(b"X-A a", "field line without a colon: b'X-A a'", id="no-colon"),
    pytest.param(b" X-A: a", "whitespace before the first field line: b' X-A: a'", id="space-first"),
    pytest.param(b"\tX-A: a", r"whitespace before the first field line: b'\tX-A: a'", id="tab-first"),
])
def test_field_line_refused(line: bytes, message: str | None) -> None:
    raw = line + b"\r\nX-B: 2\r\n\r\n"
    if message is None:
        assert fields(raw) == [("X-A", "a b"), ("X-B", "2")]
        return
    with pytest.raises(reference.InvalidResponse) as info:
        fields(raw)
    assert message in str(info.value)


@pytest.mark.parametrize("line, name", [
    pytest.param(b"X-A: a", "X-A", id="control-token"),
    pytest.param(b"X@A: a", "X@A", id="separator-in-name"),
    pytest.param(b": a", "", id="empty-name"),
])
def test_visible_non_token_names_kept(line: bytes, name: str) -> None:
    # No RFC requirement makes a recipient refuse these, and they cannot change the framing:
    # kept as http.client keeps them (CPython's test_malformed_headers_coped_with).
    assert fields(line + b"\r\nX-B: 2\r\n\r\n") == [(name, "a"), ("X-B", "2")]


def test_refused_field_closes_the_connection(server: ScriptedServer) -> None:
    raw = b"HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 2\r\n\r\nok"
    with exchange(server, raw) as conn:
        server.add_connection(respond(OK))  # the next request's new connection
        with pytest.raises(reference.InvalidResponse, match="invalid field name"):
            conn.getresponse()
        assert conn.sock is not None and conn.sock.fileno() == -1, "closed, and still in sock as with stdlib"
        conn.request("GET", "/again")
        assert conn.getresponse().read() == b"ok"
    assert len(server.connections) == 2, "the next request went on a new connection"


def test_exactly_100_fields_accepted_101_refused() -> None:
    hundred = b"".join(b"X-%d: %d\r\n" % (n, n) for n in range(100))
    parsed = fields(hundred + b"\tfolded\r\n\r\n")  # an obs-fold line is no field of its own
    assert len(parsed) == 100 and parsed[-1] == ("X-99", "99 folded")
    with pytest.raises(reference.TooManyHeaders, match="^got more than 100 headers$"):
        fields(hundred + b"X-100: 100\r\n\r\n")


def test_too_many_headers_end_to_end(server: ScriptedServer) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: %d\r\n" % (n, n) for n in range(101)) + b"\r\n"
    with exchange(server, head) as conn:
        with pytest.raises(reference.TooManyHeaders):
            conn.getresponse()
        assert_not_reused(conn)


def test_line_too_long() -> None:
    limit = _headers.MAX_LINE  # octets of a line, its CRLF included
    longest = b"X-A: " + b"a" * (limit - 7) + b"\r\n"
    assert len(longest) == limit
    assert fields(longest + b"\r\n") == [("X-A", "a" * (limit - 7))]
    with pytest.raises(reference.LineTooLong) as info:
        fields(b"X-A: a" + longest + b"\r\n")
    assert str(info.value) == f"got more than {limit} bytes when reading header line"


def test_status_line_too_long(server: ScriptedServer) -> None:
    raw = b"HTTP/1.1 200 " + b"x" * _headers.MAX_LINE + b"\r\nContent-Length: 0\r\n\r\n"
    with exchange(server, raw) as conn:
        with pytest.raises(reference.LineTooLong, match="when reading status line$"):
            conn.getresponse()


def test_section_cut_short() -> None:
    assert _headers.read_fields(io.BytesIO(b"X-A: 1\r\n\r\n")) == ([("X-A", "1")], True)
    # Cut inside a line (that line is left out) or before the blank line: the section is incomplete.
    assert _headers.read_fields(io.BytesIO(b"X-A: 1\r\nX-B: tw")) == ([("X-A", "1")], False)
    assert _headers.read_fields(io.BytesIO(b"X-A: 1\r\n")) == ([("X-A", "1")], False)
    with pytest.raises(reference.IncompleteRead):
        reference.parse_headers(io.BytesIO(b"X-A: 1\r\n"))


def test_parse_headers_on_bytes_io() -> None:
    fp = io.BytesIO(b"Set-Cookie: a=1\r\nX-Folded: x\r\n y\r\nSet-Cookie: b=2\r\n\r\nthe body")
    message = reference.parse_headers(fp)
    assert isinstance(message, reference.HTTPMessage)
    assert message.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert message["X-Folded"] == "x y"
    assert fp.read() == b"the body", "parse_headers stops after the blank line"

    class Message(reference.HTTPMessage):
        pass

    assert type(reference.parse_headers(io.BytesIO(b"X-A: 1\r\n\r\n"), Message)) is Message
    with pytest.raises(reference.InvalidResponse, match="field line without a colon"):
        reference.parse_headers(io.BytesIO(b"X-A 1\r\n\r\n"))


# -- trailers ----------------------------------------------------------------------------------------

CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"


@pytest.mark.parametrize("count", [100, 101])
def test_trailer_count_limit(server: ScriptedServer, count: int) -> None:
    trailers = b"".join(b"T-%d: %d\r\n" % (n, n) for n in range(count))
    with exchange(server, CHUNKED + trailers + b"\r\n") as conn, conn.getresponse() as response:
        if count == 100:
            assert response.read() == b"hello"
            assert "T-0" not in response.headers, "trailers are not merged into the headers"
            return
        with pytest.raises(reference.TooManyHeaders, match="^got more than 100 trailer fields$"):
            response.read()
        assert response.isclosed()


def test_trailer_section_cut_short(server: ScriptedServer) -> None:
    # RFC 9112 8: a chunked body is complete once its last chunk arrived: a trailer section cut by
    # the close loses nothing of the body. That connection is not reused; a complete one is.
    server.add_connection(expect_request(), send(CHUNKED + b"X-T: 1\r\n"), close())
    server.add_connection(respond(CHUNKED + b"X-T: 1\r\n\r\n"), respond(CHUNKED + b"\r\n"))  # the control
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    try:
        for _ in range(3):
            conn.request("GET", "/")
            with conn.getresponse() as response:
                assert response.read() == b"hello"
    finally:
        conn.close()
    assert len(server.connections) == 2, "a new connection after the cut one, then reused"


def test_chunked_applied_twice_refused(server: ScriptedServer) -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"
    with exchange(server, raw) as conn:
        with pytest.raises(reference.InvalidResponse, match=r"chunked applied more than once: \['chunked', 'chunked'\]"):
            conn.getresponse()
    with exchange(server, raw.replace(b"Transfer-Encoding: Chunked\r\n", b"")) as conn:
        assert conn.getresponse().read() == b""


@pytest.mark.parametrize(("digits", "refused"), [(4000, False), (4001, True)])
def test_content_length_digit_limit(server: ScriptedServer, digits: int, refused: bool) -> None:
    # Leading zeros do not count; 4000 significant digits are a (huge) length, 4001 are refused.
    value = b"0" * 5000 + b"9" * digits
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\nabc"
    server.add_connection(respond(raw), close())
    with contextlib.closing(reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)) as conn:
        conn.request("GET", "/")
        if refused:
            with pytest.raises(reference.InvalidResponse, match="Content-Length of 4001 digits"):
                conn.getresponse()
        else:
            with pytest.raises(reference.IncompleteRead):
                conn.getresponse().read()


# -- interim responses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("interim", [100, 101])
def test_interim_response_limit(server: ScriptedServer, interim: int) -> None:
    raw = b"HTTP/1.1 102 Processing\r\nX-I: 1\r\n\r\n" * interim + OK
    with exchange(server, raw) as conn:
        if interim == 100:
            with conn.getresponse() as response:
                assert (response.status, response.read()) == (200, b"ok")
                assert response.getheader("X-I") is None, "interim fields are not the final response's"
            return
        with pytest.raises(reference.TooManyHeaders, match="^got more than 100 interim responses$"):
            conn.getresponse()
        assert_not_reused(conn)


def test_switching_protocols_is_final(server: ScriptedServer) -> None:
    raw = (b"HTTP/1.1 100 Continue\r\n\r\n"
           b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00")
    with exchange(server, raw) as conn, conn.getresponse() as response:
        assert (response.status, response.getheader("Upgrade")) == (101, "websocket")
        assert response.will_close is True, "after 101 the connection speaks another protocol"
        assert conn.sock is None, "so it is not reused for HTTP"
        assert response.read() == b"", "101 has no content"


# -- debug output -----------------------------------------------------------------------------------


def test_debug_output_of_the_response(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    raw = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok"
    with exchange(server, raw, debuglevel=1) as conn, conn.getresponse() as response:
        assert response.read() == b"ok"
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("reply:", "header:"))]
    assert lines == [
        "reply: 'HTTP/1.1 103 Early Hints\\r\\n'",
        "header: Link: </s.css>",
        "reply: 'HTTP/1.1 200 OK\\r\\n'",
        "header: X-A: 1",
        "header: Content-Length: 2",
    ]


def test_no_debug_output_at_level_0(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    with exchange(server, OK) as conn, conn.getresponse() as response:
        assert response.read() == b"ok"
    assert capsys.readouterr().out == ""


# -- reading the body ---------------------------------------------------------------------------------


def test_stream_methods_on_a_length_body(server: ScriptedServer) -> None:
    body = b"line1\nline2\nend"
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with exchange(server, raw) as conn, conn.getresponse() as response:
        assert response.readable() is True
        assert (response.length, response.chunked, response.chunk_left) == (len(body), False, None)
        peeked = response.peek()
        assert peeked and body.startswith(peeked), "peek returns body octets, never beyond the body"
        assert response.readline() == b"line1\n"
        assert response.read1(3) == b"lin"
        assert response.length == len(body) - 9
        buffer = bytearray(4)
        assert response.readinto(buffer) == 4 and buffer == b"e2\ne"
        assert response.readline(None) == b"nd"
        assert response.isclosed()
        assert (response.read1(), response.peek(), response.readinto(bytearray(4))) == (b"", b"", 0)


def test_stream_methods_on_a_chunked_body(server: ScriptedServer) -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab\nc\r\n3\r\nd\nx\r\n0\r\n\r\n"
    with exchange(server, raw) as conn, conn.getresponse() as response:
        assert (response.chunked, response.length, response.chunk_left) == (True, None, None)
        assert response.read1(0) == b"", "read1(0) reads nothing"
        assert response.peek() == b"ab\nc"
        assert response.chunk_left == 4
        assert response.readline() == b"ab\n"
        assert response.read1() == b"c"
        buffer = bytearray(10)
        assert response.readinto(buffer) == 3 and buffer[:3] == b"d\nx"
        assert response.read() == b"" and response.isclosed()


def test_large_body_read_in_growing_steps(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Beyond DIRECT_READ_LIMIT the body is read into a buffer that doubles from FIRST_READ_STEP;
    # shrunk here so that a small body goes that way: 4 -> 8 -> 11 octets.
    monkeypatch.setattr(_framing, "DIRECT_READ_LIMIT", 3)
    monkeypatch.setattr(_framing, "FIRST_READ_STEP", 4)
    body = b"0123456789!"
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n" + body
    with exchange(server, raw) as conn, conn.getresponse() as response:
        assert response.read() == body
        assert response.isclosed() and conn.sock is not None, "a complete body keeps the connection"


def test_fileno(server: ScriptedServer) -> None:
    with exchange(server, OK) as conn, conn.getresponse() as response:
        assert conn.sock is not None and response.fileno() == conn.sock.fileno()
        assert response.read() == b"ok"
        with pytest.raises(ValueError, match="^I/O operation on closed response$"):
            response.fileno()


def test_close_twice(server: ScriptedServer) -> None:
    with exchange(server, OK) as conn:
        response = conn.getresponse()
        response.close()
        response.close()
        assert response.closed and response.isclosed()
        assert response.read() == b"", "a closed response reads nothing"


# -- headers and urllib accessors ---------------------------------------------------------------------


def test_getheader_and_accessors(server: ScriptedServer) -> None:
    raw = b"HTTP/1.1 200 OK\r\nX-Dup: 1\r\nX-Dup: 2\r\nContent-Length: 0\r\n\r\n"
    with exchange(server, raw) as conn, conn.getresponse() as response:
        assert response.getheader("x-dup") == "1, 2"
        assert response.getheader("X-Missing") is None
        assert response.getheader("X-Missing", "fallback") == "fallback"
        assert response.getheader("X-Missing", ["a", "b"]) == "a, b"  # an iterable default is joined
        assert response.getheader("X-Missing", 5) == 5
        assert response.getheaders() == [("X-Dup", "1"), ("X-Dup", "2"), ("Content-Length", "0")]
        assert response.info() is response.headers is response.msg
        assert response.geturl() is None, "a connection's response has no URL"
        assert response.getcode() == 200


def test_accessors_before_begin(server: ScriptedServer) -> None:
    server.add_connection(respond(OK))
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
        response = reference.HTTPResponse(sock, method="GET", url="http://example.test/x")
        assert response.geturl() == "http://example.test/x"
        assert response.info() is None and response.getcode() == "UNKNOWN"
        with pytest.raises(reference.ResponseNotReady):
            response.getheader("Content-Length")
        with pytest.raises(reference.ResponseNotReady):
            response.getheaders()
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: example.test\r\n\r\n")
        response.begin()
        response.begin()  # a second begin() reads nothing more
        assert response.getheader("Content-Length") == "2"
        assert response.getheaders() == [("Content-Length", "2")]
        assert response.read() == b"ok"
        response.close()


# -- what follows the response --------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [b"", b"HTTP/1.1 200 OK\r\n"])
def test_stray_octets_after_a_kept_alive_response(server: ScriptedServer, extra: bytes) -> None:
    # RFC 9112 9.2: octets after a complete response are no response; the connection is closed.
    if extra:
        server.add_connection(respond(OK + extra))
        server.add_connection(respond(OK))
    else:  # the control: the same response alone keeps its connection for the next request
        server.add_connection(respond(OK), respond(OK))
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.request("GET", "/1")
    with conn.getresponse() as response:
        assert response.read() == b"ok"
        assert response.will_close is bool(extra)
    conn.request("GET", "/2")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    assert len(server.connections) == (2 if extra else 1)


def test_reset_after_a_complete_response(server: ScriptedServer) -> None:
    sent = threading.Event()
    server.add_connection(expect_request(), send(OK), call(lambda c: sent.set()), reset())
    server.add_connection(respond(OK))
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.request("GET", "/1")
    assert sent.wait(TIMEOUT) and server.connection(0).wait_finished(TIMEOUT)
    with conn.getresponse() as response:
        assert response.read() == b"ok", "the response arrived whole before the reset"
    conn.request("GET", "/2")  # the reset connection is not used for it
    assert conn.getresponse().read() == b"ok"
    conn.close()
    assert len(server.connections) == 2


# -- a head cut by the close (RFC 9112 8), the limits as module constants ------------------------------


@pytest.mark.parametrize("method", ["read", "readinto", "read1", "readline", "peek"])
def test_head_cut_by_the_close_reads_as_incomplete(server: ScriptedServer, method: str) -> None:
    # The status and the fields that arrived are the response (what a client needs to see a 401
    # sent before the server closed), but its body is never taken as complete.
    server.add_connection(expect_request(), send(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n"), close())
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.request("GET", "/")
    with conn.getresponse() as response:
        assert (response.status, response.getheader("WWW-Authenticate")) == (401, "Basic")
        call = getattr(response, method)
        with pytest.raises(reference.IncompleteRead):
            call(bytearray(4)) if method == "readinto" else call()
    conn.close()


def test_head_complete_control(server: ScriptedServer) -> None:
    raw = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n"
    with exchange(server, raw) as conn, conn.getresponse() as response:
        assert (response.status, response.read()) == (401, b"")


def test_interim_head_cut_by_the_close(server: ScriptedServer) -> None:
    server.add_connection(expect_request(), send(b"HTTP/1.1 100 Continue\r\nX-I: 1\r\n"), close())
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.request("GET", "/")
    with pytest.raises(reference.IncompleteRead):
        conn.getresponse()
    conn.close()


def test_long_head_read_line_by_line() -> None:
    # A head longer than one line may be (here all buffered) is read line by line, each line within the limit.
    value = b"v" * 40000
    raw = b"HTTP/1.1 200 OK\r\nX-A: " + value + b"\r\nX-B: " + value + b"\r\nContent-Length: 2\r\n\r\nok"
    response = reference.HTTPResponse(_BufferedDouble(raw))
    response.begin()
    assert response.getheader("X-B") == value.decode() and response.read() == b"ok"


@pytest.mark.parametrize("count", [5, 6])
def test_maxheaders_set_by_the_caller_is_honoured(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(reference, "_MAXHEADERS", 5)
    raw = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: %d\r\n" % (n, n) for n in range(count)) + b"\r\n"
    response = reference.HTTPResponse(_BufferedDouble(raw))
    if count == 5:
        response.begin()
        assert len(response.getheaders()) == 5
        return
    with pytest.raises(reference.HTTPException, match="^got more than 5 headers$"):
        response.begin()


def test_maxline_set_by_the_caller_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference, "_MAXLINE", 100)
    fine = b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 80 + b"\r\n\r\n"
    response = reference.HTTPResponse(_BufferedDouble(fine))
    response.begin()
    assert response.getheader("X-A") == "a" * 80
    too_long = b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 100 + b"\r\n\r\n"
    with pytest.raises(reference.LineTooLong, match="^got more than 100 bytes when reading header line$"):
        reference.HTTPResponse(_BufferedDouble(too_long)).begin()


class _BufferedDouble:
    """A socket double whose makefile() gives a buffered file holding all of fixed bytes (it has peek())."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str, bufsize: int | None = None) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data), max(len(self.data), io.DEFAULT_BUFFER_SIZE))


def test_trailer_limit_is_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # _MAXHEADERS is http.client's limit on header sections; stdlib has none on trailers, and the
    # reference's MAX_TRAILER_FIELDS does not move with it.
    monkeypatch.setattr(reference, "_MAXHEADERS", 5)
    trailers = b"".join(b"T-%d: %d\r\n" % (n, n) for n in range(_constants.MAX_TRAILER_FIELDS))
    body = _framing.ChunkedBody()
    assert body.read(io.BytesIO(b"5\r\nhello\r\n0\r\n" + trailers + b"\r\n"), None) == b"hello" and body.done
    with pytest.raises(reference.TooManyHeaders, match="^got more than 5 headers$"):
        _headers.read_fields(io.BytesIO(trailers + b"\r\n"))  # the control: a header section of as many


# -- chunk framing: chunks that carry next to no data (CVE-2023-39326) -------------------------------


def _costly_chunk(cost: int) -> bytes:
    """A chunk of one octet whose framing costs `cost` octets beyond its allowance."""
    # framing = the size line, its CRLF and the CRLF after the data
    line = b"1;e=" + b"e" * (cost + _constants.CHUNK_FRAMING_ALLOWANCE + 1 - 4 - len(b"1;e="))
    return line + b"\r\nx\r\n"


READERS = pytest.mark.parametrize("reader", [
    pytest.param(io.BytesIO, id="line-by-line"),  # no peek(): the strict path only
    pytest.param(lambda raw: io.BufferedReader(io.BytesIO(raw), 1 << 20), id="buffered"),  # the fast path too
])


@READERS
@pytest.mark.parametrize("chunks", [64, 65])
def test_chunk_framing_debt_limit(reader: Callable[[bytes], Any], chunks: int) -> None:
    cost = _constants.MAX_CHUNK_FRAMING_DEBT // 64
    raw = _costly_chunk(cost) * chunks + b"0\r\n\r\n"
    body = _framing.ChunkedBody()
    if chunks == 64:  # owing exactly MAX_CHUNK_FRAMING_DEBT: the control
        assert body.read(reader(raw), None) == b"x" * chunks and body.done
        return
    with pytest.raises(reference.IncompleteRead) as caught:
        body.read(reader(raw), None)
    assert caught.value.partial == b"x" * 64
    assert isinstance(caught.value.__cause__, reference.InvalidResponse)
    assert str(caught.value.__cause__) == "more than 65536 octets of chunk framing beyond the data it carries"


@READERS
def test_chunk_framing_debt_is_paid_down_by_data(reader: Callable[[bytes], Any]) -> None:
    costly = _costly_chunk(1024) * 60  # 60 KiB owed each time: three times over the limit in all
    data = b"d" * 65536
    big = b"10000\r\n" + data + b"\r\n"
    raw = costly + big + costly + big + costly + b"0\r\n\r\n"
    body = _framing.ChunkedBody()
    assert body.read(reader(raw), None) == (b"x" * 60 + data) * 2 + b"x" * 60 and body.done
    control = _framing.ChunkedBody()
    with pytest.raises(reference.IncompleteRead):
        control.read(reader(costly * 2 + b"0\r\n\r\n"), None)  # without the data between them
