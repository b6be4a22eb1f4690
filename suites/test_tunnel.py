"""Proxies: CONNECT tunnels (`set_tunnel`, `get_proxy_response_headers`) and forward-proxy requests.

The proxy is a scripted server (servers/proxy.py): it records the CONNECT request exactly as sent,
answers it with literal bytes, then relays the tunnel to a scripted origin, whose records show what
went through the tunnel. RFC 9112 3.2.3: a CONNECT request sends only host:port (authority-form);
RFC 9110 9.3.6: always with the port, any 2xx opens the tunnel, whose Content-Length and
Transfer-Encoding are ignored; RFC 9110 7.2 / RFC 9112 3.2: Host, identical to the target's
authority. CVE-2026-1502: CR/LF in the tunnel host or headers must never reach the proxy.
"""

from __future__ import annotations

import ssl

import pytest

from h1conform.servers import (
    ESTABLISHED,
    WHOLE,
    CertKind,
    call,
    close,
    expect_connect,
    expect_request,
    half_close,
    handshake,
    proxy_auth_required,
    relay,
    respond,
    send,
    stall,
    tunnel,
)
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    MAY,
    MUST,
    SHOULD,
    WIRE,
    TLSConfig,
    each_delivery,
    expect_response,
    scenario,
    variant,
)
from h1conform.suites.harness.fixtures import CLIENT_TIMEOUT
from h1conform.suites.harness.waiting import client_closed, harness_wait
from h1conform.suites.harness.wire import FEATURE_PERSISTENT, FEATURE_PROXY, FEATURE_TLS, FEATURE_TUNNEL

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
DENIED = proxy_auth_required(body=b"denied")
CHALLENGE = 'Basic realm="scripted proxy"'
CREDENTIALS = "Basic dXNlcjpzZWNyZXQ="  # user:secret

SET_TUNNEL = "http.client.HTTPConnection.set_tunnel"
PROXY_HEADERS = "http.client.HTTPConnection.get_proxy_response_headers"


def request_line(raw: bytes) -> bytes:
    return raw.partition(b"\r\n")[0]


def proxy_connection(client, proxy, https: bool = False):
    """The implementation's HTTPConnection (or HTTPSConnection) to the proxy, closed at teardown."""
    if https:
        # The tunnel is refused before any TLS: a context without the system's CA store is enough.
        return client.track(client.module.HTTPSConnection(
            proxy.host, proxy.port, timeout=CLIENT_TIMEOUT, context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)))
    return client.connect(proxy)


def connect_denied(client, proxy, *tunnel_args, https: bool = False, headers=None):
    """set_tunnel(*tunnel_args, headers), then connect(): the proxy records the CONNECT request and
    refuses it with a 407, which both http.client and a correct client report as an OSError.
    Returns the recorded CONNECT request."""
    proxy.add_connection(expect_connect(strict=False), send(DENIED), close(), optional=True)
    conn = proxy_connection(client, proxy, https)
    conn.set_tunnel(*tunnel_args, headers=headers)
    try:
        conn.connect()
    except OSError:
        pass  # the 407
    except Exception as exc:
        conn.close()
        if proxy.bytes_received == 0:
            raise AssertionError(f"set_tunnel{tunnel_args!r} then connect(): the client sent no CONNECT request, "
                                 f"it raised {type(exc).__name__}: {exc}") from exc
        raise
    else:
        raise AssertionError("connect() through a proxy that answers 407 must raise OSError (the tunnel failed)")
    conn.close()
    return proxy.requests[0]


def through_tunnel(client, proxy, origin, *tunnel_args, reply=ESTABLISHED, delivery=WHOLE, headers=None,
                   request_headers=None):
    """A GET through a tunnel that the proxy accepts with `reply` and relays to `origin`; returns the body."""
    proxy.add_connection(expect_connect(strict=False), send(reply, delivery), relay(origin))
    origin.add_connection(respond(OK))
    conn = client.connect(proxy)
    conn.set_tunnel(*tunnel_args, headers=headers)
    conn.request("GET", "/through", headers=request_headers or {})
    body = conn.getresponse().read()
    conn.close()
    return body


# =====================================================================================================
# the CONNECT request
# =====================================================================================================


