"""End to end through a real proxy: mitmproxy, started once per session (per worker).

Where the scripted proxy (test_tunnel.py) pins down exact bytes and error cases, these scenarios
check that a client interoperates with a real, widely used proxy:
- http URLs through it as a forward proxy (absolute-form, RFC 9112 3.2.2);
- https URLs through it as a pass-through CONNECT tunnel: TLS runs end to end, the client verifies
  the origin's certificate against the origin's name (RFC 9110 4.3.4), mitmproxy sees only bytes;
- https URLs intercepted by it: mitmproxy terminates TLS with a certificate of its own CA, which
  the caller's context trusts, and verifies the origin itself.
Each has a control row where the client trusts the other CA and must refuse the certificate,
which shows which certificate the client really verified.
"""

from __future__ import annotations

import ssl

import pytest

from h1conform.servers import handshake, respond, stall
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    MUST,
    SHOULD,
    WIRE,
    ErrorKind,
    TLSConfig,
    expect_failure,
    expect_response,
    scenario,
)
from h1conform.suites.harness.deadline import deadline_paused
from h1conform.suites.harness.fixtures import CLIENT_TIMEOUT
from h1conform.suites.harness.proxy_fixtures import INTERCEPT_HOST, PASSTHROUGH_HOST
from h1conform.suites.harness.wire import FEATURE_PERSISTENT, FEATURE_PROXY, FEATURE_TLS, FEATURE_TUNNEL

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
# How long to wait for mitmproxy to open and end its upstream connection after the client's: it
# may never open one, so this is a settling time, not a check; no verdict depends on it.
ECHO_WAIT = 2.0


def _tls_failure(outcome):
    return expect_failure(outcome, ErrorKind.TLS)


def _origin_refused(origin) -> None:
    """The origin's script when the client refuses the certificate: mitmproxy may or may not have
    opened (and TLS-handshaked) the upstream connection before the client gave up."""
    origin.add_connection(handshake(succeeds=None), stall(), optional=True)


def _settle(origin) -> None:
    """Wait (bounded) until mitmproxy's upstream connections to `origin` have ended: mitmproxy's
    time, so the deadline is paused."""
    with deadline_paused():
        origin.wait_connections(1, ECHO_WAIT)
        origin.wait_idle(ECHO_WAIT)


@scenario("mitmproxy.http.forward", refs=["RFC9112-3.2.2-p1-s1"], level=MUST, profile=WIRE, needs=[FEATURE_PROXY])
@pytest.mark.parametrize("method, body", [
    pytest.param("GET", None, id="get"),
    pytest.param("POST", b"payload", id="post-body"),
])
def test_http_forward(mitm, server, wire, method, body):
    # mitmproxy refuses a request that is not in absolute-form ("Invalid HTTP request form"): the
    # origin receiving it is the proof that the client sent the absolute-form target to the proxy.
    server.add_connection(respond(OK))
    response = expect_response(wire.request(method, server.url("/x?y=1"), body=body, proxy=mitm.url))
    assert response.body == b"ok", f"the origin's response comes back through mitmproxy; got {response.body!r}"
    sent = server.requests[0]
    assert (sent.method, sent.target, sent.body) == (method.encode(), b"/x?y=1", body or b""), (
        "RFC 9112 3.2.2: the client sent the target URI in absolute-form to the proxy, which forwarded it")
    assert sent.header_values("host") == [server.authority.encode()]


@scenario("mitmproxy.https.passthrough", refs=["RFC9110-4.3.4-p1-s1", "RFC9112-3.2.3-p3-s1"], level=MUST,
          profile=WIRE, needs=[FEATURE_TUNNEL, FEATURE_TLS])
@pytest.mark.parametrize("trust", [
    pytest.param("origin-ca", id="origin-verified-end-to-end"),
    pytest.param("mitmproxy-ca", id="control-mitmproxy-ca-only"),
])
def test_https_passthrough(mitm, tls_server, tls_ca_file, wire, trust):
    url = f"https://{PASSTHROUGH_HOST}:{tls_server.port}/tunnelled"
    if trust == "origin-ca":
        tls_server.add_connection(respond(OK))
        outcome = wire.request("GET", url, tls=TLSConfig(ca_file=tls_ca_file), proxy=mitm.url)
        response = expect_response(outcome)
        assert response.body == b"ok"
        record = tls_server.connection(0)
        assert record.tls is not None and record.tls.server_name == PASSTHROUGH_HOST, (
            "RFC 9110 4.3.4: through a tunnel the client makes the TLS handshake with the origin itself, "
            f"naming the origin's host in SNI; the origin saw SNI {record.tls and record.tls.server_name!r}")
        assert tls_server.requests[0].target == b"/tunnelled"
        return
    _origin_refused(tls_server)
    outcome = wire.request("GET", url, tls=TLSConfig(ca_file=mitm.ca_file), proxy=mitm.url)
    _settle(tls_server)
    _tls_failure(outcome)
    assert not tls_server.requests, "no request may be sent over a TLS session whose certificate was refused"


