"""Agent scenarios for a client's cookie jar (RFC 6265): which cookies go back to which origin.

A server on `localhost` sets a cookie; the same agent session then asks another (or the same)
origin, and the scenario looks at the Cookie field that origin received. A cookie with Domain=
naming a host the setter does not domain-match is ignored (RFC 6265 5.3, step 6); a cookie set
without Domain= is host-only: it goes back to the identical host alone, so localhost's is not sent
to 127.0.0.1, the same server under its address (5.4, step 1); a Secure cookie goes back only over
a secure protocol, so not to http (5.4, step 1). Ports are no part of a cookie's scope ("Cookies do
not provide isolation by port", RFC 6265 8.5): the controls show a cookie set over https going
back to http on another port of the same host, and each cookie going back to where it was set.

The setter is named `localhost`, not 127.0.0.1: some jars keep no cookie from an IP address by
default (aiohttp's), which would make every row pass for nothing. All origins are on loopback, and
RFC 6265 leaves what is "secure" to the user agent: one that counts http to a loopback host as
secure (libcurl does since 7.77, like browsers' "potentially trustworthy" origins) sends the Secure
cookie over http here, and fails secure-to-http for a policy the suite cannot tell apart, on
loopback, from ignoring Secure.

Citing RFC 6265's algorithms: their steps are not sentences with a BCP 14 keyword of their own,
but "requirements phrased in the imperative as part of algorithms [...] are to be interpreted with
the meaning of the key word [...] used in introducing the algorithm" (RFC 6265 2.1). So
suites/spec/agent-requirements.tsv cites a step as RFC6265-<section>-p<block>-step<n>, and one
bullet of a step as ...-step<n>-b<m>: block p<k> is the k-th block of the section (counted as the
RFC 9110 ids count them; the ordered list of steps is one block), at the level of the sentence
that introduces the algorithm (5.3's p2, 5.4's p5: MUST).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from h1conform.suites.harness import AGENT, MUST, Response, scenario, variant
from h1conform.suites.harness.agent import COOKIE_JAR, AgentClient
from h1conform.suites.harness.agent_fixtures import Origin, Origins, ok

COOKIE = "flavour=oatmeal"


@dataclass(frozen=True)
class Place:
    """Where a request goes: an origin made by `make`, named `host`."""

    name: str
    make: Callable[[Origins], Origin]
    host: str


@dataclass(frozen=True)
class Row:
    setter: Place
    attributes: str  # what follows the name=value pair in Set-Cookie
    reader: Place | str | None  # another origin, the setter's server under another host name, or the setter
    sent: bool  # whether the cookie must go back to the reader


HTTP = Place("http://localhost", lambda origins: origins.http(), "localhost")
HTTPS = Place("https://localhost", lambda origins: origins.https(), "localhost")
OTHER_PORT = Place("http://localhost on another port", lambda origins: origins.http(), "localhost")

STEP6 = "RFC6265-5.3-p3-step6"
HOST_BULLET = "RFC6265-5.4-p6-step1-b1"
SECURE_BULLET = "RFC6265-5.4-p6-step1-b3"
SECURE_FLAG = "RFC6265-5.3-p3-step8"

ROWS = [
    variant(Row(HTTP, "; Path=/; Domain=example.com", None, False), id="domain-example-com",
            refs=["RFC6265-5.3-p2-s1", STEP6]),
    variant(Row(HTTP, "; Path=/; Domain=127.0.0.1", "127.0.0.1", False), id="domain-127-0-0-1-from-localhost",
            refs=["RFC6265-5.3-p2-s1", STEP6]),
    variant(Row(HTTP, "; Path=/", "127.0.0.1", False), id="host-only-to-127-0-0-1",
            refs=["RFC6265-5.4-p5-s1", HOST_BULLET]),
    variant(Row(HTTPS, "; Path=/; Secure", OTHER_PORT, False), id="secure-to-http",
            refs=["RFC6265-5.4-p5-s1", SECURE_BULLET, SECURE_FLAG]),
    variant(Row(HTTP, "; Path=/", None, True), id="control-same-origin", refs=["RFC6265-5.4-p5-s1", HOST_BULLET]),
    variant(Row(HTTPS, "; Path=/; Secure", None, True), id="control-secure-same-origin",
            refs=["RFC6265-5.4-p5-s1", SECURE_BULLET]),
    variant(Row(HTTPS, "; Path=/", OTHER_PORT, True), id="control-https-to-http-other-port",
            refs=["RFC6265-5.4-p5-s1", HOST_BULLET, SECURE_BULLET]),
]


@scenario("agent.cookie.scope", refs=["RFC6265-5.4-p5-s1"], level=MUST, profile=AGENT, needs=[COOKIE_JAR])
@pytest.mark.parametrize("row", ROWS)
def test_a_cookie_goes_back_only_within_its_scope(origins: Origins, agent: AgentClient, row: Row) -> None:
    setter = row.setter.make(origins)
    set_url = setter.url("/set", host=row.setter.host)
    setter.routes["/set"] = ok(b"set", extra=f"Set-Cookie: {COOKIE}{row.attributes}\r\n".encode("ascii"))
    if row.reader is None:
        reader, reader_url, where = setter, setter.url("/read", host=row.setter.host), "the origin that set it"
    elif isinstance(row.reader, str):
        reader, reader_url = setter, setter.url("/read", host=row.reader)
        where = f"the same server named {row.reader} (another host)"
    else:
        reader = row.reader.make(origins)
        reader_url, where = reader.url("/read", host=row.reader.host), row.reader.name
    reader.routes["/read"] = ok(b"read")
    with agent.session(tls=origins.tls) as session:
        for url in (set_url, reader_url):
            outcome = session.request("GET", url)
            assert isinstance(outcome, Response) and outcome.status == 200, f"GET {url} should succeed; got {outcome}"
    received = [request for request in reader.requests if request.target == b"/read"]
    assert len(received) == 1, f"the reader expected one GET /read, it received {len(received)}"
    fields = [value.decode("latin-1") for value in received[0].header_values("cookie")]
    went_back = any(COOKIE in [pair.strip() for pair in value.split(";")] for value in fields)
    story = (f"{row.setter.name} answered Set-Cookie: {COOKIE}{row.attributes}; then the client asked {where} "
             f"({reader_url}) and sent Cookie fields {fields!r}")
    if row.sent:
        assert went_back, f"the cookie is in scope there, so the client sends it back: {story}"
    else:
        assert not went_back, f"the cookie is out of scope there, so the client must not send it: {story}"
