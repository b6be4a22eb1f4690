"""RFC 9110 section 4 and 7.1 rows about the target URI a client turns into a request: its length,
its host and userinfo, the request-target forms tied to one method, normalization, and how the
client reaches the resource the URI names.

RFC 9110 4.2.1 / 4.2.2: "A sender MUST NOT generate an "http" [or "https"] URI with an empty host
identifier." RFC 9110 4.2.4: "A sender MUST NOT generate the userinfo subcomponent (and its "@"
delimiter) when an "http" or "https" URI reference is generated within a message as a target URI
or field value." RFC 9110 7.1: the authority-form is only used with CONNECT and the asterisk-form
only with OPTIONS: "These forms MUST NOT be used with other methods."

A request(method, url) given an absolute URL sends it in absolute-form, as a request to a proxy
does (request.line.target.api): these scenarios drive that form through the http.client API.
"""

from __future__ import annotations

import re

import pytest

from h1conform.servers import expect_request, ipv6_available, respond, send
from h1conform.suites.harness import API, MAY, MUST, SHOULD, WIRE, expect_response, scenario, variant
from h1conform.suites.harness.checks import control_passes, expect_refused_before_sending
from h1conform.suites.harness.waiting import client_closed

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

# -- length ------------------------------------------------------------------------------------------------

# RFC 9112 3: "It is RECOMMENDED that all HTTP senders and recipients support, at a minimum,
# request-line lengths of 8000 octets." RFC 9110 4.1: the same for URIs in protocol elements.
RECOMMENDED_LENGTH = 8000


