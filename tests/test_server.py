"""Tests of the scripted fake HTTP server (servers/), driven with plain sockets and http.client.

Every wait here is an event or a bounded wait; nothing sleeps to order things. Client sockets are
closed by the tests (a leaked socket would be a ResourceWarning, an error under this config), and
an autouse fixture checks that no server thread outlives its test.
"""

from __future__ import annotations

import gc
import http.client
import select
import signal as signals
import socket
import struct
import threading
import time
import warnings
from collections.abc import Callable, Iterator

import pytest
from raw_sockets import TIMEOUT, connect, recv_exactly

from h1conform.servers import (
    BYTEWISE,
    WHOLE,
    ConnectionRecord,
    Delivery,
    ScriptedServer,
    ServerConnection,
    ServerError,
    call,
    close,
    expect_body,
    expect_request,
    half_close,
    ipv6_available,
    pause,
    reset,
    respond,
    respond_if_sent,
    send,
    send_segments,
    serve,
    split_at,
    stall,
)
from h1conform.servers.connection import ScriptError, loopback_barrier
from h1conform.servers.requests import RequestParser
from h1conform.servers.steps import Send, flood
from h1conform.suites.harness.progress import describe

SHORT = 0.1  # for waits that are expected to time out


def response(body: bytes = b"ok") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def get(target: bytes = b"/", host: bytes = b"example.test") -> bytes:
    return b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, host)






def recv_chunks_until_eof(sock: socket.socket) -> list[bytes]:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return chunks


def abort(sock: socket.socket) -> None:
    """Close the client side with a TCP RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def signal(event: threading.Event) -> Callable[[ServerConnection], None]:
    """A call() handler that tells the test the script has reached this point."""
    def handler(conn: ServerConnection) -> None:
        event.set()
    return handler


def wait_buffered(size: int) -> Callable[[ServerConnection], None]:
    """A call() handler waiting (bounded) until `size` bytes sit unread in the server's socket."""
    def handler(conn: ServerConnection) -> None:
        deadline = time.monotonic() + TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"fewer than {size} bytes arrived")
            readable, _, _ = select.select([conn.sock], [], [], remaining)
            if readable and len(conn.sock.recv(65536, socket.MSG_PEEK)) >= size:
                return
    return handler


def server_threads(server: ScriptedServer) -> list[threading.Thread]:
    prefix = f"scripted-server-{server.port}-"
    return [thread for thread in threading.enumerate() if thread.name.startswith(prefix)]


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    left = [t.name for t in threading.enumerate() if t not in before and t.name.startswith("scripted-server-")]
    assert not left, f"server threads still running after the test: {left}"


# -- addresses ------------------------------------------------------------------------------------


def test_binds_an_os_chosen_port_on_ipv4_loopback() -> None:
    with ScriptedServer() as server:
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.authority == f"127.0.0.1:{server.port}"
        assert server.url() == f"http://127.0.0.1:{server.port}/"
        assert server.url("/a?b=c") == f"http://127.0.0.1:{server.port}/a?b=c"
        assert server.url("/x", scheme="https") == f"https://127.0.0.1:{server.port}/x"


def test_two_servers_get_different_ports() -> None:
    with ScriptedServer() as first, ScriptedServer() as second:
        assert first.port != second.port


@pytest.mark.skipif(not ipv6_available(), reason="this machine cannot listen on ::1")
def test_binds_ipv6_loopback_and_serves_http_client() -> None:
    with ScriptedServer("::1") as server:
        assert server.authority == f"[::1]:{server.port}"
        assert server.url("/v6") == f"http://[::1]:{server.port}/v6"
        server.add_connection(respond(response(b"six")))
        conn = http.client.HTTPConnection("::1", server.port, timeout=TIMEOUT)
        try:
            conn.request("GET", "/v6")
            reply = conn.getresponse()
            assert (reply.status, reply.read()) == (200, b"six")
        finally:
            conn.close()
        record = server.connection(0)
        assert record.peer[0] == "::1"
        assert server.requests[0].target == b"/v6"
        assert server.requests[0].header("Host") == f"[::1]:{server.port}".encode()


# -- recording ------------------------------------------------------------------------------------


def test_records_every_byte_received_and_sent_exactly() -> None:
    pieces = [b"GET /rec", b"ord HTTP/1.1\r\nHost: h\r\nX-Odd: \xff\x80 ~\r\n", b"\r\n", b"\x00trailing junk"]
    with ScriptedServer() as server:
        server.add_connection(expect_request(), send(response(b"hi"), split_at(3, 10)))
        with connect(server) as sock:
            for piece in pieces[:3]:
                sock.sendall(piece)
            assert recv_exactly(sock, len(response(b"hi"))) == response(b"hi")
            sock.sendall(pieces[3])
            sock.shutdown(socket.SHUT_WR)
            record = server.connection(0)
            assert record.wait_client_close(TIMEOUT)
        assert record.wait_finished(TIMEOUT)
        assert bytes(record.received) == b"".join(pieces)
        assert bytes(record.sent) == response(b"hi")
        assert record.requests[0].raw == b"".join(pieces[:3])
        assert record.unparsed == b"\x00trailing junk"
        assert record.scripted and not record.client_reset
        assert server.bytes_received == len(b"".join(pieces))


def test_http_client_request_is_parsed_and_recorded() -> None:
    with ScriptedServer() as server:
        server.add_connection(respond(response(b"hello")))
        conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
        try:
            conn.request("PUT", "/things/1?x=y", body=b"payload", headers={"X-Custom": "v"})
            reply = conn.getresponse()
            assert (reply.status, reply.read()) == (200, b"hello")
        finally:
            conn.close()
        request = server.requests[0]
        assert (request.method, request.target, request.http_version) == (b"PUT", b"/things/1?x=y", b"1.1")
        assert request.header("host") == server.authority.encode()
        assert request.header(b"X-CUSTOM") == b"v"
        assert request.header("content-length") == b"7"
        assert request.body == b"payload"
        assert request.complete and request.error is None


