"""Fault injection: whatever a client does in one scenario stays in that scenario.

Each test runs, in a pytest subprocess, one faulty scenario followed by well-behaved ones, against
an implementation (the stdlib's http.client) with one fault that strikes only in the faulty
scenario (its request target starts with /fault). It checks the faulty scenario's own verdict and
reason, and that every later scenario gets the verdict it gets in a clean run, where the faulty one
is left out. The later scenarios pass and fail (a genuine stdlib breach), so that a verdict
changed either way is seen; each one opens its own server, so a stale server (the faulty
scenario's, reused) shows as a changed verdict too.

The subprocess limits are bounds for a broken harness only, never what a test measures: the
scenario timeout is 1 s, and a run takes a few seconds.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

from h1conform.suites.harness import containment
from h1conform.suites.harness.deadline import ScenarioTimeout

SUBPROCESS_TIMEOUT = 120  # seconds; only a run the harness lets hang gets near it
TIMEOUT_ARGS = ("--scenario-timeout=1",)

# The stdlib's http.client with one fault, chosen by FAULT, in connections that requested /fault.
FAULTY_MODULE = r'''
import socket
import threading
from http.client import *
from http.client import HTTPConnection as _HTTPConnection, HTTPException

FAULT = {fault!r}
# Invalid text of every kind: lone surrogates (one of them invalid UTF-8 decoded with
# surrogateescape), NUL, other control characters, a terminal escape sequence.
HOSTILE = "bad \udc80 text " + b"\xff\xfe".decode("utf-8", "surrogateescape") + " \ud800 nul\x00 bell\x07 \x1b[31mred"


def hang():
    threading.Event().wait()


def swallow_everything():
    while True:
        try:
            threading.Event().wait()
        except BaseException:
            pass


def leak_socket():
    socket.socket()  # never closed: a ResourceWarning when it is freed


LATER_REQUEST = threading.Event()  # set by the first request after the faulty scenario


def leak_thread():
    def background():
        LATER_REQUEST.wait()
        raise RuntimeError("a background thread of the client failed, in a later scenario")

    threading.Thread(target=background, name="client-background", daemon=True).start()


def raise_(exc):
    def fault():
        raise exc
    return fault


FAULTS = {{
    "hang-in-getresponse": hang,
    "swallow-base-exception": swallow_everything,
    "keyboard-interrupt": raise_(KeyboardInterrupt()),
    "system-exit": raise_(SystemExit(3)),
    "memory-error": raise_(MemoryError("cannot allocate 4611686018427387904 bytes")),
    "leak-socket": leak_socket,
    "leak-thread": leak_thread,
    "hostile-text": raise_(HTTPException(HOSTILE)),
    "hang-in-close": lambda: None,
    "wait-for-sigint": lambda: (print("CLIENT WAITING", flush=True), hang()),
}}


class HTTPConnection(_HTTPConnection):
    faulty = False

    def request(self, method, url, *args, **kwargs):
        self.faulty = self.faulty or url.startswith("/fault")
        if not self.faulty:
            LATER_REQUEST.set()
        return super().request(method, url, *args, **kwargs)

    def getresponse(self):
        if self.faulty:
            FAULTS[FAULT]()
        return super().getresponse()

    def close(self):
        if self.faulty and FAULT == "hang-in-close":
            hang()
        super().close()
'''

SCENARIOS = r'''
from h1conform.servers import close, expect_request, respond, send
from h1conform.suites.harness import (API, API_LEVEL, MUST, SHOULD, WIRE, ErrorKind, expect_failure,
                                      expect_response, scenario)

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@scenario("demo.faulty", refs=["http.client.HTTPConnection"], level=API_LEVEL, profile=API)
def test_0_faulty(server, client):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("GET", "/fault")
    assert conn.getresponse().read() == b"hello"


@scenario("demo.wire-pass", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_1_wire_pass(server, wire):
    server.add_connection(respond(OK))
    assert expect_response(wire.request("GET", server.url("/"))).body == b"hello"


@scenario("demo.api-pass", refs=["http.client.HTTPResponse.read"], level=API_LEVEL, profile=API)
def test_2_api_pass(server, client):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"hello"


@scenario("demo.fail", refs=["RFC9112-6.3-p2-s4"], level=MUST, profile=WIRE)
def test_3_fail(server, wire):
    # Two different Content-Length values: http.client takes the first one (a genuine breach).
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"),
                          close())
    expect_failure(wire.request("GET", server.url("/")), ErrorKind.PROTOCOL, ErrorKind.INCOMPLETE)


@scenario("demo.fail-should", refs=["RFC9112-4-p9-s1"], level=SHOULD, profile=WIRE)
def test_4_fail_should(server, wire):
    server.add_connection(respond(OK))
    assert expect_response(wire.request("GET", server.url("/"))).body == b"HELLO", "a demo rule no client meets"


@scenario("demo.api-pass-again", refs=["http.client.HTTPResponse.read"], level=API_LEVEL, profile=API)
def test_5_api_pass_again(server, client):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"hello"
'''

LATER = {"demo.wire-pass": "pass", "demo.api-pass": "pass", "demo.fail": "fail", "demo.fail-should": "fail-should",
         "demo.api-pass-again": "pass"}


@pytest.fixture(autouse=True)
def _strict_inner_runs(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n"
                     "xfail_strict = true\n"
                     "addopts = --strict-markers -p no:hypothesispytest -p no:cacheprovider\n")


def write(pytester: pytest.Pytester, fault: str) -> None:
    pytester.makepyfile(faulty=FAULTY_MODULE.format(fault=fault), test_scenarios=SCENARIOS)


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    """A pytest subprocess on the scenarios; its result and its results file."""
    result = pytester.runpytest_subprocess("--impl=faulty.py", "--results=results.json", "-rA", *TIMEOUT_ARGS,
                                           *args, timeout=SUBPROCESS_TIMEOUT)
    path = pytester.path / "results.json"
    assert path.exists(), result.stdout.str() + result.stderr.str()
    assert not list(pytester.path.glob("*.tmp"))
    raw = path.read_bytes()
    document: dict[str, Any] = json.loads(raw.decode("utf-8"))  # valid UTF-8, valid JSON
    assert "h1conform: results of" in result.stdout.str()  # the summary still prints
    assert result.parseoutcomes()  # pytest's own summary line too
    return result, document


def verdicts(document: dict[str, Any]) -> dict[str, str]:
    return {record["id"]: record["verdict"] for record in document["results"]}


def record(document: dict[str, Any], scenario_id: str) -> dict[str, Any]:
    [found] = [r for r in document["results"] if r["id"] == scenario_id]
    return dict(found)


_clean: dict[str, str] = {}


def clean_verdicts(pytester: pytest.Pytester) -> dict[str, str]:
    """The later scenarios' verdicts in a run without the faulty scenario (computed once)."""
    if not _clean:
        write(pytester, "none")
        result, document = run(pytester, "-k", "not test_0_faulty")
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        _clean.update(verdicts(document))
    return dict(_clean)


