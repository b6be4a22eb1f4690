"""Waits between a scenario and its servers' threads that no machine's speed can turn into a verdict.

    harness_wait(done.wait, "the server did not end the connection")   # a server thread's step
    assert client_closed(server.connection(0)), "the client closes ..."  # a check of the client
    assert connections_opened(server) == 1, "connect() opens the connection"

A scenario waits on a server's thread only for something certain to happen (the thread reaching a
step the client has already caused): `harness_wait` gives it the harness's generous bound, with the
deadline paused (the harness's time is not the client's), and running out is a `HarnessError`, the
verdict `error`, never the client's `fail`. Whether the client closed a connection (`client_closed`),
and how many it opened (`connections_opened`), is asked of the kernel, not of a server thread that a
loaded machine runs late, once the client's action has returned, with a grace for its packets to
arrive.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from h1conform.servers import ConnectionRecord, ScriptedServer
from h1conform.servers.connection import BARRIER_COVERS_EVERY_CPU, loopback_barrier
from h1conform.suites.harness.deadline import deadline_paused
from h1conform.suites.harness.errors import HARNESS_WAIT, HarnessError

# How long a close or a connection the client has already made may take to reach the server's
# socket once a loopback packet sent after it has (servers.connection.loopback_barrier). It is
# only waited out when the answer is "no" (a control that keeps its connection, a failing client).
# The kernel hands loopback packets over in order, per CPU. Where the barrier went through every
# CPU's queue, what is left is a packet parked on a socket its server thread holds at that moment
# (it is handled when the thread lets go, within a system call); elsewhere a thread that moved to
# another CPU meanwhile may need much longer.
ARRIVAL_GRACE = 0.05 if BARRIER_COVERS_EVERY_CPU else 0.2
GRACE_POLL = 0.005


def harness_wait(wait: Callable[[float], bool], what_failed: str) -> None:
    """Call `wait(HARNESS_WAIT)` (an Event's wait, a server's wait_idle...) outside the deadline;
    if it returns False, the harness is broken: HarnessError("harness: " + what_failed)."""
    with deadline_paused():
        if not wait(HARNESS_WAIT):
            raise HarnessError(f"harness: {what_failed} (waited {HARNESS_WAIT:g} s)")


def client_closed(record: ConnectionRecord) -> bool:
    """True if the client has closed (FIN or reset) the connection by now, whatever the machine's load.

    Call it once the client's action that should (or should not) close has returned. Its close is
    then on its way: asked of the kernel, not of the server's thread, once a loopback packet sent
    after it has arrived. When it did close, this also waits for the server's thread to have
    recorded the close, so that everything the client sent before it is in the record too.
    """
    with deadline_paused():
        arrived = record.closed_by_client_now() or _after_barrier(record.closed_by_client_now)
    if not arrived:
        return False
    harness_wait(record.wait_client_close, f"the server did not record the client's close of connection {record.index}")
    return True


def connections_opened(server: ScriptedServer, at_least: int = 1) -> int:
    """How many connections the client has opened to `server` by now, whatever the machine's load:
    those the kernel holds and the server's thread has not accepted yet count too, and while fewer
    than `at_least`, once a loopback packet sent after them has arrived."""
    def counted() -> int:
        count = server.connections_opened(HARNESS_WAIT)
        if count is None:
            raise HarnessError(f"harness: the server did not accept the connections it holds (waited {HARNESS_WAIT:g} s)")
        return count

    with deadline_paused():
        if counted() < at_least:
            _after_barrier(lambda: counted() >= at_least)
        return counted()


def _after_barrier(arrived: Callable[[], bool]) -> bool:
    """Whether `arrived()` turns true once the packets the client already sent have arrived."""
    if not loopback_barrier(HARNESS_WAIT):
        raise HarnessError(f"harness: loopback delivered no packet within {HARNESS_WAIT:g} s")
    # Polled: no event says that a packet reached the kernel's socket, and this wait is the only
    # one that is not certain to end well (a client that did not close never will).
    end = time.monotonic() + ARRIVAL_GRACE
    while not arrived():
        if time.monotonic() >= end:
            return False
        time.sleep(GRACE_POLL)
    return True
