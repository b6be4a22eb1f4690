"""HTTP over TLS: certificate and identity verification, the caller's SSLContext, SNI and ALPN,
servers that do not speak TLS, and how TLS closure meets HTTP framing (RFC 9110 4.2.2 and 4.3.4,
RFC 9112 9.7 and 9.8).

Every server is a TLS scripted server (suites/harness/tls_fixtures.py) whose certificate comes
from the session's test CA; clients trust that CA through their TLSConfig (wire) or an SSLContext
(api), except where the point is that they do not. The server records what the client offered
in its ClientHello (SNI, ALPN) even when the handshake then fails, whether the handshake
succeeded, and whether the client sent a closure alert (close_notify).
"""

import ssl

import pytest

from h1conform.servers import (
    CertKind,
    call,
    close,
    close_notify,
    expect_client_hello,
    expect_request,
    handshake,
    ipv6_available,
    reset,
    respond,
    respond_if_sent,
    send,
    send_raw,
)
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    MAY,
    MUST,
    SHOULD,
    WIRE,
    ErrorKind,
    TLSConfig,
    body,
    check,
    expect_failure,
    expect_response,
    fails,
    scenario,
    variant,
)
from h1conform.suites.harness.api_adapter import ssl_context
from h1conform.suites.harness.fixtures import CLIENT_TIMEOUT
from h1conform.suites.harness.waiting import client_closed, harness_wait
from h1conform.suites.harness.wire import FEATURE_CLIENT_CERT, FEATURE_PERSISTENT, FEATURE_TLS

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
HTTPS_DOC = "http.client.HTTPSConnection"


def _context(ca_file, *, check_hostname=True, client_cert=None):
    """The SSLContext a careful caller builds (ssl.create_default_context), trusting `ca_file`."""
    return ssl_context(TLSConfig(ca_file, client_cert, check_hostname))


def _https(client, host, server, context):
    """The implementation's HTTPSConnection to `server` under the name `host`, closed at teardown."""
    return client.track(client.module.HTTPSConnection(host, server.port, context=context, timeout=CLIENT_TIMEOUT))


def _url(host, server, path="/"):
    shown = f"[{host}]" if ":" in host else host
    return f"https://{shown}:{server.port}{path}"


def _nothing_sent(server, rule):
    """After a refused handshake: no HTTP byte reached the server (RFC 9110 4.2.2: secured *before*
    being communicated). Waiting for the server to see the handshake end (the client's alert or
    close, already sent) also keeps the test from ending while the server still reads the alert."""
    for record in server.connections:
        harness_wait(record.tls.wait_handshake, f"the server did not end the handshake of connection {record.index}")
        client_closed(record)
        assert not record.received, f"{rule}; yet the server received {bytes(record.received)!r}"


# -- the server's certificate and identity ------------------------------------------------------------------

_IDENTITY = ["RFC9110-4.3.4-p1-s1", "RFC9110-4.3.4-p2-s1", "RFC9110-4.3.4-p6-s1"]
_TYPED = ["RFC9110-4.3.4-p2-s2", "RFC9110-4.3.4-p6-s1"]
_CN = ["RFC9110-4.3.4-p3-s1", "RFC9110-4.3.4-p6-s1"]

# (host the client connects to, certificate the server presents, accepted?)
CERTIFICATES = [
    variant("localhost", CertKind.GOOD, True, id="good-name"),
    variant("127.0.0.1", CertKind.GOOD, True, id="good-ipv4"),
    variant("localhost", CertKind.CHAIN_COMPLETE, True, id="intermediate-sent"),
    variant("localhost", CertKind.WRONG_HOST, False, id="wrong-host-name"),
    variant("127.0.0.1", CertKind.WRONG_HOST, False, id="wrong-host-ipv4"),
    variant("127.0.0.1", CertKind.NAME_ONLY, False, id="ip-host-dns-san-only", refs=_TYPED),
    variant("localhost", CertKind.IP_ONLY, False, id="name-host-ip-san-only", refs=_TYPED),
    variant("localhost", CertKind.EXPIRED, False, id="expired"),
    variant("localhost", CertKind.NOT_YET_VALID, False, id="not-yet-valid"),
    variant("localhost", CertKind.SELF_SIGNED, False, id="self-signed"),
    variant("localhost", CertKind.UNKNOWN_CA, False, id="unknown-ca"),
    variant("localhost", CertKind.CHAIN_INCOMPLETE, False, id="intermediate-missing"),
    variant("localhost", CertKind.CN_ONLY, False, id="cn-only-no-san", refs=_CN),
    variant("localhost", CertKind.CN_NOT_IN_SAN, False, id="cn-matches-san-does-not", refs=_CN),
]

