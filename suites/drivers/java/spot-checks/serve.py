"""python3 serve.py 'RESPONSE' [--watch-close]

Accepts one connection on 127.0.0.1 (the port is printed first), reads the request head, sends
RESPONSE (written as a Python bytes literal's body: 'HTTP/1.1 200 OK\\r\\n...') and closes. With
--watch-close it keeps the connection instead and says on stderr whether the client closes it
within 4 seconds.
"""

import ast
import socket
import sys
import time


def read_head(conn: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = conn.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def watch_close(conn: socket.socket) -> str:
    conn.settimeout(4)
    sent_at = time.monotonic()
    try:
        rest = conn.recv(65536)
    except TimeoutError:
        return "server: the client did not close the connection within 4 s"
    if rest:
        return f"server: the client sent {rest!r}"
    return f"server: the client closed after {time.monotonic() - sent_at:.2f} s"


def main() -> None:
    response = ast.literal_eval("b'''" + sys.argv[1] + "'''")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        print(listener.getsockname()[1], flush=True)
        conn, _ = listener.accept()
        with conn:
            read_head(conn)
            conn.sendall(response)
            if "--watch-close" in sys.argv[2:]:
                print(watch_close(conn), file=sys.stderr)


if __name__ == "__main__":
    main()
