"""What a TLS client offered, read from its raw ClientHello: server name (SNI) and ALPN protocols.

The scripted TLS server records these from the bytes on the wire, before OpenSSL sees them, so the
record says exactly what the client sent even when the handshake later fails (a client refusing
the certificate has already offered both). Only what scenarios check is decoded:

    TLSPlaintext   = type(1) legacy_version(2) length(2) fragment       RFC 8446 5.1
    Handshake      = msg_type(1) length(3) body                          RFC 8446 4
    ClientHello    = legacy_version(2) random(32) session_id<0..32>
                     cipher_suites<2..2^16-2> compression_methods<1..2^8-1>
                     extensions<8..2^16-1>                               RFC 8446 4.1.2
    server_name    = extension 0:  ServerNameList<1..2^16-1> of name_type(1) HostName<1..2^16-1>  RFC 6066 3
    ALPN           = extension 16: ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>         RFC 7301 3.1
"""

from __future__ import annotations

from dataclasses import dataclass, field

HANDSHAKE_RECORD = 22
CLIENT_HELLO = 1
EXTENSION_SERVER_NAME = 0
EXTENSION_ALPN = 16
EXTENSION_SUPPORTED_VERSIONS = 43
HOST_NAME = 0  # the only NameType RFC 6066 defines


class NotTLS(ValueError):
    """The bytes are not a TLS handshake record carrying a ClientHello."""


@dataclass(frozen=True)
class ClientHello:
    """The parts of a ClientHello that scenarios check."""

    server_name: str | None  # the SNI host_name; None when the extension is absent
    alpn: tuple[str, ...] | None  # the protocols offered, in order; None when the extension is absent
    extensions: tuple[int, ...] = field(default=(), repr=False)  # extension types in the order sent
    versions: tuple[int, ...] = field(default=(), repr=False)  # supported_versions; empty when absent
    raw: bytes = field(default=b"", repr=False)  # the ClientHello handshake message


class ClientHelloReader:
    """Accumulates raw bytes from the client until a whole ClientHello has arrived.

    feed() returns the ClientHello once complete (and keeps returning it), None while more bytes
    are needed, and raises NotTLS as soon as the bytes cannot be a ClientHello.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.hello: ClientHello | None = None

    def feed(self, data: bytes) -> ClientHello | None:
        if self.hello is None:
            self._buffer += data
            message = _handshake_message(bytes(self._buffer))
            if message is not None:
                self.hello = parse_client_hello(message)
        return self.hello


def _handshake_message(data: bytes) -> bytes | None:
    """The first handshake message carried by the records in `data`; None while incomplete."""
    payload = bytearray()
    position = 0
    while position + 5 <= len(data):
        record_type, major = data[position], data[position + 1]
        if record_type != HANDSHAKE_RECORD or major != 3:
            raise NotTLS(f"not a TLS handshake record: {data[position:position + 5]!r}")
        length = int.from_bytes(data[position + 3:position + 5], "big")
        end = position + 5 + length
        if end > len(data):
            break
        payload += data[position + 5:end]
        position = end
        if len(payload) >= 4:
            if payload[0] != CLIENT_HELLO:
                raise NotTLS(f"the first handshake message is of type {payload[0]}, not ClientHello")
            size = 4 + int.from_bytes(payload[1:4], "big")
            if len(payload) >= size:
                return bytes(payload[:size])
    if position < len(data) and data[position] != HANDSHAKE_RECORD:
        raise NotTLS(f"not a TLS handshake record: {data[position:position + 5]!r}")
    return None


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def take(self, count: int) -> bytes:
        if self.position + count > len(self.data):
            raise NotTLS("truncated ClientHello")
        chunk = self.data[self.position:self.position + count]
        self.position += count
        return chunk

    def number(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def vector(self, length_size: int) -> _Cursor:
        return _Cursor(self.take(self.number(length_size)))

    @property
    def done(self) -> bool:
        return self.position >= len(self.data)


def parse_client_hello(message: bytes) -> ClientHello:
    """Decode a whole ClientHello handshake message (type, length and body)."""
    cursor = _Cursor(message)
    if cursor.number(1) != CLIENT_HELLO:
        raise NotTLS("not a ClientHello")
    body = cursor.vector(3)
    body.take(2 + 32)  # legacy_version, random
    body.vector(1)  # legacy_session_id
    body.vector(2)  # cipher_suites
    body.vector(1)  # legacy_compression_methods
    server_name: str | None = None
    alpn: tuple[str, ...] | None = None
    versions: tuple[int, ...] = ()
    types: list[int] = []
    extensions = body.vector(2) if not body.done else _Cursor(b"")
    while not extensions.done:
        kind = extensions.number(2)
        data = extensions.vector(2)
        types.append(kind)
        if kind == EXTENSION_SERVER_NAME:
            names = data.vector(2)
            while not names.done:
                name_type = names.number(1)
                name = names.vector(2).data
                if name_type == HOST_NAME and server_name is None:
                    server_name = name.decode("ascii", "backslashreplace")
        elif kind == EXTENSION_ALPN:
            protocols = data.vector(2)
            offered = []
            while not protocols.done:
                offered.append(protocols.vector(1).data.decode("ascii", "backslashreplace"))
            alpn = tuple(offered)
        elif kind == EXTENSION_SUPPORTED_VERSIONS:
            listed = data.vector(1)
            versions = tuple(listed.number(2) for _ in range(len(listed.data) // 2))
    return ClientHello(server_name, alpn, tuple(types), versions, message)
