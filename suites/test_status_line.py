"""The status line of a response (RFC 9112 4, RFC 9110 6.2 and 15).

    status-line = HTTP-version SP status-code SP [ reason-phrase ]
    HTTP-version = HTTP-name "/" DIGIT "." DIGIT      ; HTTP-name = %s"HTTP" (case-sensitive)
    status-code  = 3DIGIT                             ; valid codes are 100..599 (RFC 9110 15)
    reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )

Wire scenarios check what a client makes of a status line: the version and code it reports, that
an empty or missing reason phrase is fine, that bare LF line ends may be accepted, and that lines
which are not an HTTP/1.x status line are rejected. Api scenarios check the `status`, `reason` and
`version` attributes and the exception classes http.client documents for these cases
(BadStatusLine, UnknownProtocol, RemoteDisconnected).

Every table that expects a rejection has a valid status line as its first row (the control).
Response scenarios run with the response delivered whole and byte by byte (`@each_delivery`).
"""

from __future__ import annotations

import pytest

from h1conform.servers import close, expect_request, reset, respond, send
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    MAY,
    MUST,
    SHOULD,
    WIRE,
    ErrorKind,
    Response,
    check,
    each_delivery,
    expect_failure,
    expect_response,
    fails,
    scenario,
    variant,
)
from h1conform.suites.harness.wire import FEATURE_REASON, FEATURE_VERSION

# Every response below carries this framing after its status line, so that a client which accepts
# the status line has an exactly known body to return.
HEAD_REST = b"Content-Length: 5\r\n\r\n"
BODY = b"hello"


def _response(status_line: bytes) -> bytes:
    return status_line + b"\r\n" + HEAD_REST + BODY


# -- versions ----------------------------------------------------------------------------------------


@scenario("response.status-line.version", refs=["RFC9112-4-p1-s1", "RFC9110-2.4-p1-s1"], level=MUST,
          profile=WIRE, needs=[FEATURE_VERSION])
