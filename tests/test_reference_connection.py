"""The reference's connection side where the scenario suites do not reach: CONNECT tunnels, debug
output and audit events (compared with http.client's), and the default HTTPS context.

Every socket is a ScriptedServer's; TLS is done inside a script step with a trustme CA.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import ssl
import sys
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import trustme

from h1conform import reference
from h1conform.servers import ScriptedServer, ServerConnection, call, expect_request, respond, send

TIMEOUT = 5.0
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


# -- tunnels ------------------------------------------------------------------------------------


def test_tunnel_connect_request_and_tunnelled_request(server: ScriptedServer) -> None:
    server.add_connection(expect_request(strict=False),
                          send(b"HTTP/1.1 200 Connection established\r\nX-Proxy: p1\r\n\r\n"),
                          respond(OK))
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.set_tunnel("target.example", 8080, headers={"Proxy-Authorization": "Basic dTpw"})
    assert conn.get_proxy_response_headers() is None, "no CONNECT sent yet"
    conn.request("GET", "/x")
    with conn.getresponse() as response:
        assert response.read() == b"ok"
    conn.close()
    assert server.connection(0).wait_client_close(TIMEOUT)
    connect, tunnelled = server.requests
    assert connect.raw == (b"CONNECT target.example:8080 HTTP/1.1\r\nHost: target.example:8080\r\n"
                           b"Proxy-Authorization: Basic dTpw\r\n\r\n")
    assert tunnelled.header("host") == b"target.example:8080"
    assert tunnelled.header("proxy-authorization") is None, "Proxy-Authorization goes to the proxy only"
    headers = conn.get_proxy_response_headers()
    assert isinstance(headers, http.client.HTTPMessage) and headers["X-Proxy"] == "p1"


@pytest.mark.parametrize("host, port, target", [
    pytest.param("example.org", None, b"example.org:80", id="port-always-sent"),
    pytest.param("[::1]:8443", None, b"[::1]:8443", id="ipv6-literal"),
    pytest.param("b\u00fccher.example", 443, b"xn--bcher-kva.example:443", id="idna"),
])
def test_tunnel_target(server: ScriptedServer, host: str, port: int | None, target: bytes) -> None:
    server.add_connection(expect_request(strict=False), send(b"HTTP/1.1 200 OK\r\n\r\n"), respond(OK))
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.set_tunnel(host, port)
    conn.request("GET", "/")
    conn.getresponse().read()
    conn.close()
    connect = server.requests[0]
    assert connect.raw == b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)


@pytest.mark.parametrize("status", [b"200 OK", b"201 Created", b"204 No Content", b"299 Whatever"])
def test_tunnel_any_2xx_is_success(server: ScriptedServer, status: bytes) -> None:
    # RFC 9110 9.3.6: any 2xx response to CONNECT switches to tunnel mode (stdlib: only 200).
    server.add_connection(expect_request(strict=False), send(b"HTTP/1.1 " + status + b"\r\n\r\n"), respond(OK))
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.set_tunnel("target.example", 443)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    conn.close()


def test_tunnel_refused(server: ScriptedServer) -> None:
    server.add_connection(expect_request(strict=False), send(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n"
        b"Content-Length: 0\r\n\r\n"))
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.set_tunnel("target.example", 443)
    with pytest.raises(OSError, match="^Tunnel connection failed: 407 Proxy Authentication Required$"):
        conn.request("GET", "/")
    assert conn.sock is None, "a failed tunnel closes the connection"
    headers = conn.get_proxy_response_headers()
    assert headers is not None and headers["Proxy-Authenticate"] == 'Basic realm="p"'
    assert len(server.requests) == 1, "nothing is sent after the refused CONNECT"


@pytest.mark.parametrize("host, headers, error", [
    pytest.param("t.example\r\nInjected: 1", None, reference.InvalidURL, id="crlf-in-host"),
    pytest.param("t.example foo", None, reference.InvalidURL, id="space-in-host"),
    pytest.param("t.example", {"X-A": "v\r\nInjected: 1"}, ValueError, id="crlf-in-value"),
    pytest.param("t.example", {"X-A\r\nInjected": "v"}, ValueError, id="crlf-in-name"),
    pytest.param("t.example", {"X-A": "v\x00"}, ValueError, id="nul-in-value"),
])
def test_tunnel_injection_refused(server: ScriptedServer, host: str, headers: dict[str, str] | None,
                                  error: type[Exception]) -> None:
    # CVE-2026-1502: every stdlib release up to 3.13.0 sends the injected line to the proxy.
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    with pytest.raises(error):
        conn.set_tunnel(host, 443, headers=headers)
    conn.close()
    assert server.bytes_received == 0


def test_set_tunnel_after_connect(server: ScriptedServer) -> None:
    server.add_connection(call(lambda c: None), optional=True)  # the accept may come after close()
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.connect()
    with pytest.raises(RuntimeError):
        conn.set_tunnel("target.example", 443)
    conn.close()


# -- debug output and audit events, compared with http.client -----------------------------------------


def _run(module: ModuleType, server: ScriptedServer, body: Any, headers: dict[str, str]) -> None:
    conn = module.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.set_debuglevel(1)
    conn.request("POST", "/p", body=body() if callable(body) else body, headers=headers)
    conn.getresponse().read()
    conn.close()


BODIES = [
    pytest.param(b"hello", {}, id="bytes"),
    pytest.param("caf\u00e9", {}, id="str"),
    pytest.param(lambda: io.BytesIO(b"file data"), {}, id="binary-file"),
    pytest.param(lambda: io.StringIO("text"), {}, id="text-file"),
    pytest.param(lambda: iter([b"a", b"", b"bc"]), {}, id="iterable"),
    pytest.param(lambda: iter([b"a", b"bc"]), {"Content-Length": "3"}, id="iterable-with-length"),
    pytest.param(None, {"X-A": "1"}, id="none"),
]


def _send_lines(output: str) -> list[str]:
    # The request side's lines; "reply:" / "header:" lines belong to the response.
    return [line for line in output.splitlines() if not line.startswith(("reply:", "header:"))]


@pytest.mark.parametrize("body, headers", BODIES)
def test_debug_output_like_stdlib(capsys: pytest.CaptureFixture[str], body: Any, headers: dict[str, str]) -> None:
    outputs = []
    for module in (http.client, reference):
        with ScriptedServer() as scripted:
            scripted.add_connection(respond(OK))
            _run(module, scripted, body, headers)
            outputs.append(_send_lines(capsys.readouterr().out.replace(str(scripted.port), "PORT")))
    # Iterables print their repr (with an address) in both; compare without it.
    stdlib, ours = ([line.split(" at 0x")[0] for line in lines] for lines in outputs)
    assert ours == stdlib


class _AuditLog:
    """One audit hook for the whole process (hooks cannot be removed), recording while enabled."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.enabled = threading.local()
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event.startswith("http.client.") and getattr(self.enabled, "on", False):
            self.events.append((event, args))

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
        self.events = []
        self.enabled.on = True
        try:
            yield self.events
        finally:
            self.enabled.on = False


