"""More of the reference's connection side: send() itself, refused framing and bodies, the socket
options at connect, how an idle connection is checked before reuse (plain TCP and TLS), zone ids in
Host, and the default TLS context where OpenSSL lacks post-handshake authentication.

tests/test_reference_connection.py covers tunnels, debug output, audit events and the state
machine; this file covers what it leaves out. Every socket is a ScriptedServer's; TLS is done inside
a script step with a trustme CA.
"""

from __future__ import annotations

import errno
import io
import os
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme

from h1conform import reference
from h1conform.reference import _connection
from h1conform.servers import ScriptedServer, ServerConnection, call, close, expect_request, respond, send

TIMEOUT = 5.0
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


def connection(server: ScriptedServer) -> reference.HTTPConnection:
    return reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)


# -- send() --------------------------------------------------------------------------------------


def test_send_iterable_and_refused_types(server: ScriptedServer) -> None:
    received = threading.Event()
    server.add_connection(expect_request(), call(lambda c: received.set()))
    conn = connection(server)
    for data in ("GET / HTTP/1.1\r\n", None, 42):
        with pytest.raises(TypeError, match=f"^data should be a bytes-like object or an iterable, got {type(data)!r}$"):
            conn.send(data)  # type: ignore[arg-type]
    conn.send(iter([b"GET /it HTTP/1.1\r\n", bytearray(b"Host: x\r\n"), memoryview(b"\r\n")]))
    assert received.wait(TIMEOUT)
    conn.close()
    assert server.connection(0).wait_client_close(TIMEOUT)
    assert server.connection(0).received == b"GET /it HTTP/1.1\r\nHost: x\r\n\r\n", "nothing of the refused data"


# -- refused framing and bodies ----------------------------------------------------------------------


def test_putheader_both_framing_fields_refused_at_endheaders(server: ScriptedServer) -> None:
    server.add_connection(respond(OK))
    conn = connection(server)
    conn.putrequest("POST", "/")
    conn.putheader("Content-Length", 2)
    conn.putheader("Transfer-Encoding", "chunked")
    with pytest.raises(ValueError, match=r"both Content-Length and Transfer-Encoding \(RFC 9112 6.2\)"):
        conn.endheaders(b"hi")
    # Nothing was sent and the connection is idle again: the next request is the first one sent.
    conn.putrequest("POST", "/")
    conn.putheader("Content-Length", 2)
    conn.endheaders(b"hi")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    (request,) = server.requests
    assert (request.header("content-length"), request.header("transfer-encoding"), request.body) == (b"2", None, b"hi")


def test_putheader_value_type(server: ScriptedServer) -> None:
    server.add_connection(respond(OK))
    conn = connection(server)
    conn.putrequest("GET", "/")
    with pytest.raises(TypeError, match="^header value must be str, bytes-like or int, got float$"):
        conn.putheader("X-A", 1.5)  # type: ignore[arg-type]
    conn.putheader("X-B", 15)
    conn.putheader("X-C", bytearray(b" c "))
    conn.endheaders()
    assert conn.getresponse().read() == b"ok"
    conn.close()
    assert server.requests[0].field_lines[-2:] == [b"X-B: 15", b"X-C: c"]
    assert server.requests[0].header("x-a") is None


def test_endheaders_str_body_is_sent_latin_1(server: ScriptedServer) -> None:
    server.add_connection(respond(OK))
    conn = connection(server)
    conn.putrequest("POST", "/")
    conn.putheader("Content-Length", 4)
    conn.endheaders("caf\u00e9")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    assert server.requests[0].body == b"caf\xe9"


def test_body_of_wrong_type_refused_before_sending(server: ScriptedServer) -> None:
    server.add_connection(call(lambda c: None), optional=True)
    conn = connection(server)
    with pytest.raises(TypeError, match="^message_body should be a bytes-like object or an iterable, got <class 'int'>$"):
        conn.request("POST", "/", body=42)  # type: ignore[arg-type]
    conn.close()
    assert server.wait_idle()
    assert server.bytes_received == 0


