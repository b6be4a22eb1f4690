"""Transports that are not sockets, in `conn.sock`: what test doubles, recorders, SSH channels and
UNIX-socket adapters put there by overriding connect().

http.client only ever calls `sendall()`, `makefile(mode, bufsize)`, `setsockopt()` and `close()` on
`conn.sock`, so code has long replaced it with objects that have just those. A client that needs
more of the socket (a file descriptor to poll before reusing an idle connection) must step aside
when the object lacks it, and keep sending on the caller's transport.
"""

from __future__ import annotations

import io
import socket
from typing import Any

import pytest

from h1conform.servers import respond
from h1conform.suites.harness import API, API_LEVEL, scenario
from h1conform.suites.harness.fixtures import CLIENT_TIMEOUT

FIRST = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"


class Recorder:
    """A transport over a real socket that records what is sent and has no file descriptor: the
    methods http.client calls, with the signatures socket doubles give them."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.sent = bytearray()

    def sendall(self, data: Any) -> None:
        self.sent += data
        self._sock.sendall(data)

    def makefile(self, mode: str, bufsize: int | None = None) -> Any:
        return self._sock.makefile(mode)

    def setsockopt(self, *args: Any) -> None:
        self._sock.setsockopt(*args)

    def close(self) -> None:
        self._sock.close()


class RecorderWithFileno(Recorder):
    """The control: the same transport, with its socket's descriptor."""

    def fileno(self) -> int:
        return self._sock.fileno()


class RecorderFilenoUnsupported(Recorder):
    """fileno() exists but fails, as on io objects that wrap no descriptor."""

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")


@scenario("api.transport.sock-without-fileno",
          refs=["http.client.HTTPConnection.connect", "http.client.HTTPConnection.request",
                "http.client.HTTPConnection.getresponse"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("transport", [
    pytest.param(RecorderWithFileno, id="control-with-fileno"),
    pytest.param(Recorder, id="no-fileno"),
    pytest.param(RecorderFilenoUnsupported, id="fileno-unsupported"),
])
def test_sock_without_fileno(server, client, transport):
    # A subclass whose connect() puts its own transport in `sock` (as recorders and UNIX-socket
    # adapters do) sends two requests on one kept-alive connection. Both go through that
    # transport, and both responses are read from it, whether or not it has a file descriptor.
    server.add_connection(respond(FIRST), respond(SECOND))
    transports = []

    class Connection(client.module.HTTPConnection):
        def connect(self):
            super().connect()
            self.sock = transport(self.sock)
            transports.append(self.sock)

    conn = client.track(Connection(server.host, server.port, timeout=CLIENT_TIMEOUT))
    bodies = []
    for target in ("/first", "/second"):
        conn.request("GET", target)
        with conn.getresponse() as response:
            bodies.append(response.read())
    assert bodies == [b"first", b"second"], f"both responses are read through the transport; got {bodies!r}"
    assert len(transports) == 1, (
        f"the kept-alive connection is reused, not reopened: connect() ran {len(transports)} times")
    sent = bytes(transports[0].sent)
    assert sent.startswith(b"GET /first ") and b"\r\nGET /second " in sent, (
        f"both requests went through the caller's transport; it sent {sent[:200]!r}")
