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
from h1conform.suites.harness.results import TRACE_HEAD, TRACE_TAIL, ResultsRecorder, truncate_bytes

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
    socket.socket()  # unclosed: collected now, reported as an unraisable exception of this test
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
    "demo.leak-seen": "error",
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
    assert "Unraisable" in record(document, "demo.leak-seen", "stdlib")["reason"]
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

