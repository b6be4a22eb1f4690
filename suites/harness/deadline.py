"""The scenario deadline: a client that stops making progress ends as a timeout, not a hung run.

It times the client, not the harness. Its clock restarts whenever bytes move between the client and
the scenario's servers (a `Watch` says when they last moved), so a scenario may take as long as it
needs while things happen; it stops while the harness works (`deadline_paused()`: starting a
server, making certificates, waiting on a server's thread); and it fires after `budget` seconds
without progress, with a reason saying what the client was doing then (the watch's `activity()`).

A Hypothesis property gets a deadline per example (`scenario_deadline`), so that its examples and
Hypothesis's own work between them do not add up against one budget.
"""

from __future__ import annotations

import functools
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol

# If the client swallows the first interruption (a retry loop, a bare except), interrupt again.
REPEAT_INTERVAL = 0.5
# Interrupting Hypothesis's own code (its draws, its gc callback) would break Hypothesis rather
# than stop the client: when the alarm lands there, it is tried again this much later.
RETRY_OUTSIDE_HYPOTHESIS = 0.05


class ScenarioTimeout(BaseException):
    """The client made no progress within the deadline.

    A BaseException, like KeyboardInterrupt, so that a client's `except Exception` retry loop
    cannot swallow it.
    """


class Watch(Protocol):
    """What the deadline watches: when the client last made progress, and what it is doing."""

    def last_progress(self) -> float | None:
        """time.monotonic() of the client's last progress (None: none yet). Called in a signal
        handler: it must take no lock."""

    def activity(self) -> str:
        """What the client is doing, for the timeout's reason ("waiting for the status line")."""


class _NoWatch:
    def last_progress(self) -> float | None:
        return None

    def activity(self) -> str:
        return "running"


@dataclass
class _Running:
    budget: float
    watch: Watch
    restarted: float  # the clock's start: entering the deadline, or leaving a pause
    pauses: int = 0

    def idle(self, now: float) -> float:
        progress = self.watch.last_progress()
        return now - max(self.restarted, progress if progress is not None else self.restarted)

    def arm(self, seconds: float) -> None:
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))


_running: _Running | None = None  # the innermost running deadline (the main thread's)


def deadline_supported() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def deadline(budget: float, watch: Watch | None = None) -> Iterator[None]:
    """Interrupt the block with ScenarioTimeout once the client has made no progress for `budget`
    seconds (a no-op with a budget of 0, or where signals cannot)."""
    global _running
    if budget <= 0 or not deadline_supported():
        yield
        return
    state = _Running(budget, watch or _NoWatch(), time.monotonic())

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if state.pauses:
            return
        if _in_hypothesis(frame):
            state.arm(RETRY_OUTSIDE_HYPOTHESIS)
            return
        idle = state.idle(time.monotonic())
        if idle < budget:  # bytes moved since the alarm was set: wait for the rest of a budget
            state.arm(budget - idle)
            return
        state.arm(REPEAT_INTERVAL)
        raise ScenarioTimeout(f"the client made no progress for {budget:g} s while "
                              f"{state.watch.activity()} (--scenario-timeout)")

    outer, previous = _running, signal.signal(signal.SIGALRM, on_alarm)
    _running = state
    state.arm(budget)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _running = outer
        if outer is not None and not outer.pauses:  # an enclosing deadline restarts from here
            outer.restarted = time.monotonic()
            outer.arm(outer.budget)


@contextmanager
def deadline_paused() -> Iterator[None]:
    """Stop the running deadline's clock for the block (the harness's own work inside a scenario,
    such as starting a server or waiting on its thread); it restarts, whole, after the block."""
    state = _running
    if state is None or not deadline_supported():
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    state.pauses += 1
    try:
        yield
    finally:
        state.pauses -= 1
        if not state.pauses and _running is state:
            state.restarted = time.monotonic()
            state.arm(state.budget)


@contextmanager
def scenario_deadline(test_function: object, budget: float, watch: Watch) -> Iterator[None]:
    """The deadline of a scenario's call: one over the whole call, or, for a Hypothesis property,
    one per example (Hypothesis calls `test_function.hypothesis.inner_test` once per example)."""
    handle: Any = getattr(test_function, "hypothesis", None)
    inner: Callable[..., Any] | None = getattr(handle, "inner_test", None)
    if inner is None or budget <= 0:
        with deadline(budget, watch):
            yield
        return

    @functools.wraps(inner)
    def each_example(*args: Any, **kwargs: Any) -> Any:
        with deadline(budget, watch):
            return inner(*args, **kwargs)

    handle.inner_test = each_example
    try:
        yield
    finally:
        handle.inner_test = inner


def _in_hypothesis(frame: FrameType | None) -> bool:
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return isinstance(module, str) and (module == "hypothesis" or module.startswith("hypothesis."))
