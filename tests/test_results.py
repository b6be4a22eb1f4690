"""Tests of results files (`--results FILE`, suites/harness/results.py), driven through pytester.

Each inner run writes a results file; the tests check it against the schema
(reports/schema/results-1.schema.json) and check each verdict of the design's list, with and
without xdist.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from h1conform.reports.load import schema
from h1conform.suites.harness.impls import resolve
from h1conform.suites.harness.results import TRACE_HEAD, TRACE_TAIL, ResultsRecorder, clean, dumps, truncate_bytes

SUBPROCESS_TIMEOUT = 60

# One scenario per verdict that a plain run can produce.
SCENARIOS = r'''
import pytest
from h1conform.servers import respond
from h1conform.suites.harness import API, API_LEVEL, MUST, SHOULD, WIRE, expect_response, scenario

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@scenario("demo.pass", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_pass(server, wire):
    server.add_connection(respond(OK))
    assert expect_response(wire.request("GET", server.url("/"))).body == b"hello"


@scenario("demo.fail-must", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_fail_must(server, wire):
    server.add_connection(respond(OK))
    body = expect_response(wire.request("GET", server.url("/"))).body
    assert body == b"HELLO", "RFC 9112 6.3: demo rule that no client meets"


@scenario("demo.fail-should", refs=["RFC9112-4-p9-s1"], level=SHOULD, profile=WIRE)
def test_fail_should(server, wire):
    server.add_connection(respond(OK))
    body = expect_response(wire.request("GET", server.url("/"))).body
    assert body == b"HELLO", "demo recommendation that no client meets"


@scenario("demo.api", refs=["http.client.HTTPConnection"], level=API_LEVEL, profile=API)
def test_api(client):
    assert client.module.HTTPConnection.default_port == 80


@scenario("demo.skipped", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_skipped(wire):
    pytest.skip("needs a tool this machine lacks")


@pytest.fixture
def broken_fixture():
    raise RuntimeError("the fixture broke")


@scenario("demo.setup-error", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_setup_error(wire, broken_fixture):
    pass


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("the teardown broke")


@scenario("demo.teardown-error", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_teardown_error(wire, broken_teardown):
    pass


@scenario("demo.leak-seen", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_leak_seen(wire):
    import gc, socket
    socket.socket()  # unclosed, freed while the scenario runs: the client's leak (suites/harness/leaks.py)
    gc.collect()


def test_not_a_scenario():
    pass
'''

EXPECTED_STDLIB = {
    "demo.pass": "pass",
    "demo.fail-must": "fail",
    "demo.fail-should": "fail-should",
    "demo.api": "pass",
    "demo.skipped": "skipped",
    "demo.setup-error": "error",
    "demo.teardown-error": "error",
    "demo.leak-seen": "fail",
}

# A wire-only implementation: the stdlib behind the http.client-API adapter, without HTTPConnection.
WIRE_ONLY = '''
import http.client
from h1conform.suites.harness.api_adapter import HTTPClientAPIAdapter
WIRE_ADAPTER = HTTPClientAPIAdapter(http.client, "wireonly")
'''


@pytest.fixture(autouse=True)
def _strict_inner_runs(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n"
                     "    ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning\n"
                     "xfail_strict = true\n"
                     "addopts = --strict-markers -p no:hypothesispytest -p no:cacheprovider\n")


def read_results(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema(1)).validate(document)
    return document


def verdicts(document: dict[str, Any], impl: str) -> dict[str, str]:
    return {record["id"]: record["verdict"] for record in document["results"] if record["impl"] == impl}


def record(document: dict[str, Any], scenario_id: str, impl: str) -> dict[str, Any]:
    found = [r for r in document["results"] if r["id"] == scenario_id and r["impl"] == impl]
    assert len(found) == 1, found
    result: dict[str, Any] = found[0]
    return result


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema(1))


@pytest.mark.parametrize("workers", [None, "2"], ids=["no-xdist", "xdist"])
def test_results_file_has_one_record_per_scenario_with_its_verdict(pytester: pytest.Pytester, workers: str | None) -> None:
    pytester.makepyfile(test_demo=SCENARIOS, wireonly=WIRE_ONLY)
    args = ["--impl=stdlib", "--impl=wireonly.py", "--results=out/results.json"]
    if workers:
        # xdist workers are subprocesses: everything the record needs must travel on the report.
        result = pytester.runpytest_subprocess(*args, "-n", workers, "-p", "xdist", timeout=SUBPROCESS_TIMEOUT)
    else:
        result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    document = read_results(pytester.path / "out" / "results.json")
    assert verdicts(document, "stdlib") == EXPECTED_STDLIB
    # The wire-only implementation cannot run the api scenario: unsupported, never passed.
    assert verdicts(document, "wireonly") == {**EXPECTED_STDLIB, "demo.api": "unsupported"}
    assert record(document, "demo.api", "wireonly")["reason"].startswith("unsupported: wireonly has no http.client API")
    assert len(document["results"]) == 16  # not test_not_a_scenario

    failed = record(document, "demo.fail-must", "stdlib")
    assert failed["level"] == "MUST" and failed["profile"] == "wire" and failed["refs"] == ["RFC9112-6.3-p2-s8"]
    assert "demo rule that no client meets" in failed["reason"]
    assert failed["nodeid"] == "test_demo.py::test_fail_must[stdlib]"
    assert failed["duration"] > 0
    # The wire trace of a failure: what the server received and sent.
    [connection] = failed["trace"]
    assert connection["received"].startswith("GET / HTTP/1.1\r\n")
    assert connection["sent"] == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    assert connection["sent_length"] == len(connection["sent"])
    assert "trace" not in record(document, "demo.pass", "stdlib")
    assert "nodeid" not in record(document, "demo.pass", "stdlib")
    # One record per line, so that a diff of two published runs shows one line per change.
    lines = (pytester.path / "out" / "results.json").read_text(encoding="utf-8").splitlines()
    assert sum(line.startswith('{"id":') for line in lines) == len(document["results"])
    assert record(document, "demo.setup-error", "stdlib")["reason"].startswith("setup: RuntimeError: the fixture broke")
    assert record(document, "demo.skipped", "stdlib")["reason"] == "needs a tool this machine lacks"

    run = document["run"]
    assert run["python"]["version"] == platform.python_version()
    assert run["python"]["implementation"] == platform.python_implementation()
    assert run["exit_status"] == 1
    assert run["options"][-1] == "--results=out/results.json" or "--results=out/results.json" in run["options"]
    assert run["workers"] == (int(workers) if workers else 0)
    impls = {impl["name"]: impl for impl in run["implementations"]}
    assert impls["stdlib"]["api"] is True and impls["stdlib"]["version"].endswith(platform.python_version())
    assert impls["wireonly"]["api"] is False
    assert record(document, "demo.teardown-error", "stdlib")["reason"].startswith("teardown: RuntimeError: the teardown broke")
    assert "leaked unclosed <socket.socket" in record(document, "demo.leak-seen", "stdlib")["reason"]
    assert "h1conform results of 16 scenario runs written to" in result.stdout.str().replace(":", "")


def test_expected_failure_and_unexpected_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_demo=SCENARIOS)
    pytester.makefile(".txt", expect="demo.fail-must  known breach\ndemo.pass  was broken once\n")
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt", "--results=results.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    document = read_results(pytester.path / "results.json")
    assert verdicts(document, "stdlib") == {**EXPECTED_STDLIB, "demo.fail-must": "expected-failure",
                                            "demo.pass": "unexpected-pass"}
    expected = record(document, "demo.fail-must", "stdlib")
    assert "known breach" in expected["expectation"]
    assert "demo rule that no client meets" in expected["reason"]  # the failure itself, not only the file's line
    assert expected["trace"]
    assert "remove that line" in record(document, "demo.pass", "stdlib")["reason"]


HANGING_MODULE = '''
import threading
from http.client import *
from http.client import HTTPConnection as _HTTPConnection


class HTTPConnection(_HTTPConnection):
    def getresponse(self):
        threading.Event().wait()  # never set: the client hangs
'''


def test_timeout_verdict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(h1x_hang=HANGING_MODULE, test_hang='''
from h1conform.servers import respond
from h1conform.suites.harness import MUST, WIRE, scenario

@scenario("demo.hang", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_hangs(server, wire):
    server.add_connection(respond(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n"))
    wire.request("GET", server.url("/"))
''')
    pytester.runpytest_subprocess("--impl=h1x_hang", "--scenario-timeout=1", "--results=r.json",
                                  timeout=SUBPROCESS_TIMEOUT)
    found = record(read_results(pytester.path / "r.json"), "demo.hang", "h1x_hang")
    assert found["verdict"] == "timeout"
    assert "ScenarioTimeout" in found["reason"] or "no result within 1 s" in found["reason"]
    assert found["trace"][0]["received"].startswith("GET / HTTP/1.1")


def test_no_results_option_no_file_and_no_report_attribute(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_demo=SCENARIOS)
    result = pytester.runpytest("--impl=stdlib")
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    assert reports and not any(hasattr(report, "h1conform") for report in reports)
    assert not list(pytester.path.glob("*.json"))


def test_truncate_bytes_keeps_head_and_tail() -> None:
    assert truncate_bytes(b"GET / HTTP/1.1\r\n\r\n") == "GET / HTTP/1.1\r\n\r\n"
    assert truncate_bytes(bytes(range(256))) == bytes(range(256)).decode("latin-1")
    data = b"a" * TRACE_HEAD + b"b" * 1000 + b"c" * TRACE_TAIL
    text = truncate_bytes(data)
    assert text == "a" * TRACE_HEAD + "\n[... 1000 bytes omitted ...]\n" + "c" * TRACE_TAIL


def test_a_test_that_never_finishes_is_recorded_as_an_error(pytestconfig: pytest.Config, tmp_path: Path) -> None:
    # Its xdist worker crashed after setup: no call or teardown report ever comes.
    recorder = ResultsRecorder(tmp_path / "r.json", pytestconfig, [resolve("stdlib")], tmp_path)
    data = {"verdict": None, "reason": "", "scenario": "demo.crash", "level": "MUST", "profile": "wire",
            "refs": ["RFC9112-6.3-p2-s8"]}
    report = pytest.TestReport("t.py::test_crash[stdlib]", ("t.py", 1, "test_crash"), {}, "passed", None, "setup",
                               user_properties=[("scenario", "demo.crash"), ("impl", "stdlib")], duration=0.5,
                               h1conform=data)
    recorder.pytest_runtest_logreport(report)
    document = recorder.document(exit_status=1)
    jsonschema.Draft202012Validator(schema(1)).validate(document)
    [found] = document["results"]
    assert found["verdict"] == "error" and "did not finish" in found["reason"] and found["duration"] == 0.5


# Harness errors, and teardown problems of scenarios listed in --expect.
HARNESS_SCENARIOS = r'''
import socket
import threading

import pytest
from h1conform.servers import call, respond
from h1conform.suites.harness import MUST, WIRE, expect_response, scenario
from h1conform.suites.harness.errors import HarnessError

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@scenario("demo.harness-call", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_harness_call(server, wire):
    server.add_connection(respond(OK))
    assert expect_response(wire.request("GET", server.url("/"))).body == b"hello"
    raise HarnessError("harness: the server is still reading the body (waited 60 s)")


@pytest.fixture
def harness_broken_in_setup():
    raise HarnessError("harness: the server did not start (waited 60 s)")


@scenario("demo.harness-setup", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_harness_setup(wire, harness_broken_in_setup):
    pass


@pytest.fixture
def harness_broken_in_teardown():
    yield
    raise HarnessError("harness: a server thread did not stop (waited 60 s)")


@scenario("demo.harness-teardown", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_harness_teardown(wire, harness_broken_in_teardown):
    pass


def harness_wait_runs_out(conn):
    raise HarnessError("harness: the scenario's event never came (waited 60 s)")


@scenario("demo.harness-in-server-thread", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_harness_in_server_thread(server, wire):
    server.add_connection([call(harness_wait_runs_out), *respond(OK)])
    wire.request("GET", server.url("/"))


entered, released = threading.Event(), threading.Event()


def stuck(conn):
    entered.set()
    released.wait(10)


@pytest.fixture
def release_stuck_thread():
    yield
    released.set()


@scenario("demo.server-thread-stuck", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_server_thread_stuck(make_server, wire, release_stuck_thread):
    # The scenario's end closes its servers: this one's thread does not stop (join_deadline 0.1 s).
    server = make_server(join_deadline=0.1)
    server.add_connection([call(stuck)])
    with socket.create_connection((server.host, server.port)):
        assert entered.wait(10)


@scenario("demo.client-fails", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_client_fails(server, wire):
    server.add_connection(respond(OK))
    assert expect_response(wire.request("GET", server.url("/"))).body == b"HELLO", "demo rule no client meets"


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("the teardown broke")


@scenario("demo.teardown-after-pass", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_teardown_after_pass(server, wire, broken_teardown):
    server.add_connection(respond(OK))
    assert expect_response(wire.request("GET", server.url("/"))).body == b"hello"


@scenario("demo.teardown-after-fail", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_teardown_after_fail(server, wire, broken_teardown):
    server.add_connection(respond(OK))
    assert expect_response(wire.request("GET", server.url("/"))).body == b"HELLO", "demo rule no client meets"
'''

EVERY_HARNESS_SCENARIO = "".join(f"{scenario_id}  listed\n" for scenario_id in (
    "demo.harness-call", "demo.harness-setup", "demo.harness-teardown", "demo.harness-in-server-thread",
    "demo.server-thread-stuck", "demo.client-fails",
    "demo.teardown-after-pass", "demo.teardown-after-fail"))


def phase_outcomes(result: pytest.RunResult) -> dict[tuple[str, str], str]:
    """{(test name, phase): what pytest shows} for every phase with something to show."""
    found = {}
    config = result.reprec.getcalls("pytest_sessionfinish")[0].session.config  # type: ignore[attr-defined]
    for report in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        category, _, _ = config.hook.pytest_report_teststatus(report=report, config=config)
        if category:
            found[(report.nodeid.split("::")[1].split("[")[0], report.when)] = category
    return found


def test_harness_errors_are_errors_in_every_phase(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_demo=HARNESS_SCENARIOS)
    result = pytester.runpytest("--impl=stdlib", "--results=results.json", "-rA")
    document = read_results(pytester.path / "results.json")
    found = verdicts(document, "stdlib")
    harness_ids = ("demo.harness-call", "demo.harness-setup", "demo.harness-teardown", "demo.harness-in-server-thread",
                   "demo.server-thread-stuck")
    assert {key: found[key] for key in harness_ids} == dict.fromkeys(harness_ids, "error")
    assert found["demo.client-fails"] == "fail"  # the control: the client's own failure stays a fail
    assert record(document, "demo.harness-call", "stdlib")["reason"].startswith(
        "call: h1conform.suites.harness.errors.HarnessError: harness: the server is still reading the body")
    assert record(document, "demo.harness-teardown", "stdlib")["reason"].startswith("teardown: ")
    shown = phase_outcomes(result)
    assert shown[("test_harness_call", "call")] == "error"  # ERROR, not FAILED, though it is the call
    assert shown[("test_harness_setup", "setup")] == "error"
    assert shown[("test_harness_teardown", "teardown")] == "error"
    assert shown[("test_client_fails", "call")] == "failed"
    result.stdout.fnmatch_lines(["ERROR test_demo.py::test_harness_call?stdlib? - *HarnessError: harness: the server is*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_harness_errors_are_errors_under_xdist_too(pytester: pytest.Pytester) -> None:
    # The controller shows what the worker decided: the mark travels on the report.
    pytester.makepyfile(test_demo=HARNESS_SCENARIOS)
    result = pytester.runpytest_subprocess("--impl=stdlib", "-rA", "-n", "2", "-p", "xdist", timeout=SUBPROCESS_TIMEOUT)
    result.stdout.fnmatch_lines(["ERROR test_demo.py::test_harness_call?stdlib? - *HarnessError: harness: the server is*"])
    result.stdout.fnmatch_lines(["FAILED test_demo.py::test_client_fails?stdlib? - *"])  # the control
    assert result.parseoutcomes()["errors"] == 7


def test_listed_scenarios_harness_errors_and_teardown_problems_are_not_expected_failures(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_demo=HARNESS_SCENARIOS)
    pytester.makefile(".txt", expect=EVERY_HARNESS_SCENARIO)
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt", "--results=results.json", "-rA")
    document = read_results(pytester.path / "results.json")
    assert verdicts(document, "stdlib") == {
        "demo.harness-call": "error", "demo.harness-setup": "error", "demo.harness-teardown": "error",
        "demo.harness-in-server-thread": "error", "demo.server-thread-stuck": "error",
        "demo.client-fails": "expected-failure",  # the control: a listed failure of the client is expected
        # A teardown problem spoils an unexpected pass as it spoils a pass; after the listed failure, the
        # failure decides, as it does for a scenario that is not listed.
        "demo.teardown-after-pass": "error", "demo.teardown-after-fail": "expected-failure",
    }
    assert record(document, "demo.teardown-after-pass", "stdlib")["reason"].startswith(
        "teardown: RuntimeError: the teardown broke")
    shown = phase_outcomes(result)
    assert shown[("test_harness_call", "call")] == "error"
    assert shown[("test_harness_setup", "setup")] == "error"
    assert shown[("test_harness_teardown", "teardown")] == "error"
    assert shown[("test_client_fails", "call")] == "xfailed"
    assert shown[("test_teardown_after_pass", "call")] == "failed"  # XPASS(strict)
    assert shown[("test_teardown_after_pass", "teardown")] == "error"  # not "XFAIL at teardown"
    assert shown[("test_teardown_after_fail", "call")] == "xfailed"
    assert shown[("test_teardown_after_fail", "teardown")] == "error"
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_results_file_write_failure_is_one_line_and_leaves_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_demo=SCENARIOS)
    (pytester.path / "taken").write_text("a file where the results' directory should be")
    result = pytester.runpytest("--impl=stdlib", "--results=taken/results.json", "-k", "test_pass")
    result.stdout.fnmatch_lines(["h1conform: the results file taken/results.json could not be written: *"])
    assert result.ret == pytest.ExitCode.OK
    assert (pytester.path / "taken").is_file() and not list(pytester.path.glob("**/*.tmp"))


def test_clean_makes_any_text_valid_utf8_json() -> None:
    hostile = "a\udc80b\ud800c\x00d\x1be" + b"\xff".decode("utf-8", "surrogateescape")
    document = {"results": [{"reason": hostile, hostile: [hostile, ("tuple", hostile)]}], "run": {}}
    text = dumps(document)
    assert json.loads(text.encode("utf-8").decode("utf-8"))["results"][0]["reason"] == "a\\udc80b\\ud800c\x00d\x1be\\udcff"
    assert "\x00" not in text and "\\u0000" in text
    assert clean(("kept", "a tuple")) == ("kept", "a tuple")  # structure kept (xdist's skip reasons are tuples)
    assert clean("plain text é ✓") == "plain text é ✓"  # the control: valid text is left alone
