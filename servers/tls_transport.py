"""The server side of TLS over a scripted connection, with OpenSSL driven through memory BIOs.

The connection keeps its non-blocking TCP socket (so every wait stays bounded and ends at server
shutdown) and hands raw bytes to an `ssl.SSLObject` here. That keeps the script in control of
the TCP connection: it can read the ClientHello before the handshake, answer in plaintext
instead of TLS, send a closure alert (close_notify) or drop TCP without one, and the record says
which the client did.
"""

from __future__ import annotations

import ssl
from typing import Protocol

from h1conform.servers.clienthello import ClientHelloReader, NotTLS
from h1conform.servers.tls import ServerTLS, TLSRecord

READ_SIZE = 65536


class RawTransport(Protocol):
    """The TCP side of a connection, as the TLS layer uses it."""

    def raw_receive(self, timeout: float | None) -> bytes:
        """Next bytes from the client, b"" at EOF or reset; raises on timeout and shutdown."""

    def raw_send(self, data: bytes) -> bool:
        """Send all of `data`; False if the client had gone."""

    def note(self, event: str) -> None:
        """Add an event to the connection's record."""


class TLSChannel:
    """TLS on one connection: handshake, application data, closure alerts; states in `record.handshake`."""

    def __init__(self, settings: ServerTLS, record: TLSRecord, transport: RawTransport) -> None:
        self.settings = settings
        self.record = record
        self._transport = transport
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._hello = ClientHelloReader()
        self._object = settings.context().wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._peer_eof = False  # TCP EOF (or reset) seen from the client

    @property
    def state(self) -> str:
        return self.record.handshake

    # -- raw bytes ------------------------------------------------------------------------------

    def _pull(self, timeout: float | None) -> bool:
        """Move the client's next raw bytes into OpenSSL; False at EOF."""
        if self._peer_eof:
            return False
        data = self._transport.raw_receive(timeout)
        if not data:
            self._peer_eof = True
            self._incoming.write_eof()
            return False
        self.record.raw_received += data
        if self.record.client_hello is None and self.record.not_tls is None:
            try:
                self.record.client_hello = self._hello.feed(data)
            except NotTLS:
                self.record.not_tls = bytes(self.record.raw_received[:64])
                self._transport.note(f"the client sent no TLS: {self.record.not_tls!r}")
        self._incoming.write(data)
        return True

    def _flush(self) -> bool:
        """Send whatever OpenSSL has produced; False if the client had gone."""
        data = self._outgoing.read()
        if not data:
            return True
        self.record.raw_sent += data
        return self._transport.raw_send(data)

    def read_client_hello(self, timeout: float | None) -> bool:
        """Read raw bytes until the whole ClientHello has arrived (it stays queued for the handshake).

        False if the client closed first or sent something that is not TLS.
        """
        while self.record.client_hello is None and self.record.not_tls is None:
            if not self._pull(timeout):
                return False
        return self.record.client_hello is not None

    def bypass(self) -> None:
        """The script talks raw TCP from now on: no handshake will be made."""
        if self.state == "not started":
            self.record.handshake = "bypassed"
            self.record._handshake_over.set()

    # -- the handshake --------------------------------------------------------------------------

    def handshake(self, timeout: float | None) -> bool:
        """Run the server's side of the handshake; True on success, False (and why, recorded) otherwise."""
        if self.state != "not started":
            return self.state == "done"
        self.record.handshake = "in progress"
        try:
            return self._handshake(timeout)
        except BaseException:
            if self.record.handshake == "in progress":
                self._failed("the script ended during the handshake")
            raise
        finally:
            # Told once the thread has also sent what ends its side (the alert, the session
            # tickets): a test that waits for the handshake's end and then ends must not shut the
            # server down while this thread, run late on a loaded machine, still has that to send.
            self.record._handshake_over.set()

    def _handshake(self, timeout: float | None) -> bool:
        while True:
            try:
                self._object.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                if not self._pull(timeout):
                    if self.record.client_hello is None and self.record.not_tls is None:
                        return self._failed("the client closed the connection before its ClientHello")
                    # The next do_handshake() reports the EOF as OpenSSL sees it.
            except ssl.SSLError as exc:
                if self._peer_eof and isinstance(exc, ssl.SSLEOFError):
                    self._failed(f"the client closed the connection during the handshake ({exc})")
                else:
                    self._failed(f"{exc.reason or exc} ({exc})")
                self._flush()  # the alert that tells the client why, once the failure is recorded
                return False
        self.record.version = self._object.version()
        self.record.alpn_selected = self._object.selected_alpn_protocol()
        self.record.client_certificate = self._object.getpeercert() or None  # type: ignore[assignment]
        self._transport.note(f"TLS handshake done: {self.record.version}, certificate {self.settings.name!r}")
        self.record.handshake = "done"
        self._flush()  # TLS 1.3 session tickets
        return True

    def _failed(self, reason: str) -> bool:
        self.record.handshake = "failed"
        self.record.handshake_error = reason
        self._transport.note(f"TLS handshake failed: {reason}")
        return False

    # -- application data -----------------------------------------------------------------------

    def read(self, timeout: float | None) -> bytes:
        """Next application data; b"" once the client sent close_notify or closed TCP."""
        while True:
            try:
                data = self._object.read(READ_SIZE)
            except ssl.SSLWantReadError:
                self._flush()
                if self._peer_eof:  # OpenSSL wants more, and there is no more
                    self._transport.note("client closed TCP without close_notify")
                    return b""
                self._pull(timeout)  # at EOF, the next read reports it (SSLEOFError)
                continue
            except ssl.SSLZeroReturnError:
                return self._closed_by_alert()
            except ssl.SSLEOFError:
                self._transport.note("client closed TCP without close_notify")
                return b""
            except ssl.SSLError as exc:
                self._flush()
                self._transport.note(f"TLS error while reading: {exc}")
                return b""
            self._flush()
            if data:
                return data
            return self._closed_by_alert()  # read() returns b"" once the client's close_notify arrived

    def _closed_by_alert(self) -> bytes:
        self._flush()
        if not self.record.close_notify_received:
            self.record.close_notify_received = True
            self._transport.note("client sent close_notify")
        return b""

    def write(self, data: bytes) -> bool:
        """Encrypt and send `data` as application data; False if the client had gone."""
        try:
            self._object.write(data)
        except ssl.SSLError as exc:
            self._transport.note(f"TLS error while writing: {exc}")
            return False
        return self._flush()

    def close_notify(self) -> None:
        """Send a closure alert (without waiting for the client's)."""
        try:
            self._object.unwrap()
        except ssl.SSLWantReadError:
            pass  # sent; the client's close_notify has not arrived (and is not waited for)
        except ssl.SSLError as exc:
            self._transport.note(f"TLS error while sending close_notify: {exc}")
        self.record.close_notify_sent = True
        self._transport.note("server sent close_notify")
        self._flush()
