"""Tests of the scripted server's TLS mode (servers/tls.py, tls_transport.py, clienthello.py,
certificates.py), driven with the stdlib's ssl module as the client.

Every wait is bounded; clients are closed by the tests (a leaked socket is an error here).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from h1conform.servers import (
    CertKind,
    ScriptedServer,
    ServerConnection,
    ServerError,
    TestPKI,
    call,
    close,
    close_notify,
    expect_client_hello,
    expect_request,
    handshake,
    ipv6_available,
    respond,
    send,
    send_raw,
)
from h1conform.servers.clienthello import ClientHelloReader, NotTLS, parse_client_hello

TIMEOUT = 5.0
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
GET = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def server(pki: TestPKI) -> Iterator[ScriptedServer]:
    with ScriptedServer(tls=pki.server(CertKind.GOOD)) as scripted:
        yield scripted


def client_context(pki: TestPKI, *, alpn: list[str] | None = None, cert: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    if alpn:
        context.set_alpn_protocols(alpn)
    if cert is not None:
        context.load_cert_chain(str(cert))
    return context


def tls_connect(server: ScriptedServer, context: ssl.SSLContext, name: str | None = "localhost",
                **kwargs: object) -> ssl.SSLSocket:
    sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
    try:
        return context.wrap_socket(sock, server_hostname=name, **kwargs)  # type: ignore[arg-type]
    except BaseException:
        sock.close()
        raise


def read_all(sock: ssl.SSLSocket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


# -- the ClientHello parser ----------------------------------------------------------------------------------


def _client_hello_bytes(pki: TestPKI, name: str | None, alpn: list[str] | None) -> bytes:
    """The raw first flight of a real stdlib client (read by a bare listening socket)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
        peer, _ = listener.accept()
        with client, peer:
            tls = client_context(pki, alpn=alpn).wrap_bio(ssl.MemoryBIO(), outgoing := ssl.MemoryBIO(),
                                                          server_hostname=name)
            with pytest.raises(ssl.SSLWantReadError):
                tls.do_handshake()
            return outgoing.read()


@pytest.mark.parametrize("name, alpn", [
    pytest.param("localhost", ["h2", "http/1.1"], id="sni-and-alpn"),
    pytest.param(None, None, id="neither"),
])
def test_client_hello_sni_and_alpn(pki: TestPKI, name: str | None, alpn: list[str] | None) -> None:
    raw = _client_hello_bytes(pki, name, alpn)
    hello = ClientHelloReader().feed(raw)
    assert hello is not None
    assert hello.server_name == name
    assert hello.alpn == (tuple(alpn) if alpn else None)
    assert 0x0304 in hello.versions, "TLS 1.3 offered in supported_versions"


def test_client_hello_bytewise_and_across_records(pki: TestPKI) -> None:
    raw = _client_hello_bytes(pki, "example.test", ["http/1.1"])
    reader = ClientHelloReader()
    for index in range(len(raw) - 1):
        assert reader.feed(raw[index:index + 1]) is None, "incomplete until the last byte"
    assert reader.feed(raw[-1:]) is not None
    # The same message fragmented over two handshake records (RFC 8446 5.1 allows it).
    message = raw[5:]
    header = raw[:3]
    records = b"".join(header + len(part).to_bytes(2, "big") + part for part in (message[:50], message[50:]))
    hello = ClientHelloReader().feed(records)
    assert hello is not None and hello.server_name == "example.test" and hello.alpn == ("http/1.1",)
    assert parse_client_hello(message).server_name == "example.test"


