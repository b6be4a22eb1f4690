"""The host given to HTTPConnection and the Host field it becomes: `host:port` strings, the default port,
bad ports, IPv6 literals and zone ids, internationalised names, and hosts that would inject bytes.

The http.client documentation: "HTTPConnection(host, port=None, ...): ... If the optional port
parameter is not given, the port can be given as part of host as host:port; if no port is given,
80 is used." RFC 9112 3.2: the Host field value is the target URI's authority (host and port; the
port may be left out when it is the scheme's default, RFC 9110 4.2.1 / 7.2), with a reg-name in its
ASCII (IDNA) form and an IPv6 literal in brackets (RFC 3986 3.2.2); RFC 6874 4: a zone id is not sent.

Names that do not resolve on a loopback-only machine (example.org, xn--...) are reached through a
subclass whose connect() opens the socket to the scripted server instead: everything the client
sends is still built from the host it was given.
"""

from __future__ import annotations

import pytest

from h1conform.servers import expect_request, ipv6_available, respond, send
from h1conform.suites.harness import API, API_LEVEL, MUST, WIRE, expect_response, scenario, variant
from h1conform.suites.harness.checks import control_passes, expect_refused_before_sending
from h1conform.suites.harness.fixtures import CLIENT_TIMEOUT

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def redirected(client, server, host, port=None):
    """`client.module.HTTPConnection(host, port)` whose connection goes to the scripted server."""
    return client.connect_via(server, host, port)


def sent_host(server, client, conn) -> bytes | None:
    server.add_connection(respond(OK))
    conn.request("GET", "/")
    conn.getresponse().read()
    return server.requests[0].header("host")


# -- host and port forms -------------------------------------------------------------------------------


@scenario("request.host.port-forms", refs=["http.client.HTTPConnection", "RFC9112-3.2-p5-s2"], level=API_LEVEL,
          profile=API)
@pytest.mark.parametrize("host, port, expected", [
    pytest.param("example.org", 8080, b"example.org:8080", id="host-and-port"),
    pytest.param("example.org:8080", None, b"example.org:8080", id="host-port-string"),
    pytest.param("example.org", None, b"example.org", id="no-port-default-80"),
    pytest.param("example.org", 80, b"example.org", id="port-80-omitted"),
    pytest.param("example.org:80", None, b"example.org", id="port-80-in-string-omitted"),
    pytest.param("example.org:", None, b"example.org", id="empty-port-default-80"),
    pytest.param("EXAMPLE.org", 8080, b"EXAMPLE.org:8080", id="case-kept"),
    pytest.param("[2001:db8::1]:8080", None, b"[2001:db8::1]:8080", id="ipv6-port-string"),
    pytest.param("2001:db8::1", 8080, b"[2001:db8::1]:8080", id="ipv6-and-port"),
    pytest.param("[2001:db8::1]", None, b"[2001:db8::1]", id="ipv6-brackets-default-port"),
])
def test_port_forms(server, client, host, port, expected):
    # Host is host[:port] with the port left out when it is 80 (the default of "http", RFC 9110 4.2.1).
    conn = redirected(client, server, host, port)
    got = sent_host(server, client, conn)
    assert got == expected, (
        f"HTTPConnection({host!r}, {port!r}) sends Host {expected!r} (RFC 9112 3.2: the target's authority, "
        f"an IPv6 literal in brackets, the default port may be left out); sent {got!r}")


@scenario("request.host.bad-port", refs=["http.client.InvalidURL", "http.client.HTTPConnection"], level=API_LEVEL,
          profile=API)
@pytest.mark.parametrize("host, valid", [
    pytest.param("example.org:8080", True, id="control-numeric"),
    pytest.param("example.org:http", False, id="name"),
    pytest.param("example.org:80a", False, id="trailing-letter"),
    pytest.param("[::1]:x", False, id="ipv6-bad-port"),
])
def test_bad_port(client, host, valid):
    # A port in host:port that is not a number raises InvalidURL ("nonnumeric port") at construction.
    if valid:
        conn = client.track(client.module.HTTPConnection(host, timeout=CLIENT_TIMEOUT))
        assert conn.port == 8080
        return
    with pytest.raises(client.module.InvalidURL):
        client.module.HTTPConnection(host, timeout=CLIENT_TIMEOUT)


@scenario("request.host.ipv6-zone-id", refs=["RFC9112-3.2-p5-s2", "http.client.HTTPConnection"], level=MUST,
          profile=API)
