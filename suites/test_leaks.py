"""Leaks on error paths: once the client has failed and the caller has closed (or dropped) what it
held, nothing the client opened is left open.

Each scenario drives one error path: a CONNECT answered 407 or 5xx, a TLS handshake or
certificate verification that fails, a body cut short (IncompleteRead), an exception inside
getresponse(), close() after a partial read, a request the client refuses to send. Then it checks
both sides (suites/harness/leaks.py, `check_released`): no object of the client is freed unclosed
(a forced garbage collection, ResourceWarnings recorded), and every connection the client opened
has been closed by it (the server, as the kernel says, has seen its FIN or RST). A failure names
the path and what was left: "leaked unclosed <socket.socket ...> after IncompleteRead (body cut
short) and close()".

Two ways for the caller to end its part, on the api profile:
- `closed`: it calls close() on what it holds, as the documentation asks; whatever is left is the
  client's leak (level API: `HTTPConnection.close` closes the connection).
- `dropped`: it drops the connection without closing it. A connection the error left unusable is
  the client's to close (RFC 9112 9.5: a client SHOULD respond to a closure signal, every server
  here half-closes after its answer, since prompt closure lets resources be reclaimed; RFC 9112
  6.3: after an incomplete message it MUST close the connection). Only paths that leave the
  connection unusable have this variant.
Wire scenarios end with the session closed. Where no RFC row binds the client beyond that, the
level is SHOULD (RFC 9112 9.5): resource hygiene.

The controls (the `*-control` scenarios): the same checks after a successful exchange, which a
client that closes what it opened passes, so that a check blaming every client would be seen.
"""

import ssl

import pytest

from h1conform.servers import (
    CertKind,
    expect_client_hello,
    expect_connect,
    expect_request,
    half_close,
    handshake,
    proxy_auth_required,
    respond,
    send,
    send_raw,
    tunnel,
)
from h1conform.suites.harness import API, API_LEVEL, MUST, SHOULD, WIRE, TLSConfig, expect_response, scenario, variant
from h1conform.suites.harness.api_adapter import ssl_context
from h1conform.suites.harness.fixtures import CLIENT_TIMEOUT
from h1conform.suites.harness.leaks import check_released
from h1conform.suites.harness.wire import FEATURE_TLS, FEATURE_TUNNEL, Failure

CLOSE_DOC = "http.client.HTTPConnection.close"
HYGIENE = "RFC9112-9.5-p2-s2"  # prompt closure enables allocated system resources to be reclaimed
INCOMPLETE_CLOSES = "RFC9112-6.3-p2-s8"  # an incomplete message: the recipient MUST close the connection

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
HOW = [variant("closed", id="closed", level=API_LEVEL, refs=[CLOSE_DOC]), variant("dropped", id="dropped")]


def _connection(client, server, how, https=None):
    """An HTTPConnection (HTTPSConnection with an SSLContext) to `server`: tracked by the fixture
    (closed at teardown) when the caller closes it, untracked when the caller drops it."""
    module = client.module
    conn = (module.HTTPConnection(server.host, server.port, timeout=CLIENT_TIMEOUT) if https is None else
            module.HTTPSConnection("localhost", server.port, timeout=CLIENT_TIMEOUT, context=https))
    return client.track(conn) if how == "closed" else conn


def _error_path(how, conn, action, *expected):
    """Run `action(conn)`, which must raise one of `expected` (else an assertion error: the path was
    not taken), then the caller's part: close(), or nothing (the connection is dropped when this
    returns). Returns the exception's name; the exception is not kept, since its traceback would
    hold the client's objects."""
    try:
        action(conn)
    except expected as exc:
        raised = type(exc).__name__
    else:
        raise AssertionError(f"the error path was not taken: no {' or '.join(e.__name__ for e in expected)} raised")
    if how == "closed":
        conn.close()
    return raised


def _caller(how):
    return "close()" if how == "closed" else "dropping the connection unclosed"


# -- CONNECT answered 407 or 5xx ------------------------------------------------------------------------------