@scenario("mitmproxy.https.intercepted", refs=["RFC9110-4.3.4-p1-s1", "RFC9110-4.3.4-p6-s1"], level=MUST,
          profile=WIRE, needs=[FEATURE_TUNNEL, FEATURE_TLS])
@pytest.mark.parametrize("trust", [
    pytest.param("mitmproxy-ca", id="mitmproxy-ca-trusted"),
    pytest.param("origin-ca", id="control-origin-ca-only"),
])
def test_https_intercepted(mitm, tls_server, tls_ca_file, wire, trust):
    # mitmproxy presents a certificate for 127.0.0.1 made by its own CA, and verifies the origin
    # against the session's test CA itself.
    url = f"https://{INTERCEPT_HOST}:{tls_server.port}/intercepted"
    if trust == "mitmproxy-ca":
        tls_server.add_connection(respond(OK))
        response = expect_response(wire.request("GET", url, tls=TLSConfig(ca_file=mitm.ca_file), proxy=mitm.url))
        assert response.body == b"ok", f"the origin's response comes back through mitmproxy; got {response.body!r}"
        assert tls_server.requests[0].target == b"/intercepted"
        return
    _origin_refused(tls_server)
    outcome = wire.request("GET", url, tls=TLSConfig(ca_file=tls_ca_file), proxy=mitm.url)
    _settle(tls_server)
    _tls_failure(outcome)
    assert not tls_server.requests, (
        "RFC 9110 4.3.4: a certificate the client does not trust (here mitmproxy's) ends the connection before any "
        "request is sent")


@scenario("mitmproxy.https.reuse", refs=["RFC9112-9.3-p1-s1"], level=SHOULD, profile=WIRE,
          needs=[FEATURE_TUNNEL, FEATURE_TLS, FEATURE_PERSISTENT])
@pytest.mark.parametrize("host", [PASSTHROUGH_HOST, INTERCEPT_HOST], ids=["passthrough", "intercepted"])
def test_https_reuse(mitm, tls_server, tls_ca_file, wire, host):
    tls_server.add_connection(respond(OK), respond(OK))
    ca_file = tls_ca_file if host == PASSTHROUGH_HOST else mitm.ca_file
    with wire.session(tls=TLSConfig(ca_file=ca_file), proxy=mitm.url) as session:
        for path in ("/one", "/two"):
            expect_response(session.request("GET", f"https://{host}:{tls_server.port}{path}"))
    assert [r.target for r in tls_server.connection(0).requests] == [b"/one", b"/two"], (
        "RFC 9112 9.3: both requests go through one tunnel and one TLS session")


@scenario("mitmproxy.tunnel.api", refs=["http.client.HTTPConnection.set_tunnel", "http.client.HTTPSConnection"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("kind", ["http-in-tunnel", "https-passthrough", "https-intercepted"])
def test_tunnel_api(mitm, server, tls_server, tls_ca_file, client, kind):
    if kind == "http-in-tunnel":
        origin = server
        conn = client.track(client.module.HTTPConnection(mitm.host, mitm.port, timeout=CLIENT_TIMEOUT))
        conn.set_tunnel(INTERCEPT_HOST, origin.port)
    else:
        origin = tls_server
        passthrough = kind == "https-passthrough"
        context = ssl.create_default_context(cafile=tls_ca_file if passthrough else mitm.ca_file)
        conn = client.track(client.module.HTTPSConnection(mitm.host, mitm.port, timeout=CLIENT_TIMEOUT,
                                                          context=context))
        conn.set_tunnel(PASSTHROUGH_HOST if passthrough else INTERCEPT_HOST, origin.port)
    origin.add_connection(respond(OK))
    conn.request("GET", "/api")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"ok"), (
        "set_tunnel() through mitmproxy: the request reaches the origin and its response comes back")
    assert origin.requests[0].target == b"/api"
