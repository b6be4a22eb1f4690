"""Agent profile: credentials the application set on a request, when the client follows a redirect.

RFC 9110 15.4 asks a user agent to *consider* removing Authorization and Cookie that the calling
context set, where there are security implications; a redirect to another origin (RFC 6454: scheme,
host, port) is where they are. Clients that kept them there have had advisories, so the removal is
checked at level SHOULD with those advisories cited. A redirect on the same origin keeps them: its
control row shows the client sends them at all (a client that drops them even there is reported by
that row, while the cross-origin rows check only that they are absent).

Proxy-Authorization set on a request to an origin (no proxy) is odd, but is what several
advisories describe: an application that sets it by mistake must not hand it to whoever redirects.
"""

from __future__ import annotations

import pytest

from h1conform.servers import RecordedRequest
from h1conform.suites.harness import AGENT, SHOULD, Unsupported, expect_response, scenario, variant
from h1conform.suites.harness.agent import FOLLOWS_REDIRECTS, AgentClient
from h1conform.suites.harness.agent_fixtures import Origin, Origins, ok, redirect

CREDENTIALS = {
    "authorization": ("Authorization", "Bearer h1conform-secret-token"),
    "cookie": ("Cookie", "session=h1conform-secret-cookie"),
    "proxy-authorization": ("Proxy-Authorization", "Basic aDFjb25mb3JtOnNlY3JldA=="),
}

# Where the redirect leads: (scheme of the first origin, how the second is made). "then-same" adds a
# second redirect inside the new origin, after which a client must not restore what it removed.
ROUTES = {
    "control-same-origin": ("http", "same"),
    "other-port": ("http", "http"),
    "other-host": ("http", "localhost"),  # the same server named localhost instead of 127.0.0.1
    "http-to-https": ("http", "https"),
    "https-to-http": ("https", "http"),  # and another port: one port cannot serve both schemes
    "other-port-then-same-origin": ("http", "http-then-same"),
}

ADVISORIES = [
    "CVE-2018-20060",  # urllib3: Authorization kept on a cross-origin redirect
    "CVE-2023-43804",  # urllib3: Cookie kept on a cross-origin redirect
    "CVE-2024-37891",  # urllib3: Proxy-Authorization kept on a cross-origin redirect
    "CVE-2018-18074",  # requests: Authorization sent after an https -> http redirect on the same host
    "CVE-2018-1000007",  # curl: custom Authorization sent to the host a redirect names
    "CVE-2022-27776",  # curl: Authorization and Cookie kept for the same host on another port or scheme
    "CVE-2023-45143",  # undici: Cookie kept on a cross-origin redirect
    "CVE-2024-24758",  # undici: Proxy-Authorization kept on a cross-origin redirect
    "CVE-2024-45336",  # Go net/http: removed headers restored by a later same-origin redirect
    "CVE-2025-4673",  # Go net/http: Proxy-Authorization kept on a cross-origin redirect
]


def _rows() -> list[object]:
    return [variant(credential, route, id=f"{route}-{credential}")
            for route in ROUTES for credential in CREDENTIALS]


def _received(origin: Origin, target: bytes) -> list[RecordedRequest]:
    """The requests for `target` that `origin` received."""
    return [r for r in origin.requests if r.target == target]


@scenario("agent.redirect.credentials", refs=["RFC9110-15.4-p5-s1"], level=SHOULD, profile=AGENT,
          needs=[FOLLOWS_REDIRECTS], cves=ADVISORIES)
@pytest.mark.parametrize(("credential", "route"), _rows())
def test_credentials_on_redirect(origins: Origins, agent: AgentClient, credential: str, route: str) -> None:
    name, value = CREDENTIALS[credential]
    first_scheme, second_kind = ROUTES[route]
    first = origins.https() if first_scheme == "https" else origins.http()
    if second_kind in ("same", "localhost"):
        second, host = first, ("localhost" if second_kind == "localhost" else None)
    else:
        second, host = (origins.https() if second_kind == "https" else origins.http()), None
    landing = b"/b"
    first.routes["/a"] = redirect(302, second.url("/b", host=host))
    if second_kind == "http-then-same":
        second.routes["/b"] = redirect(302, "/c")
        landing = b"/c"
    second.routes[landing.decode()] = ok(b"landed")
    tls = origins.tls if "https" in (first_scheme, second_kind) else None
    outcome = agent.request("GET", first.url("/a"), [(name, value)], tls=tls)

    asked = _received(first, b"/a")
    assert asked and asked[0].header(name) == value.encode(), (
        f"the application set {name}: {value!r} on the request: the first origin must receive it\n"
        f"received: {asked[0].head if asked else b'nothing'!r}")
    arrived = [r for target in (b"/b", b"/c") for r in _received(second, target)]
    if route.startswith("control-"):
        expect_response(outcome)
        dropped = [r.head for r in arrived if r.header(name) != value.encode()]
        kept = bool(arrived) and not dropped
        assert kept, (
            f"RFC 9110 15.4: a redirect on the same origin resends the original request, {name} included\n"
            f"expected {name}: {value!r} on the redirected request, received {dropped or 'no redirected request'!r}")
        return
    if not arrived:
        if route == "https-to-http":
            return  # not following the downgrade keeps the credential out of clear text: that is the point
        raise Unsupported(f"the client did not follow the redirect to another origin ({route}): nothing to check")
    leaked = [r.head for r in arrived if r.header_values(name)]
    place = "in clear text over http" if route == "https-to-http" else f"to another origin ({route})"
    assert not leaked, (
        f"RFC 9110 15.4 (consider removing credentials where there are security implications) and the advisories "
        f"cited: {name} set by the application must not be sent {place}\n"
        f"expected no {name} at {second.url('', host=host)!r}, received: {leaked!r}")
