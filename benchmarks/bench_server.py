"""The benchmark's HTTP/1.1 server: pre-built responses sent with sendall, nothing else.

Run by bench_client.py as a separate process (so its CPU time never competes with the client's for
a GIL):  python bench_server.py LARGE_BYTES CHUNK_COUNT CHUNK_SIZE [CERT_CHAIN_PEM KEY_PEM]
It builds every response before listening, prints the loopback port it listens on (and, given a
certificate chain and its key, a second port serving the same over TLS, on the same line), and
serves until its stdin closes (the parent exits or closes the pipe). Each connection is kept alive and gets its
own thread: read a request head (up to b"\\r\\n\\r\\n"; the requests have no body), look its path up,
sendall the pre-built bytes.

Paths: /large (Content-Length body of LARGE_BYTES), /chunked (CHUNK_COUNT chunks of CHUNK_SIZE
bytes), /small (Content-Length: 2, "ok").
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
import threading

NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


def build_routes(large: int, chunk_count: int, chunk_size: int) -> dict[bytes, bytes]:
    pattern = bytes(range(256))
    body = (pattern * (large // len(pattern) + 1))[:large]
    chunk = b"%x\r\n" % chunk_size + (pattern * (chunk_size // len(pattern) + 1))[:chunk_size] + b"\r\n"
    return {
        b"/large": b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n%s"
                   % (large, body),
        b"/chunked": b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + chunk * chunk_count + b"0\r\n\r\n",
        b"/small": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
    }


def serve_connection(conn: socket.socket, routes: dict[bytes, bytes], tls: ssl.SSLContext | None = None) -> None:
    buffer = b""
    with conn:
        try:
            if tls is not None:
                conn = tls.wrap_socket(conn, server_side=True)  # the handshake, in this thread
            while True:
                end = buffer.find(b"\r\n\r\n")
                while end < 0:
                    data = conn.recv(65536)
                    if not data:
                        return
                    start = max(0, len(buffer) - 3)
                    buffer += data
                    end = buffer.find(b"\r\n\r\n", start)
                head, buffer = buffer[:end], buffer[end + 4:]
                parts = head.split(b" ", 2)
                conn.sendall(routes.get(parts[1] if len(parts) > 1 else b"", NOT_FOUND))
        except OSError:  # the client went away mid-response
            return


def listen() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener


def accept_forever(listener: socket.socket, routes: dict[bytes, bytes], tls: ssl.SSLContext | None) -> None:
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve_connection, args=(conn, routes, tls), daemon=True).start()


def main() -> None:
    large, chunk_count, chunk_size = (int(arg) for arg in sys.argv[1:4])
    routes = build_routes(large, chunk_count, chunk_size)
    listeners: list[tuple[socket.socket, ssl.SSLContext | None]] = [(listen(), None)]
    if len(sys.argv) > 5:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(sys.argv[4], sys.argv[5])
        listeners.append((listen(), tls))

    def exit_when_parent_goes() -> None:
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    for listener, tls in listeners[1:]:
        threading.Thread(target=accept_forever, args=(listener, routes, tls), daemon=True).start()
    print(" ".join(str(listener.getsockname()[1]) for listener, _ in listeners), flush=True)
    listener, _ = listeners[0]
    accept_forever(listener, routes, None)


if __name__ == "__main__":
    main()
