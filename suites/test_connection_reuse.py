"""Persistent connections: when a client reuses a connection, when it must not, and what it reports
when the server closes or resets a connection early.

Wire scenarios run a session of two requests; the server scripts exactly what a correct client does:
one connection carrying both exchanges when the connection persists, or two connections when the
first response ends it. A connection the client must not reuse is half-closed by the server (FIN)
but still read, so a second request wrongly sent on it is recorded (`unparsed`) and the client
fails fast on the end of stream instead of hanging. A client that opens a connection per request
(no persistent-connections feature) is judged on the rows where the connection must end; the rows
where it must be kept are unsupported for it.
"""

import threading

import pytest

from h1conform.servers import WHOLE, call, close, expect_request, half_close, reset, respond, respond_if_sent, send
from h1conform.suites.harness import (
    API,
    API_LEVEL,
    MAY,
    MUST,
    SHOULD,
    WIRE,
    ErrorKind,
    Failure,
    each_delivery,
    expect_failure,
    expect_response,
    scenario,
    variant,
)
from h1conform.suites.harness.waiting import client_closed, harness_wait
from h1conform.suites.harness.wire import FEATURE_PERSISTENT

SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"


def _signal(event: threading.Event):
    """A script step that tells the test the steps before it have run."""
    def signal(conn):
        event.set()
    return call(signal)


def _server_ends_idle(how: str) -> tuple[list, threading.Event]:
    """Steps that end an idle connection (FIN then keep reading, or a full close), and an event
    set once they have run. A full close ends the script, so it is signalled just before closing
    and the test then waits for the connection's script to finish."""
    done = threading.Event()
    if how == "half-close":
        return [half_close(), _signal(done)], done
    return [_signal(done), close()], done


def _wait_ended(server, how: str, done: threading.Event) -> None:
    harness_wait(done.wait, "the server script did not reach the close")
    if how == "close":
        harness_wait(server.connection(0).wait_finished, "the server did not close")


# -- keep-alive -------------------------------------------------------------------------------------


@scenario("connection.reuse.keep-alive", refs=["RFC9112-9.3-p1-s1", "RFC9112-9.3-p6-s1"], level=SHOULD,
          profile=WIRE, needs={FEATURE_PERSISTENT})
@pytest.mark.parametrize("first", [
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst", id="content-length"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n0\r\n\r\n", id="chunked"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"5\r\nfirst\r\n0\r\nX-Trailer: t\r\n\r\n", id="chunked-with-trailer"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nfirst",
                 id="explicit-keep-alive"),
])
@each_delivery
def test_keep_alive(server, wire, first, delivery):
    # RFC 9112 9.3: HTTP/1.1 connections persist unless "close" is signalled; implementations
    # SHOULD support persistent connections, and a client MAY send further requests on one.
    server.add_connection(respond(first, delivery), respond(SECOND, delivery))
    with wire.session() as session:
        one = expect_response(session.request("GET", server.url("/1")))
        two = expect_response(session.request("GET", server.url("/2")))
    assert (one.body, two.body) == (b"first", b"second")
    assert len(server.connections) == 1, (
        f"RFC 9112 9.3: an HTTP/1.1 connection persists; both requests should use it, the client opened "
        f"{len(server.connections)} connections")
    assert [r.target for r in server.connection(0).requests] == [b"/1", b"/2"]


@scenario("connection.reuse.api", refs=["http.client.HTTPConnection.request", "http.client.HTTPConnection.getresponse",
                                        "RFC9112-9.3-p1-s1"], level=API_LEVEL, profile=API)
@each_delivery
def test_keep_alive_api(server, client, delivery):
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst", delivery),
                          respond(SECOND, delivery))
    conn = client.connect(server)
    bodies = []
    for path in ("/1", "/2"):
        conn.request("GET", path)
        with conn.getresponse() as response:
            bodies.append(response.read())
    assert bodies == [b"first", b"second"]
    assert len(server.connections) == 1, "one HTTPConnection reuses its socket for a request after a read response"


# -- the first response ends the connection ---------------------------------------------------------

