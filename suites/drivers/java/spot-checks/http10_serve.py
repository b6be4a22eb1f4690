"""python3 http10_serve.py

Connection 1 gets an HTTP/1.0 response without the keep-alive option (so this server will close
it) and, 0.2 s later, a second response nobody asked for, on the same connection, which stays
open for 3 s. Connection 2, if the client opens one, gets 'fresh'. The port is printed first;
what each connection received goes to stderr.
"""

import socket
import sys
import time

from serve import read_head  # this folder's serve.py

FIRST = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"
INJECTED = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\npoison"
FRESH = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh"


def request_line(conn: socket.socket) -> bytes:
    return read_head(conn).split(b"\r\n")[0]


def main() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        print(listener.getsockname()[1], flush=True)
        first, _ = listener.accept()
        with first:
            print("connection 1:", request_line(first), file=sys.stderr)
            first.sendall(FIRST)
            time.sleep(0.2)
            first.sendall(INJECTED)
            listener.settimeout(3)
            try:
                second, _ = listener.accept()
            except TimeoutError:
                print("no second connection", file=sys.stderr)
                return
            with second:
                print("connection 2:", request_line(second), file=sys.stderr)
                second.sendall(FRESH)


if __name__ == "__main__":
    main()
