"""Waits between a scenario and its servers' threads that no machine's speed can turn into a verdict.

    harness_wait(done.wait, "the server did not end the connection")   # a server thread's step
    assert client_closed(server.connection(0)), "the client closes ..."  # a check of the client

A scenario waits on a server's thread only for something certain to happen (the thread reaching a
step the client has already caused): `harness_wait` gives it the harness's generous bound, with the
deadline paused (the harness's time is not the client's), and running out is a `HarnessError`, the
verdict `error`, never the client's `fail`. Whether the client closed a connection is asked of the
kernel at the moment of the check (`client_closed`), never of a wait that a slow thread could lose.
"""

from __future__ import annotations

from collections.abc import Callable

from h1conform.servers import ConnectionRecord
from h1conform.suites.harness.deadline import deadline_paused
from h1conform.suites.harness.errors import HARNESS_WAIT, HarnessError


def harness_wait(wait: Callable[[float], bool], what_failed: str) -> None:
    """Call `wait(HARNESS_WAIT)` (an Event's wait, a server's wait_idle...) outside the deadline;
    if it returns False, the harness is broken: HarnessError("harness: " + what_failed)."""
    with deadline_paused():
        if not wait(HARNESS_WAIT):
            raise HarnessError(f"harness: {what_failed} (waited {HARNESS_WAIT:g} s)")


def client_closed(record: ConnectionRecord) -> bool:
    """True if the client has closed (FIN or reset) the connection by now, whatever the machine's load.

    Call it once the client's action that should (or should not) close has returned: the kernel
    already knows. When it did close, this also waits for the server's thread to have recorded the
    close, so that everything the client sent before it is in the record too.
    """
    if not record.closed_by_client_now():
        return False
    harness_wait(record.wait_client_close, f"the server did not record the client's close of connection {record.index}")
    return True
