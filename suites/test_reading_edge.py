"""Edge cases of the reading API, beyond test_response_reading.py: every read method at the end of the
body and after close(), negative and None sizes, buffers whose items are not octets, lines across
chunk boundaries, isclosed(), and IncompleteRead through the line-oriented methods.

The http.client documentation says HTTPResponse implements io.BufferedIOBase ("all of its reader
operations are supported"), so the io contract is the documented behaviour: read(-1) and read(None)
read to the end of the body, readline(None) is readline(), readinto(b) fills at most b's octets,
and every reader returns b"" (0 for readinto) at the end of the stream. After close(), a reader
returns the end-of-stream value or raises ValueError, as io does; never another exception.
"""

from __future__ import annotations

import array

import pytest

from h1conform.servers import WHOLE, close, expect_request, respond, send
from h1conform.suites.harness import API, API_LEVEL, MUST, each_delivery, scenario
from h1conform.suites.harness.messages import chunked_body
from h1conform.suites.harness.reading import READERS as BODY_READERS
from h1conform.suites.harness.reading import read_with

BODY = b"first line\nsecond line\r\nlast line, no newline"
LINES = [b"first line\n", b"second line\r\n", b"last line, no newline"]
NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"

# name -> (raw response, the server ends the connection after it)
FRAMINGS = {
    "content-length": (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY, False),
    # Chunks cut inside the lines, so that a line spans chunk boundaries.
    "chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body(BODY, 3, 9, 1, 13), False),
    "close-delimited": (b"HTTP/1.1 200 OK\r\n\r\n" + BODY, True),
}
FRAMING_IDS = list(FRAMINGS)


def _get(client, server, framing: str, delivery=WHOLE, **connect):
    raw, then_close = FRAMINGS[framing]
    server.add_connection(expect_request(), send(raw, delivery), *([close()] if then_close else []))
    conn = client.connect(server, **connect)
    conn.request("GET", "/")
    return conn, client.track(conn.getresponse())


# Each reader: (call, the value it returns at the end of the stream)
READERS = {
    "read": (lambda r: r.read(), b""),
    "read-amt": (lambda r: r.read(5), b""),
    "read-none": (lambda r: r.read(None), b""),
    "read-negative": (lambda r: r.read(-1), b""),
    "readinto": (lambda r: r.readinto(bytearray(5)), 0),
    "read1": (lambda r: r.read1(), b""),
    "read1-amt": (lambda r: r.read1(5), b""),
    "peek": (lambda r: r.peek(), b""),
    "readline": (lambda r: r.readline(), b""),
    "readline-limit": (lambda r: r.readline(5), b""),
    "readlines": (lambda r: r.readlines(), []),
    "iterate": (lambda r: list(r), []),
}
READER_IDS = list(READERS)


# =====================================================================================================
# the end of the stream, and after close() (api)
# =====================================================================================================