@pytest.mark.parametrize("data", [b"GET / HTTP/1.1\r\n", b"GE", b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00"],
                         ids=["http", "short-http", "server-hello"])
def test_client_hello_not_tls(data: bytes) -> None:
    with pytest.raises(NotTLS):
        ClientHelloReader().feed(data)


# -- certificates -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CertKind), ids=str)
def test_every_certificate_kind_loads(pki: TestPKI, kind: CertKind) -> None:
    settings = pki.server(kind)
    assert settings.context() is not None
    assert pki.server(kind).cert_chain == settings.cert_chain, "made once, then reused"


def test_chain_files(pki: TestPKI) -> None:
    complete = Path(pki.server(CertKind.CHAIN_COMPLETE).cert_chain).read_bytes()
    incomplete = Path(pki.server(CertKind.CHAIN_INCOMPLETE).cert_chain).read_bytes()
    assert complete.count(b"BEGIN CERTIFICATE") == 2 and incomplete.count(b"BEGIN CERTIFICATE") == 1


# -- handshake, application data, records ----------------------------------------------------------------------


def test_request_and_response_are_recorded_in_plaintext(server: ScriptedServer, pki: TestPKI) -> None:
    server.add_connection(respond(OK))
    assert server.url("/x").startswith("https://127.0.0.1:")
    with tls_connect(server, client_context(pki, alpn=["http/1.1"])) as sock:
        sock.sendall(GET)
        assert sock.recv(65536) == OK
    record = server.connection(0)
    assert record.wait_client_close(TIMEOUT)
    assert record.requests[0].method == b"GET" and bytes(record.sent) == OK
    tls = record.tls
    assert tls is not None and tls.succeeded and tls.version == "TLSv1.3"
    assert (tls.server_name, tls.alpn_offered, tls.alpn_selected) == ("localhost", ("http/1.1",), "http/1.1")
    assert b"GET /" not in tls.raw_received and OK not in tls.raw_sent, "TCP carried TLS records"


def test_plain_server_has_no_tls_record() -> None:
    with ScriptedServer() as plain:
        plain.add_connection(respond(OK))
        with socket.create_connection((plain.host, plain.port), timeout=TIMEOUT) as sock:
            sock.sendall(GET)
            assert sock.recv(65536) == OK
        assert plain.connection(0).wait_client_close(TIMEOUT)
        assert plain.connection(0).tls is None and plain.url().startswith("http://")


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback")
def test_ipv6_server(pki: TestPKI) -> None:
    with ScriptedServer("::1", tls=pki.server(CertKind.GOOD)) as server:
        server.add_connection(respond(OK))
        with tls_connect(server, client_context(pki), name="::1") as sock:
            sock.sendall(GET)
            assert sock.recv(65536) == OK
        assert server.connection(0).tls is not None
        assert server.connection(0).tls.server_name is None, "no SNI for an IP literal"


def test_large_response_to_a_slow_reader(server: ScriptedServer, pki: TestPKI) -> None:
    body = b"x" * (4 << 20)  # far more than the socket buffers: the sends must not block the server
    whole = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    server.add_connection(respond(whole))
    with tls_connect(server, client_context(pki)) as sock:
        sock.sendall(GET)
        received = b""
        while len(received) < len(whole):
            received += sock.recv(65536)
    assert received == whole and bytes(server.connection(0).sent) == whole


def test_client_refusing_the_certificate_is_recorded(pki: TestPKI) -> None:
    with ScriptedServer(tls=pki.server(CertKind.UNKNOWN_CA)) as server:
        server.add_connection(handshake(succeeds=False))
        with pytest.raises(ssl.SSLCertVerificationError):
            tls_connect(server, client_context(pki))
        tls = server.connection(0).tls
        assert tls is not None and tls.wait_handshake(TIMEOUT)
        assert tls.handshake == "failed" and tls.handshake_error and "UNKNOWN_CA" in tls.handshake_error
        assert tls.server_name == "localhost", "the ClientHello is recorded even though the handshake failed"


@pytest.mark.parametrize("succeeds, kind", [
    pytest.param(True, CertKind.UNKNOWN_CA, id="expected-success-failed"),
    pytest.param(False, CertKind.GOOD, id="expected-failure-succeeded"),
])
def test_handshake_expectation_not_met(pki: TestPKI, succeeds: bool, kind: CertKind) -> None:
    server = ScriptedServer(tls=pki.server(kind))
    server.add_connection(handshake(succeeds=succeeds))
    try:
        with tls_connect(server, client_context(pki)):
            pass
    except ssl.SSLError:
        pass
    assert server.wait_connections(1) and server.wait_idle(TIMEOUT)
    with pytest.raises(ServerError, match="handshake"):
        server.close()


def test_implicit_handshake_failure_fails_the_step(pki: TestPKI) -> None:
    server = ScriptedServer(tls=pki.server(CertKind.WRONG_HOST))
    server.add_connection(respond(OK))
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_connect(server, client_context(pki))
    assert server.wait_connections(1) and server.wait_idle(TIMEOUT)
    with pytest.raises(ServerError, match="the TLS handshake failed"):
        server.close()


def test_drain_makes_the_handshake_of_an_empty_script(server: ScriptedServer, pki: TestPKI) -> None:
    server.add_connection()
    with tls_connect(server, client_context(pki)) as sock:
        sock.sendall(b"anything")
    record = server.connection(0)
    assert record.wait_client_close(TIMEOUT)
    assert record.tls is not None and record.tls.succeeded and bytes(record.received) == b"anything"


def test_shutdown_during_the_handshake(server: ScriptedServer) -> None:
    server.add_connection(handshake())
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT):
        assert server.wait_connections(1)
        with pytest.raises(ServerError, match="the test ended before the client sent"):
            server.close()


def test_tls_steps_need_a_tls_server() -> None:
    server = ScriptedServer()
    server.add_connection(close_notify())
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT):
        assert server.wait_connections(1) and server.wait_idle(TIMEOUT)
    with pytest.raises(ServerError, match="needs a TLS server"):
        server.close()


# -- mutual TLS ---------------------------------------------------------------------------------------------------