# -- parsing --------------------------------------------------------------------------------------


def test_headers_keep_the_case_and_order_sent() -> None:
    raw = (b"OPTIONS * HTTP/1.1\r\nhost: h\r\nX-b: 1\r\nACCEPT: */*\r\nx-B: 2\r\n"
           b"Content-Length: 0\r\n\r\n")
    with ScriptedServer() as server:
        server.add_connection(respond(response()))
        with connect(server) as sock:
            sock.sendall(raw)
            recv_exactly(sock, len(response()))
        request = server.requests[0]
        assert request.method == b"OPTIONS" and request.target == b"*"
        assert request.headers == [(b"host", b"h"), (b"X-b", b"1"), (b"ACCEPT", b"*/*"), (b"x-B", b"2"),
                                   (b"Content-Length", b"0")]
        assert request.header_names == [b"host", b"X-b", b"ACCEPT", b"x-B", b"Content-Length"]
        assert request.header_values("x-b") == [b"1", b"2"]
        assert request.header("accept") == b"*/*"
        assert request.header("absent") is None
        with pytest.raises(AssertionError, match="sent 2 times"):
            request.header("X-B")
        assert request.head == raw
        assert request.body == b"" and request.complete


def test_content_length_body() -> None:
    head = b"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"
    with ScriptedServer() as server:
        server.add_connection(respond(response()))
        with connect(server) as sock:
            sock.sendall(head + b"hello")
            sock.sendall(b" world")
            recv_exactly(sock, len(response()))
        request = server.requests[0]
        assert request.body == b"hello world"
        assert request.chunks == []
        assert request.raw == head + b"hello world"
        assert request.head == head
        assert request.complete and request.error is None


def test_chunked_body_keeps_chunks_and_trailers_sent_in_pieces() -> None:
    # Each chunk-size line goes in the same send as its chunk's first byte (see the next test for
    # a chunk-size line that arrives on its own).
    pieces = [b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", b"3\r\na", b"b", b"c\r\n",
              b"5;ext=1\r\nd", b"e", b"fgh\r\n0\r\n", b"X-Checksum: 42\r\n", b"X-Other: o\r\n\r\n"]
    raw = b"".join(pieces)
    with ScriptedServer() as server:
        server.add_connection(respond(response()))
        with connect(server) as sock:
            for piece in pieces:
                sock.sendall(piece)
            recv_exactly(sock, len(response()))
        request = server.requests[0]
        assert request.body == b"abcdefgh"
        assert request.chunks == [b"abc", b"defgh"]
        assert request.trailers == [(b"X-Checksum", b"42"), (b"X-Other", b"o")]
        assert request.raw == raw
        assert request.complete and request.framing_faults() == []


def test_chunks_when_a_chunk_size_line_arrives_apart_from_its_data() -> None:
    # Fed to the parser directly so that the split is exactly where a client's writes (or TCP)
    # may put it: "5\r\n" is parsed before any byte of its chunk is there.
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\n")
    assert not parser.advance(want_body=True)
    parser.feed(b"defgh\r\n0\r\n\r\n")
    assert parser.advance(want_body=True)
    assert parser.request.body == b"abcdefgh"
    assert parser.request.chunks == [b"abc", b"defgh"]


def test_framing_faults_reports_content_length_with_transfer_encoding() -> None:
    raw = (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
           b"3\r\nabc\r\n0\r\n\r\n")
    with ScriptedServer() as server:
        server.add_connection(respond(response()))
        with connect(server) as sock:
            sock.sendall(raw)
            recv_exactly(sock, len(response()))
        request = server.requests[0]
        assert request.error is None and request.body == b"abc"
        assert request.framing_faults() == ["both Transfer-Encoding and Content-Length sent"]


def test_pipelined_requests_in_one_sendall() -> None:
    first = b"POST /1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
    second = b"POST /2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
    third = get(b"/3")
    with ScriptedServer() as server:
        server.add_connection(expect_request(), expect_request(), expect_request(),
                              send(response(b"1") + response(b"2") + response(b"3")))
        with connect(server) as sock:
            sock.sendall(first + second + third)
            expected = response(b"1") + response(b"2") + response(b"3")
            assert recv_exactly(sock, len(expected)) == expected
        requests = server.connection(0).requests
        assert [r.target for r in requests] == [b"/1", b"/2", b"/3"]
        assert [r.raw for r in requests] == [first, second, third]
        assert [r.body for r in requests] == [b"abc", b"de", b""]
        assert all(r.complete for r in requests)
        assert server.connection(0).unparsed == b""


def test_requests_one_after_another_on_one_connection() -> None:
    with ScriptedServer() as server:
        server.add_connection(respond(response(b"a")), respond(response(b"b")))
        with connect(server) as sock:
            sock.sendall(get(b"/a"))
            assert recv_exactly(sock, len(response(b"a"))) == response(b"a")
            sock.sendall(get(b"/b"))
            assert recv_exactly(sock, len(response(b"b"))) == response(b"b")
        assert [r.target for r in server.requests] == [b"/a", b"/b"]
        assert len(server.connections) == 1


