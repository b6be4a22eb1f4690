"""Keeping whatever a client does inside its own scenario.

A client under test runs in the harness's process, so a fault of its could reach the harness:

- A `BaseException` that is no failure to pytest: `KeyboardInterrupt` stops the whole run, and
  anything that is not an `Exception` (KeyboardInterrupt, SystemExit, the deadline's
  ScenarioTimeout...) escaping a fixture's teardown leaves pytest's setup state half torn down.
  Then the fixtures whose finalizers never ran keep their cached values, and the next scenarios
  get the closed server of the faulty one (the "ConnectionRefusedError in the next 8 scenarios"
  after a client whose close() hung). So client code runs inside `client_code()`, which turns
  such an exception into a `ClientFault`: an ordinary Exception carrying the scenario's verdict
  (`timeout` or `error`) and its reason.
- A real Ctrl-C from the person running pytest must still stop the run, while a client's own
  `raise KeyboardInterrupt` must not. While client code runs, a SIGINT handler records that the
  user interrupted; a KeyboardInterrupt without that record is the client's.
- A client that swallows every BaseException (`except BaseException: pass` in a retry loop)
  swallows the deadline's ScenarioTimeout each time it repeats. After it has swallowed it
  `ESCALATE_AFTER` times, the interruption is escalated: a trace function is set on the client's
  frames, and it raises ScenarioTimeout at the next line the client runs. A line inside an
  `except` block is outside its own `try`, so the exception leaves the loop; CPython drops a trace
  function that raises, so it is set again at each repeat of the deadline until the client's code
  has been left. Only the client's frames are traced (never pytest's, pluggy's, Hypothesis's or the
  harness's), and only after the deadline has fired: a well-behaved client never pays for it.
- A client may leave threads running after it closed everything. They are its scenario's fault
  (`ThreadWatch`): that scenario gets the verdict `error`, and what those threads raise later is
  written to stderr, not charged to whichever scenario runs then.
- An alarm of the deadline must not land in pytest's or the harness's code (in a teardown, a
  ScenarioTimeout there would leave fixtures half torn down too): in a teardown (`harness_code`)
  and between client sections, alarms are held back, and the next client section gets them.

The deadline itself (suites/harness/deadline.py) decides when the client has hung; this module
only stands between its SIGALRM handler and the client's code.
"""

from __future__ import annotations

import signal
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest

from h1conform.servers import ServerThread
from h1conform.suites.harness.deadline import ScenarioTimeout

# The deadline's interruptions a client may swallow before the next one is forced out of it.
ESCALATE_AFTER = 3
# How soon an alarm held back between client sections is given to the next section.
HELD_ALARM_DELAY = 0.05

# Modules whose frames are never interrupted by the escalation: the harness and the test runner.
# Everything else on the stack below them is the client (its module and what it calls).
_HARNESS_MODULES = ("h1conform.suites", "h1conform.servers", "_pytest", "pluggy", "pytest", "hypothesis")

# pytest's own outcomes (skip, fail, xfail, exit) pass through unchanged.
_OUTCOMES: tuple[type[BaseException], ...] = (pytest.skip.Exception, pytest.fail.Exception,
                                               pytest.xfail.Exception, pytest.exit.Exception)

Handler = Callable[[int, FrameType | None], Any]


class ClientFault(Exception):
    """A client's fault that is no plain failure (a BaseException it raised, a timeout while it
    closed), carried as an Exception so that pytest records it and goes on.

    `verdict` is the scenario's verdict in results files: "timeout" or "error".
    """

    def __init__(self, verdict: str, reason: str) -> None:
        super().__init__(reason)
        self.verdict = verdict
        self.reason = reason


class _UserInterrupts:
    """Whether the person running pytest pressed Ctrl-C (SIGINT) while a client's code ran."""

    def __init__(self) -> None:
        self.seen = False

    def handle(self, previous: Any) -> Handler:
        def on_sigint(signum: int, frame: FrameType | None) -> Any:
            self.seen = True
            if callable(previous):
                return previous(signum, frame)
            if previous == signal.SIG_IGN:
                return None
            raise KeyboardInterrupt
        return on_sigint


_user = _UserInterrupts()


def user_interrupted() -> bool:
    """True once the user has interrupted the run (SIGINT while a client's code ran)."""
    return _user.seen


def is_user_interrupt(exc: BaseException) -> bool:
    return isinstance(exc, KeyboardInterrupt) and _user.seen