@scenario("response.read.after-eof", refs=["http.client.HTTPResponse.read", "http.client.HTTPResponse.readinto",
                                            "http.client.HTTPResponse.read1", "http.client.HTTPResponse.peek",
                                            "http.client.HTTPResponse.readline"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("reader", READER_IDS)
@pytest.mark.parametrize("framing", FRAMING_IDS)
def test_after_eof(server, client, framing, reader):
    # Once read() has returned the whole body, every reader is at the end of the stream: it
    # returns b"" (readinto: 0, readlines: []), and keeps doing so when called again.
    conn, response = _get(client, server, framing)
    assert response.read() == BODY
    call_reader, at_end = READERS[reader]
    for attempt in ("first", "second"):
        got = call_reader(response)
        assert got == at_end, (
            f"io.BufferedIOBase: {reader} at the end of the body returns {at_end!r} ({attempt} call); got {got!r}")


@scenario("response.read.after-close", refs=["http.client.HTTPResponse.read", "http.client.HTTPResponse.readinto",
                                              "http.client.HTTPResponse.read1", "http.client.HTTPResponse.peek",
                                              "http.client.HTTPResponse.readline", "http.client.HTTPResponse.closed"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("reader", READER_IDS)
@pytest.mark.parametrize("read_first", [0, 4, len(BODY)], ids=["unread", "partly-read", "fully-read"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_after_close(server, client, framing, read_first, reader):
    # After close(), a reader returns the end-of-stream value or raises ValueError ("I/O
    # operation on closed file"), whichever the client chose; nothing else (no AttributeError
    # from a released socket file, no body octets read after the close).
    conn, response = _get(client, server, framing)
    if read_first:
        assert response.read(read_first) == BODY[:read_first]
    response.close()
    assert response.closed is True, "HTTPResponse.closed is True after close()"
    call_reader, at_end = READERS[reader]
    try:
        got = call_reader(response)
    except ValueError:
        return
    assert got == at_end, f"{reader} after close() returns {at_end!r} (or raises ValueError); got {got!r}"


# =====================================================================================================
# sizes: None and negative mean "to the end of the body" (api)
# =====================================================================================================


@scenario("response.read.size-none-or-negative", refs=["http.client.HTTPResponse.read",
                                                       "http.client.HTTPResponse.read1",
                                                       "http.client.HTTPResponse.readline"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("how", ["read-none", "read-minus-1", "read-minus-5", "read1-minus-1", "readline-none",
                                 "readline-minus-1"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_size_none_or_negative(server, client, framing, how):
    # io.BufferedIOBase.read(size=-1): "If the argument is omitted, None, or negative, data is read
    # and returned until EOF is reached" -- here the end of the body, which Content-Length or the
    # last chunk marks: the connection stays open for the next request, so a reader that waits
    # for the connection's end hits the client timeout (0.5 s) instead. readline(None) and
    # readline(-1) read a whole line; read1(-1) returns at least one octet.
    conn, response = _get(client, server, framing, timeout=0.5)
    if how.startswith("read-"):
        size = None if how == "read-none" else -int(how.rsplit("-", 1)[1])
        got = response.read(size)
        assert got == BODY, f"read({size!r}) returns the whole body, got {got!r}"
    elif how == "read1-minus-1":
        got = response.read1(-1)
        assert got and BODY.startswith(got), f"read1(-1) returns the start of the body, got {got!r}"
    else:
        size = None if how == "readline-none" else -1
        got = response.readline(size)
        assert got == LINES[0], f"readline({size!r}) returns the first line, got {got!r}"


# =====================================================================================================
# readinto: buffers of any item size, never past the end of the body (api)
# =====================================================================================================


@scenario("response.read.readinto-buffer-types", refs=["http.client.HTTPResponse.readinto"], level=API_LEVEL,
          profile=API)
@pytest.mark.parametrize("make", [
    pytest.param(lambda: bytearray(16), id="control-bytearray"),
    pytest.param(lambda: array.array("b", bytes(16)), id="array-of-signed-octets"),
    pytest.param(lambda: array.array("i", [0] * 4), id="array-of-ints"),
    pytest.param(lambda: array.array("d", [0.0] * 2), id="array-of-doubles"),
    pytest.param(lambda: memoryview(bytearray(16)).cast("I"), id="memoryview-of-uint32"),
    pytest.param(lambda: memoryview(bytearray(40))[8:24], id="memoryview-slice"),
])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@each_delivery
def test_readinto_buffer_types(server, client, framing, make, delivery):
    # readinto(b) reads into any writable bytes-like object and returns the number of octets
    # written (io.BufferedIOBase). The buffer holds 16 octets whatever its item size; the body
    # is 10 octets and another response follows on the connection: readinto must stop at the
    # end of the body, not fill the buffer with the next response's octets.
    body = b"0123456789"
    if framing == "content-length":
        raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + body
    else:
        raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body(body, 3)
    server.add_connection(respond(raw + NEXT, delivery))
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    buffer = make()
    octets = memoryview(buffer).nbytes
    got = b""
    for _ in range(12):
        count = response.readinto(buffer)
        assert isinstance(count, int) and 0 <= count <= octets, (
            f"readinto() returns the number of octets read, at most the buffer's {octets}; got {count!r}")
        if not count:
            break
        got += memoryview(buffer).cast("B")[:count].tobytes()
        assert body.startswith(got), (
            f"readinto() of a {type(buffer).__name__} must give the body's octets and stop at its end; after "
            f"{len(got)} octets it returned {got!r}")
    assert got == body, f"readinto() returns the whole 10-octet body, got {got!r}"


# =====================================================================================================
# lines across chunk boundaries, limits (api)
# =====================================================================================================


@scenario("response.read.readline-limits", refs=["http.client.HTTPResponse.readline"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("framing", FRAMING_IDS)
@each_delivery
def test_readline_limits(server, client, framing, delivery):
    # readline(limit) returns at most limit octets and never reads past the line's end; with a
    # chunked body the lines span chunk boundaries (chunks of 3, 9, 1, 13 octets).
    conn, response = _get(client, server, framing, delivery)
    assert response.readline(0) == b"", "readline(0) returns b''"
    assert response.readline(1) == b"f"
    assert response.readline(100) == b"irst line\n", "a limit beyond the line's end stops at the LF"
    assert response.readlines(1) == [b"second line\r\n"], "readlines(hint) stops once hint octets are read"
    assert response.readline(1000) == b"last line, no newline", "the last line ends at the body's end"
    assert response.readline() == b""


# =====================================================================================================
# isclosed(): the response is done once its body has been read (api)
# =====================================================================================================


@scenario("response.read.isclosed", refs=["http.client.HTTPResponse", "http.client.HTTPConnection.getresponse",
                                           "http.client.HTTPResponse.read",
                                           "http.client.HTTPResponse.readinto", "http.client.HTTPResponse.read1",
                                           "http.client.HTTPResponse.readline"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("reader", BODY_READERS)
@pytest.mark.parametrize("framing", FRAMING_IDS)
def test_isclosed(server, client, framing, reader):
    # HTTPResponse.isclosed() is what HTTPConnection itself consults to reuse the connection:
    # False while the body is being read, True once it has been read to its end, whichever
    # reader got there. The docs of getresponse(): "you must have read the whole response before
    # you can send a new request": having read it, with any reader, the next request on the same
    # HTTPConnection gets its response (over the same connection unless the body was delimited
    # by the server's close).
    raw, then_close = FRAMINGS[framing]
    if then_close:
        server.add_connection(expect_request(), send(raw), close())
        server.add_connection(respond(NEXT))
    else:
        server.add_connection(respond(raw), respond(NEXT))
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    assert response.isclosed() is False, "isclosed() is False before the body is read"
    got = read_with(response, reader)
    assert got == BODY
    closed = response.isclosed()
    conn.request("GET", "/next")
    with conn.getresponse() as following:
        assert following.read() == b"next", (
            f"the whole response was read (with {reader}): the next request on the connection gets its response")
    assert closed is True, f"isclosed() is True once {reader} has met the end of the body"


@scenario("response.read.begin-once", refs=["http.client.HTTPResponse", "http.client.HTTPConnection.getresponse"],
          level=API_LEVEL, profile=API)
def test_begin_once(server, client):
    # getresponse() has read the status line and header section (HTTPResponse.begin()). The
    # method is public (subclasses and wrappers call it): calling it again must not read the
    # body as if it were another status line.
    conn, response = _get(client, server, "content-length")
    response.begin()
    assert (response.status, response.read()) == (200, BODY), "a second begin() leaves the response as it was"


# =====================================================================================================
# IncompleteRead through the line-oriented readers (api)
# =====================================================================================================

CUT_CL = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\nfirst line\nsecond"
CUT_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"b\r\nfirst line\n\r\n9\r\nsecond"


@scenario("response.read.incomplete.lines", refs=["RFC9112-8-p2-s1", "http.client.IncompleteRead",
                                                   "http.client.HTTPResponse.readline"], level=MUST, profile=API)
@pytest.mark.parametrize("reader", ["readline", "readlines", "iterate", "peek-then-read"])
@pytest.mark.parametrize("raw", [
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nfirst line\nsecond", id="control-content-length"),
    pytest.param(CUT_CL, id="content-length-cut"),
    pytest.param(CUT_CHUNKED, id="chunked-cut"),
])
@each_delivery
def test_incomplete_lines(server, client, raw, reader, delivery):
    # The server closes inside the body. RFC 9112 8: the client MUST record the message as
    # incomplete, so reading it line by line ends in IncompleteRead, not in a short last line
    # followed by the end-of-body result a complete body gives.
    server.add_connection(expect_request(), send(raw, delivery), close())
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    complete = b"Content-Length: 17" in raw
    got: list[bytes] = []
    try:
        for _ in range(50):
            if reader == "readline":
                line = response.readline()
                if not line:
                    break
                got.append(line)
            elif reader == "readlines":
                got.extend(response.readlines())
                break
            elif reader == "iterate":
                got.extend(response)
                break
            else:
                peeked = response.peek()
                piece = response.read(max(1, len(peeked)))
                if not piece:
                    break
                got.append(piece)
    except client.module.IncompleteRead:
        assert not complete, "a complete body must not raise IncompleteRead"
        assert b"first line\nsecond".startswith(b"".join(got)), "what was returned before the error is the body's start"
        return
    if complete:
        assert b"".join(got) == b"first line\nsecond"
        return
    pytest.fail(f"RFC 9112 8: a client MUST record an incomplete response as incomplete; {reader} returned {got!r} "
                "and then the end-of-body result, as for a complete body, without IncompleteRead")


# =====================================================================================================
# zero sizes read nothing and consume nothing (api)
# =====================================================================================================


@scenario("response.read.zero-size", refs=["http.client.HTTPResponse.read1", "http.client.HTTPResponse.readinto",
                                            "http.client.HTTPResponse.readline", "http.client.HTTPResponse.read"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("how", ["read-0", "read1-0", "readinto-empty-buffer", "readline-0", "readlines-0"])
@pytest.mark.parametrize("framing", FRAMING_IDS)
@pytest.mark.parametrize("position", ["start", "middle"])
def test_zero_size(server, client, framing, how, position):
    # io: asked for zero octets, a reader returns b"" (readinto: 0) without consuming anything;
    # readlines(0) means "no hint": all lines. Done before any read and in the middle of the
    # body (inside a chunk for the chunked framing); the rest of the body follows intact.
    conn, response = _get(client, server, framing)
    skipped = response.read(5) if position == "middle" else b""
    if how == "read-0":
        assert response.read(0) == b"", "read(0) returns b''"
    elif how == "read1-0":
        assert response.read1(0) == b"", "read1(0) returns b''"
    elif how == "readinto-empty-buffer":
        assert response.readinto(bytearray(0)) == 0, "readinto() of an empty buffer returns 0"
    elif how == "readline-0":
        assert response.readline(0) == b"", "readline(0) returns b''"
    else:
        lines = response.readlines(0)
        assert b"".join(lines) == BODY[len(skipped):], f"readlines(0) returns every remaining line, got {lines!r}"
        return
    assert skipped + response.read() == BODY, f"{how} must not consume or lose any of the body"