@scenario("tunnel.connect.target", refs=["RFC9112-3.2.3-p3-s1", "RFC9110-9.3.6-p2-s1"], level=MUST, profile=API)
@pytest.mark.parametrize("https, args, target", [
    pytest.param(False, ("origin.example", 8080), b"origin.example:8080", id="explicit-port"),
    pytest.param(False, ("origin.example:8081",), b"origin.example:8081", id="port-in-host"),
    pytest.param(False, ("origin.example",), b"origin.example:80", id="http-default-port"),
    pytest.param(True, ("origin.example",), b"origin.example:443", id="https-default-port"),
    pytest.param(False, ("origin.example:",), b"origin.example:80", id="empty-port"),
    pytest.param(False, ("192.0.2.7", 8443), b"192.0.2.7:8443", id="ipv4-literal"),
    variant(False, ("b\u00fccher.example", 8080), b"xn--bcher-kva.example:8080", id="idna",
            refs=["RFC9112-3.2.3-p3-s1", "RFC9110-2.2-p5-s1"]),
    pytest.param(False, ("::1", 8443), b"[::1]:8443", id="ipv6"),
    pytest.param(False, ("[::1]:8443",), b"[::1]:8443", id="ipv6-port-in-host"),
    pytest.param(False, ("[::1]", 8443), b"[::1]:8443", id="ipv6-bracketed"),
])
def test_connect_target(proxy, client, https, args, target):
    sent = connect_denied(client, proxy, *args, https=https)
    line = request_line(sent.raw)
    assert line.rpartition(b" ")[0] == b"CONNECT " + target, (
        "RFC 9112 3.2.3: a CONNECT request MUST send only the host and port of the tunnel destination as the "
        "request-target (authority-form: a name in ASCII/IDNA, an IPv6 literal in brackets); RFC 9110 9.3.6: "
        f"the port MUST be sent even when it is the default. set_tunnel{args!r}: expected 'CONNECT "
        f"{target.decode()} HTTP/1.1', sent {line!r}")


@scenario("tunnel.connect.version", refs=["RFC9110-6.2-p5-s1"], level=SHOULD, profile=API)
def test_connect_version(proxy, client):
    sent = connect_denied(client, proxy, "origin.example", 8080)
    assert request_line(sent.raw).endswith(b" HTTP/1.1"), (
        "RFC 9110 6.2: a client SHOULD send a request version equal to the highest version to which it is "
        f"conformant (HTTP/1.1; Python 3.11 sends CONNECT as HTTP/1.0); sent {request_line(sent.raw)!r}")


AUTO_HOST = ["RFC9110-7.2-p4-s1", "RFC9112-3.2-p5-s2"]


@scenario("tunnel.connect.host", refs=AUTO_HOST, level=MUST, profile=API)
@pytest.mark.parametrize("args, headers, expected", [
    pytest.param(("origin.example", 8080), None, b"origin.example:8080", id="automatic"),
    pytest.param(("origin.example",), None, b"origin.example:80", id="automatic-default-port"),
    pytest.param(("b\u00fccher.example", 8080), None, b"xn--bcher-kva.example:8080", id="idna"),
    pytest.param(("::1", 8443), None, b"[::1]:8443", id="ipv6"),
    variant(("origin.example", 8080), {"Host": "caller.example:8080"}, b"caller.example:8080", id="caller-Host",
            level=API_LEVEL, refs=[SET_TUNNEL]),
    variant(("origin.example", 8080), {"host": "caller.example:8080"}, b"caller.example:8080", id="caller-host",
            level=API_LEVEL, refs=[SET_TUNNEL]),
    variant(("origin.example", 8080), {"HOST": "caller.example:8080"}, b"caller.example:8080", id="caller-HOST",
            level=API_LEVEL, refs=[SET_TUNNEL]),
])
def test_connect_host(proxy, client, args, headers, expected):
    sent = connect_denied(client, proxy, *args, headers=headers)
    hosts = sent.header_values("host")
    if headers is None:
        assert hosts == [expected], (
            "RFC 9110 7.2: a user agent MUST generate a Host header field (the CONNECT request too); RFC 9112 3.2: "
            "identical to the target's authority, here the CONNECT target host:port; "
            f"set_tunnel{args!r}: expected Host {expected!r}, sent {hosts!r}\n{sent.head!r}")
    else:
        assert hosts == [expected], (
            "set_tunnel(): a Host given in headers (in any case) replaces the automatic one and is sent once; "
            f"expected {[expected]!r}, sent {hosts!r}\n{sent.head!r}")


@scenario("tunnel.connect.host-first", refs=["RFC9110-7.2-p4-s2"], level=SHOULD, profile=API)
@pytest.mark.parametrize("headers", [
    pytest.param(None, id="control-no-headers"),
    pytest.param({"Proxy-Authorization": CREDENTIALS, "X-Tunnel-Id": "42"}, id="with-headers"),
])
def test_connect_host_first(proxy, client, headers):
    sent = connect_denied(client, proxy, "origin.example", 8080, headers=headers)
    names = [name.lower() for name, _ in sent.headers]
    assert names[:1] == [b"host"], (
        "RFC 9110 7.2: a user agent that sends Host SHOULD send it as the first field of the header section "
        f"(before the set_tunnel() headers); the CONNECT request's fields were {names}")


