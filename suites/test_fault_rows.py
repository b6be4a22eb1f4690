"""Explicit rows for every class of fault that a property scenario can draw: each class in each part of
a request that a caller controls, and in each part of a response, is one row, tried on every run.

The properties (`request.properties.injection`, `injection-step-by-step`, `round-trip`) insert a CR,
LF, NUL or CR LF at a position Hypothesis draws. Whether a run meets a given bug then depends on the
draw: `request.properties.injection[header-value]` passed on one Python patch release and failed on
others whose code is the same there (a NUL, or a CR followed by SP, in a field value is sent). The
properties stay, as explorers; these rows make sure each class is caught every time.

The classes (`FAULTS`), each put inside a valid element: NUL, a lone CR, a lone CR before SP (which
looks like the start of a fold to a lenient check), a lone LF, a lone LF before SP, CR LF, DEL, and
obs-fold (CR LF then SP or HTAB). None of them matches the grammar of any part below:

    method = token ; field-name = token                        (RFC 9110 9.1, 5.1)
    field-value = *field-content ; field-vchar = VCHAR / obs-text     (RFC 9110 5.5)
    origin-form = absolute-path [ "?" query ]                 (RFC 9112 3.2.1)
    authority-form = uri-host ":" port                         (RFC 9112 3.2.3)

"A sender MUST NOT generate protocol elements that do not match the grammar" (RFC 9110 2.2), "MUST
NOT generate a bare CR" (RFC 9112 2.2), "MUST NOT generate a message that includes line folding"
(RFC 9112 5.2). A row passes when the element is refused before a byte of the request is sent (the
exception http.client raises for that part); every refusal row first runs its part's valid element
as the control (`control_passes`), and that valid element is a row of its own too.

The table (classes, parts, and the cells older scenarios already try, which are not repeated
here) is suites/harness/fault_table.py; tests/test_fault_rows.py checks that every class x part has
a row the suite collects. docs/fault-rows.md lists which row covers each cell, and the response
side: each class the response properties draw, with the rows that try it (new ones below).
"""

from __future__ import annotations

from typing import Any

import pytest

from h1conform.servers import close, expect_connect, expect_request, proxy_auth_required, send
from h1conform.suites.harness import API, API_LEVEL, MUST, WIRE, each_delivery, expect_response, scenario, variant
from h1conform.suites.harness.checks import control_passes, expect_refused_before_sending
from h1conform.suites.harness.fault_table import (
    COVERED_ELSEWHERE,
    FAULTS,
    FIELD_NAME,
    FIELD_VALUE,
    HOST,
    HOST_FIELD,
    METHOD,
    PATH,
    QUERY,
    TUNNEL_FIELD_NAME,
    TUNNEL_FIELD_VALUE,
    TUNNEL_HOST,
    TUNNEL_HOST_FIELD,
    Part,
)
from h1conform.suites.harness.waiting import harness_wait
from h1conform.suites.harness.wire import FEATURE_REASON, comparable_fields

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
DENIED = proxy_auth_required()

GRAMMAR = "RFC9110-2.2-p5-s1"
BARE_CR = "RFC9112-2.2-p4-s1"
FOLDING = "RFC9112-5.2-p3-s1"


def _rows(parts: tuple[Part, ...], hows: tuple[str, ...]) -> list[Any]:
    """The valid row of each part and way, then one row per class not covered elsewhere."""
    rows = []
    for part in parts:
        for how in hows:
            suffix = f"-{how}" if len(hows) > 1 else ""
            rows.append(variant(part, None, how, id=f"{part.name}-valid{suffix}"))
            for fault in FAULTS:
                if (part.name, fault) not in COVERED_ELSEWHERE:
                    rows.append(variant(part, fault, how, id=f"{part.name}-{fault}{suffix}", refs=_refs(part, fault)))
    return rows


def _refs(part: Part, fault: str) -> list[str]:
    refs = [GRAMMAR]
    if fault in ("cr", "cr-sp"):
        refs.append(BARE_CR)
    if fault.startswith("obs-fold") and "field" in part.name:
        refs.append(FOLDING)
    return refs


def _rule(part: Part, fault: str, element: str, how: str) -> str:
    return (f"RFC 9110 2.2: a sender MUST NOT generate a {part.name} that does not match its grammar; with "
            f"{fault} in it ({element!r}) {how} must raise {part.refusal} before anything is sent")


def _refusal(client: Any, part: Part) -> Any:
    """The exception class the implementation refuses `part` with."""
    return client.module.InvalidURL if part.refusal == "InvalidURL" else ValueError


# =====================================================================================================
# The method, the request-target and the fields: through request() and step by step
# =====================================================================================================