def test_expect_request_head_only_then_expect_body() -> None:
    head = b"PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
    seen: list[tuple[bytes, bool]] = []

    def snapshot(conn: ServerConnection) -> None:
        request = conn.record.requests[0]
        seen.append((request.raw, request.complete))

    with ScriptedServer() as server:
        server.add_connection(expect_request(body=False), call(snapshot), send(b"HTTP/1.1 100 Continue\r\n\r\n"),
                              expect_body(), send(response()))
        with connect(server) as sock:
            sock.sendall(head)
            assert recv_exactly(sock, 25) == b"HTTP/1.1 100 Continue\r\n\r\n"
            sock.sendall(b"data")
            assert recv_exactly(sock, len(response())) == response()
        assert seen == [(head, False)]
        request = server.requests[0]
        assert request.body == b"data" and request.complete
        assert request.raw == head + b"data"


def test_expect_body_when_body_bytes_arrive_with_the_head() -> None:
    # http.client sends a small bytes body in the same send() as the head, so expect_body() must
    # cope with body bytes the head's read already took from the socket.
    head = b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n"
    with ScriptedServer() as server:
        server.add_connection(call(wait_buffered(len(head) + 5)), expect_request(body=False), send(b"go"),
                              expect_body(), send(response()))
        with connect(server) as sock:
            sock.sendall(head + b"hello")
            assert recv_exactly(sock, 2) == b"go"
            sock.sendall(b"world")
            assert recv_exactly(sock, len(response())) == response()
        record = server.connection(0)
        assert record.requests[0].body == b"helloworld"
        assert record.requests[0].raw == bytes(record.received)


def test_expect_body_without_head_only_request_is_a_script_error() -> None:
    with ScriptedServer() as server:
        server.add_connection(expect_body())
        with connect(server) as sock:
            assert sock.recv(1) == b""
        with pytest.raises(ServerError, match=r"expect_body\(\) needs an earlier expect_request\(body=False\)"):
            server.close()


def test_strict_false_keeps_a_request_h11_rejects() -> None:
    bad = b"GET / HTTP/1.1\r\nUser-Agent: no-host\r\n\r\n"
    with ScriptedServer() as server:
        server.add_connection(expect_request(strict=False), send(response()))
        with connect(server) as sock:
            sock.sendall(bad)
            assert recv_exactly(sock, len(response())) == response()
        server.close()  # no ServerError
        request = server.requests[0]
        assert request.error is not None and "Host" in request.error
        assert request.headers == [(b"User-Agent", b"no-host")]  # read from the raw head, not from h11
        assert request.field_lines == [b"User-Agent: no-host"]
        assert not request.complete
        assert request.raw == bad
        assert server.errors == []


def test_strict_rejected_request_is_raised_by_check_and_close() -> None:
    bad = b"GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n"
    server = ScriptedServer()
    try:
        server.add_connection(expect_request(), send(response()))
        with connect(server) as sock:
            sock.sendall(bad)
            assert sock.recv(1) == b""  # the script failed: the server closed without answering
        assert server.connection(0).wait_finished(TIMEOUT)
        with pytest.raises(ServerError, match="h11 rejects") as checked:
            server.check()
        assert isinstance(checked.value.__cause__, ScriptError)
        assert "connection 0, step 0 expect_request()" in str(checked.value)
        assert repr(bad) in str(checked.value)
        assert server.requests[0].error is not None
        with pytest.raises(ServerError, match="h11 rejects"):
            server.close()
    finally:
        server.close()  # idempotent: the second close neither raises nor blocks


# -- delivery -------------------------------------------------------------------------------------


def test_delivery_split_produces_the_segments() -> None:
    data = b"abcdef"
    assert WHOLE.split(data) == [b"abcdef"]
    assert BYTEWISE.split(data) == [b"a", b"b", b"c", b"d", b"e", b"f"]
    assert split_at(2, 4).split(data) == [b"ab", b"cd", b"ef"]
    assert split_at(4, 2).split(data) == [b"ab", b"cd", b"ef"]  # offsets are sorted
    assert split_at(0, 3, 6, 99).split(data) == [b"abc", b"def"]  # cuts outside the data are ignored
    assert WHOLE.split(b"") == BYTEWISE.split(b"") == split_at(1).split(b"") == [b""]
    assert (str(WHOLE), str(BYTEWISE), str(split_at(2, 4))) == ("whole", "bytewise", "split@2,4")
    step = send_segments([b"HTTP/1.1 ", b"200", b" OK\r\n"])
    assert isinstance(step, Send)
    assert step.delivery.split(step.data) == [b"HTTP/1.1 ", b"200", b" OK\r\n"]
    assert step.data == b"HTTP/1.1 200 OK\r\n"


class FakeConnection:
    """Stands in for ServerConnection to see how a Send step calls it."""

    def __init__(self, accept: int = 1000) -> None:
        self.calls: list[tuple[str, object]] = []
        self.accept = accept  # how many send() calls succeed

    def send(self, data: bytes) -> bool:
        self.calls.append(("send", data))
        return len([c for c in self.calls if c[0] == "send"]) <= self.accept

    def pause(self, seconds: float) -> None:
        self.calls.append(("pause", seconds))


def test_send_step_sends_each_segment_separately_with_a_pause_between() -> None:
    fake = FakeConnection()
    send(b"abc", BYTEWISE, pause=0.005).run(fake)  # type: ignore[arg-type]
    assert fake.calls == [("send", b"a"), ("pause", 0.005), ("send", b"b"), ("pause", 0.005), ("send", b"c")]

    fake = FakeConnection()
    send_segments([b"ab", b"cde"], pause=0.25).run(fake)  # type: ignore[arg-type]
    assert fake.calls == [("send", b"ab"), ("pause", 0.25), ("send", b"cde")]

    fake = FakeConnection()
    send(b"abc").run(fake)  # type: ignore[arg-type]
    assert fake.calls == [("send", b"abc")]

    fake = FakeConnection(accept=0)  # the client is gone: stop at the first failed send
    send(b"abc", BYTEWISE).run(fake)  # type: ignore[arg-type]
    assert fake.calls == [("send", b"a")]