def contained(exc: BaseException, doing: str, *, closing: bool = False) -> BaseException | None:
    """What to raise in place of `exc`, raised by the client's code while `doing`; None: `exc` itself.

    `closing`: the client was closing its connections in a fixture's teardown, where a timeout
    must become an Exception too (a ScenarioTimeout during a test's call is recorded as it is).
    """
    if _user.seen and not isinstance(exc, KeyboardInterrupt):
        # The user pressed Ctrl-C and the client swallowed it: whatever ends its code now (the
        # deadline forcing it out, say) still stops the run.
        return KeyboardInterrupt(f"interrupted by the user while the client was {doing}")
    if isinstance(exc, (Exception, *_OUTCOMES)) or is_user_interrupt(exc):
        return None
    if isinstance(exc, ScenarioTimeout):
        return ClientFault("timeout", str(exc)) if closing else None
    detail = describe(exc)
    return ClientFault("error", f"the client raised {detail} while {doing}: a client must not raise "
                                f"{type(exc).__name__} (it was kept inside this scenario)")


def describe(exc: BaseException) -> str:
    """`Type: message` of an exception, the message repr()'d if it is not plain printable text."""
    try:
        message = str(exc)
    except Exception as failed:  # noqa: BLE001 - a client's __str__ may raise anything
        message = f"<str() failed: {type(failed).__name__}>"
    if not message.isprintable():
        message = repr(message)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class _Alarms:
    """Stands between SIGALRM (the deadline's handler) and the client's code.

    Installed while a client section runs, when a deadline's handler is in place; left installed
    (holding alarms back) when the section ends, until the deadline restores its own predecessor.
    """

    def __init__(self) -> None:
        self.deadline_handler: Handler | None = None
        self.in_client = False
        self.held = False
        self.interruptions = 0
        self.escalated = False
        self.saved_trace: Any = None
        self.last_timeout = ""

    def enter(self) -> None:
        if not _signals_usable():
            return
        self.in_client = True
        if signal.getsignal(signal.SIGALRM) != self.on_alarm:
            self.deadline_handler = None
            self.adopt()  # the deadline running now, if there is one
            return
        self.interruptions = 0
        if self.held:
            # An alarm came between two client sections: the scenario's time was up then.
            self.held = False
            signal.setitimer(signal.ITIMER_REAL, HELD_ALARM_DELAY)

    def adopt(self) -> None:
        """Stand between the running deadline and the client's code, if not yet: one that was
        running when the client section began, or one entered since (a Hypothesis property gets a
        deadline per example)."""
        if not self.in_client or not _signals_usable():
            return
        current = signal.getsignal(signal.SIGALRM)
        if current != self.on_alarm and callable(current):
            self.deadline_handler, self.held, self.interruptions = current, False, 0
            signal.signal(signal.SIGALRM, self.on_alarm)

    def hold(self) -> bool:
        """Stand between a running deadline and the harness's code (held mode); False if there is
        no deadline, or something already stands there."""
        if not _signals_usable():
            return False
        current = signal.getsignal(signal.SIGALRM)
        if current == self.on_alarm or not callable(current):
            return False
        self.deadline_handler, self.held, self.in_client = current, False, False
        signal.signal(signal.SIGALRM, self.on_alarm)
        return True

    def release(self) -> None:
        """Give SIGALRM back to the deadline (an alarm still held is dropped: the harness is done)."""
        if self.deadline_handler is not None and signal.getsignal(signal.SIGALRM) == self.on_alarm:
            signal.signal(signal.SIGALRM, self.deadline_handler)
        self.held = False

    def leave(self) -> None:
        self.in_client = False
        if self.escalated:
            self.escalated = False
            sys.settrace(self.saved_trace)

    def on_alarm(self, signum: int, frame: FrameType | None) -> None:
        handler = self.deadline_handler
        if handler is None:
            return
        if not self.in_client:
            self.held = True  # not the client's code: never interrupt the harness or pytest
            return
        try:
            handler(signum, frame)
        except ScenarioTimeout as timeout:
            self.interruptions += 1
            self.last_timeout = str(timeout)
            if self.interruptions >= ESCALATE_AFTER:
                self.escalate(frame)
            raise

    def escalate(self, frame: FrameType | None) -> None:
        if not self.escalated:
            self.saved_trace = sys.gettrace()
            self.escalated = True
        sys.settrace(self.trace)
        while frame is not None and not _is_harness(frame):
            if _is_client(frame):
                frame.f_trace = self.trace
            frame = frame.f_back

    def trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        # Only at a line of the client's own code: CPython drops a trace function that raises, so
        # the one raise it gets must land where the client swallows (its `except` block), not in
        # the stdlib's frames the interruption is still unwinding (their finally blocks).
        if not _is_client(frame):
            return None
        if event == "line":
            raise ScenarioTimeout(f"{self.last_timeout}; the client swallowed the interruption "
                                  f"{self.interruptions} times (a catch-all except?) and was stopped by force")
        return self.trace