def test_client_certificate_required(pki: TestPKI) -> None:
    with ScriptedServer(tls=pki.server(CertKind.GOOD, require_client_cert=True)) as server:
        server.add_connection(respond(OK))
        server.add_connection(handshake(succeeds=False))
        with tls_connect(server, client_context(pki, cert=pki.client_cert_file)) as sock:
            sock.sendall(GET)
            assert sock.recv(65536) == OK
        certificate = server.connection(0).tls.client_certificate  # type: ignore[union-attr]
        assert certificate is not None and "subject" in certificate
        with tls_connect(server, client_context(pki)) as sock:
            with pytest.raises(ssl.SSLError):
                sock.sendall(GET)
                sock.recv(65536)
        tls = server.connection(1).tls
        assert tls is not None and tls.wait_handshake(TIMEOUT) and tls.handshake == "failed"
        assert tls.handshake_error and "CERTIFICATE" in tls.handshake_error.upper()


# -- closure --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unwrap", [pytest.param(True, id="close-notify"), pytest.param(False, id="tcp-close")])
def test_client_close_notify_is_recorded(server: ScriptedServer, pki: TestPKI, unwrap: bool) -> None:
    server.add_connection(respond(OK))
    sock = tls_connect(server, client_context(pki))
    with sock:
        sock.sendall(GET)
        assert sock.recv(65536) == OK
        if unwrap:
            sock.settimeout(0)
            try:
                sock.unwrap()
            except ssl.SSLError:
                pass  # sent; the server's own close_notify is not waited for
    record = server.connection(0)
    assert record.wait_client_close(TIMEOUT)
    assert record.tls is not None and record.tls.close_notify_received is unwrap


@pytest.mark.parametrize("notify", [pytest.param(True, id="close-notify"), pytest.param(False, id="tcp-close")])
def test_server_closure(server: ScriptedServer, pki: TestPKI, notify: bool) -> None:
    server.add_connection(expect_request(), send(OK), *([close_notify()] if notify else []), close())
    with tls_connect(server, client_context(pki), suppress_ragged_eofs=False) as sock:
        sock.sendall(GET)
        if notify:
            assert read_all(sock) == OK, "a clean end of the TLS stream"
        else:
            with pytest.raises(ssl.SSLEOFError):
                read_all(sock)
    assert server.connection(0).tls.close_notify_sent is notify  # type: ignore[union-attr]


def test_close_notify_before_handshake_is_a_script_error(server: ScriptedServer) -> None:
    server.add_connection(send_raw(b"x"), close_notify())
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
        assert sock.recv(10) == b"x"
        assert server.wait_connections(1) and server.wait_idle(TIMEOUT)
    with pytest.raises(ServerError, match="needs a TLS session"):
        server.close()


# -- raw bytes outside TLS ------------------------------------------------------------------------------------------


def test_send_raw_before_the_handshake(server: ScriptedServer, pki: TestPKI) -> None:
    server.add_connection(send_raw(b"HTTP/1.1 200 OK\r\n\r\n"), close())
    with pytest.raises(OSError):
        with tls_connect(server, client_context(pki)):
            pass
    record = server.connection(0)
    assert record.wait_finished(TIMEOUT)
    assert record.tls is not None and record.tls.handshake == "bypassed"
    assert bytes(record.tls.raw_sent) == b"HTTP/1.1 200 OK\r\n\r\n" and not record.sent


def test_plaintext_answer_after_the_client_hello(server: ScriptedServer, pki: TestPKI) -> None:
    reached = threading.Event()
    server.add_connection(expect_client_hello(), call(lambda conn: reached.set()), send_raw(b"HTTP/1.1 400 X\r\n\r\n"))
    with pytest.raises(ssl.SSLError, match="WRONG_VERSION_NUMBER|record layer|wrong version"):
        with tls_connect(server, client_context(pki)):
            pass
    assert reached.is_set()
    record = server.connection(0)
    assert record.wait_client_close(TIMEOUT)
    assert record.tls is not None and record.tls.server_name == "localhost" and record.tls.handshake == "bypassed"


def test_expect_client_hello_from_a_plain_client(server: ScriptedServer) -> None:
    server.add_connection(expect_client_hello())
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
        sock.sendall(GET)
        assert server.wait_connections(1) and server.wait_idle(TIMEOUT)
    with pytest.raises(ServerError, match="sent no TLS ClientHello"):
        server.close()


def test_handler_sees_the_tls_channel(server: ScriptedServer, pki: TestPKI) -> None:
    states: list[str] = []

    def look(conn: ServerConnection) -> None:
        assert conn.channel is not None
        states.append(conn.channel.state)

    server.add_connection(call(look), handshake(), call(look), respond(OK))
    with tls_connect(server, client_context(pki)) as sock:
        sock.sendall(GET)
        assert sock.recv(65536) == OK
    assert states == ["not started", "done"]