DATA = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@pytest.mark.parametrize("delivery", [WHOLE, BYTEWISE, split_at(1, 9, 17, 40), Delivery("segments", (15, 17))],
                         ids=str)
def test_delivered_segments_arrive_exactly_and_never_split(delivery: Delivery) -> None:
    with ScriptedServer() as server:
        server.add_connection(expect_request(), send(DATA, delivery, pause=0.005), close())
        with connect(server) as sock:
            sock.sendall(get())
            received = recv_chunks_until_eof(sock)
        assert b"".join(received) == DATA
        assert bytes(server.connection(0).sent) == DATA
        # Each segment goes out in its own send(): a recv can coalesce segments but not cut one.
        segments = delivery.split(DATA)
        boundaries = {sum(map(len, segments[:i])) for i in range(len(segments) + 1)}
        offsets = [sum(map(len, received[:i])) for i in range(len(received) + 1)]
        assert set(offsets) <= boundaries, (received, segments)


def test_send_segments_over_the_wire() -> None:
    segments = [b"HTTP/1.1 200 OK\r\n", b"Content-Length: 2\r\n", b"\r\n", b"o", b"k"]
    with ScriptedServer() as server:
        server.add_connection(expect_request(), send_segments(segments, pause=0.005), close())
        with connect(server) as sock:
            sock.sendall(get())
            assert b"".join(recv_chunks_until_eof(sock)) == b"".join(segments)
        assert bytes(server.connection(0).sent) == b"".join(segments)


# -- several connections --------------------------------------------------------------------------


def test_each_connection_runs_its_own_script_in_accept_order() -> None:
    with ScriptedServer() as server:
        assert server.add_connection(respond(response(b"first"))) == 0
        assert server.add_connection(respond(response(b"second"))) == 1
        with connect(server) as a, connect(server) as b:
            # b is served while a still waits for its request: each connection has its own thread.
            b.sendall(get(b"/b"))
            assert recv_exactly(b, len(response(b"second"))) == response(b"second")
            a.sendall(get(b"/a"))
            assert recv_exactly(a, len(response(b"first"))) == response(b"first")
        assert [record.index for record in server.connections] == [0, 1]
        assert server.connection(0).requests[0].target == b"/a"
        assert server.connection(1).requests[0].target == b"/b"
        assert [r.target for r in server.requests] == [b"/a", b"/b"]  # accept order, not arrival order


def test_add_connection_takes_steps_flat_or_as_lists() -> None:
    with ScriptedServer() as server:
        server.add_connection([expect_request()], send(b"1"), [send(b"2"), send(b"3")], close())
        with connect(server) as sock:
            sock.sendall(get())
            assert b"".join(recv_chunks_until_eof(sock)) == b"123"


def test_unscripted_connection_is_recorded_and_closed_at_once() -> None:
    with ScriptedServer() as server:
        server.add_connection(respond(response()))
        with connect(server) as first:
            first.sendall(get())
            recv_exactly(first, len(response()))
            with connect(server) as extra:
                assert extra.recv(1) == b""  # EOF straight away
        extra_record = server.connection(1)
        assert extra_record.wait_finished(TIMEOUT)
        assert server.connection(0).scripted
        assert not extra_record.scripted
        assert extra_record.events == ["no script for this connection: closed at once"]
        assert extra_record.requests == []
    # closing the server raised nothing: an unscripted connection is not an error in itself


def test_connection_index_beyond_those_accepted_fails_clearly() -> None:
    with ScriptedServer() as server:
        with pytest.raises(AssertionError, match=r"expected at least 1 connection\(s\), the client opened 0"):
            server.connection(0)


# -- how a connection ends ------------------------------------------------------------------------


def test_half_close_client_sees_eof_and_can_still_send() -> None:
    with ScriptedServer() as server:
        server.add_connection(expect_request(), send(response()), half_close())
        with connect(server) as sock:
            sock.sendall(get())
            assert b"".join(recv_chunks_until_eof(sock)) == response()
            sock.sendall(b"after the server's FIN")
            sock.shutdown(socket.SHUT_WR)
            record = server.connection(0)
            assert record.wait_client_close(TIMEOUT)
        assert record.wait_finished(TIMEOUT)
        assert record.received.endswith(b"after the server's FIN")
        assert record.unparsed == b"after the server's FIN"
        assert record.events == ["server half-closed (FIN)", "client closed"]


def test_close_step_sends_eof() -> None:
    with ScriptedServer() as server:
        server.add_connection(expect_request(), send(response()), close())
        with connect(server) as sock:
            sock.sendall(get())
            assert b"".join(recv_chunks_until_eof(sock)) == response()
        record = server.connection(0)
        assert record.wait_finished(TIMEOUT)
        assert record.events == ["server closed"]


def test_step_after_close_is_a_script_error() -> None:
    with ScriptedServer() as server:
        server.add_connection(close(), send(b"too late"))
        with connect(server) as sock:
            assert sock.recv(1) == b""
        with pytest.raises(ServerError, match="comes after the connection was closed"):
            server.close()


def test_reset_step_client_sees_connection_reset() -> None:
    with ScriptedServer() as server:
        server.add_connection(expect_request(), reset())
        with connect(server) as sock:
            sock.sendall(get())
            with pytest.raises(ConnectionResetError):
                sock.recv(1)
        record = server.connection(0)
        assert record.wait_finished(TIMEOUT)
        assert record.events == ["server reset the connection (RST)"]


