"""Sending request content: send() with every kind of data, blocksize, bodies that fail halfway, bodies
that end with a line break, transfer codings and chunked framing, and the debug output of sending.

The http.client documentation: send(data) takes a bytes-like object, a file object (read blocksize
bytes at a time; a text file's str encoded ISO-8859-1) or an iterable of bytes-like objects;
request() and endheaders() take the same bodies (and str). RFC 9112:

    2.2   a request body that ends with CRLF counts those octets in its length
    6.1   a transfer coding other than chunked is always followed by chunked, as the final coding;
          a client does not send Transfer-Encoding (nor use chunked, 6.3) unless it knows the
          server handles HTTP/1.1 (for instance from the version of a response it received)
"""

from __future__ import annotations

import gzip
import io

import pytest

from h1conform.servers import expect_request, respond, send
from h1conform.suites.harness import API, API_LEVEL, MUST, WIRE, expect_response, scenario, variant
from h1conform.suites.harness.instruments import require_audit_event, require_debug_output
from h1conform.suites.harness.waiting import client_closed, connections_opened, harness_wait

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def read_all(conn) -> bytes:
    with conn.getresponse() as response:
        return response.read()


def body_bytes(raw: bytes) -> bytes:
    return raw[raw.find(b"\r\n\r\n") + 4:]


def decode_chunked(data: bytes) -> tuple[list[bytes], bytes]:
    """(chunks, what follows the chunked body) for chunked framing without extensions or trailers;
    AssertionError if the framing is broken or incomplete."""
    chunks = []
    while True:
        line, crlf, data = data.partition(b"\r\n")
        assert crlf and line and all(c in b"0123456789abcdefABCDEF" for c in line), f"bad chunk-size line {line!r}"
        size = int(line, 16)
        if size == 0:
            assert data.startswith(b"\r\n"), f"no empty trailer section after the last chunk: {data[:20]!r}"
            return chunks, data[2:]
        assert data[size:size + 2] == b"\r\n", f"chunk data not followed by CRLF: {data[:size + 2]!r}"
        chunks.append(data[:size])
        data = data[size + 2:]


def finish(conn, server, index: int = 0):
    """Close the client and return the connection's record once the server has seen the close.
    The client has connected (the scenario made it send), so the server's accepting it is certain."""
    conn.close()
    harness_wait(lambda bound: server.wait_connections(index + 1, bound), "the server did not accept the connection")
    record = server.connection(index)
    assert client_closed(record), "the client closed its connection"
    return record


# -- send() ------------------------------------------------------------------------------------------------