def test_control_the_clean_run_has_passes_and_failures(pytester: pytest.Pytester) -> None:
    assert clean_verdicts(pytester) == LATER


@pytest.mark.parametrize(("fault", "verdict", "reason"), [
    pytest.param("hang-in-getresponse", "timeout", "ScenarioTimeout", id="hang-in-getresponse"),
    pytest.param("hang-in-close", "timeout", "closing its connections", id="hang-in-close"),
    pytest.param("swallow-base-exception", "timeout", "stopped by force", id="swallow-base-exception"),
    pytest.param("keyboard-interrupt", "error", "the client raised KeyboardInterrupt", id="keyboard-interrupt"),
    pytest.param("system-exit", "error", "the client raised SystemExit: 3", id="system-exit"),
    # A MemoryError is an Exception, and what the CVE-2025-13836 scenarios look for (a client that
    # allocates what a server announced): the client's failure, with its reason.
    pytest.param("memory-error", "fail", "MemoryError: cannot allocate", id="memory-error"),
    # Freed unclosed while the scenario's client code runs: its own failure, naming the object.
    pytest.param("leak-socket", "fail", "leaked unclosed <socket.socket", id="leak-socket"),
    pytest.param("leak-thread", "error", "left 1 thread(s) running after closing everything: client-background",
                 id="leak-thread"),
    pytest.param("hostile-text", "fail", r"HTTPException: bad \udc80 text \udcff\udcfe \ud800 nul", id="hostile-text"),
])
def test_a_fault_stays_in_its_scenario(pytester: pytest.Pytester, fault: str, verdict: str, reason: str) -> None:
    expected_later = clean_verdicts(pytester)
    write(pytester, fault)
    result, document = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    faulty = record(document, "demo.faulty")
    assert (faulty["verdict"], reason in faulty["reason"]) == (verdict, True), faulty["reason"]
    later = verdicts(document)
    del later["demo.faulty"]
    assert later == expected_later


