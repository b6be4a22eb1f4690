"""The connection API's state machine: which call is allowed when, what each out-of-order call raises,
and what a connection is good for after every exception (usable, closed, or reopened).

http.client's HTTPConnection has three states: *Idle*, *Request-started* after putrequest(),
*Request-sent* after endheaders() (request() does all three). The documentation names the exceptions:

    CannotSendRequest   putrequest() / request() when a request is already started or sent
    CannotSendHeader    putheader() / endheaders() outside Request-started
    ResponseNotReady    getresponse() with no request sent, or the previous response not read
    NotConnected        sending on a connection that is not open and may not open itself

(all three state errors are ImproperConnectionState, an HTTPException). A refused call sends nothing
and changes nothing: the request in progress can still be completed. After an error while reading a
response, implementations differ (stdlib keeps the connection in Request-sent so the next request
raises CannotSendRequest; the reference closes it and reconnects): the scenarios accept both, and
check that close() always brings the connection back to a fresh start.

RFC 9110 7.6.1: fields that carry control information for the connection are listed in Connection.
"""

from __future__ import annotations

import pytest

from h1conform.servers import close, expect_request, respond, send, stall
from h1conform.suites.harness import API, API_LEVEL, MUST, WIRE, expect_response, scenario, variant
from h1conform.suites.harness.fixtures import CLIENT_TIMEOUT
from h1conform.suites.harness.waiting import client_closed, connections_opened

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
FIRST = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"

STATE_REFS = ["http.client.CannotSendRequest", "http.client.CannotSendHeader", "http.client.ResponseNotReady",
              "http.client.HTTPConnection.putrequest", "http.client.HTTPConnection.putheader",
              "http.client.HTTPConnection.endheaders", "http.client.HTTPConnection.getresponse"]


def read_all(conn) -> bytes:
    with conn.getresponse() as response:
        return response.read()


# -- out-of-order calls ------------------------------------------------------------------------------
#
# Each row: the calls that set the state up, the out-of-order call, the exception it must raise, and
# the calls that must still work afterwards (the refused call changed nothing). `targets` are the
# request targets the server must receive, in order: the refused call must not have sent anything.


def _putrequest(target):
    return lambda conn: conn.putrequest("GET", target)


def _request(target):
    return lambda conn: conn.request("GET", target)


def _endheaders(conn):
    conn.endheaders()


def _putheader(conn):
    conn.putheader("X-Late", "1")


def _getresponse(conn):
    conn.getresponse()


def _read_response(conn):
    assert read_all(conn) == b"ok", "the request in progress completes normally after the refused call"


STATE_ROWS = [
    # control: the calls in order raise nothing
    pytest.param([_putrequest("/first"), _putheader, _endheaders], None, None, [_read_response], [b"/first"],
                 id="control-in-order"),
    pytest.param([], _putheader, "CannotSendHeader", [_request("/after"), _read_response], [b"/after"],
                 id="putheader-when-idle"),
    pytest.param([], _endheaders, "CannotSendHeader", [_request("/after"), _read_response], [b"/after"],
                 id="endheaders-when-idle"),
    pytest.param([_putrequest("/first")], _putrequest("/second"), "CannotSendRequest",
                 [_endheaders, _read_response], [b"/first"], id="putrequest-twice"),
    pytest.param([_putrequest("/first")], _request("/second"), "CannotSendRequest",
                 [_endheaders, _read_response], [b"/first"], id="request-while-request-started"),
    pytest.param([_putrequest("/first"), _endheaders], _putheader, "CannotSendHeader", [_read_response],
                 [b"/first"], id="putheader-after-endheaders"),
    pytest.param([_putrequest("/first"), _endheaders], _endheaders, "CannotSendHeader", [_read_response],
                 [b"/first"], id="endheaders-twice"),
    pytest.param([_request("/first")], _request("/second"), "CannotSendRequest", [_read_response], [b"/first"],
                 id="request-while-request-sent"),
    pytest.param([_request("/first")], _putrequest("/second"), "CannotSendRequest", [_read_response],
                 [b"/first"], id="putrequest-while-request-sent"),
    pytest.param([], _getresponse, "ResponseNotReady", [_request("/after"), _read_response], [b"/after"],
                 id="getresponse-when-idle"),
    pytest.param([_putrequest("/first")], _getresponse, "ResponseNotReady", [_endheaders, _read_response],
                 [b"/first"], id="getresponse-while-request-started"),
    pytest.param([_request("/first"), _read_response], _getresponse, "ResponseNotReady",
                 [_request("/after"), _read_response], [b"/first", b"/after"], id="getresponse-twice"),
]