def _padded_path(length: int) -> str:
    """A path of `length` octets: "/" then a repeating pattern that shows where a cut happened."""
    pattern = "0123456789abcdef"
    return "/" + (pattern * (length // len(pattern) + 1))[: length - 1]


@scenario("request.target.long", refs=["RFC9110-4.1-p5-s1"], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("what", [
    variant("request-line", id="request-line-8000", refs=["RFC9112-3-p5-s1"]),
    variant("target-uri", id="target-uri-8000"),
    variant("location-field", id="location-uri-8000"),
])
def test_long_target(server, wire, what):
    if what == "location-field":  # the recipient's side: a URI of 8000 octets in a field value
        location = server.url(_padded_path(RECOMMENDED_LENGTH - len(server.url(""))))
        assert len(location) == RECOMMENDED_LENGTH
        server.add_connection(respond(b"HTTP/1.1 200 OK\r\nLocation: " + location.encode()
                                      + b"\r\nContent-Length: 0\r\n\r\n"))
        response = expect_response(wire.request("GET", server.url("/")))
        assert response.header_values("Location") == [location], (
            "RFC 9110 4.1: recipients SHOULD support URIs of 8000 octets in protocol elements; the "
            f"Location of {RECOMMENDED_LENGTH} octets arrived as {[v[:80] for v in response.header_values('Location')]}")
        return
    if what == "request-line":  # "GET " + path + " HTTP/1.1" is 8000 octets, CRLF excluded
        path = _padded_path(RECOMMENDED_LENGTH - len("GET  HTTP/1.1"))
    else:  # the URI, scheme and authority included, is 8000 octets
        path = _padded_path(RECOMMENDED_LENGTH - len(server.url("")))
        assert len(server.url(path)) == RECOMMENDED_LENGTH
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", server.url(path)))
    sent = server.requests[0]
    assert sent.target == path.encode(), (
        f"RFC 9112 3 / RFC 9110 4.1: a sender SHOULD support request lines and URIs of {RECOMMENDED_LENGTH} "
        f"octets; the target of {len(path)} octets arrived as {len(sent.target)} octets")


# -- the authority of an absolute-form target ----------------------------------------------------------------

# What must never reach the server for each fault: in the request-target, or in any field value.
_FORBIDDEN = {
    "userinfo": re.compile(rb"https?://[^/?#\s]*@", re.IGNORECASE),
    "empty-host": re.compile(rb"https?://(?:[:/?#]|$)", re.IGNORECASE),
}
_USERINFO = ["RFC9110-4.2.4-p3-s1", "RFC9112-3.2-p5-s2"]
_AUTHORITY_RULES = {
    "userinfo": "RFC 9110 4.2.4: a sender MUST NOT generate the userinfo subcomponent (and its '@') in a target URI "
                "or field value",
    "empty-host": "RFC 9110 4.2.1 / 4.2.2: a sender MUST NOT generate an http or https URI with an empty host",
}


@scenario("request.target.absolute-form.authority", refs=["RFC9110-4.2.4-p3-s1"], level=MUST, profile=API)
@pytest.mark.parametrize("url, fault", [
    variant("http://{authority}/x?y=1", None, id="control"),
    variant("http://user:secret@{authority}/x", "userinfo", id="userinfo", refs=_USERINFO),
    variant("http://user@{authority}/x", "userinfo", id="user-only", refs=_USERINFO),
    variant("http://@{authority}/x", "userinfo", id="empty-userinfo", refs=_USERINFO),
    variant("http:///x", "empty-host", id="http-empty-host", refs=["RFC9110-4.2.1-p4-s1"]),
    variant("http://:{port}/x", "empty-host", id="http-empty-host-with-port", refs=["RFC9110-4.2.1-p4-s1"]),
    variant("https:///x", "empty-host", id="https-empty-host", refs=["RFC9110-4.2.2-p4-s1"]),
])
def test_absolute_form_authority(make_server, server, client, url, fault):
    # A client either refuses the URL before sending anything (http.client's InvalidURL), or sends
    # a request in which no URI carries userinfo or an empty host. The control, a well-formed
    # absolute URL, is sent as the target with its authority as Host (RFC 9112 3.2.2).
    if fault is None:
        return _absolute_form_sent(server, client, url.format(authority=server.authority))
    control_passes(make_server, lambda control: _absolute_form_sent(
        control, client, "http://{authority}/x?y=1".format(authority=control.authority)))
    url = url.format(authority=server.authority, port=server.port)
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    conn = client.connect(server)
    rule = _AUTHORITY_RULES[fault]
    try:
        conn.request("GET", url)
    except client.module.InvalidURL:
        conn.close()  # refused: the server then has seen everything sent before the refusal
        assert all(client_closed(record) for record in server.connections) and not server.bytes_received, (
            f"{rule}; the client raised InvalidURL after sending {bytes(server.connections[0].received)!r}")
        return
    conn.getresponse().read()
    sent = server.requests[0]
    carriers = [sent.target, *(value for _, value in sent.headers)]
    offending = [value for value in carriers if _FORBIDDEN[fault].search(value)]
    if fault == "userinfo" and b"@" in (sent.header("Host") or b""):  # RFC 9112 3.2: Host excludes userinfo too
        offending.append(sent.header("Host"))
    assert not offending, f"{rule}; given {url!r}, the client sent {offending}"


def _absolute_form_sent(server, client, url):
    server.add_connection(expect_request(strict=False), send(OK))
    conn = client.connect(server)
    conn.request("GET", url)
    conn.getresponse().read()
    sent = server.requests[0]
    assert (sent.target, sent.header("Host")) == (url.encode(), server.authority.encode()), (
        f"an absolute URL is sent as the request-target, its authority as Host; sent {sent.head!r}")


# -- forms tied to one method ----------------------------------------------------------------------------------


@scenario("request.target.asterisk-form", refs=["RFC9110-7.1-p6-s1"], level=MUST, profile=API)
@pytest.mark.parametrize("method, headers, refused", [
    variant("OPTIONS", {}, False, id="control-options"),
    # RFC 9110 9.3.7: "A client MAY send a Max-Forwards header field in an OPTIONS request to
    # target a specific recipient in the request chain": with the asterisk-form, the first one.
    variant("OPTIONS", {"Max-Forwards": "0"}, False, id="options-max-forwards", level=MAY,
            refs=["RFC9110-9.3.7-p5-s1"]),
    variant("GET", {}, True, id="get"),
    variant("HEAD", {}, True, id="head"),
    variant("POST", {}, True, id="post"),
])
def test_asterisk_form(make_server, server, client, method, headers, refused):
    # RFC 9110 7.1: the asterisk-form "*" is only used for a server-wide OPTIONS request. A client
    # asked to send "*" with another method refuses before sending anything.
    if not refused:
        return _asterisk_sent(server, client, method, headers)
    control_passes(make_server, lambda control: _asterisk_sent(control, client, "OPTIONS", {}))
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    conn = client.connect(server)
    expect_refused_before_sending(
        server, conn, lambda: conn.request(method, "*"), (client.module.InvalidURL, ValueError),
        f"RFC 9110 7.1: the asterisk-form MUST NOT be used with other methods than OPTIONS; request({method!r}, '*') "
        "must raise InvalidURL (or ValueError) before anything is sent")


def _asterisk_sent(server, client, method, headers):
    server.add_connection(expect_request(strict=False), send(OK))
    conn = client.connect(server)
    conn.request(method, "*", headers=headers)
    conn.getresponse().read()
    sent = server.requests[0]
    assert sent.raw.startswith(f"{method} * HTTP/1.1\r\n".encode()), f"sent {sent.head!r}"
    for name, value in headers.items():
        assert sent.header(name) == value.encode(), f"the caller's {name} is sent with the OPTIONS request"


# -- normalization ----------------------------------------------------------------------------------------------


@scenario("request.target.normalization", refs=["RFC9110-4.2.3-p7-s1"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("path, equivalents", [
    # RFC 3986 6.2.2: case of percent-encodings, decoding of unreserved characters and removal of
    # dot-segments keep a URI equivalent; decoding a reserved character ("%2F") does not.
    pytest.param("/%7euser/x", [b"/%7euser/x", b"/%7Euser/x", b"/~user/x"], id="unreserved-encoded"),
    pytest.param("/a%2Fb", [b"/a%2Fb", b"/a%2fb"], id="reserved-encoded"),
    pytest.param("/a/./b/../c", [b"/a/./b/../c", b"/a/c"], id="dot-segments"),
    pytest.param("/x?q=%7e&r=%2f", [b"/x?q=%7e&r=%2f", b"/x?q=%7E&r=%2F", b"/x?q=~&r=%2f", b"/x?q=~&r=%2F"],
                 id="query"),
])
def test_normalization(server, wire, path, equivalents):
    # "Two HTTP URIs that are equivalent after normalization ... can be assumed to identify the
    # same resource, and any HTTP component MAY perform normalization": a client sends the path as
    # given or normalized, never changed into another resource's.
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", server.url(path)))
    assert server.requests[0].target in equivalents, (
        f"RFC 9110 4.2.3: normalization keeps a URI equivalent; {path!r} was sent as {server.requests[0].target!r}, "
        f"not one of {equivalents}")


# -- reaching the resource ---------------------------------------------------------------------------------------


@scenario("request.target.reaches-uri", refs=["RFC9110-4.3.2-p3-s1"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("listen, host", [
    pytest.param("127.0.0.1", "127.0.0.1", id="ipv4-literal"),
    pytest.param("127.0.0.1", "localhost", id="name"),
    pytest.param("::1", "[::1]", id="ipv6-literal"),
])
def test_reaches_uri(make_server, wire, listen, host):
    # RFC 9110 4.3.2: a client MAY access an http URI by resolving its host to an IP address,
    # opening a TCP connection to that address on the URI's port, and sending a request whose
    # target matches the target URI: origin-form path and query, the authority as Host.
    if ":" in listen and not ipv6_available():
        pytest.skip("IPv6 loopback unavailable on this machine")
    server = make_server(listen)
    server.add_connection(respond(OK))
    authority = f"{host}:{server.port}"
    expect_response(wire.request("GET", f"http://{authority}/r/s?t=u"))
    sent = server.requests[0]
    assert (sent.target, sent.header("Host")) == (b"/r/s?t=u", authority.encode()), (
        f"RFC 9110 4.3.2: the request on the connection to {host} port {server.port} matches the target URI "
        f"http://{authority}/r/s?t=u; sent {sent.head!r}")
