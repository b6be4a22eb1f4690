"""Agent scenarios for automatic retries (RFC 9110 9.2.2): a server reads the whole request, then
closes or resets the connection before any byte of a response.

The client cannot know whether the request was applied. It may repeat an idempotent one (a GET),
on a new connection; it SHOULD NOT repeat a non-idempotent one (a POST) by itself, nor repeat a
retry that failed too. RFC 9112 9.3.1 leaves the conditions to RFC 9110 9.2.2, which also names
the riskier guess some clients make: retrying a POST "if the underlying transport connection
closed before any part of a response is received, particularly if an idle persistent connection
was used". So each case runs on a fresh connection and on a kept-alive one reused after a GET.

The scenarios need no RETRIES feature: a client that never retries passes the POST rows, and
the GET rows accept either an error or a retry, checking the retry where there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from h1conform.servers import ServerConnection
from h1conform.servers.connection import ScriptError
from h1conform.servers.steps import Step, call, close, expect_request, reset, send
from h1conform.suites.harness import AGENT, SHOULD, ErrorKind, Failure, Response, Unsupported, scenario, variant
from h1conform.suites.harness.agent import AgentClient
from h1conform.suites.harness.agent_fixtures import Origin, Origins, ok
from h1conform.suites.harness.wire import FEATURE_PERSISTENT

ANSWER = b"answered on another connection"
BODY = b"order=42&quantity=1"
# How many connections a server that always closes scripts before it answers: more than any
# sensible retry policy uses (one retry), so that a client retrying its retries shows it.
ALWAYS_CLOSING = 6
# What a client that gives up reports: the connection ended before any response.
GIVING_UP = (ErrorKind.CLOSED, ErrorKind.INCOMPLETE)


@dataclass(frozen=True)
class Case:
    method: str
    reused: bool  # the request goes on a kept-alive connection, after a GET answered on it
    ending: Callable[[], Step]  # what the server does once it has read the request: close() or reset()
    every_time: bool = False  # every connection ends so (a retry of a retry), not only the first


ROWS = [
    variant(Case("POST", False, close), id="post-fresh-close"),
    variant(Case("POST", False, reset), id="post-fresh-reset"),
    variant(Case("POST", True, close), id="post-reused-close"),
    variant(Case("POST", True, reset), id="post-reused-reset"),
    variant(Case("GET", False, close, every_time=True), id="get-every-connection-closes",
            refs=["RFC9110-9.2.2-p7-s2"]),
    variant(Case("GET", False, close), id="control-get-fresh-close"),
    variant(Case("GET", True, close), id="control-get-reused-close"),
    variant(Case("GET", True, reset), id="control-get-reused-reset"),
]


def _ended_after_request(ending: Callable[[], Step]) -> Step:
    """Read a request if the client sends one on this connection, then end it with `ending`; a
    client that closes the kept connection instead (it opened a new one) ends the step quietly."""

    def handler(conn: ServerConnection) -> None:
        try:
            expect_request().run(conn)
        except ScriptError:
            if conn.record.client_closed and not conn.record.requests[-1].raw:
                conn.record.requests.pop()  # the placeholder of a request never sent here
                return
            raise
        ending().run(conn)

    return call(handler)


def _script(origin: Origin, case: Case) -> None:
    """The first connection (every connection, up to ALWAYS_CLOSING, for a retry of a retry) ends
    after reading the request; later connections are answered by the origin's routes."""
    first = [expect_request(), send(ok(b"first"))] if case.reused else []
    origin.server.add_connection(*first, _ended_after_request(case.ending))
    for _ in range(ALWAYS_CLOSING - 1 if case.every_time else 0):
        origin.server.add_connection(_ended_after_request(case.ending), optional=True)


def _where(origin: Origin, method: bytes) -> list[int]:
    """The index of the connection each `method` request came on."""
    return [index for index, record in enumerate(origin.server.connections)
            for request in record.requests if request.method == method]


@scenario("agent.retry.closed-before-response", refs=["RFC9110-9.2.2-p4-s1"], level=SHOULD, profile=AGENT)
@pytest.mark.parametrize("case", ROWS)
def test_a_request_without_response_is_not_retried_unless_idempotent(origins: Origins, agent: AgentClient,
                                                                     case: Case) -> None:
    if case.reused:
        agent.require(FEATURE_PERSISTENT, "the request goes on a connection kept alive after a first exchange")
    origin = origins.http()
    origin.routes["/order"] = ok(ANSWER)
    _script(origin, case)
    with agent.session() as session:
        if case.reused:
            first = session.request("GET", origin.url("/first"))
            assert isinstance(first, Response) and first.body == b"first", (
                f"the first exchange, a GET answered 200 with a kept-alive connection, should succeed; got {first}")
        outcome = session.request(case.method, origin.url("/order"), [("Content-Type", "text/plain")],
                                  BODY if case.method == "POST" else None)
    method = case.method.encode("ascii")
    where = _where(origin, method)
    if case.reused and where[:1] != [0]:
        raise Unsupported(f"the client sent the {case.method} on a new connection, not on the kept-alive one "
                          f"(connections of the {case.method}s: {where})")
    situation = (f"the server read the whole {case.method} on a {'reused' if case.reused else 'fresh'} connection, "
                 f"then {case.ending.__name__}d it before any byte of a response")
    if case.method == "POST":
        assert len(where) == 1, (
            f"a client SHOULD NOT retry a non-idempotent request by itself: {situation}, and the client sent "
            f"the POST {len(where)} times (on connections {where}); it should report the failure. Outcome: {outcome}")
        assert isinstance(outcome, Failure) and outcome.kind in GIVING_UP, (
            f"{situation}: expected a failure of kind {' or '.join(k.value for k in GIVING_UP)}, got {outcome}")
        return
    if case.every_time:
        assert len(where) <= 2, (
            f"a client SHOULD NOT retry a failed automatic retry: every connection ended after reading the "
            f"GET, before any response, and the client sent it {len(where)} times (on connections {where})")
    _check_idempotent_retry(outcome, where, situation)


def _check_idempotent_retry(outcome: Response | Failure, where: list[int], situation: str) -> None:
    """A GET may be retried; if it was, the retry went on a new connection and got its answer."""
    if isinstance(outcome, Failure):
        assert outcome.kind in GIVING_UP, (
            f"{situation}: a client that does not retry reports a failure of kind "
            f"{' or '.join(k.value for k in GIVING_UP)}, got {outcome}")
        return
    assert len(where) >= 2 and where[-1] > where[0], (
        f"{situation}: the client got a response, so it must have retried on a new connection; the GETs came "
        f"on connections {where}")
    assert outcome.body == ANSWER, (
        f"{situation}: the retry on a new connection is answered {ANSWER!r}, the client returned "
        f"{outcome.status} {outcome.body[:80]!r}")