RULE = ("RFC 9110 4.3.4: a client MUST verify the service identity against the target host (a DNS-ID for a "
        "name, an IP-ID for an IP literal, never the subject CN) and, for a certificate not valid for the "
        "origin, terminate the connection with a bad certificate error")


def _script(accepted):
    """What a correct client meets: a response, or (for a certificate it must refuse) a handshake it
    aborts. A client that wrongly completes that handshake and sends a request gets the response
    at once, so that it fails fast (and visibly) instead of waiting for its timeout."""
    return respond(OK) if accepted else [handshake(succeeds=None), call(_answer_if_asked)]


def _answer_if_asked(conn):
    if conn.record.tls.succeeded and conn.receive(conn.timeout):
        conn.send(OK)


@scenario("tls.server-certificate.verification", refs=_IDENTITY, level=MUST, profile=WIRE, needs={FEATURE_TLS})
@pytest.mark.parametrize("host, kind, accepted", CERTIFICATES)
def test_certificate_verification(make_tls_server, wire, tls_ca_file, host, kind, accepted):
    server = make_tls_server(kind)
    server.add_connection(_script(accepted))
    outcome = wire.request("GET", _url(host, server), tls=TLSConfig(ca_file=tls_ca_file))
    check(outcome, body(b"ok") if accepted else fails(ErrorKind.TLS), RULE, f"certificate {kind}".encode())
    if not accepted:
        _nothing_sent(server, RULE)


@scenario("tls.server-certificate.verification-error", refs=[*_IDENTITY, HTTPS_DOC], level=MUST, profile=API)
@pytest.mark.parametrize("host, kind, accepted", CERTIFICATES)
def test_certificate_verification_error(make_tls_server, client, tls_ca_file, host, kind, accepted):
    server = make_tls_server(kind)
    server.add_connection(_script(accepted))
    conn = _https(client, host, server, _context(tls_ca_file))
    if accepted:
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"ok", "the control: a valid certificate is accepted"
        return
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/")
        response = conn.getresponse()
        raise AssertionError(f"{RULE}; the {kind} certificate was accepted (status {response.status})")
    _nothing_sent(server, RULE)


@scenario("tls.server-certificate.verified-by-default", refs=["RFC9110-4.3.4-p1-s1", HTTPS_DOC], level=MUST,
          profile=API)
@pytest.mark.parametrize("trusting", [
    pytest.param(False, id="default-context"),
    pytest.param(True, id="caller-context-trusting-the-ca"),
])
def test_verified_by_default(tls_server, client, tls_ca_file, trusting):
    # PEP 476 / the http.client documentation: without a context, HTTPSConnection verifies the
    # certificate against the system's CAs, which do not include the test CA. The control: a
    # context trusting the test CA accepts the same server.
    tls_server.add_connection(respond(OK) if trusting else [handshake(succeeds=False)])
    conn = _https(client, "localhost", tls_server, _context(tls_ca_file) if trusting else None)
    if trusting:
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"ok"
        return
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/")
        raise AssertionError("RFC 9110 4.3.4 / PEP 476: HTTPSConnection without a context must verify the "
                             "server's certificate; a certificate from an unknown CA was accepted")
    _nothing_sent(tls_server, "verification is on by default")


# -- the caller's context -----------------------------------------------------------------------------------------


