"""What a client does with the status code (RFC 9110 15): representations of errors, redirections,
authentication challenges, statuses a client may repeat a request for, and statuses whose framing
depends on the request (HEAD, 205, 206, 416, 1xx, 101).

An http.client-style client hands every final response to its caller as data: it follows no
redirect, sends no credentials and repeats no request. The RFC lets a user agent do those things
(MAY), and says how if it does: a 307 keeps its method (MUST NOT change), a 403 is not repeated
with the same credentials (SHOULD NOT), a loop of redirects is stopped (SHOULD), a retry of a 421
goes over another connection. Each scenario here accepts both behaviours, the response delivered
as is (its status, fields and content intact) or the follow-up request done right, and checks
the follow-up request on the wire when there is one. Scripts therefore serve the follow-up on
the same connection or on a new one, only if the client sends it.
"""

from __future__ import annotations

import pytest

from h1conform.servers import ScriptError, call, close, expect_request, respond, respond_if_sent, send, send_segments
from h1conform.suites.harness import (
    API,
    MAY,
    MUST,
    SHOULD,
    WIRE,
    ErrorKind,
    Failure,
    Response,
    each_delivery,
    expect_response,
    scenario,
    variant,
)
from h1conform.suites.harness.messages import chunked_body
from h1conform.suites.harness.reuse import check_same_connection, script_two_exchanges
from h1conform.suites.harness.wire import FEATURE_PERSISTENT, Headers

TARGET_BODY = b"target"
TARGET = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n" + TARGET_BODY
NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"




def _complete(server) -> list:
    return [request for request in server.requests if request.complete]


def _exchange_then_next(server, wire, raw: bytes, delivery, method: str = "GET",
                        headers: Headers = ()) -> tuple[Response, Response | None]:
    """The response to a request answered with `raw`, then the response to a second request
    (NEXT), which shows where the first response ended (suites/harness/reuse.py).

    Only a client that keeps connections makes the second exchange (None otherwise): a request on
    a new connection would show nothing about the first one. The server keeps the first connection
    open, so every client must still find the end of the first response itself.
    """
    if FEATURE_PERSISTENT not in wire.features:
        server.add_connection(respond(raw, delivery))
        return expect_response(wire.request(method, server.url("/"), headers=headers)), None
    script_two_exchanges(server, respond(raw, delivery), NEXT)
    with wire.session() as session:
        response = expect_response(session.request(method, server.url("/"), headers=headers))
        following = expect_response(session.request("GET", server.url("/next")))
    return response, following


def _check_next(server, following: Response | None, rule: str) -> None:
    """The second response, for a client that made the second exchange, came next on the connection."""
    if following is not None:
        assert following.body == b"next", f"{rule}: the next response must be read intact, got {following.body!r}"
        check_same_connection(server, rule)


# =====================================================================================================
# error responses: the representation reaches the user (wire)
# =====================================================================================================

_4XX = ["RFC9110-15.5-p1-s2"]
_5XX = ["RFC9110-15.6-p1-s2"]


