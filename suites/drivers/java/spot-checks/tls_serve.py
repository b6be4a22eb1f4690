"""python tls_serve.py (with the project's venv, for trustme)

A TLS server on 127.0.0.1 whose certificate comes from a CA the client does not trust. Prints
the port first, then how the handshake ended: a client that sends the certificate alert shows
as an SSL error naming the alert, one that just closes as UNEXPECTED_EOF_WHILE_READING.
"""

import socket
import ssl

import trustme


def main() -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        print(listener.getsockname()[1], flush=True)
        conn, _ = listener.accept()
        try:
            with context.wrap_socket(conn, server_side=True):
                print("server: handshake done")
        except ssl.SSLError as error:
            print("server: handshake failed:", error)


main()