def _request_of(part: Part, element: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(method, url, fields) of a request whose `part` is `element` and everything else is valid."""
    fields = {FIELD_NAME: ((element, "v"),), FIELD_VALUE: (("X-Value", element),),
              HOST_FIELD: (("Host", element),)}.get(part, ())
    return (element if part is METHOD else "GET"), (element if part in (PATH, QUERY) else "/"), fields


def _start(conn: Any, how: str, part: Part, element: str) -> None:
    method, url, fields = _request_of(part, element)
    if how == "request":
        conn.request(method, url, headers=dict(fields))
        return
    conn.putrequest(method, url, skip_host=part is HOST_FIELD)
    for name, value in fields:
        conn.putheader(name, value)
    conn.endheaders()


def _sent(make_server: Any, client: Any, how: str, part: Part) -> None:
    """The valid row (and every refusal row's control): the valid element is sent as given."""
    with make_server() as server:
        server.add_connection(expect_request(strict=False), send(OK))
        conn = client.connect(server)
        _start(conn, how, part, part.valid)
        conn.getresponse().read()
    sent = server.requests[0]
    got = {METHOD: sent.method, PATH: sent.target, QUERY: sent.target, FIELD_NAME: sent.header(part.valid),
           FIELD_VALUE: sent.header("X-Value"), HOST_FIELD: sent.header("Host")}[part]
    expected = b"v" if part is FIELD_NAME else part.valid.encode()
    assert got == expected and sent.error is None, (
        f"a valid {part.name} ({part.valid!r}) is sent as given through {how}(); the server read {sent.raw[:300]!r}")


@scenario("request.faults.request", refs=[GRAMMAR, "http.client.HTTPConnection.request",
                                          "http.client.HTTPConnection.putrequest", "http.client.HTTPConnection.putheader"],
          level=MUST, profile=API, cves=["CVE-2016-5699", "CVE-2019-9740", "CVE-2020-26116"])
@pytest.mark.parametrize("part, fault, how", _rows((METHOD, PATH, QUERY, FIELD_NAME, FIELD_VALUE, HOST_FIELD),
                                                   ("request", "step-by-step")))
def test_request_fault(make_server, server, client, part, fault, how):
    if fault is None:
        return _sent(make_server, client, how, part)
    control_passes(make_server, lambda control: _sent(lambda: control, client, how, part))
    element = part.with_fault(fault)
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    conn = client.connect(server)
    expect_refused_before_sending(server, conn, lambda: _start(conn, how, part, element), _refusal(client, part),
                                  _rule(part, fault, element, "request()" if how == "request" else
                                        "putrequest() / putheader()"))


# =====================================================================================================
# The host given to HTTPConnection
# =====================================================================================================


def _connection_for(client: Any, server: Any, how: str, host: str) -> Any:
    """HTTPConnection for `host` (port 8080, given apart or in the string) whose socket goes to the
    scripted server: the names here do not resolve on a loopback-only machine."""

    args = (host, 8080) if how == "constructor" else (f"{host}:8080",)
    return client.connect_via(server, *args)


def _host_sent(make_server: Any, client: Any, how: str) -> None:
    with make_server() as server:
        server.add_connection(expect_request(strict=False), send(OK))
        conn = _connection_for(client, server, how, HOST.valid)
        conn.request("GET", "/")
        conn.getresponse().read()
    assert server.requests[0].header("host") == f"{HOST.valid}:8080".encode(), (
        f"HTTPConnection({HOST.valid!r}) sends Host: {HOST.valid}:8080; the server read {server.requests[0].raw!r}")


@scenario("request.faults.host", refs=[GRAMMAR, "http.client.HTTPConnection", "http.client.InvalidURL"], level=MUST,
          profile=API, cves=["CVE-2019-18348"])
@pytest.mark.parametrize("part, fault, how", _rows((HOST,), ("constructor", "host-port-string")))
def test_host_fault(make_server, server, client, part, fault, how):
    if fault is None:
        return _host_sent(make_server, client, how)
    control_passes(make_server, lambda control: _host_sent(lambda: control, client, how))
    host = part.with_fault(fault)
    rule = _rule(part, fault, host, "HTTPConnection() or request()")
    server.add_connection(expect_request(strict=False), send(OK), optional=True)
    try:
        conn = _connection_for(client, server, how, host)
    except client.module.InvalidURL:
        assert not server.connections, f"{rule}: refused, but after a connection was opened"
        return
    expect_refused_before_sending(server, conn, lambda: conn.request("GET", "/"), client.module.InvalidURL, rule)


# =====================================================================================================
# set_tunnel(): the tunnel host and the CONNECT request's fields
# =====================================================================================================


def _tunnel_args(part: Part, element: str) -> tuple[str, dict[str, str]]:
    """(host, headers) for set_tunnel(host, 8080, headers) with `part` set to `element`."""
    host = element if part is TUNNEL_HOST else TUNNEL_HOST.valid
    headers = {TUNNEL_FIELD_NAME: {element: "42"}, TUNNEL_FIELD_VALUE: {"X-Tunnel": element},
               TUNNEL_HOST_FIELD: {"Host": element}}.get(part, {"X-Tunnel": "42"})
    return host, headers


def _connect_through(client: Any, proxy: Any, part: Part, element: str) -> Exception | None:
    """set_tunnel() then connect() through a proxy that answers any CONNECT with 407; the refusal
    raised (None when the CONNECT request went out and the 407 came back)."""
    host, headers = _tunnel_args(part, element)
    conn = client.connect(proxy)
    refusal = None
    try:
        conn.set_tunnel(host, 8080, headers=headers)
        conn.connect()
    except (ValueError, client.module.InvalidURL) as exc:
        refusal = exc
    except OSError:
        pass  # the proxy's 407: the CONNECT request was sent
    conn.close()
    harness_wait(proxy.wait_idle, "the proxy's script did not end after the client's close")
    return refusal


def _tunnel_sent(make_server: Any, client: Any, part: Part) -> None:
    with make_server() as proxy:
        proxy.add_connection(expect_connect(strict=False), send(DENIED), close())
        refusal = _connect_through(client, proxy, part, part.valid)
    sent = proxy.requests[0]
    host, headers = _tunnel_args(part, part.valid)
    assert refusal is None and sent.error is None and sent.method == b"CONNECT", (
        f"set_tunnel({host!r}, 8080, headers={headers!r}) is valid and sent: refusal {refusal!r}, the proxy read "
        f"{sent.raw[:300]!r}")
    name, value = next(iter(headers.items()))
    assert sent.target == f"{host}:8080".encode() and sent.header(name) == value.encode(), (
        f"the CONNECT request carries the tunnel host and the caller's fields as given; the proxy read {sent.raw[:300]!r}")


@scenario("request.faults.tunnel", refs=[GRAMMAR, "RFC9112-3.2.3-p3-s1", "http.client.HTTPConnection.set_tunnel"],
          level=MUST, profile=API, cves=["CVE-2026-1502"])
@pytest.mark.parametrize("part, fault, how", _rows((TUNNEL_HOST, TUNNEL_FIELD_NAME, TUNNEL_FIELD_VALUE,
                                                    TUNNEL_HOST_FIELD), ("set_tunnel",)))
def test_tunnel_fault(make_server, proxy, client, part, fault, how):
    if fault is None:
        return _tunnel_sent(make_server, client, part)
    control_passes(make_server, lambda control: _tunnel_sent(lambda: control, client, part))
    element = part.with_fault(fault)
    proxy.add_connection(expect_connect(strict=False), send(DENIED), close(), optional=True)
    refusal = _connect_through(client, proxy, part, element)
    received = b"".join(bytes(record.received) for record in proxy.connections)
    assert refusal is not None and not received, (
        f"{_rule(part, fault, element, 'set_tunnel() or connect()')}: the proxy received {received[:300]!r}")


# =====================================================================================================
# A malformed response: only ever http.client's documented exceptions
# =====================================================================================================

# `response.properties.malformed` inserts a CR, LF, NUL or SP at a drawn position of a small response,
# or cuts it there, and checks that reading it either works or raises what http.client documents:
# HTTPException (and its subclasses), or ConnectionError when the connection drops. Here each of
# those faults is put in each part of a response, and a response is cut in each part.
INSERTED = {"nul": b"\x00", "cr": b"\r", "lf": b"\n", "sp": b" "}
LENGTH_RESPONSE = b"HTTP/1.1 200 OK\r\nX-Name: value\r\nContent-Length: 10\r\n\r\n0123456789"
CHUNKED_RESPONSE = (b"HTTP/1.1 200 OK\r\nX-Name: value\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"10;ext=v\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n")
# Each part of the two responses: the octets the fault follows (their first occurrence).
PLACES = {
    "version": (LENGTH_RESPONSE, b"HTTP/1"),
    "status-code": (LENGTH_RESPONSE, b"HTTP/1.1 2"),
    "reason": (LENGTH_RESPONSE, b"200 O"),
    "field-name": (LENGTH_RESPONSE, b"\r\nX-Na"),
    "field-value": (LENGTH_RESPONSE, b"X-Name: val"),
    "content-length": (LENGTH_RESPONSE, b"Content-Length: 1"),
    "head-end": (LENGTH_RESPONSE, b"Content-Length: 10\r\n"),
    "chunk-size": (CHUNKED_RESPONSE, b"\r\n\r\n1"),
    "chunk-extension": (CHUNKED_RESPONSE, b";ext"),
    "chunk-data-end": (CHUNKED_RESPONSE, b"abcdef"),
    "last-chunk": (CHUNKED_RESPONSE, b"cdef\r\n0"),
    "trailer": (CHUNKED_RESPONSE, b"X-Tra"),
}


def _faulty(place: str, fault: str) -> bytes:
    """The response of `place` with `fault` (an INSERTED octet, or "cut": it ends there)."""
    raw, anchor = PLACES[place]
    at = raw.index(anchor) + len(anchor)
    return raw[:at] if fault == "cut" else raw[:at] + INSERTED[fault] + raw[at:]


MALFORMED = [
    variant(LENGTH_RESPONSE, b"0123456789", id="control-content-length"),
    variant(CHUNKED_RESPONSE, b"0123456789abcdef", id="control-chunked"),
    *(variant(_faulty(place, fault), None, id=f"{place}-{fault}") for place in PLACES for fault in [*INSERTED, "cut"]),
    # The framing fault of the property that no older row tries: chunked applied twice (two field lines).
    variant(CHUNKED_RESPONSE.replace(b"chunked\r\n", b"chunked\r\nTransfer-Encoding: chunked\r\n"), None,
            id="transfer-encoding-chunked-twice"),
]


@scenario("response.faults.exceptions", refs=["http.client.HTTPException", "http.client.HTTPResponse.read"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("raw, body", MALFORMED)
@each_delivery
def test_malformed_response(server, client, delivery, raw, body):
    # The server sends the response and closes: nothing a correct client does can hang.
    server.add_connection(expect_request(), send(raw, delivery), close())
    conn = client.connect(server)
    allowed = (client.module.HTTPException, ConnectionError)
    try:
        conn.request("GET", "/")
        got = conn.getresponse().read()
    except allowed:
        got = None
    except Exception as exc:
        raise AssertionError(
            "http.client documents HTTPException (and its subclasses) for a response it cannot read, or a "
            f"ConnectionError when the connection drops; got {type(exc).__name__}: {exc} for {raw!r}") from exc
    finally:
        conn.close()
    if body is not None:
        assert got == body, f"control: the valid response {raw!r} is read, expected {body!r}, got {got!r}"


# =====================================================================================================
# obs-text that Unicode takes for whitespace, at the ends of a reason phrase or field value
# =====================================================================================================

# `response.properties.content-length` draws reason phrases and field values of visible octets and
# obs-text (%x80-FF), which a client parses as octets (RFC 9112 2.2). NBSP (0xA0) and NEL (0x85) are
# obs-text, and whitespace to str.strip() once decoded as ISO-8859-1: a client that strips the
# decoded text loses them. Only SP and HTAB around a field value are OWS (RFC 9110 5.5).
@scenario("response.faults.obs-text-ends", refs=["RFC9112-2.2-p2-s1", "RFC9110-5.5-p3-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("reason, value", [
    variant(b"OK", b"v", id="control-ascii"),
    variant(b"OK\xa0", b"v", id="reason-nbsp-end"),
    variant(b"\x85OK", b"v", id="reason-nel-start"),
    variant(b"OK", b"\xa0v\xa0", id="field-value-nbsp-ends"),
    variant(b"OK", b"\x85v\x85", id="field-value-nel-ends"),
])
@each_delivery
def test_obs_text_ends(server, wire, reason, value, delivery):
    raw = b"HTTP/1.1 200 %s\r\nX-A: %s\r\nContent-Length: 2\r\n\r\nok" % (reason, value)
    server.add_connection(expect_request(), send(raw, delivery), close())
    response = expect_response(wire.request("GET", server.url("/")))
    rule = f"RFC 9112 2.2: a response is parsed as octets; obs-text is part of the element it is in: {raw!r}"
    assert (response.status, response.body) == (200, b"ok"), f"{rule}: got {response.status} {response.body!r}"
    sent = comparable_fields([("X-A", value.decode("latin-1")), ("Content-Length", "2")], wire.features)
    assert comparable_fields(response.headers, wire.features) == sent, (
        f"{rule}: only SP and HTAB around a field value are OWS; got {response.headers}")
    if FEATURE_REASON in wire.features:
        assert response.reason == reason.decode("latin-1"), f"{rule}: reason {response.reason!r}"
