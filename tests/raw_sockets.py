"""Plain-socket helpers that the servers' own tests use to talk to a ScriptedServer byte by byte."""

from __future__ import annotations

import socket

from h1conform.servers import ScriptedServer

TIMEOUT = 5.0  # bound of every wait in these tests; only reached when something is broken


def connect(server: ScriptedServer) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise AssertionError(f"EOF after {data!r}, expected {size} bytes")
        data += chunk
    return data
