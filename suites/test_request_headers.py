"""The header section of a request: the automatic fields (Host, Accept-Encoding, Content-Length), the
caller's fields as given, and the validation of field names and values before anything is sent.

RFC 9112 3.2 / RFC 9110 7.2: a client MUST send Host, with the target URI's authority as its value,
and SHOULD send it first. RFC 9110 8.6: Content-Length for methods that anticipate content, none
when there is no content and the method does not anticipate any. RFC 9110 5.1 / 5.5:

    field-line  = field-name ":" OWS field-value OWS
    field-name  = token
    field-value = *field-content      (no CR, LF or NUL; RFC 9112 5.2: no obs-fold)

A name or value that would break that grammar (CVE-2016-5699: a value with CRLF injects a header)
is refused before anything is sent.
"""

from __future__ import annotations

import re

import pytest

from h1conform.servers import expect_request, ipv6_available, respond, send
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    MUST,
    SHOULD,
    WIRE,
    ErrorKind,
    expect_failure,
    expect_response,
    scenario,
    variant,
)
from h1conform.suites.harness.checks import (
    control_passes,
    expect_refused_before_sending,
    sent_through_api,
    start_request,
)
from h1conform.suites.harness.fixtures import CLIENT_TIMEOUT
from h1conform.suites.harness.wire import FEATURE_DUPLICATE_HEADERS

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# field-line = field-name ":" OWS field-value OWS, field-value without CTLs other than HTAB.
FIELD_LINE = re.compile(TOKEN + rb":[ \t]*(?:[\x21-\x7e\x80-\xff](?:[ \t\x21-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?[ \t]*")








def skip_without_ipv6() -> None:
    if not ipv6_available():
        pytest.skip("unsupported: this machine cannot listen on ::1")


# -- Host -------------------------------------------------------------------------------------------


@scenario("request.host.present", refs=["RFC9112-3.2-p5-s1", "RFC9110-7.2-p4-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("method, headers, body", [
    pytest.param("GET", [], None, id="get"),
    pytest.param("HEAD", [], None, id="head"),
    pytest.param("POST", [("Content-Type", "text/plain")], b"hello", id="post"),
    pytest.param("DELETE", [("X-Request-Id", "7")], None, id="delete-caller-headers"),
])
def test_host_present(server, wire, method, headers, body):
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/"), headers=headers, body=body))
    hosts = server.requests[0].header_values("host")
    assert len(hosts) == 1, (
        f"RFC 9112 3.2: a client MUST send a Host header field in every HTTP/1.1 request, exactly once; "
        f"sent {len(hosts)}: {server.requests[0].head!r}")


