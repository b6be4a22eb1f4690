"""Request bodies: every body type `HTTPConnection.request()` documents, how each is framed, and the
step-by-step API (putrequest / putheader / endheaders(message_body) / send).

The documentation of `request()`: a str body is encoded ISO-8859-1, a bytes-like body is sent as is
with its Content-Length; a file object's read() data is sent (encoded ISO-8859-1 for io.TextIOBase),
an iterable's items are sent as they come; files and iterables are chunk-encoded with
`Transfer-Encoding: chunked` unless the caller gives Content-Length (or Transfer-Encoding, with
`encode_chunked` saying who encodes). For None, `Content-Length: 0` is sent for PUT, POST and PATCH.

RFC 9112 6.3: a user agent that sends content MUST send a valid Content-Length or use chunked; 6.2:
never both. RFC 9112 7.1:

    chunked-body = *chunk last-chunk trailer-section CRLF
    chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF     (chunk-size = 1*HEXDIG, not 0)
    last-chunk   = 1*("0") [ chunk-ext ] CRLF
"""

from __future__ import annotations

import array
import io

import pytest

from h1conform.servers import expect_request, respond, send
from h1conform.suites.harness import API, API_LEVEL, MUST, WIRE, expect_response, scenario
from h1conform.suites.harness.checks import control_passes
from h1conform.suites.harness.waiting import client_closed

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

BINARY = bytes(range(256)) * 40 + b"\r\n\r\n0\r\n\r\n"  # every octet value, and bytes that look like framing