@scenario("response.status.error-representation", refs=[*_4XX, *_5XX], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("head, content, fields", [
    variant(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n", b"bad request", [], id="400", refs=_4XX),
    variant(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n", b"<p>no</p>",
            [("Content-Type", "text/html")], id="404", refs=_4XX),
    variant(b"HTTP/1.1 410 Gone\r\nTransfer-Encoding: chunked\r\n", b"4\r\ngone\r\n0\r\n\r\n", [], id="410-chunked",
            refs=_4XX),
    variant(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Length: 4\r\n", b"slow",
            [("Retry-After", "120")], id="429-retry-after-seconds", refs=_4XX),
    variant(b"HTTP/1.1 499 Unregistered\r\nContent-Length: 3\r\n", b"odd", [], id="499-unregistered",
            refs=[*_4XX, "RFC9110-15-p4-s1"]),
    variant(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n", b"oops!", [], id="500", refs=_5XX),
    variant(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\nContent-Length: 4\r\n",
            b"busy", [("Retry-After", "Fri, 31 Dec 1999 23:59:59 GMT")], id="503-retry-after-date", refs=_5XX),
    variant(b"HTTP/1.1 504 Gateway Timeout\r\nTransfer-Encoding: chunked\r\n", b"3\r\nlat\r\n1\r\ne\r\n0\r\n\r\n", [],
            id="504-chunked", refs=_5XX),
    variant(b"HTTP/1.1 599 Unregistered\r\nContent-Length: 4\r\n", b"five", [], id="599-unregistered",
            refs=[*_5XX, "RFC9110-15-p4-s1"]),
])
@each_delivery
def test_error_representation(server, wire, head, content, fields, delivery):
    # RFC 9110 15.5 / 15.6: for a 4xx or 5xx, user agents SHOULD display any included
    # representation to the user: the client returns the response with its content decoded from
    # its framing, not an exception that drops it. Retry-After is data for the caller. A second
    # request on the connection shows the error response was read to its end.
    decoded = b"gone" if b"410" in head else b"late" if b"504" in head else content
    response, following = _exchange_then_next(server, wire, head + b"\r\n" + content, delivery)
    code = int(head.split()[1])
    assert (response.status, response.body) == (code, decoded), (
        f"RFC 9110 15.5 / 15.6: a user agent SHOULD present the representation of a {code}; expected it with body "
        f"{decoded!r}, got {response.status} {response.body!r}")
    for name, value in fields:
        assert response.header_values(name) == [value], f"{name} is delivered as sent: {response.headers!r}"
    _check_next(server, following, "the connection stays usable after an error")


# =====================================================================================================
# redirections: delivered as data, or followed the way the RFC says (wire)
# =====================================================================================================


_RESEND = ["RFC9110-15.4-p5-s1"]


def _redirect(code: int, reason: bytes, location: bytes) -> bytes:
    return (b"HTTP/1.1 %d %s\r\nLocation: %s\r\nX-Redirect: yes\r\nContent-Length: 5\r\n\r\nmoved"
            % (code, reason, location))


REDIRECT_ROWS = [
    # (status, reason, method, methods a follow-up may use), each with the rows it checks; every row
    # also checks RFC9110-15.4-p5-s1 (a follow-up resends the original request), a SHOULD.
    variant(300, b"Multiple Choices", "GET", {"GET"}, id="300-get", refs=[*_RESEND, "RFC9110-15.4.1-p2-s2"]),
    variant(301, b"Moved Permanently", "GET", {"GET"}, id="301-get", refs=[*_RESEND, "RFC9110-15.4.2-p2-s2"]),
    variant(301, b"Moved Permanently", "POST", {"GET", "POST"}, id="301-post",
            refs=[*_RESEND, "RFC9110-15.4.2-p2-s2", "RFC9110-15.4.2-p3-s1"]),
    variant(302, b"Found", "GET", {"GET"}, id="302-get", refs=[*_RESEND, "RFC9110-15.4.3-p2-s2"]),
    variant(302, b"Found", "POST", {"GET", "POST"}, id="302-post",
            refs=[*_RESEND, "RFC9110-15.4.3-p2-s2", "RFC9110-15.4.3-p3-s1"]),
    variant(303, b"See Other", "POST", {"GET", "HEAD"}, id="303-post", refs=[*_RESEND, "RFC9110-15.4-p4-s1"]),
    variant(307, b"Temporary Redirect", "POST", {"POST"}, id="307-post", level=MUST,
            refs=[*_RESEND, "RFC9110-15.4.8-p1-s1", "RFC9110-15.4.8-p2-s2"]),
    variant(307, b"Temporary Redirect", "PUT", {"PUT"}, id="307-put", level=MUST, refs=[*_RESEND, "RFC9110-15.4.8-p1-s1"]),
    variant(308, b"Permanent Redirect", "POST", {"POST"}, id="308-post", refs=[*_RESEND, "RFC9110-15.4.9-p2-s2"]),
    # An unknown 3xx with a Location MAY be followed too (RFC 9110 15.4), as its class says.
    variant(399, b"Unregistered", "GET", {"GET"}, id="399-get", refs=[*_RESEND, "RFC9110-15.4-p4-s1", "RFC9110-15-p4-s1"]),
]


@scenario("response.status.redirect", refs=["RFC9110-15.4-p4-s1", "RFC9110-15.4-p5-s1"], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("code, reason, method, follow_methods", REDIRECT_ROWS)
@pytest.mark.parametrize("location", ["absolute", "relative"])
@each_delivery
def test_redirect(server, wire, code, reason, method, follow_methods, location, delivery):
    # Either the 3xx is delivered as it is (status, Location as sent, its content), or the client
    # follows it: one request for the Location's target, with the caller's own field, using a
    # method the status allows (RFC 9110 15.4: the original request message is resent with
    # the target replaced; 301/302 MAY turn POST into GET; 307/308 keep it, body included).
    where = server.url("/target").encode() if location == "absolute" else b"/target"
    server.add_connection(respond(_redirect(code, reason, where), delivery), respond_if_sent(TARGET))
    server.add_connection(respond(TARGET), optional=True)
    content = b"data" if method in ("POST", "PUT") else None
    outcome = wire.request(method, server.url("/start"), headers=[("X-Caller", "kept")], body=content)
    response = expect_response(outcome)
    follow_ups = [request for request in _complete(server) if request.target != b"/start"]
    if response.status == code:
        assert follow_ups == [], f"the {code} was delivered, yet the client also requested {follow_ups[0].target!r}"
        assert response.header_values("Location") == [where.decode()], (
            f"RFC 9110 15.4: the Location of an unfollowed {code} is delivered as sent; got {response.headers!r}")
        assert response.body == b"moved", f"the {code}'s content is delivered, got {response.body!r}"
        return
    assert (response.status, response.body) == (200, TARGET_BODY), (
        f"a client following the {code} returns the target's response, got {response.status} {response.body!r}")
    assert len(follow_ups) == 1 and follow_ups[0].target == b"/target", (
        f"RFC 9110 15.4: the follow-up request targets the Location (/target); got {[r.target for r in follow_ups]}")
    again = follow_ups[0]
    used = again.method.decode()
    assert used in follow_methods, (
        f"RFC 9110 15.4: after a {code} to {method}, the follow-up may use {sorted(follow_methods)}; it used {used}"
        + (" (RFC 9110 15.4.8: the user agent MUST NOT change the request method for a 307)" if code == 307 else ""))
    if used == method and content is not None:
        assert again.body == content, f"the {method} is resent with its content, got {again.body!r}"
    assert again.header_values("x-caller") == [b"kept"], (
        "RFC 9110 15.4: a user agent following a redirect SHOULD resend the original request message (here a "
        f"same-origin one, with the caller's X-Caller field); sent fields: {again.headers!r}")


def _loop_connection(conn) -> None:
    """Answer every request on this connection with a redirect to itself, until the client closes."""
    while True:
        try:
            expect_request().run(conn)
        except ScriptError:
            if conn.record.client_closed and not conn.record.requests[-1].raw:
                conn.record.requests.pop()
                return
            raise
        send(_redirect(302, b"Found", b"/loop")).run(conn)


LOOP_LIMIT = 50  # more automatic redirections than any client's default limit


@scenario("response.status.redirect-loop", refs=["RFC9110-15.4-p7-s1"], level=SHOULD, profile=WIRE)
def test_redirect_loop(server, wire):
    # Every request is answered "302 Found, Location: /loop". A client that follows redirects
    # SHOULD detect the cycle and intervene: it stops (with the last 302, or an error of its own)
    # after a bounded number of requests. One that does not follow returns the 302.
    for index in range(LOOP_LIMIT + 1):
        server.add_connection(call(_loop_connection), optional=index > 0)
    outcome = wire.request("GET", server.url("/loop"))
    sent = len(_complete(server))
    assert sent <= LOOP_LIMIT, (
        f"RFC 9110 15.4: a client SHOULD detect and intervene in cyclical redirections; it sent {sent} requests")
    if isinstance(outcome, Response):
        assert outcome.status == 302 and outcome.header_values("Location") == ["/loop"]


@scenario("response.status.redirect-location-invalid", refs=["RFC9110-4.2.4-p4-s1"], level=SHOULD, profile=WIRE)
@pytest.mark.parametrize("location", [
    variant("/target", id="control-valid"),
    variant("http://user:secret@{authority}/target", id="userinfo"),
    variant("http://{authority}@127.0.0.2/target", id="userinfo-hiding-authority"),
    # RFC 9110 4.2.1: an http URI with an empty host MUST be rejected by a recipient that processes it.
    variant("http:///target", id="empty-host", level=MUST, refs=["RFC9110-4.2.1-p4-s2"]),
    variant("https:///target", id="empty-host-https", level=MUST, refs=["RFC9110-4.2.2-p4-s2"]),
])
def test_redirect_location_invalid(server, wire, location):
    # A Location with userinfo comes from an untrusted source: a recipient SHOULD treat it as an
    # error (RFC 9110 4.2.4, phishing), and one with an empty host is invalid. A client that does
    # not follow redirects delivers the 302 with the Location as sent; one that follows must not
    # follow these two (the control, a plain path, it may follow).
    value = location.format(authority=server.authority)
    server.add_connection(respond(_redirect(302, b"Found", value.encode())), respond_if_sent(TARGET))
    server.add_connection(respond(TARGET), optional=True)
    outcome = wire.request("GET", server.url("/start"))
    follow_ups = [request for request in _complete(server) if request.target != b"/start"]
    if location == "/target":
        assert isinstance(outcome, Response), f"a plain redirect must not fail: {outcome}"
        return
    assert not follow_ups, (
        f"RFC 9110 4.2.4 / 4.2.1: Location {value!r} (userinfo, or no host) must be treated as an error, not followed; "
        f"the client requested {follow_ups[0].target!r}")
    if isinstance(outcome, Response):
        assert outcome.status == 302 and outcome.header_values("Location") == [value], (
            f"the unfollowed 302 is delivered with its Location as sent: {outcome.status} {outcome.headers!r}")


# =====================================================================================================
# authentication challenges: data for the caller; never the same credentials again (wire)
# =====================================================================================================

CHALLENGES = [
    ("WWW-Authenticate", 'Basic realm="simple"'),
    ("WWW-Authenticate", 'Digest realm="a, b", qop="auth,auth-int", nonce="x\\"y"'),
]


@scenario("response.status.auth-challenge", refs=["RFC9110-15.5.2-p2-s1", "RFC9110-15.5.2-p2-s2"], level=SHOULD,
          profile=WIRE)
@pytest.mark.parametrize("code, reason, challenge, credentials", [
    variant(401, b"Unauthorized", "WWW-Authenticate", "Authorization", id="401"),
    variant(407, b"Proxy Authentication Required", "Proxy-Authenticate", "Proxy-Authorization", id="407-from-origin",
            level=MAY, refs=["RFC9110-15.5.8-p1-s2"]),
])
@each_delivery
def test_auth_challenge(server, wire, code, reason, challenge, credentials, delivery):
    # The request carries credentials; the server answers with the same challenge every time.
    # A client MAY repeat the request with new or replaced credentials, never the same ones; once
    # it has tried, it SHOULD present the enclosed representation: the final outcome is the
    # challenge response with its content. Its challenge field lines are data: each quoted
    # string (with commas and an escaped quote inside) must arrive intact.
    lines = b"".join(b"%s: %s\r\n" % (challenge.encode(), value.encode()) for _, value in CHALLENGES)
    raw = b"HTTP/1.1 %d %s\r\n%sContent-Length: 6\r\n\r\ndenied" % (code, reason, lines)
    server.add_connection(respond(raw, delivery), respond_if_sent(raw, limit=5))
    server.add_connection(respond(raw), respond_if_sent(raw, limit=5), optional=True)
    outcome = wire.request("GET", server.url("/private"), headers=[(credentials, "Basic dXNlcjpvbGQ=")])
    sent = [request.header_values(credentials.lower()) for request in _complete(server)]
    assert sent[0] == [b"Basic dXNlcjpvbGQ="], "harness: the first request carries the caller's credentials"
    assert all(values != sent[0] for values in sent[1:]), (
        f"RFC 9110 15.5.2 / 15.5.8: a client MAY repeat the request with new or replaced credentials, not with the "
        f"same ones: {credentials} sent {sent}")
    response = expect_response(outcome)
    assert (response.status, response.body) == (code, b"denied"), (
        f"RFC 9110 15.5.2: with the same challenge again, the user agent SHOULD present the enclosed representation; "
        f"got {response.status} {response.body!r}")
    values = response.header_values(challenge)
    wanted = [value for _, value in CHALLENGES]
    assert values in (wanted, [", ".join(wanted)]), (
        f"the {challenge} field lines are delivered intact (or combined in order): expected {wanted!r}, got {values!r}")


@scenario("response.status.forbidden", refs=["RFC9110-15.5.4-p2-s1", "RFC9110-15.5.4-p2-s2"], level=SHOULD,
          profile=WIRE)
@pytest.mark.parametrize("with_credentials", [
    variant(False, id="control-no-credentials"),
    variant(True, id="with-credentials"),
])
@each_delivery
def test_forbidden(server, wire, with_credentials, delivery):
    # RFC 9110 15.5.4: after a 403 the client SHOULD NOT automatically repeat the request with the
    # same credentials (it MAY with different ones). The 403 and its content reach the caller.
    raw = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"
    server.add_connection(respond(raw, delivery), respond_if_sent(raw, limit=5))
    server.add_connection(respond(raw), respond_if_sent(raw, limit=5), optional=True)
    headers = [("Authorization", "Bearer token-1")] if with_credentials else []
    response = expect_response(wire.request("GET", server.url("/"), headers=headers))
    sent = [request.header_values("authorization") for request in _complete(server)]
    repeats = [values for values in sent[1:] if values == sent[0]]
    assert not repeats, (
        f"RFC 9110 15.5.4: a client SHOULD NOT automatically repeat a request refused with 403 with the same "
        f"credentials; it sent {len(sent)} requests with Authorization {sent}")
    assert (response.status, response.body) == (403, b"no")


# =====================================================================================================
# statuses after which a request MAY be repeated: 408, 421 (wire), 411 (api)
# =====================================================================================================


@scenario("response.status.request-timeout", refs=["RFC9110-15.5.9-p2-s1", "RFC9112-9.6-p8-s1"], level=MAY,
          profile=WIRE)
@each_delivery
def test_request_timeout(server, wire, delivery):
    # A 408 with "Connection: close" ends the connection. The client MAY repeat an outstanding
    # request (on a new connection: the first one is closing), or deliver the 408.
    raw = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 7\r\n\r\ntimeout"
    server.add_connection(expect_request(), send(raw, delivery), close())
    server.add_connection(respond(TARGET), optional=True)
    response = expect_response(wire.request("GET", server.url("/slow")))
    requests = _complete(server)
    if response.status == 408:
        assert response.body == b"timeout" and len(requests) == 1
        return
    assert (response.status, response.body) == (200, TARGET_BODY)
    assert [(r.method, r.target) for r in requests] == [(b"GET", b"/slow")] * 2, (
        f"RFC 9110 15.5.9: the client MAY repeat that request; it sent {[(r.method, r.target) for r in requests]}")
    assert len(server.connection(0).requests) == 1, "the repeat goes on a new connection (the 408 closed the first)"


@scenario("response.status.misdirected", refs=["RFC9110-15.5.20-p2-s1"], level=MAY, profile=WIRE)
@each_delivery
def test_misdirected(server, wire, delivery):
    # RFC 9110 15.5.20: after a 421 the client MAY retry "over a different connection"; never over
    # the same one, which the server has just said is the wrong one for this origin.
    raw = b"HTTP/1.1 421 Misdirected Request\r\nContent-Length: 5\r\n\r\nwrong"
    server.add_connection(respond(raw, delivery), respond_if_sent(TARGET))
    server.add_connection(respond(TARGET), optional=True)
    response = expect_response(wire.request("POST", server.url("/"), body=b"data"))
    first = [request for request in server.connection(0).requests if request.complete]
    assert len(first) == 1, (
        f"RFC 9110 15.5.20: a request refused with 421 may be retried over a different connection, not the same "
        f"one; the first connection carried {len(first)} requests")
    if response.status == 421:
        assert response.body == b"wrong"
    else:
        assert (response.status, response.body) == (200, TARGET_BODY)
        assert server.connection(1).requests[0].body == b"data", "the retried request is the same request"


@scenario("response.status.length-required", refs=["RFC9110-15.5.12-p1-s1", "http.client.HTTPConnection.request"],
          level=MAY, profile=API)
def test_length_required(server, client):
    # The body is an iterable, so the client sends it chunked; the server answers 411. The client
    # MAY repeat the request with a valid Content-Length (the length of the content); an
    # http.client-style client delivers the 411 to the caller, who decides.
    raw = b"HTTP/1.1 411 Length Required\r\nContent-Length: 6\r\n\r\nlength"
    server.add_connection(respond(raw), respond_if_sent(TARGET))
    server.add_connection(respond(TARGET), optional=True)
    conn = client.connect(server)
    conn.request("POST", "/upload", body=iter([b"da", b"ta"]))
    response = client.track(conn.getresponse())
    first = server.requests[0]
    assert first.header("transfer-encoding") == b"chunked" and first.body == b"data", "harness: chunked upload"
    if response.status == 411:
        assert response.read() == b"length"
        return
    repeat = _complete(server)[1]
    assert repeat.header("content-length") == b"4" and repeat.body == b"data", (
        f"RFC 9110 15.5.12: the request may be repeated with a valid Content-Length; sent {repeat.raw[:200]!r}")


# =====================================================================================================
# framing that depends on the status and the request: HEAD, 205, 206, 416 (wire)
# =====================================================================================================


@scenario("response.status.head-any-status", refs=["RFC9110-6-p6-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("head", [
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", id="control-200-empty"),
    variant(b"HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\n", id="404-content-length"),
    variant(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nContent-Length: 10\r\n\r\n", id="206"),
    variant(b"HTTP/1.1 301 Moved Permanently\r\nLocation: /elsewhere\r\nContent-Length: 50\r\n\r\n", id="301"),
    variant(b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n", id="500-chunked"),
    variant(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", id="200-no-framing-fields"),
])
@each_delivery
def test_head_any_status(server, wire, head, delivery):
    # A response to HEAD ends with its header section whatever its status and framing fields
    # (RFC 9112 6.3 rule 1): the client must remember it sent HEAD (RFC 9110 6). Even without
    # any framing field (which for GET would mean "until close") the connection stays usable.
    response, following = _exchange_then_next(server, wire, head, delivery, method="HEAD")
    assert response.status == int(head.split()[1]) and response.body == b"", (
        f"RFC 9110 6: a client MUST retain knowledge of the request: a response to HEAD has no content; got "
        f"{response.status} {response.body!r}")
    _check_next(server, following, "the response to HEAD ends at its header section")


MULTIPART = b"--B\r\nContent-Range: bytes 0-1/10\r\n\r\nab\r\n--B\r\nContent-Range: bytes 8-9/10\r\n\r\nyz\r\n--B--\r\n"


@scenario("response.status.content-framing", refs=["RFC9110-2.4-p1-s1", "RFC9110-15-p4-s1"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("raw, content", [
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok", id="control-200"),
    variant(b"HTTP/1.1 205 Reset Content\r\nContent-Length: 0\r\n\r\n", b"", id="205-content-length-0"),
    variant(b"HTTP/1.1 205 Reset Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"", id="205-chunked-empty"),
    variant(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 10-14/100\r\nContent-Length: 5\r\n\r\nhello",
            b"hello", id="206-single-range"),
    variant(b"HTTP/1.1 206 Partial Content\r\nContent-Type: multipart/byteranges; boundary=B\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked_body(MULTIPART, 7), MULTIPART, id="206-multipart-chunked"),
    variant(b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */47022\r\nContent-Length: 0\r\n\r\n", b"",
            id="416-empty"),
    variant(b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */47022\r\nContent-Length: 7\r\n\r\ntoo far",
            b"too far", id="416-with-content"),
])
@each_delivery
def test_content_framing(server, wire, raw, content, delivery):
    # 205, 206 and 416 are not among the statuses without content (1xx, 204, 304): their content
    # is framed like any other. A 206's multipart body and Content-Range are data for the caller
    # (the client must not parse the parts into something else); the next response follows.
    response, following = _exchange_then_next(server, wire, raw, delivery, headers=[("Range", "bytes=0-1")])
    code = int(raw.split()[1])
    assert (response.status, response.body) == (code, content), (
        f"RFC 9110 2.4 / 15: a {code} response is framed by its Content-Length or chunked coding; expected {content!r}, "
        f"got {response.status} {response.body!r}")
    ranges = [value for name, value in response.headers if name.lower() == "content-range"]
    head = raw.partition(b"\r\n\r\n")[0]
    assert ranges == [line[15:].decode() for line in head.split(b"\r\n") if line.startswith(b"Content-Range: ")], (
        f"Content-Range is delivered as data: {response.headers!r}")
    _check_next(server, following, f"the {code} response ends where its framing says")


# =====================================================================================================
# interim responses arriving on their own, and 101 with the protocol name in another case (wire)
# =====================================================================================================

FINAL = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"


@scenario("response.status.interim-ignored", refs=["RFC9110-15.2-p3-s2", "RFC9110-15.2-p3-s1"], level=MUST,
          profile=WIRE)
@pytest.mark.parametrize("segments", [
    variant([FINAL], id="control-final-only"),
    variant([b"HTTP/1.1 100 Continue\r\n\r\n", FINAL], id="100-then-final"),
    variant([b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", FINAL], id="103-then-final"),
    variant([b"HTTP/1.1 102 Processing\r\n\r\n"] * 3 + [FINAL], id="three-102-then-final"),
    variant([b"HTTP/1.1 100 Continue\r\n", b"\r\n", b"HTTP/1.1 200 OK\r\n", b"Content-Length: 5\r\n\r\nfinal"],
            id="split-at-line-ends"),
])
def test_interim_ignored(server, wire, segments):
    # Each segment is sent on its own, with a pause: the client sees an interim response and
    # nothing after it for a moment. It MAY ignore it (it did not ask for one) and MUST go on to
    # parse the final response, not return the 1xx nor give up on the exchange.
    server.add_connection(expect_request(), send_segments(segments, pause=0.02))
    response = expect_response(wire.request("GET", server.url("/")))
    assert (response.status, response.body) == (200, b"final"), (
        f"RFC 9110 15.2: a client MUST parse 1xx responses before the final one (and MAY ignore them); got "
        f"{response.status} {response.body!r}")
    assert not response.header_values("Link"), "the fields of a 103 are not the final response's"


@scenario("response.status.upgrade-token-case", refs=["RFC9110-7.8-p4-s1", "RFC9110-7.8-p2-s1"], level=SHOULD,
          profile=WIRE)
@pytest.mark.parametrize("protocol", [
    variant("websocket", id="control-same-case"),
    variant("WebSocket", id="mixed-case"),
    variant("WEBSOCKET", id="upper-case"),
])
@each_delivery
def test_upgrade_token_case(server, wire, protocol, delivery):
    # The client invites an upgrade to "websocket"; the server switches, naming the protocol in
    # another case. Recipients SHOULD compare protocol names case-insensitively: it is the same
    # protocol, and the 101 is the response (no content) rather than a protocol error.
    raw = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\nConnection: Upgrade\r\n\r\n" % protocol.encode()
    server.add_connection(respond(raw, delivery))
    outcome = wire.request("GET", server.url("/chat"), headers=[("Upgrade", "websocket"), ("Connection", "Upgrade")])
    assert not isinstance(outcome, Failure), (
        f"RFC 9110 7.8: protocol names SHOULD be compared case-insensitively; 'Upgrade: {protocol}' answers an "
        f"invitation to 'websocket', yet the client failed with {outcome}")
    assert outcome.status == 101 and outcome.body == b"" and outcome.header_values("Upgrade") == [protocol]


# =====================================================================================================
# the status line: whitespace, length, and lines that are no status line at all (wire)
# =====================================================================================================

OK_REST = b"\r\nContent-Length: 5\r\n\r\nhello"


@scenario("response.status-line.whitespace", refs=["RFC9112-4-p3-s1"], level=MAY, profile=WIRE)
@pytest.mark.parametrize("line", [
    variant(b"HTTP/1.1 200 OK", id="control-single-sp"),
    variant(b"HTTP/1.1  200 OK", id="two-sp-after-version"),
    variant(b"HTTP/1.1 200  OK", id="two-sp-after-code"),
    variant(b"HTTP/1.1\t200\tOK", id="htab-separators"),
    variant(b"HTTP/1.1\x0b200\x0cOK", id="vt-and-ff-separators"),
    variant(b" HTTP/1.1 200 OK", id="leading-sp"),
    variant(b"HTTP/1.1 200 OK \t ", id="trailing-whitespace"),
])
@each_delivery
def test_status_line_whitespace(server, wire, line, delivery):
    # RFC 9112 4: recipients MAY parse the status line on whitespace boundaries (SP, HTAB, VT,
    # FF, bare CR) and ignore leading and trailing whitespace. A client that does reads a 200
    # with body b'hello'; one that does not rejects the line. Reading another status, or the
    # octets after the line as anything but this response's head, is neither.
    raw = line + OK_REST
    server.add_connection(expect_request(), send(raw, delivery), close())
    outcome = wire.request("GET", server.url("/"))
    if isinstance(outcome, Failure):
        assert b"HTTP/1.1 200 OK" != line, f"a well-formed status line must be read; got {outcome}"
        assert outcome.kind is ErrorKind.PROTOCOL, f"expected a protocol error, got {outcome}"
        return
    assert (outcome.status, outcome.body) == (200, b"hello"), (
        f"RFC 9112 4: {line!r} parsed on whitespace boundaries is a 200 with body b'hello'; got {outcome.status} "
        f"{outcome.body!r}")


@scenario("response.status-line.length", refs=["RFC9110-2.3-p1-s1", "http.client.LineTooLong"], level=SHOULD,
          profile=WIRE, cves=["CVE-2013-1752"])
@pytest.mark.parametrize("octets, accepted", [
    variant(100, True, id="control-100-octets"),
    variant(60_000, True, id="60000-octets"),
    variant(70_000, False, id="70000-octets"),
    variant(1_000_000, False, id="1000000-octets"),
])
def test_status_line_length(server, wire, octets, accepted):
    # A recipient SHOULD parse defensively, within a reasonable buffer size (RFC 9110 2.3): a
    # status line whose reason phrase never ends is refused (http.client: LineTooLong beyond
    # 65536 octets) rather than buffered without bound. A long line within the limit is read.
    line = b"HTTP/1.1 200 " + b"r" * (octets - 15)
    server.add_connection(expect_request(), send(line + OK_REST), close())
    outcome = wire.request("GET", server.url("/"))
    if accepted:
        response = expect_response(outcome)
        assert (response.status, response.body) == (200, b"hello")
        return
    assert isinstance(outcome, Failure) and outcome.kind is ErrorKind.PROTOCOL, (
        f"RFC 9110 2.3: a {octets}-octet status line should be refused as a protocol error; got "
        f"{outcome if isinstance(outcome, Failure) else outcome.status}")


@scenario("response.status-line.not-a-status-line", refs=["RFC9110-2.3-p1-s1", "RFC9112-8-p2-s1"], level=SHOULD,
          profile=WIRE)
@pytest.mark.parametrize("sent", [
    variant(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", id="control-response"),
    variant(b"\r\n", id="crlf-only"),
    variant(b"\n", id="lf-only"),
    variant(b"   \r\n", id="spaces-only"),
    variant(b"\r\n\r\nHTTP/1.1 200", id="empty-lines-then-partial"),
    variant(b"\x00\x00\x00\x00", id="nul-octets"),
    variant(b"\x16\x03\x01\x00\xa5\x01\x00\x00", id="tls-record"),
])
@each_delivery
def test_not_a_status_line(server, wire, sent, delivery):
    # The server sends something that is not a status line and closes. There is no response:
    # the outcome is an error (protocol error, or the message incomplete / the connection
    # closed), never a response made up from these octets (HTTP/0.9 style).
    server.add_connection(expect_request(), send(sent, delivery), close())
    outcome = wire.request("GET", server.url("/"))
    if sent.startswith(b"HTTP/1.1 200 OK"):
        assert expect_response(outcome).status == 200
        return
    assert isinstance(outcome, Failure), (
        f"RFC 9110 2.3: {sent!r} is no status line; the client made a {outcome.status} response of it")
    assert outcome.kind in (ErrorKind.PROTOCOL, ErrorKind.INCOMPLETE, ErrorKind.CLOSED), f"got {outcome}"