@scenario("tunnel.connect.headers", refs=[SET_TUNNEL], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("headers", [
    pytest.param({}, id="none"),
    pytest.param({"Proxy-Authorization": CREDENTIALS}, id="proxy-authorization"),
    pytest.param({"Proxy-Authorization": CREDENTIALS, "X-Tunnel-Id": "42", "User-Agent": "conformance/1"},
                 id="several"),
])
def test_connect_headers(proxy, client, headers):
    sent = connect_denied(client, proxy, "origin.example", 8080, headers=headers)
    names = [name.lower() for name, _ in sent.headers]
    problems = [f"{name}: sent {sent.header_values(name)!r}, expected [{value!r}]"
                for name, value in headers.items() if sent.header_values(name) != [value.encode()]]
    extra = sorted(set(names) - {name.lower().encode() for name in headers} - {b"host"})
    assert not problems and not extra, (
        "set_tunnel(headers=...): the headers are sent with the CONNECT request, once each, as given, and only "
        f"Host is added; {problems} extra {extra}\n{sent.head!r}")


@scenario("tunnel.connect.headers-copied", refs=[SET_TUNNEL], level=API_LEVEL, profile=API)
def test_connect_headers_copied(proxy, client):
    headers = {"X-Tunnel-Id": "42"}
    proxy.add_connection(expect_connect(strict=False), send(DENIED), close())
    conn = client.connect(proxy)
    conn.set_tunnel("origin.example", 8080, headers=headers)
    with pytest.raises(OSError):
        conn.connect()
    assert proxy.requests[0].header_values("x-tunnel-id") == [b"42"], "set_tunnel(headers=...) are sent"
    assert headers == {"X-Tunnel-Id": "42"}, (
        f"set_tunnel() must not modify the caller's headers mapping (e.g. to add Host): it became {headers!r}")


@scenario("tunnel.connect.headers-replaced", refs=[SET_TUNNEL], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("second", [
    pytest.param({"X-Tunnel-Id": "43"}, id="control-new-headers"),
    pytest.param(None, id="no-headers"),
    pytest.param({}, id="empty-headers"),
])
def test_connect_headers_replaced(proxy, client, second):
    # set_tunnel() called again before connecting: its headers replace the first call's, also when
    # it gives none (the first call's Proxy-Authorization must not outlive it).
    proxy.add_connection(expect_connect(strict=False), send(DENIED), close())
    conn = client.connect(proxy)
    conn.set_tunnel("origin.example", 8080, headers={"X-Tunnel-Id": "42"})
    conn.set_tunnel("origin.example", 8080, headers=second)
    with pytest.raises(OSError):
        conn.connect()
    expected = [b"43"] if second else []
    sent = proxy.requests[0].header_values("x-tunnel-id")
    assert sent == expected, (
        f"set_tunnel() again with headers={second!r}: the CONNECT request carries only its headers; "
        f"X-Tunnel-Id was sent as {sent!r}, expected {expected!r}")


# =====================================================================================================
# CR/LF injection through set_tunnel (CVE-2026-1502)
# =====================================================================================================


def _tunnel_closed(to_proxy, at_origin) -> bool:
    """Whether the client closed the tunnel, its connection to the proxy (asked now, of the kernel);
    if it did, the proxy then closes the origin's side, which is waited for: the origin's record is whole."""
    if not client_closed(to_proxy):
        return False
    harness_wait(at_origin.wait_client_close, "the proxy did not close the origin's side of a closed tunnel")
    return True


def _injected(received: bytes) -> bool:
    return any(line.strip(b"\r\t ").lower().startswith(b"injected:") for line in received.split(b"\n"))


def _deny_whatever_arrives(conn) -> None:
    """Record whatever the client sends until the end of a head (or its close), then refuse with 407.

    Unlike expect_connect(), it accepts nothing at all: a client that refuses the tunnel after
    opening the connection sends nothing, and a malformed head is recorded, not judged."""
    while b"\r\n\r\n" not in conn.record.received:
        if not conn.receive(conn.timeout):  # the test closes the client: this ends
            return
    conn.send(DENIED)
    conn.close()


@scenario("tunnel.injection", refs=["RFC9110-2.2-p5-s1"], level=MUST, profile=API, cves=["CVE-2026-1502"])
@pytest.mark.parametrize("host, port, headers, refused", [
    pytest.param("origin.example", 8080, {"X-Tunnel-Id": "42"}, False, id="control-valid"),
    pytest.param("origin.example\r\nInjected: 1", 8080, None, True, id="host-crlf"),
    pytest.param("origin.example\nInjected: 1", 8080, None, True, id="host-lf"),
    pytest.param("origin.example:8080\r\nInjected: 1", None, None, True, id="port-in-host-crlf"),
    pytest.param("origin.example", "8080\r\nInjected: 1", None, True, id="port-crlf"),
    pytest.param("origin.example", 8080, {"X-Tunnel-Id": "42\r\nInjected: 1"}, True, id="header-value-crlf"),
    pytest.param("origin.example", 8080, {"X-Tunnel-Id": "42\nInjected: 1"}, True, id="header-value-lf"),
    pytest.param("origin.example", 8080, {"X-Tunnel-Id\r\nInjected": "1"}, True, id="header-name-crlf"),
    pytest.param("origin.example", 8080, {"Host": "origin.example:8080\r\nInjected: 1"}, True,
                 id="caller-host-crlf"),
])
def test_tunnel_injection(proxy, client, host, port, headers, refused):
    proxy.add_connection(call(_deny_whatever_arrives), optional=refused)
    conn = client.connect(proxy)
    refusal = None
    try:
        conn.set_tunnel(host, port, headers=headers)
        conn.connect()
    except (ValueError, TypeError, client.module.HTTPException) as exc:  # InvalidURL, before sending
        refusal = exc
    except OSError:
        pass  # the proxy's 407: the CONNECT request was sent
    conn.close()
    harness_wait(proxy.wait_idle, "the proxy's script did not end after the client's close")
    received = b"".join(bytes(record.received) for record in proxy.connections)
    if not refused:
        assert refusal is None and request_line(received).startswith(b"CONNECT origin.example:8080 HTTP/1."), (
            f"a valid tunnel is set up: refusal {refusal!r}, sent {received!r}")
        assert received.count(b"X-Tunnel-Id: 42\r\n") == 1 and not _injected(received)
        return
    assert not _injected(received), (
        "CVE-2026-1502 / RFC 9110 2.2: CR or LF in the tunnel host, port or headers must never reach the proxy as "
        "a request line or field line of its own (set_tunnel() should raise ValueError); "
        f"set_tunnel({host!r}, {port!r}, headers={headers!r}) sent {received!r}")


# =====================================================================================================
# the proxy's reply
# =====================================================================================================


@scenario("tunnel.reply.2xx", refs=["RFC9110-9.3.6-p12-s2"], level=MUST, profile=API)
@pytest.mark.parametrize("reply", [
    pytest.param(ESTABLISHED, id="control-200"),
    pytest.param(b"HTTP/1.0 200 Connection established\r\n\r\n", id="200-http-1.0"),
    pytest.param(b"HTTP/1.1 200 OK\r\nVia: 1.1 proxy\r\nContent-Length: 5\r\n\r\n", id="200-content-length"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", id="200-transfer-encoding"),
    pytest.param(b"HTTP/1.1 201 Created\r\n\r\n", id="201"),
    pytest.param(b"HTTP/1.1 204 No Content\r\n\r\n", id="204"),
    pytest.param(b"HTTP/1.1 299 Tunnel\r\nContent-Length: 3\r\n\r\n", id="299-content-length"),
])
@each_delivery
def test_reply_2xx(proxy, server, client, reply, delivery):
    try:
        body = through_tunnel(client, proxy, server, "origin.example", 8080, reply=reply, delivery=delivery)
    except (OSError, client.module.HTTPException) as exc:
        raise AssertionError(
            "RFC 9110 9.3.6: any 2xx (Successful) response to CONNECT means the proxy switched to tunnel mode, and "
            "a client MUST ignore its Content-Length and Transfer-Encoding; the request through the tunnel failed "
            f"with {type(exc).__name__}: {exc}\nreply: {reply!r}") from exc
    assert body == b"ok", f"the origin's response comes back through the tunnel; read {body!r}"
    assert server.requests[0].target == b"/through"


REFUSALS = [
    pytest.param(DENIED, b"407", id="407"),
    pytest.param(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", b"403", id="403"),
    pytest.param(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\n\r\nbad gateway", b"502", id="502"),
    pytest.param(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\r\n", b"503", id="503-no-length"),
]


@scenario("tunnel.reply.refused", refs=[SET_TUNNEL, "http.client.HTTPConnection.connect"], level=API_LEVEL,
          profile=API)
@pytest.mark.parametrize("reply, code", REFUSALS)
def test_reply_refused(proxy, client, reply, code):
    proxy.add_connection(expect_connect(), send(reply), half_close())
    conn = client.connect(proxy)
    conn.set_tunnel("origin.example", 8080)
    with pytest.raises(OSError):
        conn.connect()
    assert client_closed(proxy.connection(0)), (
        "after a refused CONNECT the client closes the connection to the proxy (nothing more can be sent on it)")


@scenario("tunnel.reply.failure-no-half-tunnel", refs=["RFC9112-3.2.2-p1-s1", "RFC9112-8-p2-s1"], level=MUST,
          profile=API)
@pytest.mark.parametrize("reply", [
    *(pytest.param(p.values[0], id=p.id) for p in REFUSALS),
    pytest.param(b"HTTP/1.1 2OO Connection established\r\n\r\n", id="malformed-status"),
    pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", id="not-http"),
    pytest.param(b"", id="closed-before-reply"),
    pytest.param(b"HTTP/1.1 200 Connection established\r\nVia: 1.1 proxy\r\n", id="closed-inside-head"),
])
def test_failure_no_half_tunnel(proxy, client, reply):
    # The proxy half-closes after its reply and keeps recording: a request the client sends on that
    # connection anyway (on a tunnel that never opened) is recorded. A second connection, where a
    # correct client retries the tunnel, is refused with a 407.
    proxy.add_connection(expect_connect(), send(reply), half_close())
    proxy.add_connection(expect_connect(), send(DENIED), close(), optional=True)
    conn = client.connect(proxy)
    conn.set_tunnel("origin.example", 8080)
    outcomes = []
    for attempt in ("/first", "/second"):
        try:
            conn.request("GET", attempt)
            conn.getresponse().read()
            outcomes.append("response")
        except (OSError, client.module.HTTPException) as exc:
            outcomes.append(f"{type(exc).__name__}: {exc}")
    conn.close()
    assert client_closed(proxy.connection(0)), "close() closes the connection to the proxy"
    stray = proxy.connection(0).unparsed
    assert not stray, (
        "RFC 9112 3.2.2: a request to a proxy MUST use the absolute-form; a request sent on a connection whose "
        "tunnel never opened goes to the proxy in origin-form (the client must close a failed tunnel, RFC 9112 8: "
        f"an incomplete reply is no reply). Reply {reply!r}; the proxy then received {stray[:200]!r}; "
        f"outcomes {outcomes}")
    assert "response" not in outcomes, f"no response can come through a tunnel that failed: {outcomes}"


def _fields(count: int) -> bytes:
    return b"HTTP/1.1 200 Connection established\r\n" + b"".join(
        b"X-Field-%d: %d\r\n" % (i, i) for i in range(count)) + b"\r\n"


def _long_line(octets: int) -> bytes:
    prefix = b"X-Long: "
    return b"HTTP/1.1 200 Connection established\r\n" + prefix + b"a" * (octets - len(prefix) - 2) + b"\r\n\r\n"


@scenario("tunnel.reply.limits", refs=["http.client.HTTPException", "http.client.LineTooLong", SET_TUNNEL],
          level=API_LEVEL, profile=API, cves=["CVE-2013-1752"])
@pytest.mark.parametrize("reply, error", [
    pytest.param(_fields(20), None, id="control-20-fields"),
    pytest.param(_fields(150), "HTTPException", id="150-fields"),
    pytest.param(_fields(2000), "HTTPException", id="2000-fields"),
    pytest.param(_long_line(60000), None, id="control-line-60000-octets"),
    pytest.param(_long_line(70000), "LineTooLong", id="line-70000-octets"),
])
def test_reply_limits(proxy, server, client, reply, error):
    # The limits http.client applies to every response head (100 field lines, 65536 octets a line)
    # apply to the proxy's reply to CONNECT too (Python 3.12: gh-69152; 3.11 counts no lines there).
    if error is None:
        proxy.add_connection(expect_connect(), send(reply), relay(server))
        server.add_connection(respond(OK))
    else:
        proxy.add_connection(expect_connect(), send(reply), half_close())
    conn = client.connect(proxy)
    conn.set_tunnel("origin.example", 8080)
    try:
        conn.connect()
    except client.module.HTTPException as exc:
        assert error is not None, f"a reply within the limits opens the tunnel; got {type(exc).__name__}: {exc}"
        assert isinstance(exc, getattr(client.module, error)), f"expected {error}, got {type(exc).__name__}: {exc}"
        return
    lines = reply.count(b"\r\n") - 2
    assert error is None, (
        f"CVE-2013-1752: the proxy's reply to CONNECT is bounded like any response head; expected {error}, but the "
        f"tunnel was accepted with a reply of {lines} field lines, {len(reply)} octets")
    conn.request("GET", "/through")
    assert conn.getresponse().read() == b"ok"


@scenario("tunnel.proxy-response-headers", refs=[PROXY_HEADERS], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("case", ["before-connect", "no-tunnel", "established", "407"])
def test_proxy_response_headers(proxy, server, client, case):
    conn = client.connect(proxy)
    if not hasattr(conn, "get_proxy_response_headers"):
        raise AssertionError("HTTPConnection.get_proxy_response_headers() is missing (it is new in Python 3.12)")
    if case == "no-tunnel":
        proxy.add_connection(respond(OK))
        conn.request("GET", "/")
        conn.getresponse().read()
        assert conn.get_proxy_response_headers() is None, "without set_tunnel() no CONNECT was sent: None"
        return
    conn.set_tunnel("origin.example", 8080)
    if case == "before-connect":
        assert conn.get_proxy_response_headers() is None, "before the CONNECT request is sent: None"
        return
    if case == "established":
        proxy.add_connection(expect_connect(), send(
            b"HTTP/1.1 200 Connection established\r\nVia: 1.1 scripted-proxy\r\nX-Proxy-Id: 7\r\n\r\n"), relay(server))
        server.add_connection(respond(OK))
        conn.request("GET", "/through")
        assert conn.getresponse().read() == b"ok"
        expected = {"Via": "1.1 scripted-proxy", "X-Proxy-Id": "7"}
    else:
        proxy.add_connection(expect_connect(), send(DENIED), close())
        with pytest.raises(OSError):
            conn.connect()
        expected = {"Proxy-Authenticate": CHALLENGE}
    headers = conn.get_proxy_response_headers()
    assert headers is not None, "after a CONNECT, get_proxy_response_headers() returns the proxy's reply headers"
    got = {name: headers.get(name) for name in expected}
    assert got == expected, (
        f"get_proxy_response_headers() gives the header fields of the proxy's reply to CONNECT ({case}); "
        f"expected {expected}, got {got}")


@scenario("tunnel.proxy-auth.retry", refs=["RFC9110-15.5.8-p1-s2"], level=MAY, profile=API)
def test_proxy_auth_retry(proxy, server, client):
    # 407, then the caller sets the tunnel again with credentials and repeats the request.
    proxy.add_connection(expect_connect(), send(DENIED), close())
    proxy.add_connection(tunnel(server))
    server.add_connection(respond(OK))
    conn = client.connect(proxy)
    conn.set_tunnel("origin.example", 8080)
    with pytest.raises(OSError):
        conn.request("GET", "/through")
    conn.set_tunnel("origin.example", 8080, headers={"Proxy-Authorization": CREDENTIALS})
    conn.request("GET", "/through")
    assert conn.getresponse().read() == b"ok"
    first, second = proxy.requests
    assert (first.header_values("proxy-authorization"), second.header_values("proxy-authorization")) == (
        [], [CREDENTIALS.encode()]), (
        "RFC 9110 15.5.8: after a 407 the client MAY repeat the request with Proxy-Authorization; set_tunnel() "
        "again on the same connection object sends a new CONNECT with it")


# =====================================================================================================
# what goes through the tunnel
# =====================================================================================================


@scenario("tunnel.proxy-authorization.not-forwarded", refs=[SET_TUNNEL], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("https", [False, True], ids=["http-in-tunnel", "https-in-tunnel"])
def test_proxy_authorization_not_forwarded(proxy, make_server, make_tls_server, tls_ca_file, client, https):
    origin = make_tls_server() if https else make_server()
    proxy.add_connection(tunnel(origin))
    origin.add_connection(respond(OK))
    if https:
        conn = client.track(client.module.HTTPSConnection(
            proxy.host, proxy.port, timeout=CLIENT_TIMEOUT, context=ssl.create_default_context(cafile=tls_ca_file)))
    else:
        conn = client.connect(proxy)
    conn.set_tunnel("localhost", origin.port, headers={"Proxy-Authorization": CREDENTIALS, "X-Tunnel-Id": "42"})
    conn.request("GET", "/through", headers={"X-Request": "1"})
    assert conn.getresponse().read() == b"ok"
    connect, tunnelled = proxy.requests[0], origin.requests[0]
    assert connect.header_values("proxy-authorization") == [CREDENTIALS.encode()]
    leaked = [name for name in ("proxy-authorization", "x-tunnel-id") if tunnelled.header_values(name)]
    assert not leaked, (
        "set_tunnel(headers=...) are sent with the CONNECT request only: the proxy's credentials must never "
        f"reach the origin through the tunnel; the origin received {leaked}\n{tunnelled.head!r}")
    assert tunnelled.header_values("x-request") == [b"1"] and not connect.header_values("x-request"), (
        "the request's own headers go to the origin, not into the CONNECT request")


@scenario("tunnel.request.target-and-host", refs=["RFC9112-3.2.1-p3-s1", "RFC9112-3.2-p5-s2"], level=MUST,
          profile=API)
@pytest.mark.parametrize("args, host", [
    pytest.param(("origin.example", 8080), b"origin.example:8080", id="explicit-port"),
    pytest.param(("origin.example",), b"origin.example", id="default-port"),
    pytest.param(("b\u00fccher.example", 8080), b"xn--bcher-kva.example:8080", id="idna"),
    pytest.param(("::1", 8443), b"[::1]:8443", id="ipv6"),
])
def test_request_target_and_host(proxy, server, client, args, host):
    # Through the tunnel the client talks to the origin: origin-form, and the tunnel's host as Host.
    try:
        through_tunnel(client, proxy, server, *args)
    except (OSError, UnicodeError, client.module.HTTPException) as exc:
        raise AssertionError(f"set_tunnel{args!r}: the request through the tunnel failed with "
                             f"{type(exc).__name__}: {exc}") from exc
    sent = server.requests[0]
    assert sent.target == b"/through", (
        f"RFC 9112 3.2.1: to an origin (here, through a tunnel) only the path and query are sent; sent {sent.target!r}")
    assert sent.header_values("host") == [host], (
        "RFC 9112 3.2: Host is the target URI's authority, that is the tunnel's host (and its port unless "
        f"it is the default); set_tunnel{args!r}: expected {host!r}, sent {sent.header_values('host')!r}")


@scenario("tunnel.reuse", refs=["RFC9112-9.3-p1-s1"], level=SHOULD, profile=API)
def test_tunnel_reuse(proxy, server, client):
    proxy.add_connection(tunnel(server))
    server.add_connection(respond(OK), respond(OK))
    conn = client.connect(proxy)
    conn.set_tunnel("origin.example", 8080)
    for path in ("/one", "/two"):
        conn.request("GET", path)
        assert conn.getresponse().read() == b"ok"
    assert len(proxy.connections) == 1 and len(proxy.requests) == 1, (
        "RFC 9112 9.3: persistent connections: the second request goes through the same tunnel, without a new "
        f"connection or CONNECT; the proxy saw {len(proxy.connections)} connection(s), {len(proxy.requests)} CONNECT(s)")
    assert [r.target for r in server.connection(0).requests] == [b"/one", b"/two"]


@scenario("tunnel.close", refs=["http.client.HTTPConnection.close", SET_TUNNEL], level=API_LEVEL, profile=API)
def test_tunnel_close(proxy, server, client):
    proxy.add_connection(tunnel(server))
    proxy.add_connection(tunnel(server))
    server.add_connection(respond(OK))
    server.add_connection(respond(OK))
    conn = client.connect(proxy)
    conn.set_tunnel("origin.example", 8080)
    conn.request("GET", "/one")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    assert _tunnel_closed(proxy.connection(0), server.connection(0)), "close() closes the connection to the proxy"
    conn.request("GET", "/two")
    assert conn.getresponse().read() == b"ok"
    assert [r.method for r in proxy.requests] == [b"CONNECT", b"CONNECT"], (
        "after close(), the next request opens a new connection and tunnel: set_tunnel() stays in effect; "
        f"the proxy saw {[request_line(r.raw) for r in proxy.requests]}")


@scenario("tunnel.close.by-origin", refs=["RFC9112-9.6-p8-s1"], level=MUST, profile=API)
def test_tunnel_closed_by_origin(proxy, make_server, client):
    # The origin's "close" applies to the connection it came on: the whole tunnel. The origin keeps
    # reading (it does not close), so a request wrongly sent on the old tunnel is recorded there.
    first, second = make_server(), make_server()
    proxy.add_connection(tunnel(first))
    proxy.add_connection(tunnel(second))
    first.add_connection(respond(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"))
    second.add_connection(respond(OK))
    conn = client.connect(proxy)
    conn.set_tunnel("origin.example", 8080)
    bodies = []
    for path in ("/one", "/two"):
        conn.request("GET", path)
        bodies.append(conn.getresponse().read())
    assert bodies == [b"ok", b"ok"]
    assert _tunnel_closed(proxy.connection(0), first.connection(0)) and len(first.requests) == 1, (
        "RFC 9112 9.6: a client that receives a 'close' connection option MUST cease sending requests on that "
        "connection and close it; through a tunnel that connection is the tunnel, so the next request needs a "
        f"new one; the first origin received {[request_line(r.raw) for r in first.requests]}")
    assert [(r.method, r.target) for r in proxy.requests] == [(b"CONNECT", b"origin.example:8080")] * 2, (
        "the request after the origin's close goes through a new tunnel (a new CONNECT)")
    assert second.requests[0].target == b"/two"


@scenario("tunnel.set-after-connect", refs=[SET_TUNNEL], level=API_LEVEL, profile=API)
def test_set_tunnel_after_connect(proxy, client):
    proxy.add_connection(stall())
    conn = client.connect(proxy)
    conn.connect()
    harness_wait(lambda bound: proxy.wait_connections(1, bound), "the proxy did not accept the client's connection")
    with pytest.raises(RuntimeError):
        conn.set_tunnel("origin.example", 8080)
    conn.close()


# =====================================================================================================
# HTTPS through the tunnel
# =====================================================================================================


def _refused_origin(origin) -> None:
    """The origin's script when the client must refuse its certificate (the relay connects anyway)."""
    origin.add_connection(handshake(succeeds=None), stall())


@scenario("tunnel.https.verify-origin-name", refs=["RFC9110-4.3.4-p1-s1", "RFC9110-4.3.4-p6-s1"], level=MUST,
          profile=API)
@pytest.mark.parametrize("kind, accepted", [
    # The proxy is 127.0.0.1, the tunnel's host "localhost": a certificate for localhost only must be
    # accepted, one for 127.0.0.1 only (the proxy's address) must not.
    pytest.param(CertKind.NAME_ONLY, True, id="cert-for-tunnel-host"),
    pytest.param(CertKind.IP_ONLY, False, id="cert-for-proxy-address-only"),
    pytest.param(CertKind.WRONG_HOST, False, id="cert-for-another-host"),
])
def test_https_verify_origin_name(proxy, make_tls_server, tls_ca_file, client, kind, accepted):
    origin = make_tls_server(kind)
    proxy.add_connection(tunnel(origin))
    if accepted:
        origin.add_connection(respond(OK))
    else:
        _refused_origin(origin)
    conn = client.track(client.module.HTTPSConnection(
        proxy.host, proxy.port, timeout=CLIENT_TIMEOUT, context=ssl.create_default_context(cafile=tls_ca_file)))
    conn.set_tunnel("localhost", origin.port)
    try:
        conn.request("GET", "/secure")
        body = conn.getresponse().read()
    except ssl.SSLError as exc:
        conn.close()
        client_closed(proxy.connection(0))  # then the proxy closes the origin's side: its record is whole
        harness_wait(origin.wait_idle, "the origin's script did not end after the client closed the tunnel")
        assert not accepted, (
            "RFC 9110 4.3.4: through a tunnel the certificate is checked against the origin's name (the tunnel "
            f"host, 'localhost'), which this certificate ({kind}) carries; the client refused it: {exc}")
        assert not origin.requests, "nothing is sent over a refused TLS session"
        return
    conn.close()
    assert accepted, (
        "RFC 9110 4.3.4: a client MUST verify that the service's identity matches the URI's origin: the tunnel host "
        f"'localhost', not the proxy's address 127.0.0.1; a certificate {kind} was accepted")
    assert body == b"ok"
    assert origin.connection(0).tls.server_name == "localhost", (
        f"SNI names the tunnel's host; the origin saw {origin.connection(0).tls.server_name!r}")


@scenario("tunnel.https.wire", refs=["RFC9112-3.2.3-p3-s1", "RFC9110-9.3.6-p2-s1", "RFC9110-4.3.4-p1-s1"],
          level=MUST, profile=WIRE, needs=[FEATURE_TUNNEL, FEATURE_TLS])
@pytest.mark.parametrize("explicit_port", [True, False], ids=["explicit-port", "default-port"])
def test_https_wire(proxy, tls_server, tls_ca_file, wire, explicit_port):
    # The relay goes to the scripted origin whatever port the CONNECT names, so the default port
    # (443) can be checked without listening on it.
    authority = f"localhost:{tls_server.port}" if explicit_port else "localhost"
    proxy.add_connection(tunnel(tls_server))
    tls_server.add_connection(respond(OK))
    outcome = wire.request("GET", f"https://{authority}/secure", tls=TLSConfig(ca_file=tls_ca_file),
                           proxy=proxy.url(""))
    assert expect_response(outcome).body == b"ok"
    target = f"localhost:{tls_server.port if explicit_port else 443}".encode()
    connect = proxy.requests[0]
    assert request_line(connect.raw).rpartition(b" ")[0] == b"CONNECT " + target, (
        "RFC 9112 3.2.3 / RFC 9110 9.3.6: an https URL through a proxy opens a CONNECT tunnel to host:port, the "
        f"port always sent (443 by default); sent {request_line(connect.raw)!r}")
    inner = tls_server.requests[0]
    assert (inner.target, inner.header_values("host")) == (b"/secure", [authority.encode()]), (
        "inside the tunnel the request is in origin-form with the origin's authority as Host; sent "
        f"{request_line(inner.raw)!r}, Host {inner.header_values('host')!r}")
    assert tls_server.connection(0).tls.server_name == "localhost"


@scenario("tunnel.https.reuse", refs=["RFC9112-9.3-p1-s1"], level=SHOULD, profile=WIRE,
          needs=[FEATURE_TUNNEL, FEATURE_TLS, FEATURE_PERSISTENT])
def test_https_reuse(proxy, tls_server, tls_ca_file, wire):
    proxy.add_connection(tunnel(tls_server))
    tls_server.add_connection(respond(OK), respond(OK))
    with wire.session(tls=TLSConfig(ca_file=tls_ca_file), proxy=proxy.url("")) as session:
        for path in ("/one", "/two"):
            expect_response(session.request("GET", f"https://localhost:{tls_server.port}{path}"))
    assert len(proxy.requests) == 1 and [r.target for r in tls_server.connection(0).requests] == [b"/one", b"/two"], (
        "RFC 9112 9.3: the second request to the same origin goes through the same tunnel and TLS session; the "
        f"proxy saw {len(proxy.connections)} connection(s) and {len(proxy.requests)} CONNECT(s)")


# =====================================================================================================
# forward proxy: http URLs in absolute form (wire)
# =====================================================================================================


@scenario("proxy.forward.absolute-form", refs=["RFC9112-3.2.2-p1-s1", "RFC9112-3.2.2-p6-s1"], level=MUST,
          profile=WIRE, needs=[FEATURE_PROXY])
@pytest.mark.parametrize("url, host", [
    pytest.param("http://origin.example/", b"origin.example", id="root"),
    pytest.param("http://origin.example:8080/a/b?c=d", b"origin.example:8080", id="port-path-query"),
    pytest.param("http://127.0.0.1:9/x", b"127.0.0.1:9", id="ip-literal"),
])
def test_forward_absolute_form(proxy, wire, url, host):
    proxy.add_connection(expect_request(), send(OK))
    response = expect_response(wire.request("GET", url, proxy=proxy.url("")))
    assert response.body == b"ok"
    sent = proxy.requests[0]
    assert sent.method == b"GET" and sent.target == url.encode(), (
        "RFC 9112 3.2.2: a request to a proxy (other than CONNECT) MUST send the target URI in absolute-form; "
        f"sent {request_line(sent.raw)!r}")
    assert sent.header_values("host") == [host], (
        "RFC 9112 3.2.2: a client MUST send Host even with an absolute-form target (the URI's authority); "
        f"sent {sent.header_values('host')!r}")


@scenario("proxy.forward.reuse", refs=["RFC9112-9.3-p1-s1"], level=SHOULD, profile=WIRE, needs=[FEATURE_PROXY, FEATURE_PERSISTENT])
def test_forward_reuse(proxy, wire):
    proxy.add_connection(respond(OK), respond(OK))
    with wire.session(proxy=proxy.url("")) as session:
        for path in ("/one", "/two"):
            expect_response(session.request("GET", "http://origin.example" + path))
    assert [r.target for r in proxy.connection(0).requests] == [b"http://origin.example/one",
                                                                 b"http://origin.example/two"], (
        "RFC 9112 9.3: both requests to the same proxy go on one persistent connection")
