"""Leaks, attributed: what a client leaves open is its own scenario's failure, and the failure names it.

Python warns (a ResourceWarning) when an unclosed socket, SSL socket, file or event-loop transport
is freed. Under the suite's `filterwarnings = error` that warning is raised inside the object's
finaliser, where nothing can catch it: it goes to `sys.unraisablehook`, and pytest reports it in
whichever test is running when the object happens to be freed. An object held in a reference
cycle is freed only when the garbage collector next runs, often scenarios later: such a warning
says nothing about the scenario it lands in (suites/harness/results.py files it as unattributable,
verdict `error`).

So while a scenario's client code runs (its call, and the teardown that closes its connections),
`attributed()` stands in front of `sys.unraisablehook` and records every ResourceWarning, and at
its end forces a garbage collection, so that what the scenario left unclosed in a cycle warns
inside it. What it recorded is raised as `LeakFound`: the scenario's `fail` (`fail-should` at
SHOULD), naming each leaked object. Scenarios of suites/test_leaks.py call `check_released` at the
end of an error path: the same collection, then the servers' side (every connection the client
opened has been closed by it, as the kernel says), the failure naming the path.

Speed: a full collection walks every object of the process (some 90,000 in a suite run: about
45 ms), which once per scenario would double the suite's time. So each scenario's call starts at
`boundary()`: one collection of what earlier code left, not attributed to the scenario (what it
finds is written to stderr, unattributable), then `gc.freeze()`, which moves every object alive
then where no collection walks. The scenario's collections then walk only the objects created
since, a fraction of a millisecond. Frozen objects that later die in a cycle (a scenario's
servers, dropped at its teardown) wait for the next thaw: every THAW_EVERY scenarios, and when the
session ends (`release()`), everything is thawed and collected, unattributed again.

What a scenario's own collections cannot see: an unclosed object still referenced when its
client code ends (by a client's global pool, or by the traceback of a failure pytest keeps) and
freed later. That is found at a later boundary, or by pytest at the session's end.
"""

from __future__ import annotations

import gc
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from h1conform.suites.harness.deadline import deadline_paused
from h1conform.suites.harness.waiting import client_closed

# Scenarios between two thaws: bounds the memory that frozen, dead cycles hold, at the cost of one
# full collection (about 45 ms) per THAW_EVERY scenarios. Measured on the whole suite (2,576 items
# on the reference, 2 workers): the workers' peak memory is the same when they never thaw.
THAW_EVERY = 500
LEAK_TEXT_LIMIT = 200  # characters of one leaked object's description


class LeakFound(AssertionError):
    """The client left something open: the scenario's failure (an assertion: `fail`, or
    `fail-should` for a SHOULD scenario), whatever phase found it."""


class _Recorder:
    """Stands in front of sys.unraisablehook: ResourceWarnings are recorded, the rest passes on."""

    def __init__(self, previous: Callable[[Any], object]) -> None:
        self.previous = previous
        self.leaked: list[str] = []

    def hook(self, unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, ResourceWarning):
            self.leaked.append(_describe(unraisable.exc_value))
        else:
            self.previous(unraisable)


def _describe(warning: ResourceWarning) -> str:
    """"unclosed <socket.socket ...>", as the warning says it, printable and short."""
    text = str(warning)
    if not text.isprintable():
        text = repr(text)
    return text if len(text) <= LEAK_TEXT_LIMIT else text[: LEAK_TEXT_LIMIT - 3] + "..."


_active: _Recorder | None = None  # the recorder of the client code running now, if any
_scenarios_since_thaw = 0


def boundary(scenario: str) -> None:
    """Where `scenario`'s client code is about to start: collect what earlier code left and freeze
    the survivors; every THAW_EVERY calls, thaw everything first, so that frozen objects that died
    since are freed. What this collection finds unclosed is no scenario's to answer for (an
    earlier one left it, or the harness): it is written to stderr, and changes no verdict."""
    global _scenarios_since_thaw
    _scenarios_since_thaw += 1
    if _scenarios_since_thaw >= THAW_EVERY:
        _scenarios_since_thaw = 0
        gc.unfreeze()
    recorder = _Recorder(sys.unraisablehook)
    sys.unraisablehook = recorder.hook
    try:
        leaked = _collect(recorder)
    finally:
        sys.unraisablehook = recorder.previous
    gc.freeze()
    if leaked:
        sys.stderr.write(f"h1conform: {_listed(leaked)}, freed before {scenario} ran: left by an earlier test "
                         "or scenario, not charged to any (unattributable)\n")


def release() -> None:
    """The session is over: thaw everything, so that pytest's last collection sees it all."""
    gc.unfreeze()


@contextmanager
def attributed() -> Iterator[None]:
    """Client code whose leaks are its scenario's: ResourceWarnings raised while it runs, and in a
    collection forced at its end, are recorded; then LeakFound names them. If the code raised, the
    leaks are a note on its exception (whose verdict stands)."""
    global _active
    recorder = _Recorder(sys.unraisablehook)
    outer, _active = _active, recorder
    sys.unraisablehook = recorder.hook
    try:
        yield
    except BaseException as exc:
        leaked = _collect(recorder)
        if leaked:
            exc.add_note(f"and the client {_listed(leaked)}")
        raise
    else:
        leaked = _collect(recorder)
    finally:
        if sys.unraisablehook == recorder.hook:
            sys.unraisablehook = recorder.previous
        _active = outer
    if leaked:
        raise LeakFound(f"the client {_listed(leaked)} (resource hygiene: what a client opens, it closes; "
                        "RFC 9112 9.5: prompt closure lets resources be reclaimed)")


def _collect(recorder: _Recorder) -> list[str]:
    """Force a collection; what `recorder` has recorded so far, forgotten by it."""
    with deadline_paused(), warnings.catch_warnings():
        # A finaliser's ResourceWarning raised, so that it reaches the recorder, whatever the
        # filters of the run (by default Python ignores ResourceWarning).
        warnings.simplefilter("error", ResourceWarning)
        gc.collect()
    leaked, recorder.leaked = recorder.leaked, []
    return leaked


def _listed(leaked: list[str]) -> str:
    shown = "; ".join(f"leaked {text}" for text in leaked[:3])
    return shown + (f"; and {len(leaked) - 3} more" if len(leaked) > 3 else "")


def check_released(path: str, *servers: Any) -> None:
    """The end of an error path (`path`, e.g. "IncompleteRead"), once the caller has closed or
    dropped what it held: nothing of the client's is left open. Raise LeakFound naming the path
    and what was left: an object freed unclosed (forced collection), or a connection to one of
    `servers` the client has not closed (no FIN or RST reached the server)."""
    recorder = _active
    if recorder is None:
        raise RuntimeError("check_released() runs inside a scenario's client code (suites/plugin.py)")
    leaked = _collect(recorder)
    if leaked:
        raise LeakFound(f"{_listed(leaked)} after {path}")
    for server in servers:
        for record in server.connections:
            if not client_closed(record):
                raise LeakFound(f"connection {record.index} to {server.host}:{server.port} left open after {path}: "
                                "the server saw no FIN or RST from the client")