def test_stall_client_times_out_and_close_still_returns() -> None:
    with ScriptedServer() as server:
        server.add_connection(expect_request(), stall())
        with connect(server) as sock:
            sock.sendall(get())
            sock.settimeout(SHORT)
            with pytest.raises(TimeoutError):
                sock.recv(1)
            record = server.connection(0)
            assert not record.wait_finished(SHORT)
            assert not server.wait_idle(SHORT)
            server.close()  # with the client still connected and the script stalled
            assert server_threads(server) == []
            assert record.wait_finished(0)
        assert record.events == ["server stalls"]
        assert server.errors == []


def test_pause_step_between_sends() -> None:
    with ScriptedServer() as server:
        server.add_connection(send(b"before "), pause(0.01), send(b"after"), close())
        with connect(server) as sock:
            assert b"".join(recv_chunks_until_eof(sock)) == b"before after"


def test_close_interrupts_a_long_pause() -> None:
    reached = threading.Event()
    with ScriptedServer() as server:
        server.add_connection(call(signal(reached)), pause(3600))
        with connect(server) as sock:
            assert reached.wait(TIMEOUT)
            server.close()
            assert server_threads(server) == []
            assert sock.recv(1) == b""
        assert server.errors == []


# -- errors from the server's threads ------------------------------------------------------------


def test_call_handler_gets_the_connection_and_its_exception_is_reraised() -> None:
    def handler(conn: ServerConnection) -> None:
        conn.send(b"from handler")
        raise ValueError(f"boom on connection {conn.record.index}")

    server = ScriptedServer()
    try:
        server.add_connection(call(handler))
        with connect(server) as sock:
            assert b"".join(recv_chunks_until_eof(sock)) == b"from handler"
        with pytest.raises(ServerError, match="boom on connection 0") as raised:
            server.close()
        assert isinstance(raised.value.__cause__, ValueError)
        assert [type(e) for e in server.errors] == [ValueError]
        assert bytes(server.connection(0).sent) == b"from handler"
    finally:
        server.close()


def test_client_closing_before_the_expected_request_is_a_script_error() -> None:
    with ScriptedServer() as server:
        server.add_connection(send(b"hello"), expect_request())
        with connect(server) as sock:
            assert recv_exactly(sock, 5) == b"hello"
            sock.sendall(b"GET / HTTP/1.1\r\nHo")
        assert server.connection(0).wait_finished(TIMEOUT)
        with pytest.raises(ServerError) as raised:
            server.close()
        message = str(raised.value)
        assert "connection 0, step 1 expect_request()" in message
        assert "the client closed the connection after 18 bytes of an expected request" in message
        assert repr(b"GET / HTTP/1.1\r\nHo") in message
        assert isinstance(raised.value.__cause__, ScriptError)
        assert server.connection(0).client_closed


@pytest.mark.parametrize("where", ["step", "server"])
def test_silent_client_fails_the_step_after_its_timeout(where: str) -> None:
    if where == "step":
        server, step = ScriptedServer(), expect_request(timeout=SHORT)
    else:
        server, step = ScriptedServer(step_timeout=SHORT), expect_request()
    with server:
        server.add_connection(step)
        with connect(server) as sock:
            assert sock.recv(1) == b""  # the script gave up and closed
        with pytest.raises(ServerError, match=f"the client sent nothing for {SHORT} s"):
            server.close()


def test_exit_adds_a_note_to_an_exception_already_in_flight() -> None:
    def handler(conn: ServerConnection) -> None:
        raise ValueError("boom in the handler")

    with pytest.raises(KeyError) as raised:
        with ScriptedServer() as server:
            server.add_connection(call(handler))
            with connect(server) as sock:
                assert sock.recv(1) == b""
            raise KeyError("the test's own failure")
    assert raised.value.args == ("the test's own failure",)
    notes = getattr(raised.value, "__notes__", [])
    assert len(notes) == 1 and "boom in the handler" in notes[0]


def test_exit_raises_server_error_when_the_test_passed() -> None:
    def handler(conn: ServerConnection) -> None:
        raise ValueError("boom in the handler")

    with pytest.raises(ServerError, match="boom in the handler"):
        with ScriptedServer() as server:
            server.add_connection(call(handler))
            with connect(server) as sock:
                assert sock.recv(1) == b""


# -- shutdown -------------------------------------------------------------------------------------


def test_close_ends_every_script_and_joins_every_thread() -> None:
    before = set(threading.enumerate())
    started = [threading.Event() for _ in range(4)]
    sockets: list[socket.socket] = []

    def capture(event: threading.Event) -> Callable[[ServerConnection], None]:
        def handler(conn: ServerConnection) -> None:
            sockets.append(conn.sock)
            event.set()
        return handler

    server = ScriptedServer()
    server.add_connection(call(capture(started[0])), stall())
    server.add_connection(call(capture(started[1])), pause(3600))
    server.add_connection(call(capture(started[2])), send(b"x"))  # then drains until the client closes
    server.add_connection(call(capture(started[3])), half_close())
    clients = [connect(server) for _ in started]
    try:
        assert all(event.wait(TIMEOUT) for event in started)
        assert len(server_threads(server)) == 5  # accept + 4 connections
        server.close()
    finally:
        for client in clients:
            client.close()
    assert [t for t in threading.enumerate() if t not in before] == []
    assert server.errors == []
    assert all(record.wait_finished(0) for record in server.connections)
    assert [sock.fileno() for sock in sockets] == [-1, -1, -1, -1]
    assert server._listener.fileno() == -1


