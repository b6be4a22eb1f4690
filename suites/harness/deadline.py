"""A per-scenario deadline, so that a client that hangs ends as a timeout instead of a hung run."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# If the client swallows the first interruption (a retry loop, a bare except), interrupt again.
REPEAT_INTERVAL = 0.5


class ScenarioTimeout(BaseException):
    """The scenario did not finish in time.

    A BaseException, like KeyboardInterrupt, so that a client's `except Exception` retry loop
    cannot swallow it.
    """


def deadline_supported() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block with ScenarioTimeout after `seconds` (a no-op where signals cannot)."""
    if seconds <= 0 or not deadline_supported():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        signal.setitimer(signal.ITIMER_REAL, REPEAT_INTERVAL)
        raise ScenarioTimeout(f"no result within {seconds:g} s: the client hangs (--scenario-timeout)")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def deadline_paused() -> Iterator[None]:
    """Stop the running deadline's clock for the block (session setup done inside a scenario,
    such as starting a shared proxy), then resume it with the time it had left."""
    if not deadline_supported():
        yield
        return
    remaining, _ = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if remaining > 0:
            signal.setitimer(signal.ITIMER_REAL, remaining)
