"""The request line a client sends: method, origin-form request-target, HTTP version, and what surrounds it.

RFC 9112 section 3:

    request-line   = method SP request-target SP HTTP-version
    origin-form    = absolute-path [ "?" query ]

A client sends the method and target it was given, "/" for an empty path (3.2.1), "HTTP/1.1", no
extra CRLF before or after the request (2.2) and no whitespace before the first header field (2.2).
It refuses a target or method that would break that grammar (a space, CR, LF or another control
character: CVE-2019-9740, CVE-2019-9947, CVE-2020-26116) before sending anything.
"""

from __future__ import annotations

import re

import pytest

from h1conform.servers import expect_request, respond, send
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    MUST,
    WIRE,
    ErrorKind,
    expect_failure,
    expect_response,
    scenario,
)
from h1conform.suites.harness.checks import (
    control_passes,
    expect_refused_before_sending,
    sent_through_api,
    start_request,
)
from h1conform.suites.harness.waiting import client_closed
from h1conform.suites.harness.wire import FEATURE_CUSTOM_METHODS

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

# request-line = method SP request-target SP HTTP-version CRLF, with method = token (RFC 9110 9.1,
# 5.6.2) and a request-target without whitespace or control characters.
REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e]+ HTTP/1\.1\r\n")


def request_line(raw: bytes) -> bytes:
    """The first line of a request, CRLF included."""
    end = raw.find(b"\r\n")
    return raw if end < 0 else raw[: end + 2]


def exchange(conn, method, url, **kwargs):
    """request() then read the whole response, the way everyday code uses HTTPConnection."""
    conn.request(method, url, **kwargs)
    response = conn.getresponse()
    response.read()
    return response




# -- method -----------------------------------------------------------------------------------------