def test_close_while_a_step_awaits_the_client_is_reported() -> None:
    started = [threading.Event(), threading.Event()]
    server = ScriptedServer()
    server.add_connection(call(signal(started[0])), expect_request())
    server.add_connection(expect_request(body=False), call(signal(started[1])), expect_body())
    with connect(server), connect(server) as second:
        second.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\npart")  # body unfinished
        assert all(event.wait(TIMEOUT) for event in started)
        with pytest.raises(ServerError) as raised:
            server.close()
        assert server_threads(server) == []
    message = str(raised.value)
    assert ("connection 0, step 1 expect_request(): the test ended before the client sent what this "
            "step expects") in message
    assert "connection 1, step 2 expect_body(): the test ended before the client sent" in message
    assert all(isinstance(error, ScriptError) for error in server.errors)


def test_a_script_the_client_never_used_is_reported_by_close() -> None:
    with ScriptedServer() as server:
        server.add_connection(respond(response()))
        server.add_connection(respond(response()))
        with connect(server) as sock:
            sock.sendall(get())
            recv_exactly(sock, len(response()))
        with pytest.raises(ServerError, match=r"the script for connection 1 never ran: the client opened "
                                              r"1 connection\(s\), the scenario expected 2"):
            server.close()


def test_an_optional_script_may_go_unused() -> None:
    with ScriptedServer() as server:
        server.add_connection(respond(response()))
        assert server.add_connection(respond(response()), optional=True) == 1
        with connect(server) as sock:
            sock.sendall(get())
            recv_exactly(sock, len(response()))
        assert server.connection(0).wait_client_close(TIMEOUT)
    assert server.errors == []


@pytest.mark.parametrize("optional", [True, False])
def test_an_optional_connection_the_client_sends_nothing_on(optional: bool) -> None:
    # A client may connect, then refuse the request before sending a byte: on an optional
    # connection that is not an error; on a required one (the control) it is.
    server = ScriptedServer()
    server.add_connection(respond(response()), optional=optional)
    with connect(server):
        pass
    assert server.wait_connections(1, TIMEOUT) and server.connection(0).wait_finished(TIMEOUT)
    if optional:
        server.close()
        assert "sent nothing" in server.connection(0).events[-1]
    else:
        with pytest.raises(ServerError, match="closed"):
            server.close()


def test_close_interrupts_a_send_the_client_does_not_read() -> None:
    # A response far larger than the socket buffers, to a client that never reads: close() must
    # still end the send within the join deadline, like every other wait of the server.
    server = ScriptedServer(join_deadline=0.5)
    server.add_connection(send(b"x" * 50_000_000))
    sock = connect(server)
    try:
        readable, _, _ = select.select([sock], [], [], TIMEOUT)
        assert readable  # the server is sending
        server.close()
        assert server_threads(server) == []
    finally:
        sock.close()  # lets a send stuck in the kernel fail, so that its thread ends
        for thread in server_threads(server):
            thread.join(TIMEOUT)


def test_no_socket_is_left_for_the_garbage_collector() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ScriptedServer() as server:
            server.add_connection(respond(response()))
            server.add_connection(stall())
            with connect(server) as sock:
                sock.sendall(get())
                recv_exactly(sock, len(response()))
            with connect(server) as sock:
                sock.settimeout(SHORT)
                with pytest.raises(TimeoutError):
                    sock.recv(1)
        del server, sock
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_close_twice_is_harmless() -> None:
    server = ScriptedServer()
    server.close()
    server.close()
    assert server_threads(server) == []


def test_a_thread_that_cannot_stop_makes_close_raise() -> None:
    started, release = threading.Event(), threading.Event()

    def stubborn(conn: ServerConnection) -> None:
        started.set()
        release.wait(TIMEOUT)  # deliberately deaf to the server's shutdown

    server = ScriptedServer(join_deadline=SHORT)
    server.add_connection(call(stubborn))
    sock = connect(server)
    try:
        assert started.wait(TIMEOUT)
        with pytest.raises(ServerError, match=f"did not stop within {SHORT} s") as raised:
            server.close()
        assert f"scripted-server-{server.port}-conn0" in str(raised.value)
        stuck = server_threads(server)
        assert [t.name for t in stuck] == [f"scripted-server-{server.port}-conn0"]
    finally:
        release.set()
        for thread in server_threads(server):
            thread.join(TIMEOUT)
        sock.close()
    assert server_threads(server) == []


# -- waiting for the client -----------------------------------------------------------------------


def test_wait_client_close_and_client_closed() -> None:
    with ScriptedServer() as server:
        server.add_connection(respond(response()))
        with connect(server) as sock:
            sock.sendall(get())
            recv_exactly(sock, len(response()))
            record = server.connection(0)
            assert not record.client_closed
            assert not record.wait_client_close(SHORT)
        assert record.wait_client_close(TIMEOUT)
        assert record.client_closed and not record.client_reset
        assert record.events == ["client closed"]


def test_client_reset_is_recorded() -> None:
    with ScriptedServer() as server:
        server.add_connection(respond(response()))
        sock = connect(server)
        sock.sendall(get())
        recv_exactly(sock, len(response()))
        abort(sock)
        record = server.connection(0)
        assert record.wait_client_close(TIMEOUT)
        assert record.client_reset
        assert record.events == ["client closed (reset)"]


def test_sending_to_a_client_that_is_gone_is_recorded_not_raised() -> None:
    with ScriptedServer() as server:
        server.add_connection(send(b"hi"), stall(), send(b"too late"))
        sock = connect(server)
        assert recv_exactly(sock, 2) == b"hi"
        abort(sock)
        record = server.connection(0)
        assert record.wait_finished(TIMEOUT)
        assert record.client_reset
        assert bytes(record.sent) == b"hi"
        assert record.events[:2] == ["server stalls", "client closed (reset)"]
        assert record.events[2].startswith("send failed, client gone: ")


