"""Tests of the scripted CONNECT proxy steps (servers/proxy.py), driven with plain sockets and http.client.

Every wait is bounded; nothing sleeps to order things; every socket is closed by the test.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from raw_sockets import TIMEOUT, connect, recv_exactly

from h1conform.servers import (
    ESTABLISHED,
    CertKind,
    ScriptedServer,
    ServerError,
    TestPKI,
    at,
    close,
    expect_connect,
    expect_request,
    mitm,
    proxy_auth_required,
    relay,
    respond,
    send,
    stall,
    tunnel,
)


def response(body: bytes = b"ok") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


CONNECT = b"CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n"






def recv_until_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    left = [t.name for t in threading.enumerate() if t not in before and t.name.startswith("scripted-server-")]
    assert not left, f"server threads still running after the test: {left}"


def test_expect_connect_records_the_authority_form_request() -> None:
    with ScriptedServer() as proxy:
        proxy.add_connection(expect_connect(), send(proxy_auth_required(body=b"no")), close())
        with connect(proxy) as sock:
            sock.sendall(CONNECT)
            reply = recv_until_eof(sock)
        assert reply.startswith(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic ")
        assert reply.endswith(b"Content-Length: 2\r\n\r\nno")
        request = proxy.requests[0]
        assert (request.method, request.target, request.http_version) == (b"CONNECT", b"origin.test:443", b"1.1")
        assert request.header("host") == b"origin.test:443"
        assert request.raw == CONNECT


def test_expect_connect_fails_the_script_on_another_method() -> None:
    proxy = ScriptedServer()
    proxy.add_connection(expect_connect(), send(ESTABLISHED))
    with connect(proxy) as sock:
        sock.sendall(b"GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n")
        assert proxy.wait_connections(1, TIMEOUT) and proxy.wait_idle(TIMEOUT)
    with pytest.raises(ServerError, match="expected a CONNECT request, the client sent b'GET http://origin.test/"):
        proxy.close()


def test_expect_connect_not_strict_records_what_h11_refuses() -> None:
    with ScriptedServer() as proxy:
        proxy.add_connection(expect_connect(strict=False), send(proxy_auth_required()), close())
        with connect(proxy) as sock:
            sock.sendall(b"CONNECT origin.test\r\nInjected: 1:443 HTTP/1.1\r\n\r\n")
            recv_until_eof(sock)
        assert proxy.requests[0].error is not None
        assert b"Injected: 1" in proxy.requests[0].raw


def test_relay_pipes_both_ways_and_the_origin_records_the_tunnelled_requests() -> None:
    with ScriptedServer() as origin, ScriptedServer() as proxy:
        origin.add_connection(respond(response(b"one")), respond(response(b"two")))
        proxy.add_connection(tunnel(origin))
        with connect(proxy) as sock:
            sock.sendall(CONNECT)
            assert recv_exactly(sock, len(ESTABLISHED)) == ESTABLISHED
            first = b"GET /1 HTTP/1.1\r\nHost: origin.test\r\n\r\n"
            sock.sendall(first)
            assert recv_exactly(sock, len(response(b"one"))) == response(b"one")
            second = b"GET /2 HTTP/1.1\r\nHost: origin.test\r\nProxy-Authorization: x\r\n\r\n"
            sock.sendall(second)
            assert recv_exactly(sock, len(response(b"two"))) == response(b"two")
        assert proxy.wait_idle(TIMEOUT) and origin.wait_idle(TIMEOUT)
        assert [r.target for r in origin.requests] == [b"/1", b"/2"]
        assert origin.requests[1].header("proxy-authorization") == b"x"
        record = proxy.connection(0)
        assert record.unparsed == first + second, "the proxy records the tunnelled bytes after the CONNECT"
        assert bytes(record.sent) == ESTABLISHED + response(b"one") + response(b"two")
        assert record.events[0] == f"relay to 127.0.0.1:{origin.port} opened"
        assert "relay: the client closed the tunnel; origin side closed" in record.events
        assert origin.connection(0).client_closed, "the client's close reaches the origin"


def test_relay_forwards_bytes_sent_with_the_connect_head() -> None:
    with ScriptedServer() as origin, ScriptedServer() as proxy:
        origin.add_connection(respond(response(b"early")))
        proxy.add_connection(tunnel(origin))
        with connect(proxy) as sock:
            sock.sendall(CONNECT + b"GET /early HTTP/1.1\r\nHost: origin.test\r\n\r\n")
            expected = ESTABLISHED + response(b"early")
            assert recv_exactly(sock, len(expected)) == expected
        assert origin.wait_idle(TIMEOUT)
        assert origin.requests[0].target == b"/early"


def test_relay_closes_the_client_side_when_the_origin_closes() -> None:
    with ScriptedServer() as origin, ScriptedServer() as proxy:
        origin.add_connection(expect_request(), send(b"HTTP/1.1 200 OK\r\n\r\nuntil close"), close())
        proxy.add_connection(tunnel(origin))
        with connect(proxy) as sock:
            sock.sendall(CONNECT + b"GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n")
            assert recv_until_eof(sock) == ESTABLISHED + b"HTTP/1.1 200 OK\r\n\r\nuntil close"
        assert proxy.wait_idle(TIMEOUT)
        assert "relay: the origin closed the tunnel; client side closed" in proxy.connection(0).events


def test_relay_carries_a_tls_session_unchanged(tmp_path: Path) -> None:
    import ssl

    pki = TestPKI(tmp_path)
    with ScriptedServer(tls=pki.server(CertKind.GOOD)) as origin, ScriptedServer() as proxy:
        origin.add_connection(respond(response(b"secret")))
        proxy.add_connection(tunnel(origin))
        context = ssl.create_default_context(cafile=str(pki.ca_file))
        conn = http.client.HTTPSConnection(proxy.host, proxy.port, timeout=TIMEOUT, context=context)
        try:
            conn.set_tunnel("localhost", 443)
            conn.request("GET", "/tls")
            assert conn.getresponse().read() == b"secret"
        finally:
            conn.close()
        assert proxy.requests[0].target == b"localhost:443"
        assert b"GET /tls" not in proxy.connection(0).received, "the proxy sees only ciphertext"
        assert origin.requests[0].target == b"/tls", "the origin's records hold the plaintext"
        assert origin.connection(0).tls is not None and origin.connection(0).tls.server_name == "localhost"


def test_relay_to_an_unreachable_origin_fails_the_script() -> None:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there now
    proxy = ScriptedServer()
    proxy.add_connection(expect_connect(), send(ESTABLISHED), relay(at("127.0.0.1", port)))
    with connect(proxy) as sock:
        sock.sendall(CONNECT)
        assert recv_exactly(sock, len(ESTABLISHED)) == ESTABLISHED
        assert recv_until_eof(sock) == b""
    with pytest.raises(ServerError, match="relay: cannot connect to the origin"):
        proxy.close()


def test_proxy_shutdown_ends_a_relay_that_nobody_closes() -> None:
    origin = ScriptedServer()
    origin.add_connection(stall())
    proxy = ScriptedServer()
    proxy.add_connection(tunnel(origin))
    with connect(proxy) as sock:
        sock.sendall(CONNECT)
        assert recv_exactly(sock, len(ESTABLISHED)) == ESTABLISHED
        assert origin.wait_connections(1, TIMEOUT)
        proxy.close()  # returns: the relay ended quietly, its origin connection closed
        assert origin.connection(0).wait_client_close(TIMEOUT)
        assert sock.recv(1) == b""
    origin.close()


def test_a_proxy_answers_an_absolute_form_request_in_the_origins_place() -> None:
    with ScriptedServer() as proxy:
        proxy.add_connection(respond(response(b"via proxy")))
        conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=TIMEOUT)
        try:
            conn.request("GET", "http://origin.test:8080/x?y=1")
            assert conn.getresponse().read() == b"via proxy"
        finally:
            conn.close()
        assert proxy.requests[0].target == b"http://origin.test:8080/x?y=1"
        assert proxy.requests[0].header("host") == b"origin.test:8080"


# -- mitmproxy (servers/mitm.py) --------------------------------------------------------------------

needs_mitmproxy = pytest.mark.skipif(mitm.available() is not None, reason=str(mitm.available()))


@needs_mitmproxy
def test_mitm_lifecycle(tmp_path: Path) -> None:
    # One child process for every check of a running mitmproxy: each start costs an interpreter
    # and mitmproxy's import.
    proxy = mitm.MitmProxy(tmp_path)
    proxy.start()
    try:
        # Readiness: listening on an OS-chosen port as soon as start() returns, its CA generated.
        assert proxy.host == "127.0.0.1" and proxy.port > 0
        assert proxy.url == f"http://127.0.0.1:{proxy.port}"
        assert Path(proxy.ca_file).read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert 0 < proxy.startup_seconds < mitm.READY_TIMEOUT
        with pytest.raises(mitm.MitmError, match="already started"):
            proxy.start()

        # It forwards http to a loopback origin...
        with ScriptedServer() as origin:
            origin.add_connection(respond(response(b"via mitmproxy")))
            conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=TIMEOUT)
            try:
                conn.request("GET", origin.url("/m"))
                reply = conn.getresponse()
                assert (reply.status, reply.read()) == (200, b"via mitmproxy")
            finally:
                conn.close()
            assert origin.requests[0].target == b"/m"

        # ...and refuses any other upstream, without contacting it.
        conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=TIMEOUT)
        try:
            conn.request("GET", "http://192.0.2.1/")  # TEST-NET-1
            reply = conn.getresponse()
            body = reply.read()
        finally:
            conn.close()
        assert reply.status == 502 and b"loopback addresses only" in body
        proxy.check()
    finally:
        proxy.stop()  # raises MitmError unless the child exits cleanly
    assert proxy.returncode == 0
    with pytest.raises(OSError):
        socket.create_connection((proxy.host, proxy.port), timeout=TIMEOUT).close()
    proxy.stop()  # a second stop does nothing


@needs_mitmproxy
def test_mitm_start_failure_is_reported_with_its_log(tmp_path: Path) -> None:
    proxy = mitm.MitmProxy(tmp_path, passthrough=["("])  # not a regular expression
    with pytest.raises(mitm.MitmError, match="failed to start: passthrough pattern '\\(' is not a regular"):
        proxy.start()
    proxy.stop()  # nothing left to stop


def test_mitm_unavailable_gives_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mitmproxy", None)  # what find_spec() then reports as not installed
    reason = mitm.available()
    assert reason is not None and reason.startswith("mitmproxy is not installed for Python ")