@scenario("tls.context.honoured", refs=[HTTPS_DOC, "RFC9110-4.3.4-p6-s3"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("kind, check_hostname, accepted", [
    pytest.param(CertKind.GOOD, True, True, id="ca-trusted"),
    pytest.param(CertKind.UNKNOWN_CA, True, False, id="ca-not-trusted"),
    pytest.param(CertKind.WRONG_HOST, True, False, id="check-hostname-on"),
    pytest.param(CertKind.WRONG_HOST, False, True, id="check-hostname-off"),
    pytest.param(CertKind.UNKNOWN_CA, False, False, id="check-hostname-off-chain-still-verified"),
])
def test_context_honoured(make_tls_server, client, tls_ca_file, kind, check_hostname, accepted):
    # The documentation: `context` is the ssl.SSLContext used; its CAs and its check_hostname are
    # what decide (RFC 9110 4.3.4 lets an automated client offer a setting that disables the
    # identity check). check_hostname=False leaves the chain verified (CERT_REQUIRED).
    server = make_tls_server(kind)
    server.add_connection(_script(accepted))
    conn = _https(client, "localhost", server, _context(tls_ca_file, check_hostname=check_hostname))
    if accepted:
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"ok", f"the caller's context accepts the {kind} certificate"
        return
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/")
        raise AssertionError(f"the caller's context refuses the {kind} certificate; the client accepted it")
    _nothing_sent(server, "the caller's context refuses the certificate")


@scenario("tls.client-certificate.api", refs=[HTTPS_DOC], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("presented", [
    pytest.param("trusted", id="presented"),
    pytest.param(None, id="none"),
    pytest.param("untrusted", id="from-unknown-ca"),
])
def test_client_certificate_api(make_tls_server, client, tls_pki, tls_ca_file, presented):
    # Mutual TLS with the caller's context: its certificate (load_cert_chain) is presented.
    server = make_tls_server(require_client_cert=True)
    cert = {"trusted": tls_pki.client_cert_file, "untrusted": tls_pki.untrusted_client_cert_file}.get(presented)
    server.add_connection(respond(OK) if presented == "trusted" else [handshake(succeeds=False)])
    conn = _https(client, "localhost", server, _context(tls_ca_file, client_cert=cert))
    if presented == "trusted":
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"ok"
        subject = dict(item[0] for item in server.connection(0).tls.client_certificate["subject"])
        assert subject["commonName"] == "h1conform test client", "the server verified the caller's certificate"
        return
    # TLS 1.3: the client finishes its side of the handshake before the server checks its
    # certificate; the server's alert then fails the request or the response.
    with pytest.raises(OSError):
        conn.request("GET", "/")
        conn.getresponse()
        raise AssertionError("the server refused the client's certificate, yet a response was read")
    harness_wait(server.connection(0).tls.wait_handshake, "the server did not end the handshake")
    assert server.connection(0).tls.handshake == "failed"


@scenario("tls.client-certificate", refs=["RFC9110-4.3.3-p7-s1"], level=MAY, profile=WIRE,
          needs={FEATURE_TLS, FEATURE_CLIENT_CERT})
@pytest.mark.parametrize("presented", [pytest.param(True, id="presented"), pytest.param(False, id="none")])
def test_client_certificate(make_tls_server, wire, tls_ca_file, tls_client_cert_file, presented):
    server = make_tls_server(require_client_cert=True)
    server.add_connection(respond(OK) if presented else [handshake(succeeds=False)])
    tls = TLSConfig(ca_file=tls_ca_file, client_cert=tls_client_cert_file if presented else None)
    outcome = wire.request("GET", server.url("/"), tls=tls)
    if presented:
        assert expect_response(outcome).body == b"ok", "the configured client certificate is presented"
    else:
        expect_failure(outcome, ErrorKind.TLS, ErrorKind.CLOSED)
        harness_wait(server.connection(0).tls.wait_handshake, "the server did not end the handshake")


# -- what the ClientHello offers: SNI and ALPN ---------------------------------------------------------------------

SNI_HOSTS = [
    pytest.param("localhost", "localhost", id="name"),
    pytest.param("127.0.0.1", None, id="ipv4-literal"),
    pytest.param("::1", None, id="ipv6-literal",
                 marks=pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback")),
]
SNI_RULE = ("RFC 6066 3: the server_name extension carries the host's DNS name; \"Literal IPv4 and IPv6 "
            "addresses are not permitted in HostName\"")


@scenario("tls.sni", refs=["RFC9110-4.3.3-p7-s1"], level=MAY, profile=WIRE, needs={FEATURE_TLS})
@pytest.mark.parametrize("host, expected", SNI_HOSTS)
def test_sni(make_tls_server, wire, tls_ca_file, host, expected):
    server = make_tls_server(host="::1" if host == "::1" else "127.0.0.1")
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", _url(host, server), tls=TLSConfig(ca_file=tls_ca_file)))
    assert server.connection(0).tls.server_name == expected, f"{SNI_RULE}; host {host!r}"


@scenario("tls.sni.api", refs=[HTTPS_DOC], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("host, expected", SNI_HOSTS)
def test_sni_api(make_tls_server, client, tls_ca_file, host, expected):
    # The documentation: HTTPSConnection supports HTTPS virtual hosts (SNI).
    server = make_tls_server(host="::1" if host == "::1" else "127.0.0.1")
    server.add_connection(respond(OK))
    conn = _https(client, host, server, _context(tls_ca_file))
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    assert server.connection(0).tls.server_name == expected, f"{SNI_RULE}; host {host!r}"


@scenario("tls.alpn.default-context", refs=[HTTPS_DOC], level=API_LEVEL, profile=API)
def test_alpn_default_context(tls_server, client):
    # The documentation (3.10): "HTTPSConnection now sends an ALPN extension with protocol
    # indicator http/1.1 when no context is given". The default context does not trust the test
    # CA, so the handshake fails; the ClientHello was recorded before that.
    tls_server.add_connection(handshake(succeeds=False))
    conn = _https(client, "localhost", tls_server, None)
    with pytest.raises(ssl.SSLError):
        conn.request("GET", "/")
    harness_wait(tls_server.connection(0).tls.wait_handshake, "the server did not end the handshake")
    offered = tls_server.connection(0).tls.alpn_offered
    assert offered == ("http/1.1",), f"the default context offers ALPN http/1.1; it offered {offered}"


# -- servers that do not speak TLS -------------------------------------------------------------------------------

PLAINTEXT = b"HTTP/1.1 307 Temporary Redirect\r\nLocation: https://attacker.example/\r\nContent-Length: 0\r\n\r\n"
PLAIN_ANSWER = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nplain http!"
SECURED_RULE = ("RFC 9110 4.2.2: a client MUST ensure that its requests for an https resource are secured "
                "and only accept secured responses; bytes that are not TLS are never a response")

NOT_TLS = [
    variant(respond(OK), body(b"ok"), id="tls-answer"),
    # CVE-2023-40217: plaintext sent at once, then the connection closed (FIN or RST) before
    # any handshake; an SSLSocket that saw the socket as "not connected" skipped the handshake
    # and let the buffered plaintext be read as if it came over TLS.
    variant([send_raw(PLAINTEXT), close()], fails(ErrorKind.TLS, ErrorKind.CLOSED), id="plaintext-then-close"),
    variant([send_raw(PLAINTEXT), reset()], fails(ErrorKind.TLS, ErrorKind.CLOSED), id="plaintext-then-reset"),
    # A plain HTTP server on the port: it reads the ClientHello and answers in plaintext.
    variant([expect_client_hello(), send_raw(PLAIN_ANSWER)], fails(ErrorKind.TLS), id="plaintext-answer"),
    variant([expect_client_hello(), send_raw(PLAIN_ANSWER), close()], fails(ErrorKind.TLS, ErrorKind.CLOSED),
            id="plaintext-answer-then-close"),
]


@scenario("tls.not-tls", refs=["RFC9110-4.2.2-p6-s1"], level=MUST, profile=WIRE, needs={FEATURE_TLS},
          cves=["CVE-2023-40217"])
@pytest.mark.parametrize("script, expected", NOT_TLS)
def test_not_tls(tls_server, wire, tls_ca_file, script, expected):
    tls_server.add_connection(script)
    outcome = wire.request("GET", tls_server.url("/"), tls=TLSConfig(ca_file=tls_ca_file))
    check(outcome, expected, SECURED_RULE, PLAINTEXT)


@scenario("tls.not-tls.api", refs=["RFC9110-4.2.2-p6-s1", HTTPS_DOC], level=MUST, profile=API,
          cves=["CVE-2023-40217"])
@pytest.mark.parametrize("script, expected", NOT_TLS)
def test_not_tls_api(tls_server, client, tls_ca_file, script, expected):
    tls_server.add_connection(script)
    conn = _https(client, "localhost", tls_server, _context(tls_ca_file))
    if expected.bodies:
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"ok", "the control: a TLS answer is read"
        return
    # ssl.SSLError for bytes that are no TLS record; ConnectionError when the close won the race.
    with pytest.raises(OSError):
        conn.request("GET", "/")
        response = conn.getresponse()
        raise AssertionError(f"{SECURED_RULE}; plaintext was read as a response: {response.status}")


# -- TLS closure and HTTP framing (RFC 9112 9.8) -------------------------------------------------------------------

CL = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
UNTIL_CLOSE = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello"
CL_SHORT = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello"
CHUNKED_SHORT = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n"

_COMPLETE = ["RFC9112-9.8-p4-s1"]
_TRUNCATED = ["RFC9112-8-p2-s1", "RFC9112-6.3-p2-s8"]
_GRACEFUL = ["RFC9112-9.8-p7-s1"]

CLOSURES = [
    variant(CL, True, body(b"hello"), id="content-length-close-notify"),
    variant(CL, False, body(b"hello"), id="content-length-incomplete-close"),
    variant(CHUNKED, True, body(b"hello"), id="chunked-close-notify"),
    variant(CHUNKED, False, body(b"hello"), id="chunked-incomplete-close"),
    variant(UNTIL_CLOSE, True, body(b"hello"), id="close-delimited-close-notify"),
    # "A response that has neither chunked transfer coding nor Content-Length is complete only if
    # a valid closure alert has been received": the body or an error, handled gracefully.
    variant(UNTIL_CLOSE, False, body(b"hello", or_fails=(ErrorKind.INCOMPLETE, ErrorKind.TLS)),
            id="close-delimited-incomplete-close", level=SHOULD, refs=_GRACEFUL),
    variant(CL_SHORT, False, fails(ErrorKind.INCOMPLETE), id="content-length-truncated", level=MUST,
            refs=_TRUNCATED),
    variant(CHUNKED_SHORT, False, fails(ErrorKind.INCOMPLETE), id="chunked-truncated", level=MUST,
            refs=_TRUNCATED),
]
CLOSURE_RULE = ("RFC 9112 9.8: after an incomplete close (no close_notify) a client SHOULD treat as complete a "
                "response that received all of its Content-Length or its last chunk; a shorter one is incomplete "
                "(RFC 9112 8: MUST be recorded as incomplete)")


def _closing(response, notify):
    return [expect_request(), send(response), *([close_notify()] if notify else []), close()]


@scenario("tls.closure.framing", refs=_COMPLETE, level=SHOULD, profile=WIRE, needs={FEATURE_TLS})
@pytest.mark.parametrize("response, notify, expected", CLOSURES)
def test_closure_framing(tls_server, wire, tls_ca_file, response, notify, expected):
    tls_server.add_connection(_closing(response, notify))
    outcome = wire.request("GET", tls_server.url("/"), tls=TLSConfig(ca_file=tls_ca_file))
    check(outcome, expected, CLOSURE_RULE, response + (b" + close_notify" if notify else b" + TCP close"))


@scenario("tls.closure.framing.api", refs=[*_COMPLETE, "http.client.HTTPResponse.read"], level=SHOULD, profile=API)
@pytest.mark.parametrize("response, notify, expected", CLOSURES)
def test_closure_framing_api(tls_server, client, tls_ca_file, response, notify, expected):
    tls_server.add_connection(_closing(response, notify))
    conn = _https(client, "localhost", tls_server, _context(tls_ca_file))
    conn.request("GET", "/")
    try:
        data = conn.getresponse().read()
    except client.module.IncompleteRead as exc:
        assert ErrorKind.INCOMPLETE in expected.kinds, f"{CLOSURE_RULE}; read() raised {exc!r}"
        return
    except ssl.SSLError as exc:
        assert ErrorKind.TLS in expected.kinds, f"{CLOSURE_RULE}; read() raised {exc!r}"
        return
    assert data in expected.bodies, f"{CLOSURE_RULE}; expected {expected.describe()}, read() returned {data!r}"


CLIENT_CLOSES = [
    # The server keeps the connection open and never sends its closure alert; the client closes it
    # when it is done, not waiting for the server's alert (RFC 9112 9.8: it MAY choose not to wait).
    variant(respond(OK), id="after-keep-alive-response", refs=["RFC9112-9.8-p8-s1", "RFC9112-9.8-p8-s2"]),
    pytest.param(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
                 id="after-connection-close-response"),
    # The server sends its closure alert first; the client answers with its own and closes.
    pytest.param([*respond(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
                  close_notify()], id="after-server-close-notify"),
]
CLIENT_CLOSE_RULE = "RFC 9112 9.8: clients MUST send a closure alert (close_notify) before closing the connection"


def _assert_close_notify(server):
    record = server.connection(0)
    assert client_closed(record), "the client did not close the connection"
    notified = record.tls.close_notify_received
    assert notified, f"{CLIENT_CLOSE_RULE}; the server saw: {'; '.join(record.events)}"


@scenario("tls.closure.client-close-notify", refs=["RFC9112-9.8-p8-s1"], level=MUST, profile=WIRE,
          needs={FEATURE_TLS})
@pytest.mark.parametrize("script", CLIENT_CLOSES)
def test_client_close_notify(tls_server, wire, tls_ca_file, script):
    tls_server.add_connection(script)
    with wire.session(tls=TLSConfig(ca_file=tls_ca_file)) as session:
        assert expect_response(session.request("GET", tls_server.url("/"))).body == b"ok"
    _assert_close_notify(tls_server)


@scenario("tls.closure.client-close-notify.api", refs=["RFC9112-9.8-p8-s1", "http.client.HTTPConnection.close"],
          level=MUST, profile=API)
@pytest.mark.parametrize("script", CLIENT_CLOSES)
def test_client_close_notify_api(tls_server, client, tls_ca_file, script):
    tls_server.add_connection(script)
    conn = _https(client, "localhost", tls_server, _context(tls_ca_file))
    conn.request("GET", "/")
    with conn.getresponse() as response:
        assert response.read() == b"ok"
    conn.close()
    _assert_close_notify(tls_server)


# -- HTTP as TLS application data ---------------------------------------------------------------------------------

SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"


@scenario("tls.application-data", refs=["RFC9112-9.7-p2-s1"], level=MUST, profile=WIRE, needs={FEATURE_TLS})
def test_application_data(tls_server, wire, tls_ca_file):
    # RFC 9112 9.7: "All HTTP data MUST be sent as TLS application data but is otherwise treated
    # like a normal connection for HTTP (including potential reuse as a persistent connection)."
    # Reuse is the client's choice here (the second request is answered on the first connection if
    # it comes there, and a second connection is scripted as optional).
    tls_server.add_connection(respond(OK), respond_if_sent(SECOND))
    tls_server.add_connection(respond(SECOND), optional=True)
    with wire.session(tls=TLSConfig(ca_file=tls_ca_file)) as session:
        one = expect_response(session.request("GET", tls_server.url("/1")))
        two = expect_response(session.request("GET", tls_server.url("/2")))
    assert (one.body, two.body) == (b"ok", b"second")
    assert [request.target for request in tls_server.requests] == [b"/1", b"/2"], \
        "both requests arrived as TLS application data"
    for record in tls_server.connections:
        assert b"GET /" not in record.tls.raw_received, "RFC 9112 9.7: no HTTP byte goes outside TLS"


@scenario("tls.persistent", refs=["RFC9112-9.7-p2-s1", "RFC9112-9.3-p1-s1"], level=SHOULD, profile=WIRE,
          needs={FEATURE_TLS, FEATURE_PERSISTENT})
def test_persistent(tls_server, wire, tls_ca_file):
    # "... (including potential reuse as a persistent connection)"; RFC 9112 9.3: implementations
    # SHOULD support persistent connections.
    tls_server.add_connection(respond(OK), respond(SECOND))
    with wire.session(tls=TLSConfig(ca_file=tls_ca_file)) as session:
        expect_response(session.request("GET", tls_server.url("/1")))
        expect_response(session.request("GET", tls_server.url("/2")))
    assert len(tls_server.connections) == 1, "the second request reused the TLS connection"