def test_wait_idle() -> None:
    with ScriptedServer() as server:
        assert server.wait_idle(0)  # nothing accepted yet
        server.add_connection(respond(response(b"1")))
        server.add_connection(respond(response(b"2")))
        with connect(server) as a, connect(server) as b:
            for sock, body in ((a, b"1"), (b, b"2")):
                sock.sendall(get())
                recv_exactly(sock, len(response(body)))
            assert not server.wait_idle(SHORT)  # both scripts drain until their client closes
        assert server.wait_idle(TIMEOUT)
        assert all(record.client_closed for record in server.connections)


def test_wait_connections() -> None:
    with ScriptedServer() as server:
        server.add_connection()
        assert not server.wait_connections(1, 0.01), "no client has connected yet"
        with socket.create_connection(("127.0.0.1", server.port)):
            assert server.wait_connections(1, 2.0)
            assert server.connection(0).scripted
            assert not server.wait_connections(2, 0.01), "only one connection was made"


def test_half_close_after_the_client_reset_is_not_an_error() -> None:
    # A client that aborts (RST) before the script's half-close: shutdown() then finds no
    # connection (ENOTCONN), which is the client's doing, not a server failure.
    def wait_for_reset(conn: ServerConnection) -> None:
        readable, _, _ = select.select([conn.sock], [], [], TIMEOUT)
        assert readable
        with pytest.raises(ConnectionResetError):
            conn.sock.recv(1)

    with ScriptedServer() as server:
        server.add_connection(call(wait_for_reset), half_close())
        abort(connect(server))
        assert server.connection(0).wait_finished(TIMEOUT) if server.wait_connections(1, TIMEOUT) else False
    assert server.errors == []
    assert any("already reset" in event for event in server.connection(0).events)


@pytest.mark.parametrize("sends_again", [True, False])
def test_respond_if_sent(sends_again: bool) -> None:
    # The step answers a second request when it comes, and ends quietly when the client closes.
    with ScriptedServer() as server:
        server.add_connection(respond(response()), respond_if_sent(response(b"two")))
        with connect(server) as sock:
            sock.sendall(get())
            recv_exactly(sock, len(response()))
            if sends_again:
                sock.sendall(get(b"/2"))
                assert recv_exactly(sock, len(response(b"two"))) == response(b"two")
        assert server.connection(0).wait_finished(TIMEOUT)
    assert [request.target for request in server.requests] == [b"/", b"/2"][: 2 if sends_again else 1]


# -- what the scenario deadline and the harness's checks read -------------------------------------------


def _until(done: Callable[[], bool]) -> bool:
    """Poll (bounded) for kernel state that no event announces: a packet's arrival."""
    end = time.monotonic() + TIMEOUT
    while not done():
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True


def test_progress_says_when_and_what_moved_last() -> None:
    with ScriptedServer() as server:
        server.add_connection(expect_request(), send(response()))
        with connect(server) as sock:
            assert server.wait_connections(1)
            record = server.connection(0)
            accepted_at = record.progress_at
            assert record.last_moved == "accepted"
            sock.sendall(get())
            recv_exactly(sock, len(response()))
            assert _until(lambda: record.last_moved == "sent"), "recorded by the thread once send() returned"
            assert record.progress_at > accepted_at
        assert record.wait_client_close(TIMEOUT)
        assert record.last_moved == "closed"


def test_closed_by_client_now_asks_the_kernel_not_the_thread() -> None:
    # The server's thread waits on the test, reading nothing: only the kernel knows of the close.
    release = threading.Event()
    with ScriptedServer() as server:
        server.add_connection(call(lambda conn: release.wait(TIMEOUT)))
        sock = connect(server)
        assert server.wait_connections(1)
        record = server.connection(0)
        assert not record.closed_by_client_now(), "control: an open connection"
        sock.close()
        assert _until(record.closed_by_client_now)
        assert not record.client_closed, "the thread has not read the close yet"
        release.set()
        assert record.wait_client_close(TIMEOUT)


def test_connections_opened_counts_what_the_client_opened() -> None:
    with ScriptedServer() as server:
        assert server.connections_opened() == 0, "control: none opened"
        with connect(server), connect(server):
            assert server.connections_opened() == 2


def test_loopback_barrier_sees_its_own_close_arrive() -> None:
    assert loopback_barrier(TIMEOUT)


def test_busy_while_the_kernel_holds_what_the_thread_has_not_read() -> None:
    release = threading.Event()
    with ScriptedServer() as server:
        server.add_connection(call(lambda conn: release.wait(TIMEOUT)))  # waits on the test
        with connect(server) as sock:
            assert server.wait_connections(1)
            assert _until(lambda: not server.busy()), "control: a thread waiting on the test is not busy"
            sock.sendall(b"x")
            assert _until(server.busy), "bytes the thread has not read are the server's to handle"
            release.set()
            assert _until(lambda: not server.busy()), "read, in the drain after the script"


# -- flood(): a server that keeps sending as long as the client reads ----------------------------


def test_flood_sends_head_units_and_tail_to_a_client_that_reads_it_all() -> None:
    head, unit, tail = b"HTTP/1.1 200 OK\r\n", b"X-Flood: 0123456789\r\n", b"\r\n"
    count = (3 << 20) // len(unit)  # 3 MiB: beyond one send and beyond the final stretch
    step = flood(head, unit, count, tail)
    with ScriptedServer() as server:
        server.add_connection(expect_request(), step)
        with connect(server) as sock:
            sock.sendall(get())
            expected = head + unit * count + tail
            assert recv_exactly(sock, len(expected)) == expected
        record = server.connection(0)
        assert record.wait_finished(TIMEOUT)
    progress = step.progress
    assert (progress.octets, progress.reached_end, progress.client_gone) == (count * len(unit), True, False)
    assert bytes(record.sent) == head + tail, "the flood itself is counted, not recorded"
    assert record.flooded == count * len(unit)


