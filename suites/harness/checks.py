"""Checks that refusal scenarios share: the proof that a refusal is the client's (`control_passes`)
and, for api scenarios, that nothing was sent before it (`expect_refused_before_sending`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from h1conform.servers import RecordedRequest, ScriptedServer, expect_request, send
from h1conform.suites.harness.errors import HarnessError
from h1conform.suites.harness.waiting import client_closed
from h1conform.suites.harness.wire import Unsupported

# What a refusal row's verdict is when its control fails.
CONTROL_FAILED = "control failed: the adapter or client cannot run this scenario"
_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def clean_request_passes(make_server: Callable[[], ScriptedServer], client: Any, how: str = "request") -> None:
    """The control of the injection scenarios (see `control_passes`): a clean request sent through
    the api (`start_request`'s `how`) arrives as given."""
    def control(server: ScriptedServer) -> None:
        sent = sent_through_api(server, client, how, "GET", "/clean", (("X-Clean", "v"),))
        assert (sent.method, sent.target, sent.header_values("x-clean")) == (b"GET", b"/clean", [b"v"]), (
            f"a clean request is sent as given; the server read {sent.raw[:300]!r}")

    control_passes(make_server, control)


def start_request(conn: Any, how: str, method: str, url: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
    """Send a request through the http.client API: `how` is "request" (request()) or anything
    else (putrequest(), putheader() for each field, endheaders())."""
    if how == "request":
        conn.request(method, url, headers=dict(headers))
        return
    conn.putrequest(method, url)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders()


def sent_through_api(server: ScriptedServer, client: Any, how: str, method: str, url: str,
                     headers: tuple[tuple[str, str], ...] = ()) -> RecordedRequest:
    """What the server received from a request sent by `start_request` (answered 200, read whole)."""
    server.add_connection(expect_request(strict=False), send(_OK))
    conn = client.connect(server)
    start_request(conn, how, method, url, headers)
    conn.getresponse().read()
    return server.requests[0]


def control_passes(make_server: Callable[[], ScriptedServer], control: Callable[[ScriptedServer], None]) -> None:
    """The ground a refusal row stands on: the implementation under test runs the scenario's valid
    variant, `control(server)` (the valid row's own exchange and check, on a server of its own so
    that what the refusal row's server receives stays the refusal's alone).

    A client that refuses every request, or an adapter that fails on every request, would "refuse"
    the invalid variant too: its refusal proves nothing. So a failing control makes the refusal
    row's verdict `error` (a HarnessError), never `pass` nor the client's `fail`; the valid row
    itself reports what went wrong.
    """
    try:
        control(make_server())
    except Unsupported:
        raise  # the refusal row needs what the control needs: unsupported too
    except Exception as failed:  # an assertion, a HarnessError naming the adapter, an IndexError...
        first_line = (str(failed).strip().splitlines() or [type(failed).__name__])[0]
        raise HarnessError(f"{CONTROL_FAILED} (its valid variant failed: {first_line})") from failed


def expect_refused_before_sending(server: ScriptedServer, conn: Any, start: Callable[[], object],
                                  refusal: type[BaseException] | tuple[type[BaseException], ...],
                                  rule: str) -> None:
    """`start()` (building a request through the http.client API) must raise `refusal` while the
    server has received nothing. If it does not raise, the response is read so that the server
    has recorded what was sent, and the failure quotes `rule` and those bytes."""
    try:
        start()
    except refusal:
        pass
    else:
        conn.getresponse().read()
        raise AssertionError(f"{rule}; the client sent {server.requests[0].raw!r}")
    # Bytes sent just before the refusal may still be on their way: close the client's side and
    # let the server see that close, after which it has recorded everything that was sent.
    conn.close()
    for record in server.connections:
        client_closed(record)
    assert not server.bytes_received, f"{rule}; the server received {bytes(server.connections[0].received)!r}"