CLOSE_ROWS = [
    # (first response, the connection persists)
    # control: without "close" the connection persists (reusing it is the SHOULD of RFC 9112 9.3)
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst", True, id="control-http11-persistent",
            level=SHOULD, refs=["RFC9112-9.3-p1-s1"]),
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfirst", False, id="close"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: CLOSE\r\n\r\nfirst", False, id="close-upper-case"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, close\r\n\r\nfirst", False,
            id="list-keep-alive-close"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close ,x-other\r\n\r\nfirst", False,
            id="list-close-first"),
    # RFC 9110 5.3: several field lines of a list field are one list; "close" is in it.
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nConnection: close\r\n\r\nfirst",
            False, id="second-connection-line"),
    variant(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nfirst\r\n0\r\n\r\n",
            False, id="close-chunked"),
    variant(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nfirst", False, id="http10-without-keep-alive",
            refs=["RFC9112-9.3-p6-s1", "RFC9112-9.6-p8-s1"]),
    variant(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfirst", False, id="http10-close"),
    # A client MAY reuse an HTTP/1.0 connection that announced keep-alive: reported, never a failure.
    variant(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nfirst", True,
            id="http10-keep-alive", level=MAY, refs=["RFC9112-9.3-p6-s1"]),
]


@scenario("connection.close.option", refs=["RFC9112-9.6-p8-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("first, persists", CLOSE_ROWS)
@each_delivery
def test_close_option(server, wire, first, persists, delivery):
    # RFC 9112 9.6: a client that receives a "close" connection option MUST cease sending requests
    # on that connection and close it after reading the response. RFC 9112 9.3: the same holds for
    # an HTTP/1.0 response without a "keep-alive" option.
    if persists:
        wire.require(FEATURE_PERSISTENT, "this row checks that the connection is kept")
        server.add_connection(respond(first, delivery), respond(SECOND, WHOLE))
    else:
        # The server keeps the first connection open and answers a request wrongly sent on it: where
        # the second request goes is the client's choice alone (a half-close sent at once raced a
        # client's check of the connection before reuse, so the verdict depended on load).
        server.add_connection(respond(first, delivery), respond_if_sent(SECOND))
        server.add_connection(respond(SECOND, WHOLE), optional=True)
    with wire.session() as session:
        one = expect_response(session.request("GET", server.url("/1")))
        outcome = session.request("GET", server.url("/2"))
        if not persists:
            # Has the client given the first connection up (asked now: the second request is over)?
            # If it has, everything it sent there is recorded.
            gave_up = client_closed(server.connection(0))
            sent_again = [request.raw for request in server.connection(0).requests[1:]]
            assert not sent_again, (
                "RFC 9112 9.6 / 9.3: after a response with a 'close' connection option, or an HTTP/1.0 response "
                f"without keep-alive, the client MUST NOT send another request on that connection; it sent "
                f"{sent_again[0][:80]!r} (outcome of that request: {outcome})")
            if b"close" in first.lower().partition(b"\r\n\r\n")[0]:  # a "close" option was sent
                assert gave_up, (
                    "RFC 9112 9.6: the client MUST close the connection after reading the response with 'close'")
        two = expect_response(outcome)
    assert (one.body, two.body) == (b"first", b"second")
    expected = 1 if persists else 2
    assert len(server.connections) == expected, (
        f"expected {expected} connection(s) for two requests, the client opened {len(server.connections)}")


@scenario("connection.close.close-delimited", refs=["RFC9112-9.3-p7-s2"], level=MUST, profile=WIRE)
@each_delivery
def test_close_delimited_then_new_connection(server, wire, delivery):
    # RFC 9112 6.3 rule 8 (no BCP 14 keyword): a response without Content-Length or chunked
    # framing ends when the server closes. The client reads that whole body (9.3: it MUST read the
    # entire body before any reuse), and since the connection is then spent, the next request
    # needs a new one.
    server.add_connection(expect_request(), send(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", delivery), close())
    server.add_connection(respond(SECOND))
    with wire.session() as session:
        one = expect_response(session.request("GET", server.url("/1")))
        two = expect_response(session.request("GET", server.url("/2")))
    assert one.body == b"until the end", "a close-delimited body is everything up to the server's close"
    assert two.body == b"second"
    assert len(server.connections) == 2 and len(server.connection(1).requests) == 1, (
        "the request after a close-delimited response goes on a new connection")


# -- the server closes an idle connection -----------------------------------------------------------


@scenario("connection.close.idle-server-close",
          refs=["RFC9112-9.5-p3-s1", "RFC9110-9.2.2-p4-s1"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("method, how", [
    variant("GET", "half-close", id="get-after-fin"),
    variant("GET", "close", id="get-after-close"),
    variant("POST", "half-close", id="post-after-fin", level=SHOULD, refs=["RFC9110-9.2.2-p4-s1"]),
])
def test_idle_connection_closed_by_server(server, wire, method, how):
    # RFC 9112 9.5: a server MAY close a connection at any time, so an idle persistent connection
    # can be gone when the client next uses it. Acceptable outcomes for the next request:
    #  - a connection-closed error (a client that does not retry, like http.client), or
    #  - a response obtained on a new connection: a client that noticed the close before sending,
    #    or that retries an idempotent request (RFC 9110 9.2.2 allows retrying GET).
    # Not acceptable: any other error kind, or (POST, SHOULD NOT) sending the non-idempotent
    # request on the dead connection and then again on a new one.
    ending, done = _server_ends_idle(how)
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"), ending)
    server.add_connection(respond(SECOND), optional=True)  # only for a client that reconnects
    with wire.session() as session:
        expect_response(session.request("GET", server.url("/1")))
        _wait_ended(server, how, done)
        outcome = session.request(method, server.url("/2"), body=b"data" if method == "POST" else None)
    client_closed(server.connection(0))  # the session is closed: then all it sent there is recorded
    sent_on_dead = bool(server.connection(0).unparsed) if how == "half-close" else None
    retried = len(server.connections) > 1 and bool(server.connection(1).requests)
    if isinstance(outcome, Failure):
        expect_failure(outcome, ErrorKind.CLOSED)
        assert not retried
    else:
        assert retried and outcome.body == b"second", (
            f"the response to the request after the server closed the idle connection must come from a new "
            f"connection; got {outcome.status} {outcome.body!r}")
        if method == "POST":
            assert not sent_on_dead, (
                "RFC 9110 9.2.2: a client SHOULD NOT automatically retry a non-idempotent request: the POST "
                "was sent on the closed connection and then again on a new one")


@scenario("connection.close.idle-api", refs=["http.client.RemoteDisconnected", "http.client.HTTPConnection.getresponse",
                                             "RFC9112-9.5-p3-s1"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("how", ["control-still-open", "half-close", "close"])
def test_idle_connection_closed_api(server, client, how):
    # The http.client docs: RemoteDisconnected is raised by getresponse() "when the attempt to read
    # the response results in no data read from the connection, indicating that the remote end has
    # closed the connection". A client may instead notice the close before sending and send the
    # request over a new connection (nothing was sent on the dead one, so nothing is retried):
    # both are accepted; sending on the dead connection and returning its garbage is not.
    first = respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
    if how == "control-still-open":
        done = threading.Event()
        server.add_connection(first, _signal(done), respond(SECOND))
    else:
        ending, done = _server_ends_idle(how)
        server.add_connection(first, ending)
        server.add_connection(respond(SECOND), optional=True)
    conn = client.connect(server)
    conn.request("GET", "/1")
    with conn.getresponse() as response:
        assert response.read() == b"first"
    _wait_ended(server, how, done)
    conn.request("GET", "/2")
    if how == "control-still-open":
        with conn.getresponse() as response:
            assert response.read() == b"second", "an idle connection the server kept open carries the next request"
        return
    try:
        response = conn.getresponse()
    except client.module.RemoteDisconnected:
        pass
    else:
        with response:
            assert response.read() == b"second" and len(server.connections) == 2, (
                "after the server closed the idle connection, a response must come over a new connection")
    assert issubclass(client.module.RemoteDisconnected, ConnectionResetError), (
        "the docs: RemoteDisconnected is a subclass of ConnectionResetError")
    assert issubclass(client.module.RemoteDisconnected, client.module.BadStatusLine), (
        "the docs: RemoteDisconnected is a subclass of BadStatusLine")


# -- the server closes or resets in the middle of a response ----------------------------------------

INCOMPLETE_KINDS = (ErrorKind.INCOMPLETE, ErrorKind.PROTOCOL, ErrorKind.CLOSED)


@scenario("connection.early-close.head", refs=["RFC9112-8-p2-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("sent, complete", [
    variant(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody", True, id="control-complete-head"),
    variant(b"HTTP/1.1 200 OK\r\n\r\n", True, id="control-empty-close-delimited"),
    variant(b"", False, id="nothing"),
    variant(b"HTTP/1.1 20", False, id="mid-status-line"),
    variant(b"HTTP/1.1 200 OK\r\n", False, id="after-status-line"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl", False, id="mid-header-line"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", False, id="before-blank-line"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r", False, id="before-final-lf"),
])
@each_delivery
def test_early_close_in_head(server, wire, sent, complete, delivery):
    # The server closes before the empty line that ends the header section: the message is
    # incomplete (RFC 9112 8) and MUST NOT be taken for a complete, close-delimited response.
    # Any of the error kinds incomplete-message, protocol-error or connection-closed is accepted.
    # The controls are complete heads followed by a close-delimited body.
    server.add_connection(expect_request(), send(sent, delivery), close())
    outcome = wire.request("GET", server.url("/"))
    if complete:
        response = expect_response(outcome)
        assert response.status == 200 and response.body == sent.partition(b"\r\n\r\n")[2]
        return
    if not isinstance(outcome, Failure):
        pytest.fail(f"RFC 9112 8: a client MUST record an incomplete response as incomplete: the server "
                    f"closed after {sent!r}, before the header section ended, and the client accepted it as "
                    f"a complete {outcome.status} response with headers {outcome.headers} and body "
                    f"{outcome.body!r}")
    expect_failure(outcome, *INCOMPLETE_KINDS)


CL10 = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


@scenario("connection.early-close.body", refs=["RFC9112-6.3-p2-s8", "RFC9112-8-p2-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("sent, ending, complete", [
    variant(CL10 + b"0123456789", close(), True, id="control-content-length-complete-then-close"),
    variant(CL10 + b"01234", close(), False, id="content-length-short-then-close"),
    variant(CL10 + b"01234", reset(), False, id="content-length-short-then-reset"),
    variant(CL10, reset(), False, id="content-length-no-body-then-reset"),
    variant(CHUNKED + b"5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", close(), True, id="control-chunked-complete-then-close"),
    variant(CHUNKED + b"5\r\n01234\r\n5\r\n567", close(), False, id="chunked-mid-chunk-then-close"),
    variant(CHUNKED + b"5\r\n01234\r\n", close(), False, id="chunked-before-last-chunk-then-close"),
    variant(CHUNKED + b"5\r\n01234\r\n5\r\n567", reset(), False, id="chunked-mid-chunk-then-reset"),
])
@each_delivery
def test_early_close_in_body(server, wire, sent, ending, complete, delivery):
    # RFC 9112 6.3: if the sender closes the connection before the indicated number of octets are
    # received, the recipient MUST consider the message to be incomplete; a reset is the same to the
    # client. Accepted: incomplete-message, protocol-error or connection-closed, never a response.
    server.add_connection(expect_request(), send(sent, delivery), ending)
    outcome = wire.request("GET", server.url("/"))
    if complete:
        assert expect_response(outcome).body == b"0123456789"
        return
    if not isinstance(outcome, Failure):
        pytest.fail(f"RFC 9112 6.3: the server ended the connection inside the body ({sent!r}); the client "
                    f"MUST consider the message incomplete, it returned body {outcome.body!r}")
    expect_failure(outcome, *INCOMPLETE_KINDS)


# -- a new request while the previous body is unread ------------------------------------------------


@scenario("connection.reuse.unread-body", refs=["http.client.HTTPConnection.getresponse",
                                                "http.client.ResponseNotReady", "RFC9112-9.3-p7-s2"],
          level=API_LEVEL, profile=API)
@pytest.mark.parametrize("read_first", [
    pytest.param(True, id="control-body-read"),
    pytest.param(False, id="body-unread"),
])
def test_new_request_with_unread_body(server, client, read_first):
    # The docs of getresponse(): "you must have read the whole response before you can send a new
    # request to the server"; it raises ResponseNotReady otherwise. RFC 9112 9.3: a client MUST read
    # the entire body before it reuses the connection. The unread response stays readable.
    first = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
    if read_first:
        server.add_connection(respond(first), respond(SECOND))
    else:
        # http.client sends the second request before noticing; the server records it and answers nothing.
        server.add_connection(respond(first))
    conn = client.connect(server)
    conn.request("GET", "/1")
    response = client.track(conn.getresponse())
    if read_first:
        assert response.read() == b"first"
    conn.request("GET", "/2")
    if read_first:
        with conn.getresponse() as second:
            assert second.read() == b"second"
        return
    with pytest.raises(client.module.ResponseNotReady):
        conn.getresponse()
    assert response.read() == b"first", "the unread response is still intact after ResponseNotReady"
