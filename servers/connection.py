"""One accepted connection: its socket I/O, bounded by deadlines and by server shutdown, and its record.

Every blocking wait here selects on the socket *and* on the server's wake-up socket, so that
shutting the server down ends every wait at once; no wait polls and none is unbounded.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import struct
import termios
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from h1conform.servers.requests import RecordedRequest, RequestParser
from h1conform.servers.tls import ServerTLS, TLSRecord
from h1conform.servers.tls_transport import TLSChannel

RECV_SIZE = 65536

# TCP states (Linux's tcp_states.h, read from TCP_INFO) a connection is in once the peer's FIN or
# reset has arrived: TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, CLOSING.
_STATES_AFTER_PEER_CLOSE = frozenset({6, 7, 8, 9, 11})


class ScriptError(AssertionError):
    """A script's expectation was not met (the client did not do what the scenario expected)."""


class ServerShutdown(Exception):
    """Raised inside a connection thread when the server is closing; ends its script quietly."""


def peer_closed(sock: socket.socket) -> bool:
    """Whether the peer's FIN or reset has reached this connected socket, read or not."""
    if hasattr(socket, "TCP_INFO"):
        state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
        return state in _STATES_AFTER_PEER_CLOSE
    try:  # elsewhere: an end of stream waiting to be read (unknown behind unread data)
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def _unread_bytes(sock: socket.socket) -> int:
    """How many received bytes the kernel holds for this socket, not read yet."""
    holder = struct.pack("i", 0)
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, holder))[0])


# Whether loopback_barrier flushes the queue of every CPU (Linux: it can move its thread to each).
BARRIER_COVERS_EVERY_CPU = hasattr(os, "sched_setaffinity")


def loopback_barrier(timeout: float) -> bool:
    """Close loopback connections of our own and wait (at most `timeout` seconds each) for their FIN
    to arrive; False if one did not.

    The kernel hands loopback packets over in deferred work, which a loaded machine runs late, in
    order per CPU: once a FIN sent now from a CPU has arrived, everything sent from that CPU before
    it (a client's close, a connection) has arrived too. Where the thread can be moved
    (BARRIER_COVERS_EVERY_CPU), one FIN is sent from each CPU it may run on, so packets that any
    thread or process queued on any CPU before the call have arrived when it returns True.
    """
    if not BARRIER_COVERS_EVERY_CPU:
        return _barrier_from_here(timeout)
    allowed = os.sched_getaffinity(0)  # 0: this thread
    try:
        for cpu in sorted(allowed):
            os.sched_setaffinity(0, {cpu})  # moves this thread to `cpu` before it returns
            if not _barrier_from_here(timeout):
                return False
    finally:
        os.sched_setaffinity(0, allowed)
    return True


def _barrier_from_here(timeout: float) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(timeout)
        with socket.create_connection(listener.getsockname(), timeout=timeout):
            try:
                receiver, _ = listener.accept()
            except TimeoutError:
                return False
        with receiver:  # the sender is closed: its FIN makes the receiver readable
            readable, _, _ = select.select([receiver], [], [], timeout)
            return bool(readable)