class ReadOnly:
    """An object whose only method is read(): what the docs call a file object, at its smallest."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


def _generator(*items):
    yield from items


SEND_ROWS = [
    pytest.param(lambda: b"caf\xe9 body", b"caf\xe9 body", id="bytes"),
    pytest.param(lambda: bytearray(b"caf\xe9 body"), b"caf\xe9 body", id="bytearray"),
    pytest.param(lambda: memoryview(b"xxcaf\xe9 body")[2:], b"caf\xe9 body", id="memoryview"),
    pytest.param(lambda: io.BytesIO(b"caf\xe9 body"), b"caf\xe9 body", id="binary-file"),
    pytest.param(lambda: io.StringIO("caf\u00e9 body"), b"caf\xe9 body", id="text-file-latin-1"),
    pytest.param(lambda: ReadOnly(b"caf\xe9 body"), b"caf\xe9 body", id="read-only-object"),
    pytest.param(lambda: [b"caf", b"\xe9 ", b"body"], b"caf\xe9 body", id="list"),
    pytest.param(lambda: _generator(b"caf\xe9", b"", b" body"), b"caf\xe9 body", id="generator"),
]


@scenario("request.send.data-kinds", refs=["http.client.HTTPConnection.send"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("make, expected", SEND_ROWS)
def test_send_data_kinds(server, client, make, expected):
    # The head is built with putrequest/putheader/endheaders, the body given to send() as is.
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.putrequest("PUT", "/")
    conn.putheader("Content-Length", str(len(expected)))
    conn.endheaders()
    conn.send(make())
    assert read_all(conn) == b"ok"
    sent = server.requests[0]
    assert sent.body == expected, (
        f"send() sends a bytes-like object as is, a file's data (a text file's encoded ISO-8859-1), an iterable's "
        f"items in order: expected {expected!r}, the server received {sent.body!r}")


@scenario("request.send.str-refused", refs=["http.client.HTTPConnection.send"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("data, refused", [
    pytest.param(b"abc", False, id="control-bytes"),
    pytest.param("abc", True, id="str"),
    pytest.param(["abc"], True, id="iterable-of-str"),
])
def test_send_str_refused(server, client, data, refused):
    # send() takes bytes-like data, files and iterables of bytes-like objects; a str (or a str item)
    # is refused with TypeError and nothing of it is sent.
    server.add_connection()
    conn = client.connect(server)
    conn.connect()
    if refused:
        with pytest.raises(TypeError):
            conn.send(data)
    else:
        conn.send(data)
    received = bytes(finish(conn, server).received)
    assert received == (b"" if refused else b"abc"), f"the server received {received!r}"


@scenario("request.send.blocksize", refs=["http.client.HTTPConnection.blocksize", "http.client.send",
                                          "http.client.HTTPConnection.send"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("blocksize, pieces", [
    pytest.param(None, [10], id="default-8192"),
    pytest.param(4, [4, 4, 2], id="blocksize-4"),
    pytest.param(5, [5, 5], id="blocksize-5"),
    pytest.param(1, [1] * 10, id="blocksize-1"),
])
@pytest.mark.parametrize("how", ["send-file", "request-file-with-content-length", "endheaders-file"])
def test_send_blocksize(make_server, server, client, audit, blocksize, pieces, how):
    # A file is read blocksize bytes at a time and each block goes out in its own send() (audit
    # event http.client.send, whose data is the block), whatever the path the file takes. Without
    # that event (http.client before 3.10, a replacement) the blocks cannot be seen: unsupported.
    require_audit_event(make_server, client, audit, "http.client.send")
    server.add_connection(respond(OK))
    kwargs = {} if blocksize is None else {"blocksize": blocksize}
    conn = client.connect(server, **kwargs)
    audit.watch(conn)
    data = b"0123456789"
    if how == "request-file-with-content-length":
        conn.request("PUT", "/", body=io.BytesIO(data), headers={"Content-Length": "10"})
    else:
        conn.putrequest("PUT", "/")
        conn.putheader("Content-Length", "10")
        if how == "endheaders-file":
            conn.endheaders(io.BytesIO(data))
        else:
            conn.endheaders()
            conn.send(io.BytesIO(data))
    assert read_all(conn) == b"ok"
    assert server.requests[0].body == data
    events = [_data(args[1]) for args in audit.named("http.client.send")]
    body_events = events[1:]  # the first send() carries the head
    assert events and events[0].startswith(b"PUT / HTTP/1.1\r\n") and events[0].endswith(b"\r\n\r\n"), (
        f"the head goes out in one send(); the first http.client.send event carried {events[:1]!r}")
    assert [len(block) for block in body_events] == pieces and b"".join(body_events) == data, (
        f"with blocksize={blocksize or 8192}, a 10-byte file goes out in blocks of {pieces}; the send events "
        f"carried {body_events!r}")


def _data(data: object) -> bytes:
    """What an http.client.send event carried, as bytes (its repr if it is not bytes-like)."""
    return bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else repr(data).encode()


# -- bodies that fail, bodies ending with CRLF ----------------------------------------------------------


class Failing(Exception):
    """The exception a body raises halfway."""


def _failing_generator():
    yield b"abc"
    raise Failing("the body's source failed")


class FailingFile:
    def __init__(self) -> None:
        self.calls = 0

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 1:
            raise Failing("the file failed")
        return b"abc"


@scenario("request.body.fails-midway", refs=["http.client.HTTPConnection.request"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("make, headers, sent_body", [
    # control: the same body without the failure is sent whole, with its last-chunk
    pytest.param(lambda: _generator(b"abc", b"def"), {}, b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", id="control-generator"),
    pytest.param(_failing_generator, {}, b"3\r\nabc\r\n", id="generator-chunked"),
    pytest.param(FailingFile, {}, b"3\r\nabc\r\n", id="file-chunked"),
    pytest.param(FailingFile, {"Content-Length": "10"}, b"abc", id="file-content-length"),
])
def test_body_fails_midway(server, client, make, headers, sent_body):
    # The body's own exception reaches the caller unchanged. What was sent stays an incomplete
    # message: no last-chunk is added to a chunked body (which would make a truncated request look
    # complete), and a body with Content-Length stays short of it.
    fails = not sent_body.endswith(b"0\r\n\r\n")
    server.add_connection(expect_request(body=False))
    conn = client.connect(server)
    if fails:
        with pytest.raises(Failing):
            conn.request("POST", "/", body=make(), headers=headers)
    else:
        conn.request("POST", "/", body=make(), headers=headers)
    record = finish(conn, server)
    request = record.requests[0]
    after_head = bytes(record.received)[len(request.raw):]
    assert after_head == sent_body, (
        f"a body that {'fails halfway is not completed' if fails else 'does not fail is sent whole'} on the wire: "
        f"the server received {after_head!r} after the head, expected exactly {sent_body!r}")


CRLF_BODY = b"line one\r\nline two\r\n"


@scenario("request.body.crlf-terminated", refs=["RFC9112-2.2-p5-s2"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("method, body", [
    pytest.param("POST", b"no line ending", id="control-no-crlf"),
    pytest.param("POST", CRLF_BODY, id="ends-with-crlf"),
    pytest.param("PUT", b"\r\n", id="crlf-only"),
    pytest.param("POST", b"a\r\n\r\n", id="ends-with-two-crlf"),
])
def test_crlf_terminated_body(server, wire, method, body):
    # RFC 9112 2.2: "If terminating the request message body with a line-ending is desired, then the
    # user agent MUST count the terminating CRLF octets as part of the message body length."
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/"), body=body))
    record = server.connection(0)
    sent = record.requests[0]
    lengths = sent.header_values("content-length")
    if lengths:
        assert lengths == [str(len(body)).encode()], (
            f"RFC 9112 2.2: the CRLF that ends the body counts in its length: {len(body)} octets, sent "
            f"Content-Length {lengths}")
    assert sent.complete and sent.body == body, "the whole body, line ending included, is the message body"
    assert client_closed(record) and record.unparsed == b"", (
        f"RFC 9112 2.2: nothing follows the body; after it the server received {record.unparsed!r}")


@scenario("request.body.crlf-terminated.api", refs=["RFC9112-2.2-p5-s2", "http.client.HTTPConnection.request"],
          level=MUST, profile=API)
@pytest.mark.parametrize("make", [
    pytest.param(lambda: CRLF_BODY, id="bytes"),
    pytest.param(lambda: CRLF_BODY.decode(), id="str"),
    pytest.param(lambda: io.BytesIO(CRLF_BODY), id="file-chunked"),
    pytest.param(lambda: iter([b"line one\r\n", b"line two\r\n"]), id="iterable-chunked"),
])
def test_crlf_terminated_body_api(server, client, make):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("POST", "/", body=make())
    assert read_all(conn) == b"ok"
    record = finish(conn, server)
    sent = record.requests[0]
    lengths = sent.header_values("content-length")
    assert lengths in ([], [str(len(CRLF_BODY)).encode()]), (
        f"RFC 9112 2.2: the final CRLF counts in the body's length ({len(CRLF_BODY)}); sent {lengths}")
    assert sent.complete and sent.body == CRLF_BODY and record.unparsed == b"", (
        f"RFC 9112 2.2: the body with its line endings is exactly the content; h11 read {sent.body!r}, then "
        f"{record.unparsed!r}")


# -- transfer codings ----------------------------------------------------------------------------------


@scenario("request.body.transfer-coding-chunked-last", refs=["RFC9112-6.1-p4-s3"], level=MUST, profile=API)
@pytest.mark.parametrize("coding", [
    pytest.param("chunked", id="control-chunked"),
    pytest.param("gzip, chunked", id="gzip-then-chunked"),
])
def test_chunked_is_final_coding(server, client, coding):
    # RFC 9112 6.1: "If any transfer coding other than chunked is applied to a request's content, the
    # sender MUST apply chunked as the final transfer coding." The caller applies gzip itself and
    # names both codings; the client applies chunked (encode_chunked=True) over the gzip data.
    # (h11 supports no other coding: the raw bytes are checked here.)
    original = b"compressible " * 50
    payload = gzip.compress(original, mtime=0) if "gzip" in coding else original
    server.add_connection(expect_request(strict=False), send(OK))
    conn = client.connect(server)
    conn.request("POST", "/", body=iter([payload[:40], payload[40:]]), headers={"Transfer-Encoding": coding},
                 encode_chunked=True)
    assert read_all(conn) == b"ok"
    record = finish(conn, server)
    raw = bytes(record.received)
    head, _, rest = raw.partition(b"\r\n\r\n")
    codings = [c.strip().lower() for line in head.split(b"\r\n")[1:]
               if line.lower().startswith(b"transfer-encoding:") for c in line.partition(b":")[2].split(b",")]
    assert codings and codings[-1] == b"chunked", (
        f"RFC 9112 6.1: chunked MUST be the final transfer coding; sent Transfer-Encoding codings {codings}")
    chunks, after = decode_chunked(rest)
    assert after == b"" and b"".join(chunks) == payload, "the content is framed by the chunked coding"
    decoded = gzip.decompress(b"".join(chunks)) if "gzip" in coding else b"".join(chunks)
    assert decoded == original


def _request_line_and_framing(unparsed: bytes) -> tuple[bytes, list[bytes], list[bytes]]:
    head = unparsed.partition(b"\r\n\r\n")[0]
    lines = head.split(b"\r\n")
    te = [line.partition(b":")[2].strip().lower() for line in lines[1:] if line.lower().startswith(b"transfer-encoding:")]
    cl = [line.partition(b":")[2].strip() for line in lines[1:] if line.lower().startswith(b"content-length:")]
    return lines[0], te, cl


@scenario("request.body.chunked-needs-http11", refs=["RFC9112-6.1-p13-s1", "RFC9112-6.3-p7-s2"], level=MUST,
          profile=API)
@pytest.mark.parametrize("first", [
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", id="control-after-http11-response"),
    pytest.param(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
                 id="after-http10-response"),
])
def test_chunked_needs_http11(server, client, first):
    # RFC 9112 6.1: "A client MUST NOT send a request containing Transfer-Encoding unless it knows the
    # server will handle HTTP/1.1 requests (or later minor revisions); such knowledge might be in the
    # form of specific user configuration or by remembering the version of a prior received
    # response." 6.3: nor use the chunked coding. The server answered the first request on this
    # (kept-alive) connection with HTTP/1.0: a body of unknown length must not go chunked there (a
    # client can buffer it and send Content-Length, or refuse it). After an HTTP/1.1 response,
    # chunked is fine. The second request is only recorded, never answered.
    server.add_connection(respond(first))
    conn = client.connect(server)
    conn.request("GET", "/1")
    assert read_all(conn) == b"ok"
    try:
        conn.request("POST", "/2", body=iter([b"ab", b"cd"]))
    except (ValueError, TypeError, client.module.HTTPException):
        refused = True
    else:
        refused = False
    record = finish(conn, server)
    unparsed = record.unparsed
    if refused:
        assert unparsed == b"", f"a refused request sends nothing; the server received {unparsed!r}"
        return
    line, te, cl = _request_line_and_framing(unparsed)
    assert line.startswith(b"POST /2 "), f"the second request was sent on the same connection: {unparsed[:80]!r}"
    if first.startswith(b"HTTP/1.1"):
        assert te or cl, "the body is framed"
        return
    assert not te, (
        "RFC 9112 6.1 / 6.3: a client MUST NOT send Transfer-Encoding (chunked) unless it knows the server "
        f"handles HTTP/1.1; after an HTTP/1.0 response on this connection it sent Transfer-Encoding {te!r}: "
        f"{unparsed[:200]!r}")
    assert cl == [b"4"] and body_bytes(unparsed) == b"abcd", f"the body goes with its Content-Length: {unparsed!r}"


@scenario("request.body.trace-no-content", refs=["RFC9110-9.3.8-p4-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("method, body", [
    variant("POST", b"content", id="control-post-with-content"),
    variant("TRACE", None, id="trace"),
])
def test_trace_without_content(server, wire, method, body):
    # RFC 9110 9.3.8: "A client MUST NOT send content in a TRACE request." With no body given, the
    # client adds none: no framing field, no octet after the head (and no "Content-Length: 0" that
    # would announce content).
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/"), body=body))
    record = server.connection(0)
    sent = record.requests[0]
    assert client_closed(record), "the client closed its connection (its session is over)"
    if body:
        assert sent.body == body, "control: the POST's content is sent"
        return
    framing = sent.header_values("content-length") + sent.header_values("transfer-encoding")
    assert framing == [] and sent.body == b"" and record.unparsed == b"", (
        f"RFC 9110 9.3.8: a client MUST NOT send content in a TRACE request; sent framing {framing}, "
        f"body {sent.body!r}, then {record.unparsed!r}")


# -- the body's type ---------------------------------------------------------------------------------------


@scenario("request.body.type-refused", refs=["http.client.HTTPConnection.endheaders", "http.client.HTTPConnection.request"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("body", [
    pytest.param(b"x", id="control-bytes"),
    pytest.param(object(), id="object"),
    pytest.param(42, id="int"),
])
@pytest.mark.parametrize("how", ["endheaders", "request"])
def test_body_type_refused(server, client, body, how):
    # A body that is neither bytes-like, str, a file nor an iterable raises TypeError naming what is
    # accepted. (stdlib sends the head first; nothing of the body is sent either way.)
    refused = not isinstance(body, bytes)
    if refused:  # a client may send the head before it looks at the body (stdlib), or nothing
        server.add_connection(expect_request(body=False, strict=False), optional=True)
    else:
        server.add_connection(respond(OK))
    conn = client.connect(server)

    def start():
        if how == "request":
            conn.request("POST", "/", body=body, headers={"Content-Length": "1"})
        else:
            conn.putrequest("POST", "/")
            conn.putheader("Content-Length", "1")
            conn.endheaders(body)

    if not refused:
        start()
        assert read_all(conn) == b"ok"
        return
    with pytest.raises(TypeError):
        start()
    conn.close()
    # Counted by the server, not read from conn.sock: an implementation need not have that attribute.
    if connections_opened(server, at_least=0):  # the head was sent: wait until the server has read it and seen the close
        harness_wait(lambda bound: server.wait_connections(1, bound), "the server did not accept the connection")
        assert client_closed(server.connection(0)), "the client closed its connection"
    for record in server.connections:
        assert not record.requests or bytes(record.received) == record.requests[0].raw, (
            f"nothing of a refused body is sent; the server received {bytes(record.received)!r}")


# -- debug output --------------------------------------------------------------------------------------------


@scenario("request.body.debug-output", refs=["http.client.HTTPConnection.set_debuglevel"], level=API_LEVEL,
          profile=API)
@pytest.mark.parametrize("how, expected", [
    pytest.param("request-text-file", ["Unable to determine size of", "reading a readable",
                                       "encoding file using iso-8859-1"], id="request-text-file"),
    pytest.param("request-binary-file", ["Unable to determine size of", "reading a readable"],
                 id="request-binary-file"),
    pytest.param("request-empty-items", ["Unable to determine size of", "Zero length chunk ignored"],
                 id="request-iterable-empty-items"),
    pytest.param("send-text-file", ["sending a readable", "encoding file using iso-8859-1"], id="send-text-file"),
    pytest.param("control-debuglevel-0", [], id="control-debuglevel-0"),
])
def test_body_debug_output(make_server, server, client, capsys, how, expected):
    # At debuglevel 1 the client says how it sends a body: a body of unknown size (sent chunked), a
    # file read ("reading a readable" / "sending a readable"), a text file's encoding, and the
    # empty items of an iterable it skips.
    require_debug_output(make_server, client, capsys)
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.set_debuglevel(0 if how.startswith("control") else 1)
    capsys.readouterr()
    if how == "request-text-file":
        conn.request("POST", "/", body=io.StringIO("caf\u00e9"))
    elif how == "request-binary-file":
        conn.request("POST", "/", body=io.BytesIO(b"cafe"))
    elif how == "request-empty-items":
        conn.request("POST", "/", body=_generator(b"ca", b"", b"fe"))
    else:
        conn.putrequest("POST", "/")
        conn.putheader("Content-Length", "4")
        conn.endheaders()
        conn.send(io.StringIO("caf\u00e9") if how == "send-text-file" else b"caf\xe9")
    assert read_all(conn) == b"ok"
    assert server.requests[0].body in (b"caf\xe9", b"cafe")
    lines = capsys.readouterr().out.splitlines()
    if not expected:
        assert lines == [], f"at debuglevel 0 nothing is printed; got {lines!r}"
        return
    missing = [text for text in expected if not any(line.startswith(text) for line in lines)]
    assert not missing, f"set_debuglevel(1): expected lines starting with {missing!r}; got {lines!r}"
    positions = [next(i for i, line in enumerate(lines) if line.startswith(text)) for text in expected]
    assert positions == sorted(positions), f"in the order {expected!r}; got {lines!r}"