# The faulty scenario as a Hypothesis property: it gets a deadline per example, entered once the
# scenario runs, and a client swallowing its interruptions there must be stopped by force too.
PROPERTY_FAULTY = r'''
from hypothesis import HealthCheck, given, settings, strategies as st


@scenario("demo.faulty", refs=["http.client.HTTPConnection"], level=API_LEVEL, profile=API)
@settings(max_examples=3, database=None, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/fault"]))
def test_0_faulty(make_server, client, path):
    server = make_server()
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("GET", path)
    assert conn.getresponse().read() == b"hello"
'''


def test_a_property_whose_client_swallows_every_interruption_is_stopped_too(pytester: pytest.Pytester) -> None:
    expected_later = clean_verdicts(pytester)
    faulty_start = SCENARIOS.index("@scenario(\"demo.faulty\"")
    faulty_end = SCENARIOS.index("@scenario(\"demo.wire-pass\"")
    pytester.makepyfile(faulty=FAULTY_MODULE.format(fault="swallow-base-exception"),
                        test_scenarios=SCENARIOS[:faulty_start] + PROPERTY_FAULTY + "\n\n" + SCENARIOS[faulty_end:])
    result, document = run(pytester)
    faulty = record(document, "demo.faulty")
    assert (faulty["verdict"], "stopped by force" in faulty["reason"]) == ("timeout", True), faulty["reason"]
    later = verdicts(document)
    del later["demo.faulty"]
    assert later == expected_later


def test_hostile_text_is_stored_escaped(pytester: pytest.Pytester) -> None:
    write(pytester, "hostile-text")
    _, document = run(pytester)
    text = (pytester.path / "results.json").read_text(encoding="utf-8")
    assert "\x00" not in text and "\x1b" not in text  # control characters escaped by JSON
    assert "\\u0000" in text and "\\u001b[31m" in text
    reason = record(document, "demo.faulty")["reason"]
    assert "\\udc80" in reason and "\ud800" not in reason  # lone surrogates as visible escapes


def test_hostile_text_under_xdist(pytester: pytest.Pytester) -> None:
    # The report travels from the worker to the controller: a worker must not crash on it.
    write(pytester, "hostile-text")
    result, document = run(pytester, "-n", "2", "-p", "xdist")
    assert "crashed" not in result.stdout.str()
    assert record(document, "demo.faulty")["verdict"] == "fail"
    assert {k: v for k, v in verdicts(document).items() if k != "demo.faulty"} == clean_verdicts(pytester)