def chunked(*chunks: bytes) -> bytes:
    """The chunked framing of `chunks` (lower-case hex is as valid as upper-case; sizes below 10 here)."""
    return b"".join(b"%X\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def body_bytes(raw: bytes) -> bytes:
    """The raw bytes after the head (the body as framed on the wire)."""
    return raw[raw.find(b"\r\n\r\n") + 4:]




def finish(conn, server):
    """Read the response, close the client, and return the connection's record once the server saw the close."""
    conn.getresponse().read()
    conn.close()
    record = server.connection(0)
    assert client_closed(record), "the client closed its connection"
    return record


# -- bytes-like and str bodies ------------------------------------------------------------------


@scenario("request.body.buffer", refs=["http.client.HTTPConnection.request", "RFC9112-6.3-p7-s1"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("method, body, expected", [
    pytest.param("POST", b"hello", b"hello", id="bytes"),
    pytest.param("POST", BINARY, BINARY, id="bytes-binary"),
    pytest.param("PUT", bytearray(b"hello"), b"hello", id="bytearray"),
    pytest.param("POST", memoryview(b"hello world")[6:], b"world", id="memoryview-slice"),
    pytest.param("POST", array.array("H", [1, 2]), array.array("H", [1, 2]).tobytes(), id="array-of-shorts"),
    pytest.param("POST", "caf\u00e9 \u00ff", b"caf\xe9 \xff", id="str-latin-1"),
    pytest.param("POST", b"", b"", id="bytes-empty"),
    pytest.param("POST", None, b"", id="none-post"),
    pytest.param("PUT", None, b"", id="none-put"),
    pytest.param("PATCH", None, b"", id="none-patch"),
])
def test_buffer_body(server, client, method, body, expected):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request(method, "/", body=body)
    conn.getresponse().read()
    sent = server.requests[0]
    assert sent.header_values("content-length") == [str(len(expected)).encode()], (
        "request(): a bytes-like or str body is sent with Content-Length set to its size in bytes (0 for "
        f"None with PUT, POST, PATCH); expected {len(expected)}, sent {sent.header_values('content-length')}")
    assert sent.header_values("transfer-encoding") == []
    assert body_bytes(sent.raw) == expected, "the body is sent as is (a str encoded ISO-8859-1)"


def _str_body_sent(server, client, body):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("POST", "/", body=body)
    conn.getresponse().read()
    assert server.requests[0].body == body.encode("latin-1")


@scenario("request.body.str-non-latin-1", refs=["http.client.HTTPConnection.request"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("body, refused", [
    pytest.param("na\u00efve", False, id="latin-1"),
    pytest.param("\u20ac 5", True, id="euro-sign"),
    pytest.param("\u65e5\u672c", True, id="cjk"),
])
def test_str_body_not_latin_1(make_server, server, client, body, refused):
    if not refused:
        return _str_body_sent(server, client, body)
    control_passes(make_server, lambda control: _str_body_sent(control, client, "na\u00efve"))
    server.add_connection(respond(OK), optional=True)
    conn = client.connect(server)
    with pytest.raises(UnicodeEncodeError):
        conn.request("POST", "/", body=body)
    assert not any(record.received for record in server.connections), (
        "a str body that ISO-8859-1 cannot encode raises UnicodeEncodeError before anything is sent")


# -- file bodies ------------------------------------------------------------------------------------


@scenario("request.body.file", refs=["http.client.HTTPConnection.request"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("kind", ["bytesio", "binary-file", "empty-binary-file", "stringio", "text-file"])
def test_file_body(server, client, tmp_path, kind):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    path = tmp_path / "body"
    if kind == "bytesio":
        expected = b"hello file"
        conn.request("POST", "/", body=io.BytesIO(expected))
    elif kind in ("binary-file", "empty-binary-file"):
        expected = BINARY if kind == "binary-file" else b""
        path.write_bytes(expected)
        with path.open("rb") as f:
            conn.request("POST", "/", body=f)
    elif kind == "stringio":
        expected = b"caf\xe9"
        conn.request("POST", "/", body=io.StringIO("caf\u00e9"))
    else:
        expected = "r\u00e9sum\u00e9\n".encode("latin-1") * 1000
        path.write_text("r\u00e9sum\u00e9\n" * 1000, encoding="utf-8")
        with path.open("r", encoding="utf-8", newline="") as f:
            conn.request("PUT", "/", body=f)
    conn.getresponse().read()
    sent = server.requests[0]
    assert sent.header_values("transfer-encoding") == [b"chunked"], (
        "request(): a file body is sent with Transfer-Encoding: chunked when no Content-Length is given")
    assert sent.header_values("content-length") == [], "RFC 9112 6.2: never Content-Length with Transfer-Encoding"
    assert sent.body == expected, (
        "the file's data is sent as read (a text file's str encoded ISO-8859-1)")


@scenario("request.body.file.blocksize", refs=["http.client.HTTPConnection.blocksize", "http.client.HTTPConnection"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("blocksize, size, chunk_sizes", [
    pytest.param(None, 10000, [8192, 1808], id="default-8192"),
    pytest.param(4, 10, [4, 4, 2], id="blocksize-4"),
    pytest.param(5, 10, [5, 5], id="blocksize-divides-size"),
])
def test_file_blocksize(server, client, blocksize, size, chunk_sizes):
    server.add_connection(respond(OK))
    conn = client.connect(server) if blocksize is None else client.connect(server, blocksize=blocksize)
    data = (b"0123456789" * (size // 10 + 1))[:size]
    conn.request("POST", "/", body=io.BytesIO(data))
    conn.getresponse().read()
    sent = server.requests[0]
    assert [len(c) for c in sent.chunks] == chunk_sizes, (
        f"a file body is read blocksize bytes at a time, one chunk per read: expected chunk sizes {chunk_sizes}, "
        f"sent {[len(c) for c in sent.chunks]}")
    assert sent.body == data


# -- iterable bodies and chunked framing ----------------------------------------------------------


def _generator(*items):
    yield from items


@scenario("request.body.iterable", refs=["http.client.HTTPConnection.request"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("make, chunks", [
    pytest.param(lambda: [b"ab", b"cde"], [b"ab", b"cde"], id="list"),
    pytest.param(lambda: _generator(b"ab", b"cde", b"f"), [b"ab", b"cde", b"f"], id="generator"),
    pytest.param(lambda: (bytearray(b"xy"), b"z"), [b"xy", b"z"], id="tuple-bytearray"),
    pytest.param(lambda: _generator(b"ab", b"", b"cde", b""), [b"ab", b"cde"], id="empty-items-skipped"),
    pytest.param(lambda: _generator(), [], id="empty-generator"),
    pytest.param(lambda: iter([b"\r\n0\r\n\r\n"]), [b"\r\n0\r\n\r\n"], id="framing-like-data"),
])
def test_iterable_body(server, client, make, chunks):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("POST", "/upload", body=make())
    record = finish(conn, server)
    sent = server.requests[0]
    assert sent.header_values("transfer-encoding") == [b"chunked"], (
        "request(): an iterable body is chunk-encoded with Transfer-Encoding: chunked")
    assert sent.chunks == chunks, (
        f"each non-empty item is one chunk (an empty item would end the body): expected {chunks}, sent {sent.chunks}")
    assert body_bytes(sent.raw) == chunked(*chunks), f"exact chunked framing, got {body_bytes(sent.raw)!r}"
    assert record.unparsed == b"", f"nothing follows the last chunk, got {record.unparsed!r}"


@scenario("request.body.chunked.framing", refs=["RFC9112-6.2-p2-s1", "RFC9112-2.2-p5-s1", "RFC9110-2.2-p5-s1"],
          level=MUST, profile=API)
@pytest.mark.parametrize("how", ["generator", "generator-with-empty-items", "large-chunks", "file",
                                 "endheaders-encode_chunked"])
def test_chunked_framing(server, client, how):
    # expect_request() is strict: h11 must accept the chunked body.
    server.add_connection(respond(OK))
    conn = client.connect(server)
    data = [b"first", b"", b"x" * 300, b"y" * 70000] if how != "generator" else [b"a", b"bc"]
    if how == "generator-with-empty-items":
        data = [b"", b"a", b"", b"bc", b""]
    if how == "file":
        conn.request("POST", "/", body=io.BytesIO(b"".join(data)))
    elif how == "endheaders-encode_chunked":
        conn.putrequest("POST", "/")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders(_generator(*data), encode_chunked=True)
    else:
        conn.request("POST", "/", body=_generator(*data))
    record = finish(conn, server)
    sent = server.requests[0]
    assert sent.complete and sent.error is None, f"the chunked body parses: {sent.error}"
    assert sent.framing_faults() == [], f"RFC 9112 6.2: {sent.framing_faults()}"
    assert sent.body == b"".join(data)
    assert all(sent.chunks), "RFC 9112 7.1: only the last chunk has size 0"
    assert sent.raw.endswith(b"\r\n0\r\n\r\n") or body_bytes(sent.raw) == b"0\r\n\r\n", (
        "RFC 9112 7.1: the body ends with last-chunk and the empty line")
    assert record.unparsed == b"", (
        f"RFC 9112 2.2: a user agent MUST NOT follow a request with an extra CRLF; got {record.unparsed!r}")


@scenario("request.body.encode-chunked", refs=["http.client.HTTPConnection.request", "http.client.HTTPConnection.endheaders"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("how, body", [
    pytest.param("endheaders", chunked(b"abc", b"de"), id="endheaders-encode_chunked"),
    pytest.param("request-encode", chunked(b"abc", b"de"), id="request-te-header-encode_chunked"),
    pytest.param("request-pre-encoded", chunked(b"abc", b"de"), id="request-te-header-pre-encoded"),
])
def test_encode_chunked(server, client, how, body):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    if how == "endheaders":
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", server.authority)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders(iter([b"abc", b"de"]), encode_chunked=True)
    elif how == "request-encode":
        conn.request("POST", "/", body=iter([b"abc", b"de"]), headers={"Transfer-Encoding": "chunked"},
                     encode_chunked=True)
    else:
        # encode_chunked=False with the caller's Transfer-Encoding: the caller did the encoding.
        conn.request("POST", "/", body=iter([b"3\r\nabc\r\n", b"2\r\nde\r\n0\r\n\r\n"]),
                     headers={"Transfer-Encoding": "chunked"})
    record = finish(conn, server)
    sent = server.requests[0]
    if how == "endheaders":
        expected = (f"POST / HTTP/1.1\r\nHost: {server.authority}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
                    + body)
        assert sent.raw == expected, f"putrequest/putheader/endheaders(body, encode_chunked=True) sent {sent.raw!r}"
    assert sent.header_values("transfer-encoding") == [b"chunked"]
    assert body_bytes(sent.raw) == body, f"expected the body framed as {body!r}, sent {body_bytes(sent.raw)!r}"
    assert sent.chunks == [b"abc", b"de"]
    assert record.unparsed == b""


@scenario("request.body.content-length.caller", refs=["http.client.HTTPConnection.request"], level=API_LEVEL,
          profile=API)
@pytest.mark.parametrize("name, make", [
    pytest.param("Content-Length", lambda: b"hello", id="bytes"),
    pytest.param("content-length", lambda: b"hello", id="bytes-lower-case-name"),
    pytest.param("Content-Length", lambda: io.BytesIO(b"hello"), id="file"),
    pytest.param("Content-Length", lambda: iter([b"hel", b"lo"]), id="iterable"),
    pytest.param("Content-Length", lambda: "hello", id="str"),
])
def test_caller_content_length(server, client, name, make):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("PUT", "/", body=make(), headers={name: "5"})
    record = finish(conn, server)
    sent = server.requests[0]
    assert sent.header_values(b"content-length") == [b"5"], (
        f"a caller's Content-Length is sent once, as given; sent {sent.header_values(b'content-length')}")
    assert sent.header_values("transfer-encoding") == [], (
        "with the caller's Content-Length the body is not chunk-encoded")
    assert body_bytes(sent.raw) == b"hello" and record.unparsed == b""


@scenario("request.body.content-length-and-transfer-encoding", refs=["RFC9112-6.2-p2-s1"], level=MUST, profile=API)
@pytest.mark.parametrize("headers", [
    pytest.param({"Transfer-Encoding": "chunked"}, id="transfer-encoding-only"),
    pytest.param({"Content-Length": "15"}, id="content-length-only"),
    pytest.param({"Content-Length": "15", "Transfer-Encoding": "chunked"}, id="both"),
])
def test_content_length_and_transfer_encoding(server, client, headers):
    body = chunked(b"hello")  # 15 bytes: a valid chunked body, and a valid 15-byte body
    # A client may refuse the "both" row (then it opens no connection) or send one framing header.
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    conn = client.connect(server)
    try:
        conn.request("POST", "/", body=body, headers=headers)
    except ValueError:
        assert not any(record.received for record in server.connections), "refused, so nothing is sent"
        return
    conn.getresponse().read()
    sent = server.requests[0]
    framing = {name: sent.header_values(name) for name in (b"content-length", b"transfer-encoding")}
    assert not (framing[b"content-length"] and framing[b"transfer-encoding"]), (
        "RFC 9112 6.2: a sender MUST NOT send Content-Length in a message that contains Transfer-Encoding; "
        f"the client sent {sent.head!r}")
    expected = b"hello" if framing[b"transfer-encoding"] else body
    assert sent.error is None and sent.body == expected, f"the body is framed as announced: {sent.error}"


# -- the step-by-step API ---------------------------------------------------------------------------


@scenario("request.body.step-by-step", refs=["http.client.HTTPConnection.putrequest", "http.client.HTTPConnection.putheader",
                                             "http.client.HTTPConnection.endheaders", "http.client.HTTPConnection.send"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("how", ["endheaders-body", "send", "send-pieces", "send-file", "endheaders-file"])
def test_step_by_step(server, client, how):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.putrequest("POST", "/upload?id=7", skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", server.authority)
    conn.putheader("Content-Length", 11)
    conn.putheader("Content-Type", "text/plain")
    if how == "endheaders-body":
        conn.endheaders(b"hello world")
    elif how == "endheaders-file":
        conn.endheaders(io.BytesIO(b"hello world"))
    else:
        conn.endheaders()
        if how == "send":
            conn.send(b"hello world")
        elif how == "send-pieces":
            for piece in (b"hel", b"lo ", b"world"):
                conn.send(piece)
        else:
            conn.send(io.BytesIO(b"hello world"))
    record = finish(conn, server)
    expected = (b"POST /upload?id=7 HTTP/1.1\r\n"
                b"Host: " + server.authority.encode() + b"\r\n"
                b"Content-Length: 11\r\n"
                b"Content-Type: text/plain\r\n"
                b"\r\n"
                b"hello world")
    assert bytes(record.received) == expected, (
        "putrequest / putheader / endheaders(message_body) / send() send exactly the request line, the "
        f"fields given and the body, nothing else: expected {expected!r}, sent {bytes(record.received)!r}")


# -- wire ------------------------------------------------------------------------------------------------


@scenario("request.body.length", refs=["RFC9112-6.3-p7-s1", "RFC9112-6.2-p2-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("method, body", [
    pytest.param("POST", b"x", id="one-byte"),
    pytest.param("POST", b"\r\n", id="crlf-only"),
    pytest.param("PUT", BINARY, id="binary"),
    pytest.param("POST", bytes(range(256)) * 400, id="100-kib"),
    pytest.param("PATCH", b'{"a": 1}', id="patch"),
    pytest.param("DELETE", b"reason", id="delete-with-body"),
])
def test_body_length(server, wire, method, body):
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/"), body=body))
    sent = server.requests[0]
    lengths = sent.header_values(b"content-length")
    is_chunked = sent.header_values("transfer-encoding")[-1:] == [b"chunked"]
    assert lengths == [str(len(body)).encode()] or (is_chunked and not lengths), (
        "RFC 9112 6.3: a user agent that sends content MUST send a valid Content-Length or use chunked; "
        f"sent Content-Length {lengths}, Transfer-Encoding {sent.header_values('transfer-encoding')}")
    assert sent.framing_faults() == []
    assert sent.complete and sent.body == body, "the body arrives whole, framed as announced"