@scenario("request.line.method", refs=["RFC9112-3.2.1-p3-s1", "RFC9110-2.2-p5-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_method_as_given(server, wire, method):
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/resource")))
    sent = server.requests[0]
    assert sent.method == method.encode(), "the request line carries the method the caller asked for"
    assert request_line(sent.raw) == f"{method} /resource HTTP/1.1\r\n".encode(), (
        "RFC 9112 3: request-line = method SP request-target SP HTTP-version, single spaces, CRLF")


@scenario("request.line.method.custom", refs=["RFC9110-2.2-p5-s1"], level=MUST, profile=WIRE,
          needs=[FEATURE_CUSTOM_METHODS])
@pytest.mark.parametrize("method", ["PURGE", "MKCOL", "X-Custom.Method_1", "get"],
                         ids=["purge", "mkcol", "token-chars", "lower-case"])
def test_custom_method(server, wire, method):
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/")))
    assert request_line(server.requests[0].raw) == f"{method} / HTTP/1.1\r\n".encode(), (
        "RFC 9110 9.1: the method token is case-sensitive and any token is a method: sent exactly as given")


@scenario("request.line.method.api", refs=["http.client.HTTPConnection.request", "http.client.HTTPConnection.putrequest"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
@pytest.mark.parametrize("how", ["request", "putrequest"])
def test_method_api(server, client, method, how):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    if how == "request":
        conn.request(method, "/x?y=1")
    else:
        conn.putrequest(method, "/x?y=1")
        conn.endheaders()
    conn.getresponse().read()
    assert request_line(server.requests[0].raw) == f"{method} /x?y=1 HTTP/1.1\r\n".encode(), (
        f"{how}(method, url) sends 'method url HTTP/1.1' as the request line")


@scenario("request.line.method.refused", refs=["RFC9110-2.2-p5-s1"], level=MUST, profile=WIRE,
          needs=[FEATURE_CUSTOM_METHODS], cves=["CVE-2020-26116"])
@pytest.mark.parametrize("method, refused", [
    pytest.param("GET", False, id="valid"),
    pytest.param("GET / HTTP/1.1\r\nX-Injected: 1\r\nX-Foo:", True, id="crlf-injection"),
    pytest.param("GET\n", True, id="lf"),
    pytest.param("GET\x00", True, id="nul"),
    pytest.param("G ET", True, id="space"),
    pytest.param("GET\x7f", True, id="del"),
])
def test_method_refused(make_server, server, wire, method, refused):
    # A correct client sends the valid row and nothing at all for the others; a client that sends a
    # refused row anyway gets a response, and the scenario shows what reached the server.
    if not refused:
        return _method_sent(server, wire, method)
    control_passes(make_server, lambda control: _method_sent(control, wire, "GET"))
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    outcome = wire.request(method, server.url("/"))
    assert not server.bytes_received, (
        "RFC 9110 2.2 / 9.1: a method is a token; a method with CR, LF, SP or another control character "
        f"must be refused before anything is sent, the server received {server.connections[0].received!r}")
    expect_failure(outcome, ErrorKind.INVALID_INPUT)


def _method_sent(server, wire, method):
    server.add_connection(expect_request(strict=False), send(OK))
    expect_response(wire.request(method, server.url("/")))
    assert request_line(server.requests[0].raw) == f"{method} / HTTP/1.1\r\n".encode()


@scenario("request.line.method.refused-api", refs=["RFC9110-2.2-p5-s1", "http.client.HTTPConnection.putrequest"],
          level=MUST, profile=API, cves=["CVE-2020-26116"])
@pytest.mark.parametrize("method, refused", [
    pytest.param("GET", False, id="valid"),
    pytest.param("GET / HTTP/1.1\r\nX-Injected: 1\r\nX-Foo:", True, id="crlf-injection"),
    pytest.param("GET\r", True, id="cr"),
    pytest.param("GET\x01", True, id="control"),
    pytest.param("G ET", True, id="space"),
    pytest.param("GET\x7f", True, id="del"),
])
@pytest.mark.parametrize("how", ["request", "putrequest"])
def test_method_refused_api(make_server, server, client, method, refused, how):
    if not refused:
        return _method_sent_api(server, client, how, method)
    control_passes(make_server, lambda control: _method_sent_api(control, client, how, "GET"))
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    conn = client.connect(server)
    expect_refused_before_sending(
        server, conn, lambda: start_request(conn, how, method, "/"), ValueError,
        f"RFC 9110 9.1: a method is a token; {method!r} must raise ValueError in {how}() before anything is sent")


def _method_sent_api(server, client, how, method):
    assert request_line(sent_through_api(server, client, how, method, "/").raw) == f"{method} / HTTP/1.1\r\n".encode()


# -- request-target -------------------------------------------------------------------------------


@scenario("request.line.target.origin-form", refs=["RFC9112-3.2.1-p3-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("path, target", [
    pytest.param("/", b"/", id="root"),
    pytest.param("/a/b/c.txt", b"/a/b/c.txt", id="path"),
    pytest.param("/search?q=http&lang=en", b"/search?q=http&lang=en", id="path-query"),
    pytest.param("/a%20b/%C3%A9?x=%2F", b"/a%20b/%C3%A9?x=%2F", id="percent-encoded"),
    pytest.param("/p;param=1/q", b"/p;param=1/q", id="path-params"),
    pytest.param("/page#section-2", b"/page", id="fragment-dropped"),
    pytest.param("/page?x=1#frag", b"/page?x=1", id="query-fragment-dropped"),
    pytest.param("/a//b/./c/../d", b"/a//b/./c/../d", id="dot-segments-untouched"),
])
def test_origin_form(server, wire, path, target):
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", server.url(path)))
    assert server.requests[0].target == target, (
        "RFC 9112 3.2.1: to an origin server a client MUST send only the absolute path and query "
        "components of the target URI (no scheme, authority or fragment)")


@scenario("request.line.target.empty-path", refs=["RFC9112-3.2.1-p3-s2"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("suffix, target", [
    pytest.param("", b"/", id="no-path"),
    pytest.param("/", b"/", id="slash"),
    pytest.param("?a=1", b"/?a=1", id="query-only"),
])
def test_empty_path(server, wire, suffix, target):
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", f"http://{server.authority}{suffix}"))
    assert server.requests[0].target == target, (
        "RFC 9112 3.2.1: if the target URI's path is empty, the client MUST send '/' as the path")


@scenario("request.line.target.api", refs=["http.client.HTTPConnection.request", "RFC9112-3.2.1-p3-s2"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("url, target", [
    pytest.param("/a/b?c=d&e", b"/a/b?c=d&e", id="path-query"),
    pytest.param("/%7Euser/%E2%82%AC", b"/%7Euser/%E2%82%AC", id="percent-encoded"),
    pytest.param("", b"/", id="empty-url"),
    pytest.param("*", b"*", id="asterisk"),
    pytest.param("http://example.org/x?y", b"http://example.org/x?y", id="absolute-form"),
])
def test_target_api(server, client, url, target):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    exchange(conn, "OPTIONS" if url == "*" else "GET", url)
    assert server.requests[0].target == target, (
        "request(method, url) sends url as the request-target unchanged; an empty url is sent as '/' "
        "(RFC 9112 3.2.1)")


VALID_TARGET = "/a%20b?q=%0D%0A"  # the valid row of the next scenario, and its refusal rows' control
VALID_URL = "/index.html?q=1"  # the same for the api scenario after it


@scenario("request.line.target.refused", refs=["RFC9110-2.2-p5-s1"], level=MUST, profile=WIRE,
          cves=["CVE-2019-9740", "CVE-2019-9947"])
@pytest.mark.parametrize("path, refused", [
    pytest.param(VALID_TARGET, False, id="valid-percent-encoded"),
    pytest.param("/a b", True, id="space"),
    pytest.param("/?q=a HTTP/1.1", True, id="space-injection"),
    pytest.param("/a\x00b", True, id="nul"),
    pytest.param("/a\x1bb", True, id="esc"),
    pytest.param("/a\x7fb", True, id="del"),
])
def test_target_refused(make_server, server, wire, path, refused):
    # CR, LF and TAB are left out here: urllib.parse removes them from URLs before a client sees
    # them; the api scenario below covers them.
    if not refused:
        return _target_sent(server, wire, path)
    control_passes(make_server, lambda control: _target_sent(control, wire, VALID_TARGET))
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    outcome = wire.request("GET", server.url(path))
    if server.bytes_received:
        # Percent-encoding the offending octets also keeps the target valid (RFC 3986 2.1).
        target = server.requests[0].target
        assert target and not any(octet <= 0x20 or octet == 0x7F for octet in target), (
            "RFC 9110 2.2: a sender MUST NOT generate a request-target that does not match the grammar; a URL "
            "with a space or control character must be refused before sending, or its octets percent-encoded "
            f"(CVE-2019-9740); the server received {server.connections[0].received[:200]!r}")
        expect_response(outcome)
        return
    expect_failure(outcome, ErrorKind.INVALID_INPUT)


def _target_sent(server, wire, path):
    server.add_connection(expect_request(strict=False), send(OK))
    expect_response(wire.request("GET", server.url(path)))
    assert server.requests[0].target == path.encode()


@scenario("request.line.target.refused-api", refs=["RFC9110-2.2-p5-s1", "http.client.InvalidURL"],
          level=MUST, profile=API, cves=["CVE-2019-9740", "CVE-2019-9947"])
@pytest.mark.parametrize("url, refused", [
    pytest.param(VALID_URL, False, id="valid"),
    pytest.param("/ HTTP/1.1\r\nX-Injected: 1\r\nX-Foo: ", True, id="crlf-injection"),
    pytest.param("/?q=\r\n", True, id="crlf-in-query"),
    pytest.param("/a\nb", True, id="lf"),
    pytest.param("/a\rb", True, id="cr"),
    pytest.param("/a b", True, id="space"),
    pytest.param("/a\tb", True, id="tab"),
    pytest.param("/a\x00b", True, id="nul"),
    pytest.param("/a\x7fb", True, id="del"),
])
@pytest.mark.parametrize("how", ["request", "putrequest"])
def test_target_refused_api(make_server, server, client, url, refused, how):
    if not refused:
        return _target_sent_api(server, client, how, url)
    control_passes(make_server, lambda control: _target_sent_api(control, client, how, VALID_URL))
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    conn = client.connect(server)
    expect_refused_before_sending(
        server, conn, lambda: start_request(conn, how, "GET", url), client.module.InvalidURL,
        f"a URL with a space or control character must raise InvalidURL in {how}() before anything is sent "
        "(CVE-2019-9740)")


def _target_sent_api(server, client, how, url):
    assert sent_through_api(server, client, how, "GET", url).target == url.encode()


# -- version and framing of the head --------------------------------------------------------------


@scenario("request.line.version", refs=["RFC9110-2.2-p5-s1", "RFC9110-6.2-p5-s1", "RFC9110-6.2-p5-s2"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("method, body", [
    pytest.param("GET", None, id="get"),
    pytest.param("POST", b"x=1", id="post"),
])
def test_version(server, wire, method, body):
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/v"), body=body))
    sent = server.requests[0]
    assert sent.http_version == b"1.1", "an HTTP/1.1 client sends HTTP/1.1 as its request version"
    assert REQUEST_LINE.fullmatch(request_line(sent.raw)), (
        "RFC 9112 3: request-line = method SP request-target SP HTTP-version CRLF, with HTTP-version "
        f"spelled 'HTTP/1.1' (case-sensitive); got {request_line(sent.raw)!r}")


@scenario("request.line.no-extra-crlf", refs=["RFC9112-2.2-p5-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("method, body", [
    pytest.param("GET", None, id="get"),
    pytest.param("POST", b"name=value", id="post-body"),
    pytest.param("POST", b"line\r\n", id="post-body-ending-crlf"),
    pytest.param("PUT", b"", id="put-empty-body"),
])
def test_no_extra_crlf(server, wire, method, body):
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/"), body=body))
    record = server.connection(0)
    assert client_closed(record), "the client closes its connection when its session ends"
    sent = server.requests[0]
    assert record.received.startswith(method.encode() + b" "), (
        "RFC 9112 2.2: a user agent MUST NOT preface a request with an extra CRLF; the connection starts "
        f"with {bytes(record.received[:20])!r}")
    assert sent.body == (body or b"")
    assert record.unparsed == b"", (
        "RFC 9112 2.2: a user agent MUST NOT follow a request with an extra CRLF; after the request "
        f"the server received {record.unparsed!r}")


@scenario("request.line.no-whitespace-before-headers", refs=["RFC9112-2.2-p7-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("headers", [
    pytest.param([], id="automatic-headers"),
    pytest.param([("X-First", "1"), ("X-Second", "2")], id="caller-headers"),
    pytest.param([("Host", "example.org")], id="caller-host"),
])
def test_no_whitespace_after_request_line(server, wire, headers):
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", server.url("/"), headers=headers))
    raw = server.requests[0].raw
    second_line = raw[len(request_line(raw)):]
    assert second_line[:1] not in (b" ", b"\t"), (
        "RFC 9112 2.2: a sender MUST NOT send whitespace between the start-line and the first header "
        f"field; the head is {server.requests[0].head!r}")