@pytest.mark.parametrize("status_line, versions", [
    variant(b"HTTP/1.1 200 OK", {"HTTP/1.1"}, id="http11"),
    variant(b"HTTP/1.0 200 OK", {"HTTP/1.0"}, id="http10"),
    # RFC 9110 6.2: a higher minor version of a major version the client implements SHOULD be
    # processed as the highest minor version it implements (1.1); reporting 1.2 as such is fine too.
    variant(b"HTTP/1.2 200 OK", {"HTTP/1.1", "HTTP/1.2"}, id="http12-higher-minor", level=SHOULD,
            refs=["RFC9110-6.2-p8-s1"]),
])
@each_delivery
def test_version(server, wire, status_line, versions, delivery):
    server.add_connection(respond(_response(status_line), delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    assert response.version in versions, (
        f"RFC 9110 2.4: the status line {status_line!r} was received; the client reports version "
        f"{response.version!r}, expected one of {sorted(versions)}")
    assert (response.status, response.body) == (200, BODY), (
        f"a {status_line!r} response with Content-Length: 5 is a 200 with body {BODY!r}; got "
        f"{response.status} with {response.body!r}")


@scenario("response.status-line.version-invalid", refs=["RFC9110-2.3-p1-s1"], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("status_line, valid", [
    variant(b"HTTP/1.1 200 OK", True, id="control-http11"),
    variant(b"HTTP/2.0 200 OK", False, id="http20"),
    variant(b"HTTP/2 200 OK", False, id="http2-no-minor"),
    variant(b"HTTP/3.0 200 OK", False, id="http30"),
    variant(b"HTTP/1 200 OK", False, id="http1-no-minor"),
    variant(b"HTTP/1.10 200 OK", False, id="two-digit-minor"),
    variant(b"HTTP/11 200 OK", False, id="no-dot"),
    variant(b"http/1.1 200 OK", False, id="lowercase-name"),
    variant(b"ICY 200 OK", False, id="icy"),
    variant(b"200 OK", False, id="no-version"),
    variant(b"FOO", False, id="not-http"),
])
@each_delivery
def test_version_invalid(server, wire, status_line, valid, delivery):
    # HTTP-version = HTTP-name "/" DIGIT "." DIGIT, HTTP-name case-sensitive "HTTP". A line that is
    # not an HTTP/1.x status line cannot be parsed as an HTTP/1.1 response: a client parsing
    # defensively (RFC 9110 2.3) reports a protocol error instead of guessing. The server closes
    # after sending, so a client that reads the bytes some other way (HTTP/0.9 style) ends quickly.
    server.add_connection(expect_request(), send(_response(status_line), delivery), close())
    outcome = wire.request("GET", server.url("/"))
    if valid:
        response = expect_response(outcome)
        assert (response.status, response.body) == (200, BODY)
        return
    check(outcome, fails(ErrorKind.PROTOCOL), "RFC 9110 2.3 / RFC 9112 2.3: a status line whose version is not "
          "HTTP/1.x is not an HTTP/1.1 response and should be rejected", status_line)


# -- status codes ------------------------------------------------------------------------------------


@scenario("response.status-line.code-class", refs=["RFC9110-15-p4-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("status_line, body", [
    variant(b"HTTP/1.1 200 OK", BODY, id="200"),
    variant(b"HTTP/1.1 204 No Content", b"", id="204-no-content"),
    variant(b"HTTP/1.1 299 Unregistered Success", BODY, id="299-unregistered"),
    variant(b"HTTP/1.1 300 Multiple Choices", BODY, id="300"),
    variant(b"HTTP/1.1 399 Unregistered Redirection", BODY, id="399-unregistered"),
    variant(b"HTTP/1.1 404 Not Found", BODY, id="404"),
    variant(b"HTTP/1.1 471 Unregistered Client Error", BODY, id="471-unregistered"),
    variant(b"HTTP/1.1 500 Internal Server Error", BODY, id="500"),
    variant(b"HTTP/1.1 599 Unregistered Server Error", BODY, id="599-unregistered"),
])
@each_delivery
def test_code_class(server, wire, status_line, body, delivery):
    # A client MUST understand the class of any status code and treat an unrecognised code like the
    # x00 code of its class: a final response whose content is delivered. No Location header, so
    # that a client following redirects has nothing to follow.
    head = status_line + b"\r\n" + (HEAD_REST if body else b"\r\n")
    server.add_connection(respond(head + body, delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    code = int(status_line.split()[1])
    assert response.status == code, (
        f"RFC 9110 15: the client MUST understand the class of any status code; it reported "
        f"{response.status} for {status_line!r}")
    assert response.body == body, (
        f"RFC 9110 15: a {code} response is final and its content ({body!r}) is delivered; got {response.body!r}")


@scenario("response.status-line.code-invalid", refs=["RFC9110-15-p6-s1", "RFC9110-2.3-p1-s1"], level=SHOULD,
          profile=WIRE)
@pytest.mark.parametrize("status_line, valid", [
    variant(b"HTTP/1.1 200 OK", True, id="control-200"),
    variant(b"HTTP/1.1 abc OK", False, id="letters"),
    variant(b"HTTP/1.1 OK", False, id="missing-code"),
    variant(b"HTTP/1.1 20 OK", False, id="two-digits"),
    variant(b"HTTP/1.1 2000 OK", False, id="four-digits"),
    variant(b"HTTP/1.1 0200 OK", False, id="leading-zero"),
    variant(b"HTTP/1.1 +200 OK", False, id="plus-sign"),
    variant(b"HTTP/1.1 -200 OK", False, id="minus-sign"),
    variant(b"HTTP/1.1 2_00 OK", False, id="underscore"),
    variant(b"HTTP/1.1 099 Too Low", False, id="below-100"),
    variant(b"HTTP/1.1 600 Too High", False, id="above-599"),
    variant(b"HTTP/1.1 999 Too High", False, id="999"),
])
@each_delivery
def test_code_invalid(server, wire, status_line, valid, delivery):
    # status-code = 3DIGIT, and values outside 100..599 are invalid (RFC 9110 15). A client SHOULD
    # process a response with an invalid status code as a 5xx: either outcome is accepted here, a
    # protocol error or a response reported with a 5xx status. Reading "0200", "+200" or "2_00" as
    # 200 (what int() does) or passing 600 on as a status is neither.
    server.add_connection(expect_request(), send(_response(status_line), delivery), close())
    outcome = wire.request("GET", server.url("/"))
    if valid:
        response = expect_response(outcome)
        assert (response.status, response.body) == (200, BODY)
        return
    if isinstance(outcome, Response):
        assert 500 <= outcome.status <= 599, (
            f"RFC 9110 15: {status_line!r} has an invalid status code (3DIGIT, 100..599); a client SHOULD "
            f"process it as a 5xx (or reject it), but it reported status {outcome.status}")
        return
    check(outcome, fails(ErrorKind.PROTOCOL), "RFC 9110 15: an invalid status code should be processed as 5xx "
          "or rejected as a protocol error", status_line)


# -- reason phrase -----------------------------------------------------------------------------------


@scenario("response.status-line.reason-phrase", refs=["RFC9112-4-p1-s1", "RFC9110-2.4-p1-s1"], level=MUST,
          profile=WIRE, needs=[FEATURE_REASON])
@pytest.mark.parametrize("status_line, reason", [
    variant(b"HTTP/1.1 200 OK", "OK", id="ok"),
    variant(b"HTTP/1.1 200 Everything Is Fine", "Everything Is Fine", id="several-words"),
    # The grammar: SP [ reason-phrase ]: the space stays, the phrase is OPTIONAL.
    variant(b"HTTP/1.1 200 ", "", id="empty-after-space"),
    # No space after the code breaks the grammar (a server MUST send it, RFC 9112 4), but a
    # recipient MAY recover the obvious meaning from an invalid construct (RFC 9110 2.4).
    variant(b"HTTP/1.1 200", "", id="missing-no-space", level=MAY, refs=["RFC9112-4-p1-s1", "RFC9110-2.4-p2-s1"]),
])
@each_delivery
def test_reason_phrase(server, wire, status_line, reason, delivery):
    server.add_connection(respond(_response(status_line), delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    assert (response.status, response.body) == (200, BODY), (
        f"RFC 9112 4: the reason phrase is OPTIONAL; {status_line!r} is a 200 response with body {BODY!r}, "
        f"got {response.status} with {response.body!r}")
    assert response.reason == reason, f"reason phrase of {status_line!r}: expected {reason!r}, got {response.reason!r}"


@scenario("response.status-line.reason-obs-text", refs=["RFC9112-2.2-p2-s1", "RFC9112-4-p9-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("status_line", [
    variant(b"HTTP/1.1 200 OK", id="control-ascii"),
    variant(b"HTTP/1.1 200 Caf\xe9 \xfcber alles", id="latin1-octets"),
    variant("HTTP/1.1 200 Überall gut ✓".encode(), id="utf8-octets"),
    variant(b"HTTP/1.1 200 \x80\xff", id="high-octets-only"),
])
@each_delivery
def test_reason_obs_text(server, wire, status_line, delivery):
    # reason-phrase allows obs-text (%x80-FF). A recipient parses the message as octets (RFC 9112
    # 2.2) and SHOULD ignore the reason phrase's content (RFC 9112 4): whatever those octets
    # are, they must not make the response unreadable.
    server.add_connection(respond(_response(status_line), delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    assert (response.status, response.body) == (200, BODY), (
        f"RFC 9112 2.2 / 4: octets above 0x7F in the reason phrase ({status_line!r}) are obs-text, allowed "
        f"there; the response is a 200 with body {BODY!r}, got {response.status} with {response.body!r}")
    assert isinstance(response.reason, str)


# -- line endings ------------------------------------------------------------------------------------


@scenario("response.status-line.bare-lf", refs=["RFC9112-2.2-p3-s1"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("raw", [
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", id="control-crlf"),
    variant(b"HTTP/1.1 200 OK\nContent-Length: 5\r\n\r\nhello", id="status-line-lf"),
    variant(b"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello", id="whole-head-lf"),
    variant(b"HTTP/1.1 200 \nContent-Length: 5\n\nhello", id="empty-reason-lf"),
])
@each_delivery
def test_bare_lf(server, wire, raw, delivery):
    # RFC 9112 2.2: a recipient MAY recognise a single LF as a line terminator (and ignore a
    # preceding CR). Checked for the report: a client that refuses bare LF is not wrong.
    server.add_connection(respond(raw, delivery))
    response = expect_response(wire.request("GET", server.url("/")))
    assert (response.status, response.body) == (200, BODY), (
        f"RFC 9112 2.2 (MAY): with LF accepted as line terminator, {raw!r} is a 200 response with body "
        f"{BODY!r}; got {response.status} with {response.body!r}")
    assert "\r" not in response.reason and "\n" not in response.reason, (
        f"the line terminator is not part of the reason phrase: {response.reason!r}")


# -- no status line at all ---------------------------------------------------------------------------


@scenario("response.status-line.connection-closed", refs=["RFC9112-8-p2-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("ending, valid", [
    variant([send(_response(b"HTTP/1.1 200 OK")), close()], True, id="control-response-then-close"),
    variant([close()], False, id="close-before-any-byte"),
    variant([reset()], False, id="reset-before-any-byte"),
])
def test_connection_closed(server, wire, ending, valid):
    # The server reads the request and ends the connection without a byte of response: there is
    # no response to report (RFC 9112 8: nothing complete was received). The wire taxonomy calls
    # that connection-closed (not a protocol error: nothing malformed was received).
    server.add_connection(expect_request(), *ending)
    outcome = wire.request("GET", server.url("/"))
    if valid:
        response = expect_response(outcome)
        assert (response.status, response.body) == (200, BODY)
        return
    expect_failure(outcome, ErrorKind.CLOSED)


# -- the http.client API -----------------------------------------------------------------------------


def _get(client, server, raw: bytes, *, then_close: bool = True):
    server.add_connection(expect_request(), send(raw), *([close()] if then_close else []))
    conn = client.connect(server)
    conn.request("GET", "/")
    return conn


@scenario("response.status-line.attributes",
          refs=["http.client.HTTPResponse.status", "http.client.HTTPResponse.reason",
                "http.client.HTTPResponse.version"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("status_line, status, reason, version", [
    pytest.param(b"HTTP/1.1 200 OK", 200, "OK", 11, id="http11-200"),
    pytest.param(b"HTTP/1.0 200 OK", 200, "OK", 10, id="http10-200"),
    pytest.param(b"HTTP/1.1 299 Unregistered", 299, "Unregistered", 11, id="unregistered-code"),
    pytest.param(b"HTTP/1.1 200 ", 200, "", 11, id="empty-reason"),
    pytest.param(b"HTTP/1.1 200", 200, "", 11, id="missing-reason"),
    pytest.param(b"HTTP/1.0 503 Service Unavailable", 503, "Service Unavailable", 10, id="http10-503"),
])
@each_delivery
def test_attributes(server, client, status_line, status, reason, version, delivery):
    server.add_connection(expect_request(), send(_response(status_line), delivery))
    conn = client.connect(server)
    conn.request("GET", "/")
    response = client.track(conn.getresponse())
    got = (response.status, response.reason, response.version)
    assert got == (status, reason, version), (
        f"http.client docs: status is the status code, reason the reason phrase, version 10 for HTTP/1.0 "
        f"and 11 for HTTP/1.1; for {status_line!r} expected {(status, reason, version)}, got {got}")
    assert type(response.status) is int and type(response.version) is int and type(response.reason) is str
    assert response.read() == BODY


@scenario("response.status-line.exception-classes",
          refs=["http.client.BadStatusLine", "http.client.UnknownProtocol", "http.client.HTTPException",
                "http.client.HTTPConnection.getresponse"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("status_line, exception", [
    pytest.param(b"HTTP/1.1 200 OK", None, id="control-valid"),
    pytest.param(b"FOO", "BadStatusLine", id="not-http"),
    pytest.param(b"http/1.1 200 OK", "BadStatusLine", id="lowercase-name"),
    pytest.param(b"HTTP/1.1 abc OK", "BadStatusLine", id="code-letters"),
    pytest.param(b"HTTP/1.1 20 OK", "BadStatusLine", id="code-two-digits"),
    pytest.param(b"HTTP/2.0 200 OK", "UnknownProtocol", id="http20"),
    pytest.param(b"HTTP/3 200 OK", "UnknownProtocol", id="http3"),
])
def test_exception_classes(server, client, status_line, exception):
    # http.client docs: BadStatusLine is "raised if a server responds with a HTTP status code that
    # we don't understand"; UnknownProtocol names a protocol version the client does not speak.
    # Both are HTTPException subclasses, raised by getresponse().
    conn = _get(client, server, _response(status_line))
    if exception is None:
        response = client.track(conn.getresponse())
        assert (response.status, response.read()) == (200, BODY)
        return
    expected_class = getattr(client.module, exception)
    with pytest.raises(client.module.HTTPException) as caught:
        client.track(conn.getresponse())
    assert isinstance(caught.value, expected_class), (
        f"getresponse() for the status line {status_line!r} should raise {exception}, raised "
        f"{type(caught.value).__name__}: {caught.value}")
    assert issubclass(expected_class, client.module.HTTPException), f"{exception} is an HTTPException subclass"


@scenario("response.status-line.remote-disconnected",
          refs=["http.client.RemoteDisconnected", "http.client.HTTPConnection.getresponse"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("raw", [
    pytest.param(_response(b"HTTP/1.1 200 OK"), id="control-response"),
    pytest.param(b"", id="closed-without-response"),
])
def test_remote_disconnected(server, client, raw):
    # http.client docs: RemoteDisconnected, a subclass of ConnectionResetError and BadStatusLine, is
    # "raised by HTTPConnection.getresponse() when the attempt to read the response results in no
    # data read from the connection, indicating that the remote end has closed the connection".
    conn = _get(client, server, raw)
    if raw:
        response = client.track(conn.getresponse())
        assert (response.status, response.read()) == (200, BODY)
        return
    with pytest.raises(client.module.RemoteDisconnected) as caught:
        client.track(conn.getresponse())
    assert isinstance(caught.value, ConnectionResetError), "RemoteDisconnected is a ConnectionResetError"
    assert isinstance(caught.value, client.module.BadStatusLine), "RemoteDisconnected is a BadStatusLine"