_alarms = _Alarms()


def _signals_usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _module(frame: FrameType) -> str:
    module = frame.f_globals.get("__name__", "")
    return module if isinstance(module, str) else ""


def _is_harness(frame: FrameType) -> bool:
    module = _module(frame)
    return any(module == name or module.startswith(name + ".") for name in _HARNESS_MODULES)


def _is_client(frame: FrameType) -> bool:
    """The client's own code: neither the harness nor the standard library (which swallows no
    BaseException, and whose cleanup must run)."""
    return not _is_harness(frame) and _module(frame).partition(".")[0] not in sys.stdlib_module_names


@contextmanager
def client_code(doing: str, *, closing: bool = False) -> Iterator[None]:
    """Run the client's code (a scenario's call, or closing its connections) with its faults
    kept inside the scenario: see the module's docstring."""
    previous_sigint = signal.getsignal(signal.SIGINT) if _signals_usable() else None
    if previous_sigint is not None:
        signal.signal(signal.SIGINT, _user.handle(previous_sigint))
    _alarms.enter()
    try:
        yield
    except BaseException as exc:
        replacement = contained(exc, doing, closing=closing)
        if replacement is None:
            raise
        raise replacement from exc
    finally:
        _alarms.leave()
        if previous_sigint is not None:
            signal.signal(signal.SIGINT, previous_sigint)


def client_starts() -> None:
    """Called where the harness hands the client a connection or session (suites/harness/fixtures.py):
    a deadline entered since the client section began (per Hypothesis example) is stood behind
    too, so that a client swallowing its interruptions there is also stopped by force."""
    _alarms.adopt()


@contextmanager
def harness_code() -> Iterator[None]:
    """The harness's own code while a deadline runs (a scenario's teardown): an alarm that fires in
    it is held back for the next client section inside it (`client_code`), never raised in the
    harness's or pytest's code, where a ScenarioTimeout would leave fixtures half torn down."""
    holding = _alarms.hold()
    try:
        yield
    finally:
        if holding:
            _alarms.release()


def close_each(items: list[Any], close: Callable[[Any], None]) -> None:
    """close(item) for every item (popped from the end), even when some fail; then raise the first
    problem. A user's Ctrl-C stops at once."""
    problem: BaseException | None = None
    while items:
        item = items.pop()
        try:
            close(item)
        except BaseException as exc:
            if is_user_interrupt(exc):
                raise
            problem = problem or exc
    if problem is not None:
        raise problem


class ThreadWatch:
    """The threads a client starts and leaves running: made when the client's fixture is set up,
    checked when it has closed everything."""

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.before = set(threading.enumerate())

    def check(self) -> None:
        """Raise ClientFault("error") if threads started since then are still running; what they
        raise from now on is not charged to other scenarios."""
        left = [thread for thread in threading.enumerate()
                if thread not in self.before and thread.is_alive() and not isinstance(thread, ServerThread)]
        if not left:
            return
        for thread in left:
            _left_running[thread] = self.scenario
        _route_thread_exceptions()
        names = ", ".join(sorted(thread.name for thread in left))
        raise ClientFault("error", f"the client left {len(left)} thread(s) running after closing everything: {names}")


# Threads a client left running, with the scenario that left them.
_left_running: weakref.WeakKeyDictionary[threading.Thread, str] = weakref.WeakKeyDictionary()


def _route_thread_exceptions() -> None:
    """Put `_on_thread_exception` before the current threading.excepthook (pytest's, which charges
    an exception to the test running when it happens), once per hook."""
    current = threading.excepthook
    if getattr(current, "routes_left_threads", False):
        return

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        scenario = _left_running.get(args.thread) if args.thread is not None else None
        if scenario is None:
            current(args)
            return
        exc = args.exc_value if args.exc_value is not None else args.exc_type()
        sys.stderr.write(f"h1conform: a thread that the client left running in {scenario} raised "
                         f"{describe(exc)} (charged to that scenario, not to the one running now)\n")

    on_thread_exception.routes_left_threads = True  # type: ignore[attr-defined]
    threading.excepthook = on_thread_exception