@pytest.fixture
def ctrl_c_reaches_us() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt here and in the processes we start, as at a terminal.

    A shell without job control starts background commands (`cmd &`, nohup, some CI runners)
    with SIGINT ignored, and Python then keeps it ignored: no Ctrl-C could reach such a run, and
    the tests of what a Ctrl-C does would wait for one in vain. A handled signal is reset to its
    default in a child at exec, so the subprocesses get Python's own handler too.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_real_ctrl_c_still_stops_the_run(pytester: pytest.Pytester, ctrl_c_reaches_us: None) -> None:
    # The control of the KeyboardInterrupt case: the person running pytest presses Ctrl-C while
    # a client waits; the run stops (pytest's "interrupted" exit code) and scenarios after it do
    # not run. The client says when it waits (a line on the uncaptured output).
    write(pytester, "wait-for-sigint")
    # -X faulthandler: a run that does not stop shows where each of its threads is (SIGABRT).
    command = [sys.executable, "-X", "faulthandler", "-m", "pytest", "-s", "--impl=faulty.py",
               "--results=results.json", "--scenario-timeout=600", "-p", "no:hypothesispytest", "-p", "no:cacheprovider"]
    process = subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with process:  # its pipe is closed whatever happens (a leaked pipe warns in a later test)
        try:
            output = read_until(process, b"CLIENT WAITING", SUBPROCESS_TIMEOUT)
            process.send_signal(signal.SIGINT)
            rest, _ = process.communicate(timeout=SUBPROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            rest, _ = process.communicate()
            pytest.fail(f"the run did not stop within {SUBPROCESS_TIMEOUT} s of Ctrl-C; its threads:\n"
                        + rest.decode("utf-8", "replace")[-6000:])
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = (output + rest).decode("utf-8", "replace")
    assert process.returncode == pytest.ExitCode.INTERRUPTED, text
    assert "KeyboardInterrupt" in text
    document = json.loads((pytester.path / "results.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in document["results"]] == ["demo.faulty"]  # nothing ran after it
    assert record(document, "demo.faulty")["verdict"] == "error"


def read_until(process: subprocess.Popen[bytes], marker: bytes, limit: float) -> bytes:
    """What the process printed, up to and including `marker` (bounded by `limit` seconds)."""
    assert process.stdout is not None
    output = b""
    end = time.monotonic() + limit
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while marker not in output:
            remaining = end - time.monotonic()
            assert remaining > 0 and process.poll() is None, output.decode("utf-8", "replace")
            if selector.select(remaining):
                chunk = os.read(process.stdout.fileno(), 65536)
                assert chunk, output.decode("utf-8", "replace")
                output += chunk
    return output


# -- the mechanism itself, in this process ----------------------------------------------------------

REPEAT = 0.05  # how often the fake deadline below interrupts again


@pytest.fixture
def fake_deadline(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """A SIGALRM handler that raises ScenarioTimeout, like the scenario deadline once it has fired
    (and again every REPEAT seconds); yields the count of its interruptions."""
    interruptions = [0]
    monkeypatch.setattr(containment._user, "seen", False)

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        interruptions[0] += 1
        signal.setitimer(signal.ITIMER_REAL, REPEAT)
        raise ScenarioTimeout("the fake deadline fired")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        yield interruptions
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def swallow_everything() -> None:
    # This module is neither the harness nor the stdlib: to containment, it is the client.
    while True:
        try:
            threading.Event().wait(SUBPROCESS_TIMEOUT)
        except BaseException:  # noqa: B036 - the fault under test
            pass


def test_a_client_that_swallows_every_interruption_is_stopped_by_force(fake_deadline: list[int]) -> None:
    trace_before = sys.gettrace()  # a coverage tool's, say
    signal.setitimer(signal.ITIMER_REAL, REPEAT)
    with pytest.raises(ScenarioTimeout, match="swallowed the interruption 3 times .* stopped by force"):
        with containment.client_code("running the scenario"):
            swallow_everything()
    assert fake_deadline[0] == containment.ESCALATE_AFTER
    assert sys.gettrace() is trace_before  # the escalation's trace function left with the client's code


def test_control_a_client_that_lets_the_interruption_out_is_not_forced(fake_deadline: list[int]) -> None:
    signal.setitimer(signal.ITIMER_REAL, REPEAT)
    with pytest.raises(ScenarioTimeout, match="^the fake deadline fired$"):
        with containment.client_code("running the scenario"):
            threading.Event().wait(SUBPROCESS_TIMEOUT)
    assert fake_deadline[0] == 1


def test_an_alarm_between_client_sections_waits_for_the_next_one(fake_deadline: list[int]) -> None:
    with containment.client_code("running the scenario"):
        pass
    signal.raise_signal(signal.SIGALRM)  # lands in the harness's code: held back, nothing raised
    assert fake_deadline[0] == 0
    with pytest.raises(containment.ClientFault, match="the fake deadline fired") as caught:
        with containment.client_code("closing its connections", closing=True):
            threading.Event().wait(SUBPROCESS_TIMEOUT)  # the held alarm comes here
    assert caught.value.verdict == "timeout" and fake_deadline[0] == 1


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(2), GeneratorExit()], ids=type)
def test_a_clients_base_exception_becomes_its_scenarios_error(fake_deadline: list[int], exc: BaseException) -> None:
    with pytest.raises(containment.ClientFault, match=f"the client raised {type(exc).__name__}") as caught:
        with containment.client_code("running the scenario"):
            raise exc
    assert caught.value.verdict == "error" and caught.value.__cause__ is exc


def test_control_a_real_sigint_stays_a_keyboard_interrupt(fake_deadline: list[int], ctrl_c_reaches_us: None) -> None:
    with pytest.raises(KeyboardInterrupt):
        with containment.client_code("running the scenario"):
            signal.raise_signal(signal.SIGINT)
    assert containment.user_interrupted()
    with pytest.raises(KeyboardInterrupt):  # from now on, any KeyboardInterrupt is the user's
        with containment.client_code("running the scenario"):
            raise KeyboardInterrupt


def test_a_real_sigint_the_client_swallowed_still_stops_the_run(fake_deadline: list[int],
                                                               ctrl_c_reaches_us: None) -> None:
    with pytest.raises(KeyboardInterrupt, match="interrupted by the user while the client was running"):
        with containment.client_code("running the scenario"):
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                pass  # the client swallows it...
            raise ValueError("...and ends some other way")


def test_exceptions_and_pytest_outcomes_pass_through(fake_deadline: list[int]) -> None:
    for exc in (ValueError("plain"), MemoryError(), pytest.skip.Exception("skip")):
        with pytest.raises(type(exc)):
            with containment.client_code("running the scenario"):
                raise exc


def test_in_a_teardown_only_the_clients_code_is_interrupted(fake_deadline: list[int]) -> None:
    with containment.harness_code():
        signal.raise_signal(signal.SIGALRM)  # the harness's own code: held back
        assert fake_deadline[0] == 0
        with pytest.raises(containment.ClientFault, match="the fake deadline fired"):
            with containment.client_code("closing its connections", closing=True):
                threading.Event().wait(SUBPROCESS_TIMEOUT)  # the client's close: interrupted
        assert fake_deadline[0] == 1
    # The deadline has its handler back.
    with pytest.raises(ScenarioTimeout):
        signal.raise_signal(signal.SIGALRM)


def test_a_deadline_entered_inside_the_client_section_is_stood_behind_too(fake_deadline: list[int]) -> None:
    # A Hypothesis property gets a deadline per example, entered after the section began; the
    # harness's fixtures call client_starts() when they hand the client a connection.
    handler = signal.signal(signal.SIGALRM, signal.SIG_DFL)  # no deadline when the section begins
    with pytest.raises(ScenarioTimeout, match="stopped by force"):
        with containment.client_code("running the scenario"):
            signal.signal(signal.SIGALRM, handler)  # the example's deadline
            signal.setitimer(signal.ITIMER_REAL, REPEAT)
            containment.client_starts()
            swallow_everything()
    assert fake_deadline[0] == containment.ESCALATE_AFTER


def test_closing_goes_on_past_a_connection_that_fails_to_close() -> None:
    closed: list[str] = []

    def close(name: str) -> None:
        closed.append(name)
        if name == "second":
            raise SystemExit("a close() that raises")

    with pytest.raises(SystemExit):  # the first problem, once every one was tried
        containment.close_each(["first", "second", "third"], close)
    assert closed == ["third", "second", "first"]
    containment.close_each(items := ["a", "b"], closed.append)  # the control: nothing raised
    assert closed[-2:] == ["b", "a"] and not items
