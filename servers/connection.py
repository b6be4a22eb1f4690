"""One accepted connection: its socket I/O, bounded by deadlines and by server shutdown, and its record.

Every blocking wait here selects on the socket *and* on the server's wake-up socket, so that
shutting the server down ends every wait at once; no wait polls and none is unbounded.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from servers.requests import RecordedRequest, RequestParser

RECV_SIZE = 65536


class ScriptError(AssertionError):
    """A script's expectation was not met (the client did not do what the scenario expected)."""


class ServerShutdown(Exception):
    """Raised inside a connection thread when the server is closing; ends its script quietly."""


@dataclass
class ConnectionRecord:
    """Everything that happened on one connection, in the order the server accepted them."""

    index: int
    peer: tuple[object, ...]
    received: bytearray = field(default_factory=bytearray)
    sent: bytearray = field(default_factory=bytearray)
    requests: list[RecordedRequest] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    scripted: bool = True
    client_reset: bool = False
    _client_closed: threading.Event = field(default_factory=threading.Event, repr=False)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def client_closed(self) -> bool:
        """True once the server has seen the client's end of the connection (EOF or reset)."""
        return self._client_closed.is_set()

    def wait_client_close(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for the client to close; True if it did."""
        return self._client_closed.wait(timeout)

    def wait_finished(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for this connection's script (and drain) to end."""
        return self._finished.wait(timeout)

    @property
    def unparsed(self) -> bytes:
        """Bytes received that belong to no recorded request (sent after the script's requests)."""
        consumed = sum(len(request.raw) for request in self.requests)
        return bytes(self.received[consumed:])


class ServerConnection:
    """Socket I/O for one connection's script, recording both directions."""

    def __init__(
        self,
        sock: socket.socket,
        record: ConnectionRecord,
        wake: socket.socket,
        stopping: threading.Event,
        timeout: float,
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
        self._wake = wake
        self._stopping = stopping

    def receive(self, timeout: float | None) -> bytes:
        """Next bytes from the client; b"" at EOF or reset.

        Raises ScriptError when nothing arrives within `timeout` (None: until shutdown) and
        ServerShutdown when the server is closing.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self.sock, self._wake], [], [], remaining)
            if self._wake in readable:
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
            if data:
                self.record.received += data
            else:
                self.record.events.append("client closed" + (" (reset)" if self.record.client_reset else ""))
                self.record._client_closed.set()
            return data

    def send(self, data: bytes) -> bool:
        """Send all of `data`; False if the client had gone (reset or closed), which is recorded."""
        view = memoryview(data)
        while view:
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
            self.record.sent += view[:sent]
            view = view[sent:]
        return True

    def pause(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise ServerShutdown

    def half_close(self) -> None:
        self.record.events.append("server half-closed (FIN)")
        self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        if self.open:
            self.open = False
            self.sock.close()

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN (SO_LINGER with a zero timeout)."""
        self.record.events.append("server reset the connection (RST)")
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def drain(self) -> None:
        """Keep recording whatever the client sends until it closes or the server shuts down."""
        while self.open and not self.record.client_closed:
            self.receive(timeout=None)