@scenario("request.host.first", refs=["RFC9110-7.2-p4-s2"], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("headers", [
    pytest.param([], id="automatic-headers"),
    pytest.param([("X-Custom", "1"), ("Accept", "*/*")], id="caller-headers"),
    pytest.param([("Host", "example.org"), ("X-Custom", "1")], id="caller-host-first"),
])
def test_host_first(server, wire, headers):
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", server.url("/"), headers=headers))
    names = server.requests[0].header_names
    assert names and names[0].lower() == b"host", (
        f"RFC 9110 7.2: a user agent SHOULD send Host as the first field of the header section; sent {names}")


@scenario("request.host.value", refs=["RFC9112-3.2-p5-s2"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("host", [pytest.param("127.0.0.1", id="ipv4"), pytest.param("::1", id="ipv6")])
def test_host_value(make_server, wire, host):
    if ":" in host:
        skip_without_ipv6()
    server = make_server(host)
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", server.url("/path?q=1")))
    assert server.requests[0].header("host") == server.authority.encode(), (
        "RFC 9112 3.2: the Host field value MUST be identical to the authority component of the target "
        f"URI ({server.authority!r}, an IPv6 literal in brackets)")


@scenario("request.host.api", refs=["http.client.HTTPConnection", "RFC9112-3.2-p5-s2"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("family, make, host", [
    pytest.param("ipv4", lambda module, s: module.HTTPConnection(s.host, s.port, timeout=CLIENT_TIMEOUT),
                 "127.0.0.1:{port}", id="host-and-port"),
    pytest.param("ipv4", lambda module, s: module.HTTPConnection(f"{s.host}:{s.port}", timeout=CLIENT_TIMEOUT),
                 "127.0.0.1:{port}", id="host-port-string"),
    pytest.param("ipv6", lambda module, s: module.HTTPConnection("::1", s.port, timeout=CLIENT_TIMEOUT),
                 "[::1]:{port}", id="ipv6-and-port"),
    pytest.param("ipv6", lambda module, s: module.HTTPConnection(f"[::1]:{s.port}", timeout=CLIENT_TIMEOUT),
                 "[::1]:{port}", id="ipv6-port-string"),
    pytest.param("ipv6", lambda module, s: module.HTTPConnection("[::1]", s.port, timeout=CLIENT_TIMEOUT),
                 "[::1]:{port}", id="ipv6-bracketed-and-port"),
])
def test_host_api(make_server, client, family, make, host):
    if family == "ipv6":
        skip_without_ipv6()
    server = make_server("::1" if family == "ipv6" else "127.0.0.1")
    server.add_connection(respond(OK))
    conn = client.track(make(client.module, server))
    try:
        conn.request("GET", "/")
    except OSError as exc:
        raise AssertionError(f"the connection made this way could not reach the server at {server.authority}: "
                             f"{exc!r}") from exc
    conn.getresponse().read()
    expected = host.format(port=server.port).encode()
    assert server.requests[0].header("host") == expected, (
        "HTTPConnection(host, port) sends Host host:port for a port other than 80, an IPv6 address in "
        f"brackets (RFC 9112 3.2); sent {server.requests[0].header('host')!r}, expected {expected!r}")


@scenario("request.host.absolute-form", refs=["RFC9112-3.2-p5-s2", "RFC9112-3.2.2-p6-s1"], level=MUST, profile=API)
@pytest.mark.parametrize("url, host", [
    pytest.param("http://example.org/x", b"example.org", id="default-port-omitted"),
    pytest.param("http://example.org:8080/x?y=1", b"example.org:8080", id="explicit-port"),
    pytest.param("http://example.org:80/x", b"example.org:80", id="explicit-default-port"),
    pytest.param("http://user:secret@example.org/x", b"example.org", id="userinfo-excluded"),
])
def test_host_absolute_form(server, client, url, host):
    # What a client sends to a proxy: the absolute-form target, and Host from its authority.
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("GET", url)
    conn.getresponse().read()
    sent = server.requests[0]
    # RFC 9110 4.2.4: a sender MUST NOT generate userinfo in a target URI (request.target.absolute-form.authority).
    assert sent.target == url.replace("user:secret@", "").encode(), (
        "request() sends an absolute-form url as the request-target, without userinfo")
    assert sent.header("host") == host, (
        "RFC 9112 3.2: Host MUST be identical to the target URI's authority, excluding any userinfo and "
        f"its '@'; for {url!r} expected {host!r}, sent {sent.header('host')!r}")


@scenario("request.host.caller-supplied", refs=["RFC9110-5.3-p3-s1", "RFC9112-3.2-p5-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("name", ["Host", "host", "HOST"])
def test_host_caller_supplied(server, wire, name):
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", server.url("/"), headers=[(name, "example.org")]))
    assert server.requests[0].header_values("host") == [b"example.org"], (
        "RFC 9110 5.3 / RFC 9112 3.2: Host is sent once; a caller's Host replaces the automatic one, "
        f"sent {server.requests[0].header_values('host')}")


@scenario("request.host.skip", refs=["http.client.HTTPConnection.putrequest", "http.client.HTTPConnection.request"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("how", ["putrequest-skip_host", "putrequest-default", "request-headers"])
def test_host_skip(server, client, how):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    if how == "request-headers":
        conn.request("GET", "/", headers={"host": "custom.example:81"})
        expected = [b"custom.example:81"]
    else:
        conn.putrequest("GET", "/", skip_host=how.endswith("skip_host"))
        if how.endswith("skip_host"):
            conn.putheader("Host", "custom.example:81")
            expected = [b"custom.example:81"]
        else:
            expected = [server.authority.encode()]
        conn.endheaders()
    conn.getresponse().read()
    assert server.requests[0].header_values("host") == expected, (
        "putrequest(skip_host=True) and a Host in request()'s headers disable the automatic Host; "
        f"otherwise it is sent: expected {expected}, sent {server.requests[0].header_values('host')}")


# -- Accept-Encoding ------------------------------------------------------------------------------


@scenario("request.headers.accept-encoding", refs=["http.client.HTTPConnection.putrequest",
                                                    "http.client.HTTPConnection.request"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("how, expected", [
    pytest.param("request", [b"identity"], id="request-default"),
    pytest.param("putrequest", [b"identity"], id="putrequest-default"),
    pytest.param("putrequest-skip", [], id="putrequest-skip_accept_encoding"),
    pytest.param("request-caller", [b"gzip, br"], id="request-caller-value"),
    pytest.param("request-caller-lower", [b"br"], id="request-caller-lower-case-name"),
])
def test_accept_encoding(server, client, how, expected):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    if how == "request":
        conn.request("GET", "/")
    elif how == "request-caller":
        conn.request("GET", "/", headers={"Accept-Encoding": "gzip, br"})
    elif how == "request-caller-lower":
        conn.request("GET", "/", headers={"accept-encoding": "br"})
    else:
        conn.putrequest("GET", "/", skip_accept_encoding=how.endswith("skip"))
        conn.endheaders()
    conn.getresponse().read()
    assert server.requests[0].header_values("accept-encoding") == expected, (
        "http.client asks for the identity coding (it does not decode content codings) unless the caller "
        "gives Accept-Encoding or putrequest(skip_accept_encoding=True): expected "
        f"{expected}, sent {server.requests[0].header_values('accept-encoding')}")


# -- Content-Length -------------------------------------------------------------------------------


@scenario("request.headers.content-length", refs=["RFC9110-8.6-p5-s2"], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("method, body, length", [
    # RFC 9110 9.3.1, 9.3.2, 9.3.5: a client SHOULD NOT generate content in a GET, HEAD or DELETE request:
    # none asked for, none framed.
    variant("GET", None, None, id="get-no-body", refs=["RFC9110-8.6-p5-s2", "RFC9110-9.3.1-p6-s1"]),
    variant("HEAD", None, None, id="head-no-body", refs=["RFC9110-8.6-p5-s2", "RFC9110-9.3.2-p3-s1"]),
    variant("DELETE", None, None, id="delete-no-body", refs=["RFC9110-8.6-p5-s2", "RFC9110-9.3.5-p6-s1"]),
    pytest.param("OPTIONS", None, None, id="options-no-body"),
    variant("POST", None, b"0", id="post-no-body", refs=["RFC9110-8.6-p5-s1"]),
    variant("PUT", None, b"0", id="put-no-body", refs=["RFC9110-8.6-p5-s1"]),
    variant("PATCH", None, b"0", id="patch-no-body", refs=["RFC9110-8.6-p5-s1"]),
    variant("POST", b"", b"0", id="post-empty-body", refs=["RFC9110-8.6-p5-s1"]),
    variant("POST", b"hello", b"5", id="post-body", refs=["RFC9110-8.6-p5-s1", "RFC9112-6.3-p6-s1"]),
    variant("PUT", bytes(range(256)) * 40, b"10240", id="put-binary-body",
            refs=["RFC9110-8.6-p5-s1", "RFC9112-6.3-p6-s1"]),
])
def test_content_length(server, wire, method, body, length):
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/"), body=body))
    sent = server.requests[0]
    lengths = sent.header_values(b"content-length")
    assert sent.header_values("transfer-encoding") == [], "a body of known length is not sent chunked"
    if length is None:
        assert lengths == [], (
            "RFC 9110 8.6: a user agent SHOULD NOT send Content-Length when the request has no content and "
            f"the method does not anticipate any; {method} sent {lengths}")
    else:
        assert lengths == [length], (
            "RFC 9110 8.6: a user agent SHOULD send Content-Length when the method defines a meaning for "
            f"content (0 for none); expected {length!r}, sent {lengths}")
        assert sent.body == (body or b"")


# -- the caller's fields ----------------------------------------------------------------------------


@scenario("request.headers.caller.case-order", refs=["http.client.HTTPConnection.request",
                                                      "http.client.HTTPConnection.putheader"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("how", ["request", "putheader"])
def test_caller_case_and_order(server, client, how):
    fields = [("X-First", "1"), ("content-type", "text/plain"), ("X-UPPER-CASE", "2"), ("x-MiXeD", "3"),
              ("Accept", "*/*")]
    server.add_connection(respond(OK))
    conn = client.connect(server)
    if how == "request":
        conn.request("GET", "/", headers=dict(fields))
    else:
        conn.putrequest("GET", "/")
        for name, value in fields:
            conn.putheader(name, value)
        conn.endheaders()
    conn.getresponse().read()
    wanted = [(name.encode(), value.encode()) for name, value in fields]
    sent = [field for field in server.requests[0].headers if field in wanted]
    assert sent == wanted, (
        f"the caller's fields are sent in the order given, names in the case given: expected {wanted}, "
        f"sent {server.requests[0].headers}")


@scenario("request.headers.caller.duplicates", refs=["RFC9110-5.3-p3-s1"], level=MUST, profile=WIRE,
          needs=[FEATURE_DUPLICATE_HEADERS])
@pytest.mark.parametrize("headers, name, combined", [
    pytest.param([("Accept", "text/html")], "accept", b"text/html", id="single"),
    pytest.param([("Accept", "text/html"), ("Accept", "application/json")], "accept",
                 b"text/html, application/json", id="accept-twice"),
    pytest.param([("Cache-Control", "no-cache"), ("X-Other", "1"), ("cache-control", "no-store")],
                 "cache-control", b"no-cache, no-store", id="cache-control-interleaved"),
])
def test_caller_duplicates(server, wire, headers, name, combined):
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", server.url("/"), headers=headers))
    values = server.requests[0].header_values(name)
    assert b", ".join(values) == combined, (
        "RFC 9110 5.3: field lines of a list-valued field are combined in the order sent, so a client "
        f"keeps every line of the caller, in order: expected {combined!r}, sent {values}")


@scenario("request.headers.putheader", refs=["http.client.HTTPConnection.putheader"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("calls, lines", [
    pytest.param([("X-Text", "plain")], [b"X-Text: plain"], id="str"),
    pytest.param([("X-Count", 42)], [b"X-Count: 42"], id="int-value"),
    pytest.param([(b"X-Bytes", b"raw\xff")], [b"X-Bytes: raw\xff"], id="bytes"),
    pytest.param([("X-Latin", "caf\u00e9")], [b"X-Latin: caf\xe9"], id="latin-1-value"),
    pytest.param([("X-Twice", "a"), ("X-Twice", "b")], [b"X-Twice: a", b"X-Twice: b"], id="same-name-twice"),
])
def test_putheader(server, client, calls, lines):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.putrequest("GET", "/", skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", server.authority)
    for name, value in calls:
        conn.putheader(name, value)
    conn.endheaders()
    conn.getresponse().read()
    assert server.requests[0].field_lines[1:] == lines, (
        "putheader(name, value) sends one line 'name: value' (str encoded Latin-1, int as decimal, bytes "
        f"as is); expected {lines}, sent {server.requests[0].field_lines[1:]}")


_EMPTY_ELEMENTS = ["RFC9112-5.2-p3-s1", "RFC9110-5.6.1.1-p1-s1", "http.client.HTTPConnection.putheader"]


@scenario("request.headers.putheader.multiple-values", refs=["RFC9112-5.2-p3-s1", "http.client.HTTPConnection.putheader"],
          level=MUST, profile=API)
@pytest.mark.parametrize("values", [
    pytest.param(("text/html",), id="one-value"),
    pytest.param(("text/html", "application/json"), id="two-values"),
    pytest.param(("a", "b", "c"), id="three-values"),
    # RFC 9110 5.6.1.1: "In any production that uses the list construct, a sender MUST NOT generate
    # empty list elements": empty values are left out of the list.
    variant(("a", "", "b"), id="empty-value-in-middle", refs=_EMPTY_ELEMENTS),
    variant(("", "a", "b"), id="empty-value-first", refs=_EMPTY_ELEMENTS),
    variant(("a", "b", ""), id="empty-value-last", refs=_EMPTY_ELEMENTS),
])
def test_putheader_multiple_values(server, client, values):
    # The documentation says continuation lines (obs-fold) are sent; RFC 9112 forbids generating them.
    server.add_connection(expect_request(strict=False), send(OK))
    conn = client.connect(server)
    conn.putrequest("GET", "/")
    conn.putheader("Accept", *values)
    conn.endheaders()
    conn.getresponse().read()
    sent = server.requests[0]
    folded = [line for line in sent.field_lines if line[:1] in (b" ", b"\t")]
    assert not folded, (
        "RFC 9112 5.2: a sender MUST NOT generate line folding (obs-fold); putheader() with several values "
        f"sent continuation lines {folded}")
    assert b", ".join(sent.header_values("accept")) == ", ".join(value for value in values if value).encode(), (
        "every value given to putheader() is sent, in order, and no empty list element (RFC 9110 5.6.1.1); sent "
        f"{sent.header_values('accept')}")


@scenario("request.headers.syntax", refs=["RFC9110-2.2-p5-s1", "RFC9112-2.2-p4-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("method, headers, body", [
    pytest.param("GET", [], None, id="get"),
    pytest.param("POST", [("Content-Type", "application/x-www-form-urlencoded")], b"a=1&b=2", id="post"),
    pytest.param("GET", [("X-Tab", "a\tb"), ("X-Empty", ""), ("X-Latin", "caf\u00e9")], None, id="caller-values"),
])
def test_head_syntax(server, wire, method, headers, body):
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/"), headers=headers, body=body))
    head = server.requests[0].head
    assert head.endswith(b"\r\n\r\n") and head.count(b"\r\n\r\n") == 1
    assert b"\r" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b""), (
        f"RFC 9112 2.2: every line ends with CRLF, no bare CR or LF; head {head!r}")
    bad = [line for line in server.requests[0].field_lines if not FIELD_LINE.fullmatch(line)]
    assert not bad, f"RFC 9110 5: field-line = field-name ':' OWS field-value OWS; malformed lines {bad}"


# -- validation of the caller's names and values -----------------------------------------------------

# The valid row of each table is also its refusal rows' control (control_passes).
VALID_VALUE = "plain value"
VALID_NAME = "X-Valid"

VALUES = [
    pytest.param(VALID_VALUE, False, id="valid"),
    pytest.param("a\tb", False, id="valid-htab"),
    pytest.param("x\r\nX-Injected: 1", True, id="crlf-injection"),
    pytest.param("x\r\n", True, id="trailing-crlf"),
    pytest.param("x\nX-Injected: 1", True, id="lf-injection"),
    variant("x\rX-Injected: 1", True, id="bare-cr", refs=["RFC9112-2.2-p4-s1"]),
    pytest.param("a\x00b", True, id="nul"),
    variant("a\r\n b", True, id="obs-fold", refs=["RFC9112-5.2-p3-s1"]),
]

NAMES = [
    pytest.param(VALID_NAME, False, id="valid"),
    pytest.param("x!#$%&'*+-.^_`|~09", False, id="valid-all-tchars"),
    pytest.param("X:Y", True, id="colon"),
    pytest.param("X-Injected: 1\r\nX-Foo", True, id="crlf-injection"),
    pytest.param(" X", True, id="leading-space"),
    pytest.param("X Y", True, id="inner-space"),
    pytest.param("X ", True, id="trailing-space"),
    pytest.param("X\x00", True, id="nul"),
    pytest.param("", True, id="empty"),
]


@scenario("request.headers.value.refused", refs=["RFC9110-2.2-p5-s1"], level=MUST, profile=WIRE,
          cves=["CVE-2016-5699"])
@pytest.mark.parametrize("value, refused", VALUES)
def test_value_refused(make_server, server, wire, value, refused):
    if not refused:
        return _field_sent(server, wire, "X-Value", value)
    control_passes(make_server, lambda control: _field_sent(control, wire, "X-Value", VALID_VALUE))
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    outcome = wire.request("GET", server.url("/"), headers=[("X-Value", value)])
    assert not server.bytes_received, (
        "RFC 9110 5.5 / RFC 9112 5.2: a field value with CR, LF, NUL or obs-fold does not match the grammar "
        f"and must be refused before sending (CVE-2016-5699); the server received "
        f"{bytes(server.connections[0].received)!r}")
    expect_failure(outcome, ErrorKind.INVALID_INPUT)


@scenario("request.headers.value.refused-api", refs=["RFC9110-2.2-p5-s1", "http.client.HTTPConnection.putheader"],
          level=MUST, profile=API, cves=["CVE-2016-5699"])
@pytest.mark.parametrize("value, refused", VALUES)
@pytest.mark.parametrize("how", ["request", "putheader"])
def test_value_refused_api(make_server, server, client, value, refused, how):
    if not refused:
        return _field_sent_api(server, client, how, "X-Value", value)
    control_passes(make_server, lambda control: _field_sent_api(control, client, how, "X-Value", VALID_VALUE))
    _check_refused(server, client, how, "X-Value", value)


@scenario("request.headers.name.refused", refs=["RFC9110-2.2-p5-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("name, refused", NAMES)
def test_name_refused(make_server, server, wire, name, refused):
    if not refused:
        return _field_sent(server, wire, name, "v")
    control_passes(make_server, lambda control: _field_sent(control, wire, VALID_NAME, "v"))
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    outcome = wire.request("GET", server.url("/"), headers=[(name, "v")])
    assert not server.bytes_received, (
        "RFC 9110 5.1: field-name = token; a name with a colon, whitespace or a control character must be "
        f"refused before sending; the server received {bytes(server.connections[0].received)!r}")
    expect_failure(outcome, ErrorKind.INVALID_INPUT)


@scenario("request.headers.name.refused-api", refs=["RFC9110-2.2-p5-s1", "http.client.HTTPConnection.putheader"],
          level=MUST, profile=API)
@pytest.mark.parametrize("name, refused", NAMES)
@pytest.mark.parametrize("how", ["request", "putheader"])
def test_name_refused_api(make_server, server, client, name, refused, how):
    if not refused:
        return _field_sent_api(server, client, how, name, "v")
    control_passes(make_server, lambda control: _field_sent_api(control, client, how, VALID_NAME, "v"))
    _check_refused(server, client, how, name, "v")


def _field_sent(server, wire, name, value):
    server.add_connection(expect_request(strict=False), send(OK))
    expect_response(wire.request("GET", server.url("/"), headers=[(name, value)]))
    assert server.requests[0].header(name) == value.encode()


def _field_sent_api(server, client, how, name, value):
    assert sent_through_api(server, client, how, "GET", "/", ((name, value),)).header(name) == value.encode()


def _check_refused(server, client, how, name, value):
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    conn = client.connect(server)
    expect_refused_before_sending(
        server, conn, lambda: start_request(conn, how, "GET", "/", ((name, value),)), ValueError,
        f"RFC 9110 5: field {name!r}: {value!r} does not match the field-line grammar; {how}() must raise "
        "ValueError before anything is sent")
