"""Setting a connection up: timeouts (explicit, None, the socket module's default), the local address
(source_address), and what a client reports when nothing listens or the server resets the
connection while the request is being sent.

The http.client documentation of HTTPConnection: "The optional timeout parameter specifies a timeout
in seconds for blocking operations like the connection attempt (if it is not specified, the global
default timeout setting is used). The optional source_address parameter may be a tuple of a
(host, port) to use as the source address the HTTP connection is made from."
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from h1conform.servers import call, expect_request, pause, reset, respond, send, stall
from h1conform.suites.harness import API, API_LEVEL, Unsupported, scenario
from h1conform.suites.harness.deadline import deadline_paused
from h1conform.suites.harness.waiting import harness_wait

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
SHORT = 0.2  # a client timeout short enough to keep the scenario fast, long enough to be reliable


def read_all(conn) -> bytes:
    with conn.getresponse() as response:
        return response.read()


# -- timeouts ------------------------------------------------------------------------------------------


@scenario("connection.setup.read-timeout", refs=["http.client.HTTPConnection", "http.client.HTTPConnection.getresponse"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("where", [
    pytest.param("control-answered", id="control-answered"),
    pytest.param("no-response", id="no-response"),
    pytest.param("mid-head", id="mid-head"),
    pytest.param("mid-body", id="mid-body"),
])
def test_read_timeout(server, client, where):
    # The timeout applies to every blocking operation: a server that stops sending (without closing)
    # makes getresponse() or read() raise TimeoutError (socket.timeout) after about `timeout` seconds.
    stalled = {"no-response": b"", "mid-head": b"HTTP/1.1 200 OK\r\nContent-Le",
               "mid-body": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}
    stalling = threading.Event()
    if where == "control-answered":
        server.add_connection(respond(OK))
    else:
        server.add_connection(expect_request(), send(stalled[where]), call(lambda conn: stalling.set()), stall())
    conn = client.connect(server, timeout=SHORT)
    conn.request("GET", "/")
    if where != "control-answered":  # the silence starts once the server has sent what it sends
        harness_wait(stalling.wait, "the server did not reach its stall")
    started = time.monotonic()
    if where == "control-answered":
        assert read_all(conn) == b"ok"
        return
    with pytest.raises(TimeoutError):
        read_all(conn)
    elapsed = time.monotonic() - started
    # A loaded machine only makes the wait longer, so the upper bound is generous; a client blind to
    # the timeout never returns, and the scenario deadline ends it.
    assert SHORT * 0.5 <= elapsed < SHORT + 4.0, (
        f"the read times out after about timeout={SHORT} s of silence; it took {elapsed:.2f} s")


@scenario("connection.setup.default-timeout", refs=["http.client.HTTPConnection", "http.client.HTTPConnection.connect"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("timeout, times_out", [
    pytest.param("default", True, id="socket-default-applies"),
    pytest.param(30.0, False, id="explicit-timeout-wins"),
    pytest.param(None, False, id="explicit-none-blocks"),
])
def test_default_timeout(server, client, timeout, times_out):
    # Without a timeout argument, the connection uses socket.getdefaulttimeout() as it is when the
    # connection is made; an explicit timeout (None: blocking) overrides it. The server answers
    # after a pause longer than the default timeout, or, where the default applies, never: a client
    # that times out cannot be overtaken by the answer on a loaded machine.
    server.add_connection(expect_request(), *([stall()] if times_out else [pause(SHORT * 4), send(OK)]))
    kwargs = {} if timeout == "default" else {"timeout": timeout}
    conn = client.track(client.module.HTTPConnection(server.host, server.port, **kwargs))
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(SHORT)
    try:
        conn.connect()
    finally:
        socket.setdefaulttimeout(previous)
    conn.request("GET", "/")
    if times_out:
        with pytest.raises(TimeoutError):
            read_all(conn)
        conn.close()
    else:
        assert read_all(conn) == b"ok", (
            f"with timeout={timeout!r} given, the socket module's default timeout ({SHORT} s) does not apply")


# -- the connection attempt's timeout --------------------------------------------------------------------

CONNECT_TIMEOUT = 0.5  # below Linux's first SYN retransmission (1 s): the client sends one SYN
FILL_LIMIT = 16  # connections tried when filling a backlog before giving up on the trick
SETTLE = 1.0  # how long a filler's connect may take on loopback before its SYN counts as dropped


@contextlib.contextmanager
def listener(*, backlog_full: bool) -> Iterator[tuple[str, int]]:
    """A loopback listener that accepts nothing; with `backlog_full`, its accept queue is full.

    Linux drops a SYN that arrives while a listener's accept queue is full (it neither answers nor
    resets, whatever tcp_syncookies says, unless tcp_abort_on_overflow is set), so a connect() to
    it hangs until the caller's timeout. listen(0) leaves room for one connection; fillers connect
    until one is left hanging, which shows that the kernel drops SYNs. A kernel that behaves
    otherwise makes the scenario unsupported, never the client's fail.
    """
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(socket.socket())
        server.bind(("127.0.0.1", 0))
        server.listen(0 if backlog_full else 8)
        address = server.getsockname()
        if backlog_full:
            with deadline_paused():  # the harness's work: no client runs yet
                _fill(stack, address)
        yield address


def _fill(stack: contextlib.ExitStack, address: tuple[str, int]) -> None:
    for _ in range(FILL_LIMIT):
        filler = stack.enter_context(socket.socket())
        filler.setblocking(False)
        filler.connect_ex(address)
        _, writable, _ = select.select([], [filler], [], SETTLE)
        if not writable:
            return  # this filler's SYN was dropped: the accept queue is full
    raise Unsupported(f"connection.setup.connect-timeout: this kernel completed {FILL_LIMIT} connections "
                      "to a listener with backlog 0 that accepts nothing, so no connection attempt hangs here")


@scenario("connection.setup.connect-timeout", refs=["http.client.HTTPConnection", "http.client.HTTPConnection.connect"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("backlog_full", [
    pytest.param(False, id="control-room-in-backlog"),
    pytest.param(True, id="syn-dropped"),
])
def test_connect_timeout(client, backlog_full):
    # The timeout covers the connection attempt: when the server's kernel drops the SYN (its
    # listener's accept queue is full), connect() raises TimeoutError (socket.timeout) after about
    # `timeout` seconds, and leaves no socket behind. Control: the same listener with room connects.
    with listener(backlog_full=backlog_full) as (host, port):
        conn = client.track(client.module.HTTPConnection(host, port, timeout=CONNECT_TIMEOUT))
        started = time.monotonic()
        try:
            conn.connect()
        except TimeoutError:
            elapsed = time.monotonic() - started
            assert backlog_full, "a listener with room in its backlog completes the connection at once"
            assert conn.sock is None, "a connection attempt that timed out leaves no socket behind"
            # A loaded machine only makes the wait longer: the upper bound is generous. A client
            # blind to its timeout waits for the kernel's SYN retries (minutes), and the scenario
            # deadline ends it.
            assert CONNECT_TIMEOUT * 0.5 <= elapsed < CONNECT_TIMEOUT + 4.0, (
                f"connect() times out after about timeout={CONNECT_TIMEOUT} s; it took {elapsed:.2f} s")
            return
        except (ConnectionRefusedError, ConnectionResetError) as exc:
            if backlog_full:  # tcp_abort_on_overflow, or a kernel that refuses rather than drops
                raise Unsupported(f"this kernel refused the connection to a full backlog ({exc!r}) "
                                  "instead of dropping its SYN: no connection attempt hangs here") from None
            raise
        if backlog_full:
            raise Unsupported("this kernel completed a connection to a full backlog: no connection attempt hangs here")
        assert conn.sock is not None, "connect() to a listener with room leaves the connection open"


# -- source_address ------------------------------------------------------------------------------------


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@scenario("connection.setup.source-address", refs=["http.client.HTTPConnection"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("source", [
    pytest.param(None, id="control-none"),
    pytest.param(("127.0.0.2", 0), id="other-loopback-any-port"),
    pytest.param(("127.0.0.2", "free"), id="other-loopback-given-port"),
])
def test_source_address(server, client, source):
    if source is not None and source[1] == "free":
        source = (source[0], _free_port(source[0]))
    server.add_connection(respond(OK))
    conn = client.connect(server, source_address=source)
    conn.request("GET", "/")
    assert read_all(conn) == b"ok"
    peer = server.connection(0).peer
    if source is None:
        assert peer[0] == "127.0.0.1", f"without source_address the OS picks the address; the server saw {peer}"
        return
    assert peer[0] == source[0], (
        f"source_address={source!r}: the connection is made from that address; the server saw {peer}")
    if source[1]:
        assert peer[1] == source[1], f"source_address={source!r}: and from that port; the server saw {peer}"


# -- failures to connect and to send --------------------------------------------------------------------


@scenario("connection.setup.refused", refs=["http.client.HTTPConnection.connect", "http.client.HTTPConnection.request"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("how", ["connect", "request"])
def test_connection_refused(client, how):
    # Nothing listens on the port: the connection attempt fails with ConnectionRefusedError (an
    # OSError), from connect() or from the request() that opens the connection.
    port = _free_port("127.0.0.1")
    conn = client.track(client.module.HTTPConnection("127.0.0.1", port, timeout=3.0))
    with pytest.raises(ConnectionRefusedError):
        if how == "connect":
            conn.connect()
        else:
            conn.request("GET", "/")
    assert conn.sock is None, "a refused connection leaves no socket behind"


@scenario("connection.setup.reset-while-sending",
          refs=["http.client.HTTPConnection.request", "http.client.HTTPConnection.getresponse",
                "http.client.RemoteDisconnected"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("size", [
    pytest.param(0, id="control-no-reset"),
    pytest.param(64 * 1024, id="small-body"),
    pytest.param(16 * 1024 * 1024, id="large-body"),
])
def test_reset_while_sending(server, client, size):
    # The server reads the request head and resets the connection. A body larger than the socket
    # buffers makes request() fail (BrokenPipeError / ConnectionResetError); a small one is sent
    # whole and getresponse() fails instead. Either way a ConnectionError reaches the caller, and
    # after close() the HTTPConnection works again on a new connection.
    if size:
        server.add_connection(expect_request(body=False), reset())
    else:
        server.add_connection(respond(OK))
    server.add_connection(respond(OK))
    conn = client.connect(server)
    body = b"x" * (size or 10)
    if not size:
        conn.request("PUT", "/", body=body)
        assert read_all(conn) == b"ok"
        conn.close()
    else:
        with pytest.raises(ConnectionError):
            conn.request("PUT", "/", body=body)
            read_all(conn)
        conn.close()
    conn.request("GET", "/after")
    assert read_all(conn) == b"ok", "after the reset and close(), a request goes on a new connection"
    assert server.connection(1).requests[0].target == b"/after"