def test_request_refused_for_its_body_type_leaves_the_connection_idle(server: ScriptedServer) -> None:
    # BUG: nothing was sent (the body's type is checked before the head), yet the connection is
    # left in state Request-sent, so the next request raises CannotSendRequest('Request-sent').
    # CHOICES.md: "A request refused by request() ... leaves the connection idle and unchanged";
    # endheaders() already resets the state when it refuses both framing fields.
    server.add_connection(respond(OK), optional=True)
    conn = connection(server)
    with pytest.raises(TypeError):
        conn.request("POST", "/", body=42)  # type: ignore[arg-type]
    try:
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"ok"
    finally:
        conn.close()


@pytest.mark.parametrize("item", [pytest.param(b"abc", id="bytes"), pytest.param("abc", id="str")])
def test_iterable_body_items_must_be_bytes(server: ScriptedServer, item: bytes | str) -> None:
    # An iterable is consumed as it is sent: a str item is found after the head went out.
    head_received = threading.Event()
    server.add_connection(expect_request(body=item == b"abc"), call(lambda c: head_received.set()), send(OK))
    conn = connection(server)
    if isinstance(item, bytes):
        conn.request("POST", "/", body=iter([item]))
        assert conn.getresponse().read() == b"ok"
        conn.close()
        assert server.requests[0].body == b"abc"
        return
    with pytest.raises(TypeError, match="^an iterable body must give bytes-like objects, got str 'abc'$"):
        conn.request("POST", "/", body=iter([item]))
    assert head_received.wait(TIMEOUT)
    conn.close()
    assert server.requests[0].header("transfer-encoding") == b"chunked"


# -- Host and CONNECT targets ------------------------------------------------------------------------


def test_set_tunnel_with_callers_host_field(server: ScriptedServer) -> None:
    server.add_connection(expect_request(strict=False), send(b"HTTP/1.1 200 OK\r\n\r\n"), respond(OK))
    conn = connection(server)
    conn.set_tunnel("target.example", 8443, headers={"host": "alias.example:8443", "X-P": "1"})
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    assert server.requests[0].raw == (b"CONNECT target.example:8443 HTTP/1.1\r\nhost: alias.example:8443\r\n"
                                      b"X-P: 1\r\n\r\n"), "the caller's Host only, not a second one"


def test_tunnel_host_zone_id_not_sent(server: ScriptedServer) -> None:
    # RFC 6874 4: a link-local address's zone id means something on the client only.
    server.add_connection(expect_request(strict=False), send(b"HTTP/1.1 200 OK\r\n\r\n"), respond(OK))
    conn = connection(server)
    conn.set_tunnel("[fe80::1%eth0]", 8443)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    connect, tunnelled = server.requests
    assert connect.raw == b"CONNECT [fe80::1]:8443 HTTP/1.1\r\nHost: [fe80::1]:8443\r\n\r\n"
    assert tunnelled.header("host") == b"[fe80::1]:8443"


def test_absolute_form_zone_id_not_in_host(server: ScriptedServer) -> None:
    server.add_connection(respond(OK), respond(OK))
    conn = connection(server)
    conn.request("GET", "http://[fe80::1%25eth0]:8080/x")
    conn.getresponse().read()
    conn.request("GET", "http://[fe80::1]:8080/x")  # the control, without a zone id
    conn.getresponse().read()
    conn.close()
    zoned, plain = server.requests
    assert zoned.target == b"http://[fe80::1%25eth0]:8080/x", "the target is sent as given"
    assert zoned.header("host") == plain.header("host") == b"[fe80::1]:8080"


def test_connect_authority_form_host(server: ScriptedServer) -> None:
    # BUG: RFC 9112 3.2 (a client MUST send a Host "identical to that authority component") and
    # 3.3 (for authority-form the target URI's authority is the request-target): a CONNECT sent
    # with request() gets Host: <proxy host:port> instead of the tunnel target; the reference's own
    # set_tunnel() CONNECT gets it right.
    server.add_connection(expect_request(strict=False), send(b"HTTP/1.1 200 OK\r\n\r\n"))
    conn = connection(server)
    conn.request("CONNECT", "target.example:443")
    response = conn.getresponse()
    conn.close()
    response.close()
    assert server.requests[0].raw.startswith(b"CONNECT target.example:443 HTTP/1.1\r\n")
    assert server.requests[0].header("host") == b"target.example:443"


