"""python3 redirect_serve.py STATUS LOCATION

A redirect and where it leads, for reproducing an agent-mode finding with a client alone. Listens
on 127.0.0.1 (the port is printed first, then the server's address as http://127.0.0.1:PORT).
The first request gets STATUS with `Location: LOCATION`, where `{port}` in LOCATION stands for the
server's own port (`http://localhost:{port}/b` is another origin on the same server, `/b` the same
origin); every later request gets `200 OK` with the body `landed`. Each request is printed on
standard error as it arrived (its head and its body, as a bytes literal). Stops after 2 requests.
"""

import socket
import sys
import threading

REQUESTS = 2


def read_request(conn: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = conn.recv(65536)
        if not chunk:
            return received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            while len(body) < int(value):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
    return head + b"\r\n\r\n" + body


def main() -> None:
    status, location = sys.argv[1], sys.argv[2]
    answered = 0
    done = threading.Event()
    lock = threading.Lock()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        print(port, flush=True)
        redirect = (f"HTTP/1.1 {status} Redirect\r\nLocation: {location.replace('{port}', str(port))}\r\n"
                    "Content-Length: 0\r\n\r\n").encode("latin-1")
        landed = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nlanded"

        def serve(conn: socket.socket) -> None:
            nonlocal answered
            with conn:
                while not done.is_set():
                    request = read_request(conn)
                    if not request:
                        return
                    with lock:
                        answered += 1
                        first = answered == 1
                        print(f"request {answered}: {request!r}", file=sys.stderr, flush=True)
                    conn.sendall(redirect if first else landed)
                    if answered >= REQUESTS:
                        done.set()

        listener.settimeout(10)
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        done.wait(1)


if __name__ == "__main__":
    main()
