"""Agent profile: what a client does when it follows a redirect by itself (RFC 9110 15.4).

The method and the content it resends per status code, how it resolves the Location against the
request's URI, the fragment it keeps, and what it does with a Location it cannot or must not follow
(invalid, another scheme, a loop). Each row's origin answers by target (servers/routes.py); what
the client sent is what that server parsed with h11, never what the client says it sent.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from h1conform.servers import RecordedRequest
from h1conform.suites.harness import (
    AGENT,
    MAY,
    MUST,
    SHOULD,
    ErrorKind,
    Failure,
    Outcome,
    Response,
    Unsupported,
    expect_response,
    scenario,
    variant,
)
from h1conform.suites.harness.agent import FOLLOWS_REDIRECTS, AgentClient, AgentResponse
from h1conform.suites.harness.agent_fixtures import Origins, ok, redirect

# A body a client must resend byte for byte: CR LF, NUL and a byte above 0x7F, which a client
# that handles the body as text (or as form fields) would change.
BODY = b"a=1\r\n\x00\xff\r\n\r\nb=2\x00"
CONTENT_TYPE = "application/octet-stream"
# The fields that describe content: RFC 9110 15.4 says to remove them when the method becomes GET or HEAD.
CONTENT_FIELDS = ("content-length", "content-type", "transfer-encoding", "content-encoding", "content-language")

RESENT = "RFC9110-15.4-p5-s1"  # SHOULD resend the original request, changing only what the status says
POST_TO_GET = {301: "RFC9110-15.4.2-p3-s1", 302: "RFC9110-15.4.3-p3-s1"}  # MAY turn POST into GET
KEEP_METHOD_307 = "RFC9110-15.4.8-p1-s1"  # MUST NOT change the method


def _methods_allowed(status: int, method: str) -> frozenset[str]:
    """The methods RFC 9110 allows the redirected request to have."""
    if status == 303:
        return frozenset({"HEAD"} if method == "HEAD" else {"GET"})
    if status in POST_TO_GET and method == "POST":
        return frozenset({"POST", "GET"})
    return frozenset({method})


def _method_rows() -> list[object]:
    rows: list[object] = []
    for status in (301, 302, 303, 307, 308):
        for method in ("POST", "PUT", "HEAD") if status == 303 else ("POST", "PUT"):
            for where in ("same-origin", "other-port"):
                row_id = f"{status}-{method.lower()}-{where}"
                if status == 307:
                    rows.append(variant(status, method, where, id=row_id, level=MUST, refs=[KEEP_METHOD_307]))
                elif status in POST_TO_GET and method == "POST":
                    rows.append(variant(status, method, where, id=row_id, refs=[RESENT, POST_TO_GET[status]]))
                else:
                    rows.append(variant(status, method, where, id=row_id, refs=[RESENT]))
    for method in ("POST", "PUT", "HEAD"):
        rows.append(variant(None, method, "same-origin", id=f"control-direct-{method.lower()}", refs=[RESENT]))
    return rows


def _body_rows() -> list[object]:
    rows: list[object] = [
        pytest.param(status, method, where, id=f"{status}-{method.lower()}-{where}")
        for status in (301, 302, 303, 307, 308) for method in ("POST", "PUT") for where in ("same-origin", "other-port")]
    rows += [pytest.param(None, method, "same-origin", id=f"control-direct-{method.lower()}") for method in ("POST", "PUT")]
    return rows


def _arrived(request: RecordedRequest) -> bytes:
    """200 for the request that arrived; a response to HEAD has the same head and no content."""
    response = ok(b"arrived")
    return response[: response.index(b"\r\n\r\n") + 4] if request.method == b"HEAD" else response


def _redirected(origins: Origins, agent: AgentClient, status: int | None, method: str,
                where: str) -> tuple[Outcome, RecordedRequest]:
    """Send `method` with BODY to an origin that redirects with `status` (None: answers 200
    directly) to /target on itself or on another port; the request /target received."""
    first = origins.http()
    target = origins.http() if where == "other-port" else first
    target.routes["/target"] = _arrived
    if status is None:
        first.routes["/start"] = _arrived
    else:
        first.routes["/start"] = redirect(status, target.url("/target"))
    body = None if method == "HEAD" else BODY
    headers = [] if body is None else [("Content-Type", CONTENT_TYPE)]
    outcome = agent.request(method, first.url("/start"), headers, body)
    arrived = [r for r in (first if status is None else target).requests
               if r.target == (b"/start" if status is None else b"/target")]
    if status is None:  # a control: the client must manage the plain request
        expect_response(outcome)
    if not arrived:
        raise Unsupported(f"no redirected request arrived after the {status} for {method}: the client did not "
                          f"follow it, or could not resend the request (outcome: {_describe(outcome)}); nothing to check")
    return outcome, arrived[0]


def _describe(outcome: Outcome) -> str:
    if isinstance(outcome, Response):
        return f"status {outcome.status} returned, body {outcome.body[:80]!r}"
    return str(outcome)


@scenario("agent.redirect.method", refs=[RESENT, KEEP_METHOD_307, *POST_TO_GET.values()], level=SHOULD,
          profile=AGENT, needs=[FOLLOWS_REDIRECTS])
@pytest.mark.parametrize(("status", "method", "where"), _method_rows())
def test_redirect_method(origins: Origins, agent: AgentClient, status: int | None, method: str, where: str) -> None:
    outcome, arrived = _redirected(origins, agent, status, method, where)
    allowed = _methods_allowed(status, method) if status is not None else frozenset({method})
    sent = arrived.method.decode("latin-1")
    rule = ("RFC 9110 15.4.8: after a 307 the method MUST NOT change" if status == 307 else
            "RFC 9110 15.4: a redirected request keeps its method, except POST -> GET after 301/302 (MAY) "
            "and any method but HEAD -> GET after 303" if status is not None else
            "control: a request answered 200 directly arrives with its method")
    assert sent in allowed, (f"{rule}\nexpected the {'redirected ' if status else ''}request to use "
                             f"{' or '.join(sorted(allowed))} after {method}, it used {sent!r}\n"
                             f"received: {arrived.head!r}")
    expect_response(outcome)


@scenario("agent.redirect.body", refs=[RESENT], level=SHOULD, profile=AGENT, needs=[FOLLOWS_REDIRECTS],
          cves=["CVE-2023-45803"])
@pytest.mark.parametrize(("status", "method", "where"), _body_rows())
def test_redirect_body(origins: Origins, agent: AgentClient, status: int | None, method: str, where: str) -> None:
    outcome, arrived = _redirected(origins, agent, status, method, where)
    sent = arrived.method.decode("latin-1")
    if sent == method:
        rule = ("RFC 9110 15.4: a redirect that keeps the method resends the original request: the same "
                "content byte for byte, the same Content-Type" if status else
                "control: a request answered 200 directly arrives with its content as sent")
        assert arrived.body == BODY, (f"{rule}\nexpected the content {BODY!r}, received {arrived.body!r} "
                                      f"with {sent}\nreceived: {arrived.raw[:400]!r}")
        content_type = arrived.header("content-type")
        assert content_type == CONTENT_TYPE.encode(), (f"{rule}\nexpected Content-Type {CONTENT_TYPE!r}, "
                                                       f"received {content_type!r}\nreceived: {arrived.head!r}")
    else:
        rule = (f"RFC 9110 15.4: when a redirect changes the method ({method} -> {sent} after {status}), "
                "the content and the content-specific fields are removed")
        assert not arrived.body and not arrived.chunks, (
            f"{rule}\nexpected no content in the {sent}, received {arrived.body!r}\nreceived: {arrived.raw[:400]!r}")
        kept = [(name, value) for name, value in arrived.headers if name.lower().decode("latin-1") in CONTENT_FIELDS]
        assert not kept, f"{rule}\nexpected none of {', '.join(CONTENT_FIELDS)}, received {kept!r}\n" \
                         f"received: {arrived.head!r}"
    expect_response(outcome)


# The target every Location of the relative-reference table is resolved against (RFC 3986 5.2).
BASE_PATH = "/dir/sub/page?x=1"
RELATIVE = [
    pytest.param("b", "/dir/sub/b", False, id="segment"),
    pytest.param("./b", "/dir/sub/b", False, id="dot-segment"),
    pytest.param("../b", "/dir/b", False, id="dot-dot-segment"),
    # RFC 3986 5.2.4: dot segments above the root are removed, never sent.
    pytest.param("../../../b", "/b", False, id="dot-dot-above-root"),
    pytest.param("/b", "/b", False, id="absolute-path"),
    pytest.param("?q=1", "/dir/sub/page?q=1", False, id="query-only"),
    pytest.param("b?q=1", "/dir/sub/b?q=1", False, id="segment-and-query"),
    pytest.param("//{authority}/b", "/b", True, id="network-path"),
    pytest.param("http://{authority}/dir/b", "/dir/b", False, id="control-absolute-url"),
]


@scenario("agent.redirect.location.relative", refs=[RESENT], level=SHOULD, profile=AGENT, needs=[FOLLOWS_REDIRECTS])
@pytest.mark.parametrize(("location", "resolved", "other_origin"), RELATIVE)
def test_relative_location(origins: Origins, agent: AgentClient, location: str, resolved: str,
                           other_origin: bool) -> None:
    first = origins.http()
    target = origins.http() if other_origin else first
    authority = target.url("").split("://", 1)[1]
    location = location.format(authority=authority)
    first.routes[BASE_PATH] = redirect(302, location)
    target.routes[resolved] = ok(b"resolved")
    outcome = agent.request("GET", first.url(BASE_PATH))
    received = [r.target.decode("latin-1") for r in target.requests if r.target != BASE_PATH.encode()]
    assert received == [resolved], (
        f"RFC 9110 15.4 and RFC 3986 5.2: the Location {location!r} resolved against {first.url(BASE_PATH)!r} "
        f"is {resolved!r} on {target.url('')!r}\nexpected one request for {resolved!r} there, received "
        f"{received!r}; outcome: {_describe(outcome)}")
    assert expect_response(outcome).body == b"resolved", f"expected the resolved target's body, got {_describe(outcome)}"


FRAGMENT = [
    pytest.param("/a#frag", "/b", "/b#frag", id="inherited"),
    pytest.param("/a#frag", "/b#own", "/b#own", id="own-fragment-wins"),
    pytest.param("/a", "/b", "/b", id="control-no-fragment"),
]


@scenario("agent.redirect.location.fragment", refs=["RFC9110-10.2.2-p5-s1", "RFC9112-3.2.1-p3-s1"], level=MUST,
          profile=AGENT, needs=[FOLLOWS_REDIRECTS])
@pytest.mark.parametrize(("requested", "location", "final"), FRAGMENT)
def test_fragment_inheritance(origins: Origins, agent: AgentClient, requested: str, location: str,
                              final: str) -> None:
    origin = origins.http()
    origin.routes["/a"] = redirect(302, location)
    origin.routes["/b"] = ok(b"landed")
    probe = agent.request("GET", origin.url("/b#probe"))  # no redirect: does the client report fragments at all?
    if isinstance(probe, AgentResponse) and probe.url is not None and not probe.url.endswith("#probe"):
        raise Unsupported(f"{agent.name} reports the final URL without the fragment even when there is no "
                          f"redirect ({origin.url('/b#probe')!r} -> {probe.url!r}): inheritance cannot be seen")
    outcome = agent.request("GET", origin.url(requested))
    sent = [r.target for r in origin.requests]
    assert not any(b"#" in target for target in sent), (
        f"RFC 9112 3.2.1: a request-target holds the path and query only, never a fragment\n"
        f"expected no '#' on the wire, the client sent the targets {sent!r}")
    response = expect_response(outcome)
    assert isinstance(response, AgentResponse)
    if response.url is None:
        raise Unsupported(f"{agent.name} does not report the URL of the final response: its fragment cannot be seen")
    assert response.url.endswith(final) and response.url.count("#") == final.count("#"), (
        f"RFC 9110 10.2.2: a Location without a fragment inherits the request's; one with a fragment keeps its own\n"
        f"requested {origin.url(requested)!r}, redirected to {location!r}: expected the final URL to end with "
        f"{final!r}, the client reports {response.url!r}")


# Locations that name no resource to follow: each must end as an error the client reports (or the
# 3xx handed back unfollowed), never as an exception its own code did not expect. `{port}` is the origin's.
INVALID = [
    variant("http://[::1", "invalid", id="unclosed-ipv6-literal"),
    variant("http://127.0.0.1:99999/b", "invalid", id="port-out-of-range"),
    variant("http://127.0.0.1:8o/b", "invalid", id="port-not-a-number"),
    variant("http://127.0.0.1:{port}\x01/b", "invalid", id="ascii-control-in-port"),
    # An empty value is a same-document reference (RFC 3986 4.4): a client may refuse it, or ask
    # for the same URL again until its loop detection stops it; it must never ask for anything else.
    variant("", "same-document", id="empty-value"),
    # RFC 9110 4.2.1: an "http" URI with an empty host MUST be rejected as invalid.
    variant("http://:{port}/b", "invalid", id="empty-host", level=MUST, refs=["RFC9110-4.2.1-p4-s2"]),
    # Whatever a client makes of it (a WHATWG parser skips the slashes and reads 127.0.0.1:port as
    # the host; RFC 3986 reads an empty authority) it stays on loopback, and needs no name lookup.
    variant("http:///127.0.0.1:{port}/b", "invalid", id="empty-authority", level=MUST, refs=["RFC9110-4.2.1-p4-s2"]),
    variant("http://127.0.0.1:{port}/b", "valid", id="control-valid-location"),
]
# How a client may report a Location it cannot parse: a redirect, input or protocol error.
UNPARSABLE = (ErrorKind.REDIRECT, ErrorKind.INVALID_INPUT, ErrorKind.PROTOCOL)


def _refused(outcome: Outcome, kinds: tuple[ErrorKind, ...]) -> bool:
    """Whether the client did not follow a redirect: the 3xx handed back, or an error of one of `kinds`."""
    if isinstance(outcome, Failure):
        return outcome.kind in kinds
    return 300 <= outcome.status < 400


@scenario("agent.redirect.location.invalid", refs=["RFC9110-15.4-p4-s1", "RFC9110-4.2.1-p4-s2"], level=MAY,
          profile=AGENT, needs=[FOLLOWS_REDIRECTS])
@pytest.mark.parametrize(("location", "kind"), INVALID)
def test_invalid_location(origins: Origins, agent: AgentClient, location: str, kind: str) -> None:
    origin = origins.http()
    location = location.format(port=origin.server.port)
    origin.routes["/a"] = redirect(302, location)
    origin.routes["/b"] = ok(b"followed")
    outcome = agent.request("GET", origin.url("/a"))
    if kind == "valid":
        assert expect_response(outcome).body == b"followed", f"control: a valid Location is followed, got {_describe(outcome)}"
        return
    after = [r.target for r in origin.requests[1:] if not (kind == "same-document" and r.target == b"/a")]
    why = ("is a same-document reference (RFC 3986 4.4): only the same URL may be asked for again"
           if kind == "same-document" else "is not a valid URI: nothing may be requested from it")
    assert not after, (f"the Location {location!r} {why}\n"
                       f"expected no request for another target after the redirect, the client sent {after!r}")
    assert _refused(outcome, UNPARSABLE), (
        f"the Location {location!r} {why}: the redirect ends as the 3xx returned unfollowed or as an error the "
        f"client reports (a redirect, input or protocol error)\nthe outcome was {_describe(outcome)}"
        + ("\n(unclassified: an exception the client's own code did not expect, or one its adapter does not know)"
           if isinstance(outcome, Failure) and outcome.kind is ErrorKind.UNCLASSIFIED else ""))


# Schemes a redirect must not switch to: a file the client can read, another protocol, a URL
# holding its own content, script. `{secret}` is a file of the scenario's, `{closed}` a port nothing listens on.
SCHEMES = [
    pytest.param("file://{secret}", False, id="file"),
    pytest.param("ftp://127.0.0.1:{closed}/", False, id="ftp"),
    pytest.param("data:text/plain,{marker}", False, id="data"),
    pytest.param("javascript:alert('{marker}')", False, id="javascript"),
    pytest.param("http://127.0.0.1:{port}/b", True, id="control-http"),
]
MARKER = "h1conform-redirect-marker"


@scenario("agent.redirect.location.scheme", refs=["RFC9110-15.4-p4-s1"], level=SHOULD, profile=AGENT,
          needs=[FOLLOWS_REDIRECTS], cves=["CVE-2011-1521"])
@pytest.mark.parametrize(("location", "http"), SCHEMES)
def test_other_scheme_location(origins: Origins, agent: AgentClient, location: str, http: bool,
                               tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(MARKER)
    origin = origins.http()
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))  # bound, not listening: a connection to it is refused at once
        location = location.format(secret=secret, closed=reserved.getsockname()[1], marker=MARKER,
                                   port=origin.server.port)
        origin.routes["/a"] = redirect(302, location)
        origin.routes["/b"] = ok(b"followed")
        outcome = agent.request("GET", origin.url("/a"))
    if http:
        assert expect_response(outcome).body == b"followed", f"control: an http Location is followed, got {_describe(outcome)}"
        return
    if isinstance(outcome, Response):
        assert MARKER.encode() not in outcome.body, (
            f"a redirect to a non-HTTP scheme is not followed\nthe Location {location!r} was followed: "
            f"the client returned its content {outcome.body[:200]!r}")
    assert _refused(outcome, (ErrorKind.REDIRECT, ErrorKind.INVALID_INPUT)), (
        f"a redirect to a non-HTTP scheme ({location!r}) is not followed: expected the 3xx returned or a "
        f"redirect or input error, the outcome was {_describe(outcome)}")


# Redirects followed before a client must have stopped: the curl tool's default limit, the highest
# of the clients here (RFC 2068 suggested 5; browsers stop near 20).
MAX_HOPS = 50
LOOPS = [
    pytest.param({"/a": "/a"}, True, id="self"),
    pytest.param({"/a": "/b", "/b": "/a"}, True, id="two-step"),
    pytest.param({"/a": "/b", "/b": "/c", "/c": "/end"}, False, id="control-chain-of-3"),
]


@scenario("agent.redirect.loop", refs=["RFC9110-15.4-p7-s1"], level=SHOULD, profile=AGENT, needs=[FOLLOWS_REDIRECTS])
@pytest.mark.parametrize(("hops", "loops"), LOOPS)
def test_redirect_loop(origins: Origins, agent: AgentClient, hops: dict[str, str], loops: bool) -> None:
    origin = origins.http()
    for source, location in hops.items():
        origin.routes[source] = redirect(302, location)
    origin.routes["/end"] = ok(b"end of chain")
    outcome = agent.request("GET", origin.url("/a"))
    followed = len(origin.requests) - 1  # redirects followed: every request but the first
    print(f"{agent.name}: {followed} redirects followed, then {_describe(outcome)}")  # the hop count, shown by -rA
    if not loops:
        assert expect_response(outcome).body == b"end of chain", (
            f"control: a chain of 3 redirects is followed to its end, got {_describe(outcome)} after {followed} redirects")
        return
    assert followed <= MAX_HOPS, (f"RFC 9110 15.4: a client detects a redirect loop\nexpected it to stop after at "
                                  f"most {MAX_HOPS} redirects, it followed {followed}")
    assert _refused(outcome, (ErrorKind.REDIRECT,)), (
        f"RFC 9110 15.4: a client detects and intervenes in a redirect loop\nexpected a redirect error (or the "
        f"last 3xx returned) after at most {MAX_HOPS} redirects, the outcome after {followed} was {_describe(outcome)}")