@dataclass
class ConnectionRecord:
    """Everything that happened on one connection, in the order the server accepted them."""

    index: int
    peer: tuple[object, ...]
    received: bytearray = field(default_factory=bytearray)
    sent: bytearray = field(default_factory=bytearray)
    flooded: int = 0  # octets a flood() step sent: counted, not kept in `sent`
    requests: list[RecordedRequest] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    scripted: bool = True
    client_reset: bool = False
    tls: TLSRecord | None = None  # for a TLS server: what happened in the TLS layer
    # When bytes last moved on this connection (time.monotonic()), and what moved: "accepted" (none
    # yet), "received", "sent", or "closed" (the client's close). The scenario deadline watches them.
    progress_at: float = field(default_factory=time.monotonic)
    last_moved: str = "accepted"
    script_done: bool = False  # every step has run: the server only reads, until the client closes
    _client_closed: threading.Event = field(default_factory=threading.Event, repr=False)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)
    _kernel_says_closed: Callable[[], bool] | None = field(default=None, repr=False)
    _server_busy: Callable[[], bool] | None = field(default=None, repr=False)

    @property
    def client_closed(self) -> bool:
        """True once the server has seen the client's end of the connection (EOF, reset, or TLS close_notify)."""
        return self._client_closed.is_set()

    def wait_client_close(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for the server's thread to see the client's close; True if it did."""
        return self._client_closed.wait(timeout)

    def closed_by_client_now(self) -> bool:
        """True if the client has closed (FIN or reset) this connection by now.

        `client_closed` turns True once the server's thread has read the close, which on a loaded
        machine can be long after the client closed. This asks the kernel as well, so a client
        whose close() returned before this call is seen closed however slowly the thread runs.
        The kernel cannot tell once the server has closed the connection itself: then only what
        the thread saw counts.
        """
        if self.client_closed:
            return True
        probe = self._kernel_says_closed
        return probe is not None and probe()

    def server_busy(self) -> bool:
        """True while the server, not the client, holds this connection up: its thread is working
        (between waits on the client), or the kernel holds bytes or a close from the client that
        the thread has not read yet. On a loaded machine that thread may wait long for its turn;
        the scenario deadline does not count that time against the client. Takes no lock."""
        probe = self._server_busy
        return probe is not None and probe()

    def _moved(self, what: str) -> None:
        self.progress_at = time.monotonic()
        self.last_moved = what

    def wait_finished(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for this connection's script (and drain) to end."""
        return self._finished.wait(timeout)

    @property
    def unparsed(self) -> bytes:
        """Bytes received that belong to no recorded request (sent after the script's requests)."""
        consumed = sum(len(request.raw) for request in self.requests)
        return bytes(self.received[consumed:])


class ServerConnection:
    """Socket I/O for one connection's script, recording both directions.

    With `tls` settings, receive() and send() carry TLS application data (recorded in plaintext)
    and the handshake is made when the script first needs it; raw_receive() and send_raw() are
    the TCP connection itself, for scripts that bypass or break TLS.
    """

    def __init__(
        self,
        sock: socket.socket,
        record: ConnectionRecord,
        wake: socket.socket,
        stopping: threading.Event,
        timeout: float,
        tls: ServerTLS | None = None,
    ) -> None:
        # Non-blocking, so that a send larger than the socket buffers, to a client that does not
        # read, cannot block inside the kernel where the wake-up socket cannot end it.
        sock.setblocking(False)
        self.sock = sock
        self.record = record
        self.timeout = timeout  # default bound for a step waiting on the client
        self.pending = b""  # received bytes not yet consumed by a request parser
        self.parser: RequestParser | None = None  # a request whose body is still to be read
        self.open = True
        self._closing = threading.Lock()  # the kernel probe must not use a socket being closed
        self._awaiting_client = False  # the thread waits on the client (or on the test, which does)
        record._kernel_says_closed = self._peer_closed
        record._server_busy = self._busy
        self._wake = wake
        self._stopping = stopping
        self.channel: TLSChannel | None = None
        if tls is not None:
            record.tls = TLSRecord()
            self.channel = TLSChannel(tls, record.tls, self)

    # -- the HTTP bytes (TLS application data on a TLS connection) -------------------------------

    def receive(self, timeout: float | None) -> bytes:
        """Next bytes from the client; b"" at EOF or reset (with TLS: also at close_notify).

        Raises ScriptError when nothing arrives within `timeout` (None: until shutdown) and
        ServerShutdown when the server is closing.
        """
        if self.channel is None:
            data = self._socket_receive(timeout)
            if data:
                self.record.received += data
            return data
        self._need_handshake(timeout)
        data = self.channel.read(timeout)
        if data:
            self.record.received += data
        else:
            self._client_gone()
        return data

    def send(self, data: bytes) -> bool:
        """Send all of `data`; False if the client had gone (reset or closed), which is recorded."""
        if self.channel is None:
            return self._socket_send(data, self.record.sent)
        self._need_handshake(self.timeout)
        if self.channel.write(data):
            self.record.sent += data
            return True
        return False

    def _need_handshake(self, timeout: float | None) -> None:
        assert self.channel is not None
        state = self.channel.state
        if state == "not started":
            if not self.channel.handshake(timeout):
                raise ScriptError(f"the TLS handshake failed: {self.record.tls and self.record.tls.handshake_error}")
        elif state != "done":
            raise ScriptError(f"no TLS session to use: the handshake {state}")

    # -- the TCP connection itself ---------------------------------------------------------------

    def raw_receive(self, timeout: float | None) -> bytes:
        """Next bytes on the TCP connection (TLS records on a TLS connection); b"" at EOF or reset."""
        data = self._socket_receive(timeout)
        if not data:
            self._client_gone()
        return data

    def raw_send(self, data: bytes) -> bool:
        """Send bytes on the TCP connection as they are (the TLS layer records them)."""
        return self._socket_send(data, None)

    def send_raw(self, data: bytes) -> bool:
        """Send bytes on the TCP connection, bypassing TLS (before the handshake: none will be made)."""
        if self.channel is None or self.record.tls is None:
            return self._socket_send(data, self.record.sent)
        self.channel.bypass()
        self.record.tls.raw_sent += data
        return self._socket_send(data, None)

    def note(self, event: str) -> None:
        self.record.events.append(event)

    @contextmanager
    def awaiting_client(self) -> Iterator[None]:
        """Mark the block as a wait on the client: it is the client's time, not the server's."""
        if not self._awaiting_client:
            # The server's own work (a pause, a step between waits) ends here: the client's time
            # runs from now, not from the last byte that moved before that work. Set before the
            # flag, so that the scenario deadline, reading from a signal handler, sees either.
            self.record.progress_at = time.monotonic()
        before, self._awaiting_client = self._awaiting_client, True
        try:
            yield
        finally:
            self._awaiting_client = before

    def _busy(self) -> bool:
        if not self.open:
            return False
        if not self._awaiting_client:
            return True
        if not self._closing.acquire(blocking=False):  # being closed: the server's work
            return True
        try:
            return self.open and (_unread_bytes(self.sock) > 0
                                  or (not self.record.client_closed and peer_closed(self.sock)))
        finally:
            self._closing.release()

    def _peer_closed(self) -> bool:
        """Whether the client's FIN or reset has reached this socket (read or not by the thread)."""
        with self._closing:
            return self.open and peer_closed(self.sock)

    def _client_gone(self) -> None:
        if not self.record.client_closed:
            self.record.events.append("client closed" + (" (reset)" if self.record.client_reset else ""))
            self.record._client_closed.set()

    def _socket_receive(self, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            with self.awaiting_client():
                readable, _, _ = select.select([self.sock, self._wake], [], [], remaining)
            # What the client sent before the server was told to stop is read first: on a loaded
            # machine the test may end before this thread has had its turn, and those bytes are
            # still what the client did.
            if self._wake in readable and self.sock not in readable:
                raise ServerShutdown
            if not readable:
                raise ScriptError(f"the client sent nothing for {timeout} s")
            try:
                data = self.sock.recv(RECV_SIZE)
            except BlockingIOError:  # woken without data after all
                continue
            except ConnectionResetError:
                self.record.client_reset = True
                data = b""
            self.record._moved("received" if data else "closed")
            if not data and self.channel is None:
                self._client_gone()
            return data

    def _socket_send(self, data: bytes, recorded: bytearray | None) -> bool:
        view = memoryview(data)
        while view:
            with self.awaiting_client():  # a client that does not read holds the send up
                stopping, _, _ = select.select([self._wake], [self.sock], [])
            if stopping:
                raise ServerShutdown
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError) as exc:
                self.record.events.append(f"send failed, client gone: {type(exc).__name__}")
                self.record.client_reset = True
                self.record._client_closed.set()
                return False
            if recorded is not None:
                recorded += view[:sent]
            self.record._moved("sent")
            view = view[sent:]
        return True

    # -- the rest of a script --------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise ServerShutdown

    def half_close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                raise
            # The client reset the connection first: there is nothing left to half-close.
            self.record.events.append("server half-close skipped: the client had already reset the connection")
            return
        self.record.events.append("server half-closed (FIN)")

    def close(self) -> None:
        with self._closing:
            if self.open:
                self.open = False
                self.sock.close()

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN (SO_LINGER with a zero timeout)."""
        self.record.events.append("server reset the connection (RST)")
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def drain(self) -> None:
        """Keep recording whatever the client sends until it closes or the server shuts down.

        On a TLS connection whose script never needed the handshake, it is made here (its
        failure is recorded, not an error); after a failed or bypassed handshake, raw bytes are
        read (and recorded in record.tls.raw_received), so that the client is not reset.
        """
        channel = self.channel
        if channel is not None and channel.state == "not started" and self.open:
            channel.handshake(None)
        while self.open and not self.record.client_closed:
            if channel is not None and channel.state != "done":
                data = self.raw_receive(timeout=None)
                if data and self.record.tls is not None:
                    self.record.tls.raw_received += data
            else:
                self.receive(timeout=None)
