"""Checks that api scenarios share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from h1conform.servers import ScriptedServer
from h1conform.suites.harness.waiting import client_closed


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