_AUDIT: _AuditLog | None = None


def _audit() -> _AuditLog:
    global _AUDIT
    if _AUDIT is None:
        _AUDIT = _AuditLog()
    return _AUDIT


@pytest.mark.parametrize("body, headers", BODIES)
def test_audit_events_like_stdlib(capsys: pytest.CaptureFixture[str], body: Any, headers: dict[str, str]) -> None:
    seen = []
    for module in (http.client, reference):
        with ScriptedServer() as scripted, _audit().recording() as events:
            scripted.add_connection(respond(OK))
            _run(module, scripted, body, headers)
            seen.append([_normalised(name, args, scripted.port) for name, args in events])
    capsys.readouterr()
    stdlib, ours = seen
    assert ours[0] == ("http.client.connect", "HTTPConnection", "127.0.0.1", "PORT")
    assert ours == stdlib


def _normalised(name: str, args: tuple[Any, ...], port: int) -> tuple[Any, ...]:
    conn, *rest = args
    values: list[Any] = []
    for value in rest:
        if value == port:
            value = "PORT"
        elif isinstance(value, (bytes, bytearray, memoryview)):
            value = bytes(value).replace(str(port).encode(), b"PORT")
        else:
            value = "<iterable>" if not isinstance(value, str) else value
        values.append(value)
    return (name, type(conn).__name__, *values)


# -- the state machine ------------------------------------------------------------------------------------


def test_not_connected_when_auto_open_is_off(server: ScriptedServer) -> None:
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.auto_open = 0
    with pytest.raises(reference.NotConnected):
        conn.request("GET", "/")
    conn.close()


def test_out_of_order_calls(server: ScriptedServer) -> None:
    server.add_connection(respond(OK))
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    with pytest.raises(reference.CannotSendHeader):
        conn.putheader("X-A", "1")
    with pytest.raises(reference.CannotSendHeader):
        conn.endheaders()
    with pytest.raises(reference.ResponseNotReady):
        conn.getresponse()
    conn.putrequest("GET", "/")
    with pytest.raises(reference.CannotSendRequest):
        conn.putrequest("GET", "/")
    with pytest.raises(reference.CannotSendRequest):
        conn.request("GET", "/")
    conn.endheaders()
    with pytest.raises(reference.CannotSendRequest):
        conn.putrequest("GET", "/")
    assert conn.getresponse().read() == b"ok"
    conn.close()


def test_refused_request_leaves_connection_usable(server: ScriptedServer) -> None:
    server.add_connection(respond(OK))
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    with pytest.raises(ValueError):
        conn.request("GET", "/", headers={"X-A": "a\r\nInjected: 1"})
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    assert len(server.requests) == 1 and server.requests[0].header("x-a") is None


