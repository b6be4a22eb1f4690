"""TLS settings of a scripted server, and the record of what happened in each connection's TLS layer.

    tls = ServerTLS(cert_chain="leaf-and-chain.pem", key="leaf.key")          # what the server presents
    tls = ServerTLS(..., client_ca="ca.pem")                                   # and demands a client certificate
    with ScriptedServer("127.0.0.1", tls=tls) as server: ...
    server.connection(0).tls.client_hello.server_name                         # what the client offered

Certificates for these settings come from `servers.certificates.TestPKI`.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from h1conform.servers.clienthello import ClientHello


@dataclass(frozen=True)
class ServerTLS:
    """How a scripted server does TLS: the chain it presents, and whether it demands a client certificate.

    `cert_chain` is a PEM file with the leaf first, then any intermediates the server sends;
    `key` the leaf's private key (None: in `cert_chain`). With `client_ca`, the server requires a
    client certificate signed by that CA (mutual TLS). `alpn` lists the protocols the server
    accepts, in its order of preference (none offered by the client: no ALPN, which is fine).
    `name` says which certificate this is, in events and messages.
    """

    cert_chain: Path | str
    key: Path | str | None = None
    client_ca: Path | str | None = None
    alpn: tuple[str, ...] = ("http/1.1",)
    name: str = "tls"

    def context(self) -> ssl.SSLContext:
        """A fresh server-side SSLContext for these settings."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert_chain), None if self.key is None else str(self.key))
        if self.client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(str(self.client_ca))
        if self.alpn:
            context.set_alpn_protocols(list(self.alpn))
        return context


@dataclass
class TLSRecord:
    """What happened in one connection's TLS layer.

    The connection record's `received` and `sent` hold the HTTP bytes (TLS application data);
    `raw_received` and `raw_sent` hold the bytes on the TCP connection (records, or plaintext when
    a script bypassed TLS).
    """

    client_hello: ClientHello | None = None  # None: the client sent no (complete) ClientHello
    not_tls: bytes | None = None  # the first bytes, when the client sent something that is no TLS
    handshake: str = "not started"  # "not started", "in progress", "done", "failed", or "bypassed" (send_raw first)
    handshake_error: str | None = None  # why the handshake failed, as OpenSSL or the server saw it
    version: str | None = None  # the negotiated protocol version ("TLSv1.3")
    alpn_selected: str | None = None
    client_certificate: dict[str, object] | None = None  # the verified client certificate (mutual TLS)
    close_notify_received: bool = False  # the client sent a closure alert (RFC 9112 9.8)
    close_notify_sent: bool = False  # the server sent one (the close_notify() step)
    raw_received: bytearray = field(default_factory=bytearray, repr=False)
    raw_sent: bytearray = field(default_factory=bytearray, repr=False)
    _handshake_over: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def server_name(self) -> str | None:
        """The SNI host name the client offered (None: no SNI, or no ClientHello)."""
        return self.client_hello.server_name if self.client_hello else None

    @property
    def alpn_offered(self) -> tuple[str, ...] | None:
        """The ALPN protocols the client offered (None: no ALPN extension, or no ClientHello)."""
        return self.client_hello.alpn if self.client_hello else None

    @property
    def succeeded(self) -> bool:
        return self.handshake == "done"

    def wait_handshake(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for the handshake to succeed or fail; True if it ended."""
        return self._handshake_over.wait(timeout)