@scenario("api.state.out-of-order", refs=STATE_REFS, level=API_LEVEL, profile=API)
@pytest.mark.parametrize("setup, bad_call, error, then, targets", STATE_ROWS)
def test_out_of_order_calls(server, client, setup, bad_call, error, then, targets):
    server.add_connection(*(respond(OK) for _ in targets))
    conn = client.connect(server)
    for step in setup:
        step(conn)
    if bad_call is not None:
        cls = getattr(client.module, error)
        with pytest.raises(cls) as raised:
            bad_call(conn)
        assert isinstance(raised.value, client.module.ImproperConnectionState), (
            f"{error} is an ImproperConnectionState (the documented hierarchy)")
        assert isinstance(raised.value, client.module.HTTPException)
    for step in then:
        step(conn)
    conn.close()
    assert client_closed(server.connection(0)), "close() closes the connection"
    got = [request.target for request in server.requests]
    assert got == targets, (
        f"the out-of-order call raises {error} and sends nothing, and the request in progress is unharmed: "
        f"the server should have received {targets}, it received {got} (unparsed: "
        f"{server.connection(0).unparsed[:80]!r})")


# -- auto_open and connect() ---------------------------------------------------------------------------


@scenario("api.state.not-connected", refs=["http.client.NotConnected", "http.client.HTTPConnection.connect",
                                           "http.client.HTTPConnection.send", "http.client.HTTPConnection.close"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("how", ["control-connect-first", "request", "send", "after-close"])
def test_not_connected(server, client, how):
    # With auto_open = 0 (http.client's class attribute) a connection does not open itself: sending on
    # it raises NotConnected. connect() opens it explicitly; close() makes it "not connected" again.
    if how in ("control-connect-first", "after-close"):
        server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.auto_open = 0
    if how in ("control-connect-first", "after-close"):
        conn.connect()
        conn.request("GET", "/explicit")
        assert read_all(conn) == b"ok", "a connection opened with connect() carries the request"
        assert connections_opened(server) == 1
        if how == "control-connect-first":
            return
        conn.close()
    with pytest.raises(client.module.NotConnected):
        if how == "send":
            conn.send(b"GET / HTTP/1.1\r\n\r\n")
        else:
            conn.request("GET", "/not-sent")
    assert isinstance(client.module.NotConnected(), client.module.HTTPException)
    expected = 1 if how == "after-close" else 0
    assert connections_opened(server, at_least=expected + 1) == expected, (
        f"with auto_open = 0 a closed connection is not reopened: the client opened {len(server.connections)} "
        f"connection(s), expected {expected}")
    # close() starts afresh: connect() then a request works.
    conn.close()
    server.add_connection(respond(OK))
    conn.connect()
    conn.request("GET", "/again")
    assert read_all(conn) == b"ok"
    assert server.requests[-1].target == b"/again"


@scenario("api.connect.explicit", refs=["http.client.HTTPConnection.connect", "http.client.HTTPConnection.request",
                                        "http.client.connect"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("requests", [1, 2], ids=["one-request", "two-requests"])
def test_explicit_connect(server, client, requests):
    # connect() opens the connection; the following requests use it (no second connection).
    server.add_connection(*(respond(OK) for _ in range(requests)))
    conn = client.connect(server)
    conn.connect()
    assert connections_opened(server) == 1, "connect() opens the TCP connection at once"
    assert server.connection(0).received == b"", "connect() sends nothing (no tunnel was set)"
    for number in range(requests):
        conn.request("GET", f"/{number}")
        assert read_all(conn) == b"ok"
    assert len(server.connections) == 1, (
        f"the requests use the connection connect() opened; the client opened {len(server.connections)}")


# -- close() -------------------------------------------------------------------------------------------


@scenario("api.close.open-response", refs=["http.client.HTTPConnection.close", "http.client.HTTPResponse.closed",
                                           "http.client.HTTPResponse.read"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("response, response_survives", [
    # A persistent response is read through the connection's socket: closing the connection ends it.
    pytest.param(FIRST, False, id="persistent-response-closed"),
    # A response that ends the connection owns the socket (getresponse() handed it over): closing the
    # connection object does not cut it short.
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfirst", True,
                 id="connection-close-response-survives"),
    pytest.param(b"HTTP/1.1 200 OK\r\n\r\nfirst", True, id="close-delimited-response-survives"),
])
def test_close_with_open_response(server, client, response, response_survives):
    if response_survives:
        server.add_connection(expect_request(), send(response), close())
    else:
        server.add_connection(respond(response))
    server.add_connection(respond(SECOND))
    conn = client.connect(server)
    conn.request("GET", "/1")
    first = client.track(conn.getresponse())
    conn.close()
    if response_survives:
        assert first.read() == b"first", (
            "a response that ends the connection keeps reading after HTTPConnection.close()")
    else:
        assert client_closed(server.connection(0)), "close() closes the connection's socket"
        assert first.isclosed() and first.closed, "close() also closes the response still being read"
        assert first.read() == b"", "a closed response reads as empty"
    # close() does not end the HTTPConnection: the next request opens a new connection.
    conn.request("GET", "/2")
    assert read_all(conn) == b"second"
    assert len(server.connections) == 2 and server.connection(1).requests[0].target == b"/2", (
        "after close() the next request goes on a new connection")


@scenario("api.close.reuse", refs=["http.client.HTTPConnection.close", "http.client.HTTPConnection.request"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("when", [
    pytest.param("idle", id="idle"),
    # A request started but not ended is dropped by close(): none of its lines may reach the wire later,
    # where they would corrupt the next request (RFC 9110 2.2: a sender MUST NOT generate elements
    # that do not match the grammar).
    variant("request-started", id="request-started", level=MUST,
            refs=["RFC9110-2.2-p5-s1", "http.client.HTTPConnection.close"]),
    pytest.param("request-sent", id="request-sent"),
    pytest.param("twice", id="twice"),
])
def test_reuse_after_close(server, client, when):
    # close() in any state returns the connection to Idle; the next request opens a new connection.
    # The server records requests without judging them (strict=False), the assertions judge them.
    if when == "request-sent":
        server.add_connection(expect_request())  # the request is sent, never answered
    elif when != "request-started":
        server.add_connection(respond(OK))
    server.add_connection(expect_request(strict=False), send(OK))
    conn = client.connect(server)
    if when in ("idle", "twice"):
        conn.request("GET", "/0")
        assert read_all(conn) == b"ok"
    elif when == "request-started":
        conn.putrequest("GET", "/never-sent")
        conn.putheader("X-Partial", "1")
    else:
        conn.request("GET", "/0")
    conn.close()
    if when == "twice":
        conn.close()
    conn.request("GET", "/1")
    assert read_all(conn) == b"ok", f"after close() in state {when}, a new request works"
    last = server.requests[-1]
    assert b"never-sent" not in last.raw and b"X-Partial" not in last.raw, (
        "close() discards a request that was started but not ended: none of it may be sent with the next "
        f"request; the next request went out as {last.raw!r}")
    assert last.error is None and last.target == b"/1", (
        f"after close() the next request is sent well-formed; h11 read {last.raw!r} ({last.error})")
    assert len(server.connections) == (1 if when == "request-started" else 2)


# -- after an exception ----------------------------------------------------------------------------------

# (what the server does to the first request, the exception getresponse()/read() raises)
ERROR_ROWS = [
    pytest.param(respond(FIRST), None, id="control-no-error"),
    pytest.param([expect_request(), close()], "RemoteDisconnected", id="remote-disconnected"),
    pytest.param([expect_request(), send(b"garbage\r\n")], "BadStatusLine", id="bad-status-line"),
    pytest.param([expect_request(), send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst"), close()],
                 "IncompleteRead", id="incomplete-read"),
    pytest.param([expect_request(), stall()], "timeout", id="timeout"),
]


@scenario("api.errors.connection-after", refs=["http.client.RemoteDisconnected", "http.client.BadStatusLine",
                                               "http.client.IncompleteRead", "http.client.CannotSendRequest",
                                               "http.client.HTTPConnection.close"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("script, error", ERROR_ROWS)
def test_connection_after_error(server, client, script, error):
    # After the exception, the next request on the same HTTPConnection either works (over a new
    # connection: the failed one cannot be trusted), or is refused with CannotSendRequest before
    # anything is sent (stdlib, for errors other than ConnectionError). Sending it on the failed
    # connection, or reading a stale response as its answer, is wrong. close() always recovers.
    server.add_connection(script, respond(SECOND) if error is None else [])  # the control reuses it
    server.add_connection(respond(SECOND), optional=True)  # for a client that reconnects by itself
    server.add_connection(respond(SECOND), optional=True)  # for the request after close()
    conn = client.connect(server, timeout=0.3 if error == "timeout" else CLIENT_TIMEOUT)
    conn.request("GET", "/1")
    expected = (TimeoutError if error == "timeout" else getattr(client.module, error)) if error else None
    if expected is None:
        assert read_all(conn) == b"first"
    else:
        with pytest.raises(expected):
            read_all(conn)
    conn.timeout = CLIENT_TIMEOUT
    outcome = "response"
    try:
        conn.request("GET", "/2")
        with conn.getresponse() as response:
            body = response.read()
    except client.module.CannotSendRequest:
        outcome, body = "CannotSendRequest", None
    except ConnectionError as exc:
        # Documented for getresponse(): RemoteDisconnected when the server has closed the connection.
        assert error in ("RemoteDisconnected", "IncompleteRead"), (
            f"after {error}, on a connection the server did not close, the next request failed with {exc!r}")
        outcome, body = "ConnectionError", None
    if outcome == "response":
        assert body == b"second" and server.requests[-1].target == b"/2", (
            f"after {error or 'no error'}, the next request gets its own response; got {body!r}")
        stale = [request.target for request in server.connection(0).requests]
        if error is not None:
            # Where the server did not close the failed connection, the client must have closed it.
            closed = error in ("RemoteDisconnected", "IncompleteRead") or client_closed(server.connection(0))
            assert closed and b"/2" not in stale, (
                f"after {error} the failed connection is closed and the next request goes on a new one; the "
                f"first connection carried {stale}")
        return
    assert error is not None, f"{outcome} without any error: the connection was Idle"
    if outcome == "CannotSendRequest":
        assert [request.target for request in server.requests] == [b"/1"], "CannotSendRequest sends nothing"
    conn.close()
    conn.request("GET", "/3")
    assert read_all(conn) == b"second", f"after {error} and close(), the next request works"
    assert server.requests[-1].target == b"/3"


# -- connection options ----------------------------------------------------------------------------


# Fields that carry control information for the current connection only (RFC 9110 7.6.1 lists them).
HOP_BY_HOP = (b"keep-alive", b"te", b"upgrade", b"proxy-connection", b"transfer-encoding")


@scenario("connection.options.listed", refs=["RFC9110-7.6.1-p4-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("method, headers, body", [
    # control: the caller's TE with its "TE" connection option is seen and found listed
    pytest.param("GET", [("TE", "trailers"), ("Connection", "TE")], None, id="control-caller-te-listed"),
    pytest.param("GET", [], None, id="get"),
    pytest.param("POST", [], b"x" * 100, id="post"),
    pytest.param("PUT", [("Content-Type", "text/plain")], b"", id="put-empty"),
])
def test_connection_options_listed(server, wire, method, headers, body):
    # RFC 9110 7.6.1: "When a field aside from Connection is used to supply control information for or
    # about the current connection, the sender MUST list the corresponding field name within the
    # Connection header field." Transfer-Encoding, part of the message framing (RFC 9112 6.1) that
    # senders do not list, is left out; Keep-Alive, TE, Upgrade and Proxy-Connection, if the client
    # sends them, must be named in Connection.
    server.add_connection(respond(OK))
    expect_response(wire.request(method, server.url("/"), headers=headers, body=body))
    sent = server.requests[0]
    options = sent.connection_options
    present = [name for name in HOP_BY_HOP if name != b"transfer-encoding" and sent.header_values(name)]
    if any(name == "TE" for name, _ in headers):
        assert present == [b"te"], f"control: the caller's TE is sent: {sent.head!r}"
    unlisted = [name for name in present if name not in options]
    assert not unlisted, (
        f"RFC 9110 7.6.1: connection-specific fields MUST be listed in Connection; sent {unlisted} without it "
        f"(Connection: {sent.header_values('connection')!r})")


# -- the module's public names ----------------------------------------------------------------------

# http.client's documented names: `from http.client import *` brings them (HTTPSConnection where
# the ssl module is available, which it is wherever the suite runs its TLS scenarios).
PUBLIC_NAMES = [
    "HTTPConnection", "HTTPSConnection", "HTTPResponse", "HTTPException", "NotConnected", "InvalidURL",
    "UnknownProtocol", "UnknownTransferEncoding", "UnimplementedFileMode", "IncompleteRead",
    "ImproperConnectionState", "CannotSendRequest", "CannotSendHeader", "ResponseNotReady", "BadStatusLine",
    "LineTooLong", "RemoteDisconnected", "responses",
]


@scenario("api.module.public-names", refs=["http.client.HTTPConnection", "http.client.HTTPSConnection",
                                           "http.client.HTTPResponse", "http.client.HTTPException",
                                           "http.client.responses"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_names(client, name):
    exported = getattr(client.module, "__all__", None)
    assert exported is not None and name in exported and hasattr(client.module, name), (
        f"{name} is part of http.client's API: defined in the module and listed in __all__ (so that "
        f"`from http.client import *` brings it); __all__ is {exported!r}")