def test_stray_bytes_on_idle_connection_are_not_a_response(server: ScriptedServer) -> None:
    # RFC 9112 9.2: data on a connection without outstanding requests is no response.
    stray = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray"
    read, done = threading.Event(), threading.Event()
    # The stray bytes come once the first response is read, so that they are in the socket, not
    # in the first response's buffer.
    server.add_connection(respond(OK), call(lambda c: read.wait(TIMEOUT)), send(stray), call(lambda c: done.set()))
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"))
    conn = reference.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    conn.request("GET", "/1")
    assert conn.getresponse().read() == b"ok"
    read.set()
    assert done.wait(TIMEOUT)
    conn.request("GET", "/2")
    assert conn.getresponse().read() == b"second"
    conn.close()


def test_host_header_forms(server: ScriptedServer) -> None:
    server.add_connection(respond(OK), respond(OK))
    conn = reference.HTTPConnection(f"{server.host}:{server.port}", timeout=TIMEOUT)
    conn.request("GET", "http://user:pw@example.org:8080/x")
    conn.getresponse().read()
    conn.putrequest("GET", "/", skip_accept_encoding=True)
    conn.putheader("Accept", "a", " b ", "c")
    conn.endheaders()
    conn.getresponse().read()
    conn.close()
    first, second = server.requests
    assert first.header("host") == b"example.org:8080"
    assert second.field_lines == [b"Host: " + server.authority.encode(), b"Accept: a, b, c"]


def test_constructor_host_parsing() -> None:
    assert (reference.HTTPConnection("::1").host, reference.HTTPConnection("::1").port) == ("::1", 80)
    assert reference.HTTPConnection("example.org:").port == 80
    with pytest.raises(reference.InvalidURL):
        reference.HTTPConnection("example.org:+80")
    with pytest.raises(reference.InvalidURL):
        reference.HTTPConnection("example.org\r\n")


# -- HTTPS ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _tls_step(ca: trustme.CA, names: list[str], seen: dict[str, Any]) -> Any:
    """A script step that does the TLS handshake, records SNI and ALPN, answers one request."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    context.set_alpn_protocols(["http/1.1"])
    context.sni_callback = lambda sock, name, ctx: seen.update(sni=name)  # type: ignore[assignment]

    def handshake(conn: ServerConnection) -> None:
        conn.sock.settimeout(TIMEOUT)
        try:
            tls = context.wrap_socket(conn.sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            seen["error"] = exc
            conn.close()
            return
        with tls:
            seen["alpn"] = tls.selected_alpn_protocol()
            data = b""
            while b"\r\n\r\n" not in data:
                data += tls.recv(65536)
            seen["request"] = data
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        conn.close()

    return call(handshake)


def test_https_default_context(server: ScriptedServer, ca: trustme.CA) -> None:
    seen: dict[str, Any] = {}
    server.add_connection(_tls_step(ca, ["localhost"], seen))
    conn = reference.HTTPSConnection("localhost", server.port, timeout=TIMEOUT)
    context = conn._context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    ca.configure_trust(context)  # the default context, now also trusting the test CA
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    assert seen["alpn"] == "http/1.1", "the default context offers ALPN http/1.1"
    assert seen["sni"] == "localhost"
    assert seen["request"].startswith(b"GET / HTTP/1.1\r\nHost: localhost:%d\r\n" % server.port)


@pytest.mark.parametrize("cert_names, trust", [
    pytest.param(["localhost"], False, id="unknown-ca"),
    pytest.param(["other.example"], True, id="wrong-host"),
])
def test_https_verification_on_by_default(server: ScriptedServer, ca: trustme.CA, cert_names: list[str],
                                          trust: bool) -> None:
    seen: dict[str, Any] = {}
    server.add_connection(_tls_step(ca, cert_names, seen))
    conn = reference.HTTPSConnection("localhost", server.port, timeout=TIMEOUT)
    if trust:
        ca.configure_trust(conn._context)
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/")
    assert conn.sock is None
    conn.close()
    assert "request" not in seen


def test_https_through_tunnel_uses_tunnel_host_for_sni(server: ScriptedServer, ca: trustme.CA) -> None:
    seen: dict[str, Any] = {}
    server.add_connection(expect_request(strict=False), send(b"HTTP/1.1 200 OK\r\n\r\n"),
                          _tls_step(ca, ["target.example"], seen))
    conn = reference.HTTPSConnection(server.host, server.port, timeout=TIMEOUT)
    ca.configure_trust(conn._context)
    conn.set_tunnel("target.example")
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    assert server.requests[0].raw.startswith(b"CONNECT target.example:443 HTTP/1.1\r\n")
    assert seen["sni"] == "target.example"
    assert b"\r\nHost: target.example\r\n" in seen["request"]