TUNNEL_REPLIES = [
    pytest.param(proxy_auth_required(body=b"denied"), id="407"),
    pytest.param(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\n\r\nbad gateway", id="502"),
    pytest.param(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", id="503"),
]


@scenario("leaks.api.tunnel-refused", refs=[HYGIENE], level=SHOULD, profile=API)
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("reply", TUNNEL_REPLIES)
def test_api_tunnel_refused(proxy, client, reply, how):
    proxy.add_connection(expect_connect(), send(reply), half_close())

    def through_tunnel(conn):
        conn.set_tunnel("origin.example", 8080)
        conn.request("GET", "/")

    raised = _error_path(how, _connection(client, proxy, how), through_tunnel, OSError, client.module.HTTPException)
    check_released(f"{raised} (CONNECT answered {reply[9:12].decode()}) and {_caller(how)}", proxy)


@scenario("leaks.api.tunnel-refused-control", refs=[CLOSE_DOC], level=API_LEVEL, profile=API)
def test_api_tunnel_control(proxy, server, client):
    # The control: an established tunnel, a response read, close(): nothing left.
    proxy.add_connection(tunnel(server))
    server.add_connection(respond(OK))
    conn = client.connect(proxy)
    conn.set_tunnel(server.host, server.port)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    check_released("a tunnelled request and close()", proxy, server)


@scenario("leaks.wire.tunnel-refused", refs=[HYGIENE], level=SHOULD, profile=WIRE,
          needs=[FEATURE_TUNNEL, FEATURE_TLS])
@pytest.mark.parametrize("reply", TUNNEL_REPLIES)
def test_wire_tunnel_refused(proxy, wire, tls_ca_file, reply):
    proxy.add_connection(expect_connect(strict=False), send(reply), half_close())
    with wire.session(tls=TLSConfig(ca_file=tls_ca_file), proxy=proxy.url("")) as session:
        outcome = session.request("GET", "https://localhost:4443/")  # only named in the CONNECT: never reached
    assert isinstance(outcome, Failure), f"a CONNECT answered {reply[9:12].decode()} cannot give a response"
    check_released(f"{outcome.kind.value} (CONNECT answered {reply[9:12].decode()}) and closing the session", proxy)


# -- TLS handshake and certificate verification failures --------------------------------------------------------

PLAIN_ANSWER = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nplain http!"
TLS_FAILURES = [
    # A plain HTTP server on the port: it reads the ClientHello and answers in plaintext.
    pytest.param(CertKind.GOOD, [expect_client_hello(), send_raw(PLAIN_ANSWER), half_close()], id="handshake"),
    # The handshake's end is not judged here (a client may complete it, then refuse the certificate,
    # as libcurl does; suites/test_tls.py judges that): the server then reads until the client closes.
    pytest.param(CertKind.UNKNOWN_CA, [handshake(succeeds=None)], id="verification-unknown-ca"),
    pytest.param(CertKind.WRONG_HOST, [handshake(succeeds=None)], id="verification-wrong-host"),
]


@scenario("leaks.api.tls-failure", refs=[HYGIENE], level=SHOULD, profile=API)
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("kind, script", TLS_FAILURES)
def test_api_tls_failure(make_tls_server, client, tls_ca_file, kind, script, how):
    server = make_tls_server(kind)
    server.add_connection(script)
    conn = _connection(client, server, how, https=ssl_context(TLSConfig(ca_file=tls_ca_file)))
    raised = _error_path(how, conn, lambda conn: conn.request("GET", "/"), ssl.SSLError, ConnectionError)
    del conn
    failed = "handshake" if kind is CertKind.GOOD else "verification"
    check_released(f"{raised} (TLS {failed} failed) and {_caller(how)}", server)


@scenario("leaks.api.tls-control", refs=[CLOSE_DOC], level=API_LEVEL, profile=API)
def test_api_tls_control(tls_server, client, tls_ca_file):
    tls_server.add_connection(respond(OK))
    conn = _connection(client, tls_server, "closed", https=ssl_context(TLSConfig(ca_file=tls_ca_file)))
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    conn.close()
    check_released("an HTTPS request and close()", tls_server)


@scenario("leaks.wire.tls-failure", refs=[HYGIENE], level=SHOULD, profile=WIRE, needs=[FEATURE_TLS])
@pytest.mark.parametrize("kind, script", TLS_FAILURES)
def test_wire_tls_failure(make_tls_server, wire, tls_ca_file, kind, script):
    # A client may try once more on a new connection (Java's HttpClient does when the failure
    # reaches its response reader before any byte, as the end of a connection it may retry on,
    # which depends on the order its threads run in):
    # that connection meets the same server, which reads until the client closes it too. Without
    # a script the server would close it at once and could not tell whether the client did.
    server = make_tls_server(kind)
    server.add_connection(script)
    server.add_connection(script, optional=True)
    outcome = wire.request("GET", f"https://localhost:{server.port}/", tls=TLSConfig(ca_file=tls_ca_file))
    assert isinstance(outcome, Failure), f"the TLS failure ({kind}) cannot give a response"
    check_released(f"{outcome.kind.value} (TLS failure, {kind}) and closing the session", server)


# -- a body cut short (IncompleteRead) ------------------------------------------------------------------------

INCOMPLETE = [
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", id="content-length"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nwor", id="chunked"),
]
HOW_INCOMPLETE = [HOW[0], variant("dropped", id="dropped", level=MUST, refs=[INCOMPLETE_CLOSES, HYGIENE])]


@scenario("leaks.api.incomplete-read", refs=[INCOMPLETE_CLOSES, HYGIENE], level=MUST, profile=API)
@pytest.mark.parametrize("how", HOW_INCOMPLETE)
@pytest.mark.parametrize("raw", INCOMPLETE)
def test_api_incomplete_read(server, client, raw, how):
    server.add_connection(expect_request(), send(raw), half_close())

    def read_body(conn):
        conn.request("GET", "/")
        conn.getresponse().read()

    raised = _error_path(how, _connection(client, server, how), read_body, client.module.IncompleteRead)
    check_released(f"{raised} (body cut short) and {_caller(how)}", server)


@scenario("leaks.wire.incomplete-read", refs=[INCOMPLETE_CLOSES, HYGIENE], level=MUST, profile=WIRE)
@pytest.mark.parametrize("raw", INCOMPLETE)
def test_wire_incomplete_read(server, wire, raw):
    server.add_connection(expect_request(), send(raw), half_close())
    outcome = wire.request("GET", server.url("/"))
    assert isinstance(outcome, Failure), f"a body cut short cannot give a response: {raw!r}"
    check_released(f"{outcome.kind.value} (body cut short) and closing the session", server)


# -- an exception inside getresponse() ------------------------------------------------------------------------

MALFORMED_HEADS = [
    pytest.param(b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok", id="malformed-status-line"),
    pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", id="not-http"),
]
# Heads over http.client's documented limits (_MAXHEADERS, _MAXLINE): api only, since a wire client
# may set its limits elsewhere (the limit scenarios judge those).
BROKEN_HEADS = [
    *MALFORMED_HEADS,
    pytest.param(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-F-%d: v\r\n" % i for i in range(300)) + b"\r\n",
                 id="too-many-fields"),
    pytest.param(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", id="field-line-too-long"),
]


@scenario("leaks.api.getresponse-error", refs=[HYGIENE], level=SHOULD, profile=API)
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("raw", BROKEN_HEADS)
def test_api_getresponse_error(server, client, raw, how):
    server.add_connection(expect_request(), send(raw), half_close())

    def get_response(conn):
        conn.request("GET", "/")
        conn.getresponse()

    raised = _error_path(how, _connection(client, server, how), get_response, client.module.HTTPException)
    check_released(f"{raised} (inside getresponse()) and {_caller(how)}", server)


@scenario("leaks.wire.getresponse-error", refs=[HYGIENE], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("raw", MALFORMED_HEADS)
def test_wire_getresponse_error(server, wire, raw):
    server.add_connection(expect_request(), send(raw), half_close())
    outcome = wire.request("GET", server.url("/"))
    assert isinstance(outcome, Failure), f"a broken head cannot give a response: {raw[:60]!r}"
    check_released(f"{outcome.kind.value} (a broken response head) and closing the session", server)


# -- close() after a partial read -----------------------------------------------------------------------------

BODY = b"x" * 65536
PARTIAL = [
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY), id="content-length"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY),
                 id="chunked"),
]


@scenario("leaks.api.partial-read-close", refs=[CLOSE_DOC], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("closes", ["response-then-connection", "connection-only"])
@pytest.mark.parametrize("raw", PARTIAL)
def test_api_partial_read_close(server, client, raw, closes):
    # The response is read in part (10 of 65536 octets); the rest waits in the client's buffer and
    # in the kernel. close() on the connection closes the socket whatever the response still holds.
    server.add_connection(expect_request(), send(raw))
    conn = client.connect(server)
    conn.request("GET", "/")
    response = conn.getresponse()
    assert response.read(10) == b"x" * 10
    if closes == "response-then-connection":
        response.close()
    conn.close()
    check_released(f"a partial read and close() ({closes.replace('-', ' ')})", server)


@scenario("leaks.api.partial-read-control", refs=[CLOSE_DOC], level=API_LEVEL, profile=API)
def test_api_partial_read_control(server, client):
    # The control: the whole body read, then close().
    server.add_connection(expect_request(), send(PARTIAL[0].values[0]))
    conn = client.connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == BODY
    conn.close()
    check_released("a whole read and close()", server)


# -- a request the client refuses to send ---------------------------------------------------------------------

@scenario("leaks.api.refused-request", refs=[CLOSE_DOC], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("connected", [False, True], ids=["auto-open", "after-connect"])
def test_api_refused_request(server, client, connected):
    # A header value with CR LF: the client refuses it (the injection scenarios check that); a
    # socket it opened for it, or before it, is closed by close().
    server.add_connection(expect_request(strict=False), send(OK), optional=True)

    def refused(conn):
        if connected:
            conn.connect()
        conn.request("GET", "/", headers={"X-Bad": "a\r\nInjected: yes"})

    raised = _error_path("closed", client.connect(server), refused, ValueError, client.module.HTTPException)
    check_released(f"{raised} (a refused request) and close()", server)


@scenario("leaks.wire.refused-request", refs=[HYGIENE], level=SHOULD, profile=WIRE)
def test_wire_refused_request(server, wire):
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    outcome = wire.request("GET", server.url("/"), headers=[("X-Bad", "a\r\nInjected: yes")])
    path = f"{outcome.kind.value} (a refused request)" if isinstance(outcome, Failure) else "a request with CR LF"
    check_released(f"{path} and closing the session", server)


@scenario("leaks.wire.control", refs=[HYGIENE], level=SHOULD, profile=WIRE)
def test_wire_control(server, wire):
    server.add_connection(respond(OK))
    with wire.session() as session:
        assert expect_response(session.request("GET", server.url("/"))).body == b"ok"
    check_released("a response read whole and closing the session", server)