# -- connecting ----------------------------------------------------------------------------------------


class _NoDelayRefusingSocket(socket.socket):
    """A socket whose setsockopt() fails with `error` (as on a transport without TCP_NODELAY)."""

    error = errno.ENOPROTOOPT

    def setsockopt(self, *args: Any) -> None:  # type: ignore[override]
        raise OSError(self.error, os.strerror(self.error))


def _patch_create_connection(monkeypatch: pytest.MonkeyPatch, error: int) -> list[socket.socket]:
    made: list[socket.socket] = []
    refusing = type("Refusing", (_NoDelayRefusingSocket,), {"error": error})

    def create_connection(address: tuple[str, int], timeout: float | None = None,
                          source_address: Any = None) -> socket.socket:
        sock = refusing(socket.AF_INET, socket.SOCK_STREAM)
        made.append(sock)
        sock.settimeout(timeout)
        sock.connect(address)
        return sock

    monkeypatch.setattr(_connection.socket, "create_connection", create_connection)
    return made


def test_tcp_nodelay_unsupported_is_ignored(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.add_connection(respond(OK))
    made = _patch_create_connection(monkeypatch, errno.ENOPROTOOPT)
    conn = connection(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    assert conn.sock is made[0]
    conn.close()


def test_tcp_nodelay_other_error_closes(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.add_connection(call(lambda c: None), optional=True)
    made = _patch_create_connection(monkeypatch, errno.EINVAL)
    conn = connection(server)
    with pytest.raises(OSError) as info:
        conn.request("GET", "/")
    assert info.value.errno == errno.EINVAL
    assert conn.sock is None and made[0].fileno() == -1, "the socket is closed, not leaked"
    conn.close()


def test_default_context_without_post_handshake_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    real = reference.HTTPSConnection("example.org")._context
    assert real.post_handshake_auth is True, "the control: set where OpenSSL supports it"

    class Context(ssl.SSLContext):
        @property  # type: ignore[override]
        def post_handshake_auth(self) -> None:  # read-only: assigning it would raise
            return None

    made: list[ssl.SSLContext] = []
    monkeypatch.setattr(_connection.ssl, "create_default_context",
                        lambda: made.append(Context(ssl.PROTOCOL_TLS_CLIENT)) or made[-1])
    conn = reference.HTTPSConnection("example.org")
    assert conn._context is made[0] and conn._context.post_handshake_auth is None


# -- reusing an idle connection --------------------------------------------------------------------------


def test_idle_connection_closed_by_server_is_replaced(server: ScriptedServer,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    server.add_connection(respond(OK), close())
    server.add_connection(respond(SECOND))
    conn = connection(server)
    conn.request("GET", "/1")
    assert conn.getresponse().read() == b"ok"
    assert server.connection(0).wait_finished(TIMEOUT)  # the server's FIN is on its way
    assert select.select([conn.sock], [], [], TIMEOUT)[0], "the FIN arrived"
    conn.set_debuglevel(1)
    conn.request("GET", "/2")
    assert conn.getresponse().read() == b"second", "not RemoteDisconnected"
    conn.close()
    assert "idle connection closed by the server or with stray data: reconnecting" in capsys.readouterr().out.splitlines()
    assert len(server.connections) == 2


def test_unusable_socket_is_replaced(server: ScriptedServer) -> None:
    server.add_connection(respond(OK))
    server.add_connection(respond(SECOND))
    conn = connection(server)
    conn.request("GET", "/1")
    assert conn.getresponse().read() == b"ok"
    assert conn.sock is not None
    conn.sock.close()  # behind the connection's back: poll() cannot take it
    conn.request("GET", "/2")
    assert conn.getresponse().read() == b"second"
    conn.close()
    assert len(server.connections) == 2


def test_getresponse_twice(server: ScriptedServer) -> None:
    server.add_connection(respond(OK))
    conn = connection(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    with pytest.raises(reference.ResponseNotReady) as info:
        conn.getresponse()
    assert info.value.args == ("Idle",), "no request outstanding"
    conn.close()


def test_response_to_pipelined_request_after_first_read(server: ScriptedServer) -> None:
    # BUG: http.client allows sending a second request before the first response is read (the
    # reference's _drop_if_not_idle() keeps that on purpose) and returns its response once the
    # first one is read. The reference's first response sees the second response's octets as
    # stray data after its end (R15) and shuts the socket down, so the second getresponse() raises
    # RemoteDisconnected; here the second request *is* outstanding (RFC 9112 9.2 is about data
    # on a connection without outstanding requests).
    both_sent = threading.Event()
    server.add_connection(expect_request(), send(OK), expect_request(), send(SECOND),
                          call(lambda c: both_sent.set()))
    conn = connection(server)
    try:
        conn.request("GET", "/1")
        first = conn.getresponse()
        conn.request("GET", "/2")
        assert both_sent.wait(TIMEOUT)
        assert first.read() == b"ok"
        assert conn.getresponse().read() == b"second"
    finally:
        conn.close()


# -- the same over TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


TLSAction = Callable[[ssl.SSLSocket, ServerConnection], None]


def _tls(ca: trustme.CA, *actions: TLSAction) -> Any:
    """A script step: the TLS handshake (TLS 1.3, with session tickets), then `actions` in order."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)

    def handler(conn: ServerConnection) -> None:
        conn.sock.setblocking(True)
        conn.sock.settimeout(TIMEOUT)
        with context.wrap_socket(conn.sock, server_side=True) as tls:
            for action in actions:
                action(tls, conn)
        conn.close()

    return call(handler)


def _read_request(tls: ssl.SSLSocket, conn: ServerConnection) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            received = tls.recv(65536)
        except OSError:
            received = b""
        if not received:
            raise AssertionError(f"the client closed the connection after {data!r} instead of a request")
        data += received
    conn.record.received += data


def _send(data: bytes) -> TLSAction:
    return lambda tls, conn: tls.sendall(data)


def _signal(event: threading.Event) -> TLSAction:
    return lambda tls, conn: event.set()


def _wait(event: threading.Event) -> TLSAction:
    return lambda tls, conn: None if event.wait(TIMEOUT) else pytest.fail("the client did not get there")


def _drain(tls: ssl.SSLSocket, conn: ServerConnection) -> None:
    try:
        while tls.recv(65536):
            pass
    except OSError:
        pass


def _https(server: ScriptedServer, ca: trustme.CA) -> reference.HTTPSConnection:
    conn = reference.HTTPSConnection("localhost", server.port, timeout=TIMEOUT)
    ca.configure_trust(conn._context)
    return conn


def test_tls_session_tickets_do_not_count_as_input(server: ScriptedServer, ca: trustme.CA) -> None:
    # A TLS 1.3 server sends session tickets after the handshake: the socket is readable, yet
    # there is no data; the connection is kept for the request.
    server.add_connection(_tls(ca, _read_request, _send(OK), _drain))
    conn = _https(server, ca)
    conn.connect()
    assert conn.sock is not None and conn.sock.version() == "TLSv1.3"
    assert select.select([conn.sock], [], [], TIMEOUT)[0], "the tickets arrived"
    sock = conn.sock
    conn.request("GET", "/")
    assert conn.sock is sock
    assert conn.getresponse().read() == b"ok"
    conn.close()
    assert len(server.connections) == 1


def test_tls_keep_alive(ca: trustme.CA) -> None:
    # BUG: over TLS no connection is ever reused. At the end of a kept-alive response,
    # HTTPResponse._has_stray_octets() peeks with a zero timeout; on an SSLSocket with nothing to
    # read that raises ssl.SSLWantReadError (an OSError, errno SSL_ERROR_WANT_READ, which
    # SocketIO.readinto does not treat as "would block"), taken as "the connection is broken":
    # the response is aborted (will_close True, socket shut down) and every request opens a new
    # connection. http.client reuses it.
    with ScriptedServer() as server:  # the server's complaint becomes a note on the failure
        server.add_connection(_tls(ca, _read_request, _send(OK), _read_request, _send(SECOND), _drain))
        server.add_connection(_tls(ca, _read_request, _send(SECOND), _drain), optional=True)
        conn = _https(server, ca)
        try:
            conn.request("GET", "/1")
            with conn.getresponse() as first:
                assert first.read() == b"ok"
                assert first.will_close is False, "the response kept its connection"
            conn.request("GET", "/2")
            assert conn.getresponse().read() == b"second"
        finally:
            conn.close()
        assert len(server.connections) == 1


@pytest.mark.parametrize("after", ["data", "not-tls"])
def test_tls_idle_connection_with_input_is_replaced(server: ScriptedServer, ca: trustme.CA, after: str) -> None:
    # The first response is closed once its head is read (its body came in the same TLS record
    # and goes with the response's buffer), which leaves the connection idle and kept; then the
    # server sends application data, or octets that are no TLS record at all.
    closed, sent = threading.Event(), threading.Event()

    def stray(tls: ssl.SSLSocket, conn: ServerConnection) -> None:
        if after == "data":
            tls.sendall(b"HTTP/1.1 200 OK\r\n")  # recv() returns it
        else:
            os.write(tls.fileno(), b"plain text, no TLS record")  # recv() raises SSLError

    server.add_connection(_tls(ca, _read_request, _send(OK), _wait(closed), stray, _signal(sent), _drain))
    server.add_connection(_tls(ca, _read_request, _send(SECOND), _drain))
    conn = _https(server, ca)
    conn.request("GET", "/1")
    response = conn.getresponse()
    assert response.will_close is False
    response.close()
    closed.set()
    assert sent.wait(TIMEOUT)
    sock = conn.sock
    assert sock is not None and select.select([sock], [], [], TIMEOUT)[0], "the stray octets arrived"
    conn.request("GET", "/2")
    assert conn.sock is not sock, "a new connection"
    assert conn.getresponse().read() == b"second"
    conn.close()
    assert len(server.connections) == 2


def test_tls_leftover_of_a_closed_response_is_replaced(server: ScriptedServer, ca: trustme.CA) -> None:
    # The unread rest of a response closed early sits decrypted in the TLS layer, where poll()
    # cannot see it (SSLSocket.pending()): the next request still goes on a new connection instead
    # of reading that leftover as its response.
    head_read, body_sent = threading.Event(), threading.Event()
    server.add_connection(_tls(ca, _read_request, _send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"),
                               _wait(head_read), _send(b"abcd"), _signal(body_sent), _drain))
    server.add_connection(_tls(ca, _read_request, _send(SECOND), _drain))
    conn = _https(server, ca)
    conn.request("GET", "/1")
    response = conn.getresponse()
    head_read.set()
    assert body_sent.wait(TIMEOUT)
    assert response.read1(1) == b"a"
    assert isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending() == 3
    response.close()
    conn.request("GET", "/2")
    assert conn.getresponse().read() == b"second"
    conn.close()
    assert len(server.connections) == 2


def test_idle_check_steps_aside_for_a_fileno_that_is_no_descriptor() -> None:
    from h1conform.reference import _connection

    class Odd:
        def fileno(self) -> object:
            return "not a descriptor"

    assert _connection._has_input(Odd()) is False  # type: ignore[arg-type]


def test_send_larger_than_the_socket_buffer_is_sent_whole() -> None:
    """One write(2) takes what the send buffer holds; sendall sends the rest within the timeout."""
    left, right = socket.socketpair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    left.settimeout(30)
    data = os.urandom(1 << 20)
    received = bytearray()

    def drain() -> None:
        while len(received) < len(data) and (piece := right.recv(65536)):
            received.extend(piece)

    reader = threading.Thread(target=drain)
    reader.start()
    with left, right:
        _connection._send_all(left, data)
        reader.join(30)
    assert bytes(received) == data


def test_send_through_a_socket_subclass_uses_its_sendall() -> None:
    """A subclass may record or change what is sent: it is never bypassed with write(2)."""
    class Recording(socket.socket):
        sent: list[bytes] = []

        def sendall(self, data: Any, flags: int = 0) -> None:
            self.sent.append(bytes(data))
            super().sendall(data, flags)

    left, right = socket.socketpair()
    recording = Recording(fileno=left.detach())
    with recording, right:
        _connection._send_all(recording, b"GET / HTTP/1.1\r\n\r\n")
        assert right.recv(100) == b"GET / HTTP/1.1\r\n\r\n"
    assert Recording.sent == [b"GET / HTTP/1.1\r\n\r\n"]


# -- an early response while the body is being sent (RFC 9112 9.5) ---------------------------------

CLOSING_413 = b"HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 9\r\n\r\ntoo large"
PIECES = [b"a" * 10, b"b" * 10, b"c" * 10]


def _all_received(sock: socket.socket) -> bytes:
    """What the other end sent and left in this socket's buffer (it sent it all before the call)."""
    sock.settimeout(0)
    data = bytearray()
    try:
        while piece := sock.recv(65536):
            data += piece
    except BlockingIOError:
        pass
    return bytes(data)


@pytest.mark.parametrize("early, cut", [
    pytest.param(b"", False, id="control-no-response"),
    pytest.param(CLOSING_413, True, id="413-with-close"),
    pytest.param(b"HTTP/1.1 413 Content Too Large\r\nConnection: keep-alive, close\r\n\r\n", True, id="close-in-a-list"),
    pytest.param(CLOSING_413.replace(b"Connection: close\r\n", b""), False, id="control-413-without-close"),
    pytest.param(b"HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n", False, id="control-interim"),
    pytest.param(CLOSING_413[:40], False, id="control-head-incomplete"),
    pytest.param(b"HTTP/1.1\r\nConnection: close\r\n\r\n", False, id="control-no-status-code"),
])
@pytest.mark.parametrize("as_file", [False, True], ids=["iterable", "file"])
def test_body_stops_at_an_early_closing_response(early: bytes, cut: bool, as_file: bool) -> None:
    """With a final response that closes the connection waiting, the body stops before its next
    piece, request() returns and getresponse() reads the response; otherwise the body goes out whole."""
    left, right = socket.socketpair()

    # The "server" answers once the head is out, when the first piece of the body is taken: the
    # answer is then in left's buffer before the client looks between the pieces.
    def iterable() -> Iterator[bytes]:
        right.sendall(early)
        yield from PIECES

    class File(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            if not self.tell():
                right.sendall(early)
            return super().read(size)

    with left, right:
        conn = reference.HTTPConnection("example.org", timeout=TIMEOUT)
        conn.sock = left
        conn.blocksize = 10
        conn.request("POST", "/", body=File(b"".join(PIECES)) if as_file else iterable())
        sent = _all_received(right)
        head, _, chunks = sent.partition(b"\r\n\r\n")
        assert head.startswith(b"POST / HTTP/1.1\r\n")
        assert chunks == (b"A\r\n" + PIECES[0] + b"\r\n" if cut else
                          b"".join(b"A\r\n" + piece + b"\r\n" for piece in PIECES) + b"0\r\n\r\n")
        if early != CLOSING_413:
            return
        response = conn.getresponse()
        assert (response.status, response.read()) == (413, b"too large")
        assert conn.sock is None, "the request was cut short: the connection ends with its response"


def test_body_stop_is_told_at_debuglevel(capsys: pytest.CaptureFixture[str]) -> None:
    left, right = socket.socketpair()

    def iterable() -> Iterator[bytes]:
        right.sendall(CLOSING_413)
        yield from PIECES

    with left, right:
        conn = reference.HTTPConnection("example.org", timeout=TIMEOUT)
        conn.sock = left
        conn.set_debuglevel(1)
        conn.request("POST", "/", body=iterable())
    assert "the server answered and is closing: the rest of the body is not sent" in capsys.readouterr().out