def test_a_timeout_reason_counts_the_flooded_octets_too() -> None:
    record = ConnectionRecord(0, ("127.0.0.1", 1), sent=bytearray(b"HTTP/1.1 200 OK\r\n"), flooded=1 << 20)
    record._moved("sent")
    assert describe(record) == f"reading the response on connection 0 (the server sent {17 + (1 << 20)} bytes)"


def test_flood_stops_when_the_client_closes_and_never_reaches_its_end() -> None:
    unit = b"x" * 1000
    count = (64 << 20) // len(unit)
    head = b"HTTP/1.1 200 OK\r\n\r\n"
    step = flood(head, unit, count)
    with ScriptedServer() as server:
        server.add_connection(expect_request(), step)
        with connect(server) as sock:
            sock.sendall(get())
            assert len(recv_exactly(sock, 100_000)) == 100_000
            abort(sock)  # what a client that gives up does, unread data left in its buffer
        record = server.connection(0)
        assert record.wait_finished(TIMEOUT)
    progress = step.progress
    assert progress.client_gone and not progress.reached_end
    assert 100_000 - len(head) <= progress.octets < count * len(unit) // 2, progress
    assert record.events[-1].startswith("flood: ") and record.events[-1].endswith("the client went away")


def test_flood_of_a_client_that_stops_reading_ends_with_the_server() -> None:
    step = flood(b"", b"y" * 4096, 16384)  # 64 MiB
    with ScriptedServer() as server:
        server.add_connection(expect_request(), step)
        with connect(server) as sock:
            sock.sendall(get())
            assert sock.recv(1) == b"y"
            assert _until(lambda: step.progress.octets >= 1 << 20), "the flood goes on while the client does not read"
    # The server's close ended the step (a thread left blocked in its send would fail the close).
    assert not step.progress.reached_end and step.progress.octets < 40 << 20


def test_flood_without_a_unit_is_a_script_error() -> None:
    with ScriptedServer() as server:
        server.add_connection(flood(b"head", b"", 5))
        with connect(server) as sock:
            assert sock.recv(10) == b"", "nothing is sent"
            assert server.connection(0).wait_finished(TIMEOUT)
        with pytest.raises(ServerError, match="at least one octet"):
            server.close()


def test_the_end_of_the_servers_own_work_counts_as_progress() -> None:
    # After a pause (the server's time), the client's time starts when the server waits on it
    # again, not at the last byte before the pause: else a deadline alarm landing just then would
    # charge the pause to the client.
    seen: list[float] = []
    with ScriptedServer() as server:
        server.add_connection(expect_request(), call(lambda conn: seen.append(conn.record.progress_at)), pause(0.05),
                              call(lambda conn: seen.append(conn.record.progress_at)), send(b"HTTP/1.1 204 No Content\r\n\r\n"))
        with connect(server) as sock:
            sock.sendall(get())
            assert sock.recv(100).startswith(b"HTTP/1.1 204")
    before_pause, after_pause = seen
    assert after_pause - before_pause >= 0.05


def test_server_threads_leave_the_main_threads_signals_to_it() -> None:
    # SIGINT (Ctrl-C) and SIGALRM (the scenario deadline) must reach the main thread, even when it
    # is blocked in a lock's wait: server threads block them, so the kernel cannot pick one of them.
    masks: list[set[signals.Signals]] = []
    recorded = threading.Event()

    def record_mask(conn: object = None) -> None:
        masks.append(signals.pthread_sigmask(signals.SIG_BLOCK, []))
        recorded.set()

    plain = threading.Thread(target=record_mask)
    plain.start()
    plain.join(TIMEOUT)
    recorded.clear()
    with ScriptedServer() as server:
        server.add_connection(call(record_mask))
        with connect(server):
            assert recorded.wait(TIMEOUT)
    control, in_server = masks
    assert not {signals.SIGINT, signals.SIGALRM} & control  # the control: a thread of its own blocks neither
    assert {signals.SIGINT, signals.SIGALRM} <= in_server


# -- serve(routes): every connection answered by target (servers/routes.py) ----------------------------


def test_serve_answers_each_request_by_target_on_every_connection() -> None:
    routes: dict = {"/a": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
                    "/b": lambda request: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(request.method),
                                                                                               request.method)}
    with ScriptedServer(every_connection=[serve(routes)]) as server:
        for _ in range(2):  # two connections, neither scripted with add_connection
            conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
            try:
                conn.request("GET", "/a?x=1")  # the query is dropped when the whole target has no route
                assert conn.getresponse().read() == b"a"
                conn.request("POST", "/b", body=b"")
                assert conn.getresponse().read() == b"POST"
                conn.request("GET", "/nowhere")
                missing = conn.getresponse()
                assert (missing.status, missing.read()) == (404, b"no route for '/nowhere'")
            finally:
                conn.close()
        assert server.wait_idle()
    assert [request.target for request in server.requests] == [b"/a?x=1", b"/b", b"/nowhere"] * 2


def test_serve_closes_after_a_response_that_says_connection_close() -> None:
    routes: dict = {"/bye": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"}
    with ScriptedServer(every_connection=[serve(routes)]) as server:
        sock = connect(server)
        try:
            sock.sendall(b"GET /bye HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while chunk := sock.recv(4096):  # the server's close ends the loop
                received += chunk
        finally:
            sock.close()
    assert received.startswith(b"HTTP/1.1 200 OK") and "server closed (Connection: close)" in server.connections[0].events