@pytest.mark.parametrize("host, expected", [
    pytest.param("fe80::1", b"[fe80::1]:8080", id="control-no-zone"),
    pytest.param("fe80::1%eth0", b"[fe80::1]:8080", id="zone-name"),
    pytest.param("fe80::1%2", b"[fe80::1]:8080", id="zone-number"),
])
def test_ipv6_zone_id(server, client, host, expected):
    # RFC 6874 4: the zone id of a link-local address only means something on the client; the Host
    # field carries the address without it (Host is the URI's authority, RFC 9112 3.2).
    conn = redirected(client, server, host, 8080)
    got = sent_host(server, client, conn)
    assert got == expected, f"HTTPConnection({host!r}, 8080) sends Host {expected!r} (no zone id); sent {got!r}"


@scenario("request.host.idna", refs=["RFC9112-3.2-p5-s2", "RFC9110-2.2-p5-s1", "http.client.HTTPConnection"],
          level=MUST, profile=API)
@pytest.mark.parametrize("host, port, expected", [
    pytest.param("xn--bcher-kva.example", 8080, b"xn--bcher-kva.example:8080", id="control-ascii-form"),
    pytest.param("b\u00fccher.example", 8080, b"xn--bcher-kva.example:8080", id="unicode-name"),
    pytest.param("b\u00fccher.example", 80, b"xn--bcher-kva.example", id="unicode-name-default-port"),
])
def test_idna_host(server, client, host, port, expected):
    # A field value is octets of the grammar (RFC 9110 2.2); the authority of an http URI is ASCII,
    # an internationalised name in its IDNA (punycode) form. Host carries that form.
    conn = redirected(client, server, host, port)
    got = sent_host(server, client, conn)
    assert got == expected, f"HTTPConnection({host!r}, {port}) sends Host {expected!r} (IDNA); sent {got!r}"


@scenario("request.host.ipv6-connect", refs=["http.client.HTTPConnection", "RFC9112-3.2-p5-s2"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("path", ["/", "/v6?q=1"])
def test_ipv6_wire(make_server, wire, path):
    # A URL with an IPv6 literal reaches the server and sends Host [::1]:port.
    if not ipv6_available():
        pytest.skip("unsupported: this machine cannot listen on ::1")
    server = make_server("::1")
    server.add_connection(respond(OK))
    expect_response(wire.request("GET", server.url(path)))
    assert server.requests[0].header("host") == f"[::1]:{server.port}".encode()
    assert server.requests[0].target == path.encode()


# -- hosts that would inject bytes ----------------------------------------------------------------------


@scenario("request.host.refused", refs=["RFC9110-2.2-p5-s1", "http.client.InvalidURL"], level=MUST, profile=API,
          cves=["CVE-2019-18348"])
@pytest.mark.parametrize("suffix, refused", [
    variant("", False, id="control-clean"),
    variant("\r\nX-Injected: 1", True, id="crlf-injection"),
    variant("\n", True, id="lf"),
    variant(" ", True, id="space"),
    variant("\t", True, id="tab"),
    variant("\x00", True, id="nul"),
    variant("\x7f", True, id="del"),
])
@pytest.mark.parametrize("how", ["constructor", "host-port-string"])
def test_host_refused(make_server, server, client, suffix, refused, how):
    # CVE-2019-18348: the host goes into the Host field; a host with CR, LF, SP or another control
    # character would inject fields or break the head. It is refused (InvalidURL) before any
    # connection is made.
    host = "example.org" + suffix
    if not refused:
        return _host_sent(server, client, how, host)
    control_passes(make_server, lambda control: _host_sent(control, client, how, "example.org"))
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    try:
        conn = _connect_to_host(client, server, how, host)
    except client.module.InvalidURL:
        assert not server.connections, "refused before any connection"
        return
    expect_refused_before_sending(
        server, conn, lambda: conn.request("GET", "/"), client.module.InvalidURL,
        f"RFC 9110 2.2 / CVE-2019-18348: a host with {suffix!r} must raise InvalidURL before anything is sent")


def _connect_to_host(client, server, how, host):
    """A connection to the server that takes `host` (port 8080) for its Host field."""
    return redirected(client, server, host, 8080) if how == "constructor" else redirected(client, server, f"{host}:8080")


def _host_sent(server, client, how, host):
    server.add_connection(expect_request(strict=False), send(OK))
    conn = _connect_to_host(client, server, how, host)
    conn.request("GET", "/")
    conn.getresponse().read()
    assert server.requests[0].header("host") == f"{host}:8080".encode()
