"""Tests of suites.harness.output: what a suite run shows in the terminal.

A failing scenario is one short block (id, implementation, level, sentence ids, reason), its
traceback only when asked for (-v, --tb=...); the short summary's lines keep the whole reason; skip
reasons are listed by default; test ids end in an adapter's own name; and only the terminal
changes: JUnit XML and --write-expect keep the failure as pytest recorded it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from h1conform.pytest_plugin import suites_dir

# One scenario stdlib fails (it takes the first of two different Content-Length values), one it
# passes, and a plain test of the same run that fails too.
SCENARIOS = r'''
from h1conform.servers import close, respond
from h1conform.suites.harness import API, API_LEVEL, MUST, WIRE, ErrorKind, expect_failure, expect_response, scenario

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@scenario("demo.framing.invalid-length", refs=["RFC9112-6.3-p2-s4"], level=MUST, profile=WIRE)
def test_invalid_length(server, wire):
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"),
                          close())
    expect_failure(wire.request("GET", server.url("/")), ErrorKind.PROTOCOL, ErrorKind.INCOMPLETE)


@scenario("demo.api.ok", refs=["http.client.HTTPResponse.read"], level=API_LEVEL, profile=API)
def test_api_ok(server, client):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"hello"


def test_plain_failure():
    assert 1 + 1 == 3
'''

REASON = "expected protocol-error or incomplete-message, the client accepted the response"
HEADER = "demo.framing.invalid-length  stdlib  MUST  RFC9112-6.3-p2-s4"
SOURCE_LINE = "def test_invalid_length(server, wire):"  # what a traceback shows of the scenario

# A wire adapter with a name of its own, in a file named otherwise; it has no http.client API.
NAMED_ADAPTER = '''
import http.client
from urllib.parse import urlsplit

from h1conform.suites.harness.wire import Response, WireAdapter, WireSession


class _Session(WireSession):
    def __init__(self, timeout):
        self.timeout = timeout

    def send(self, request):
        url = urlsplit(request.url)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=self.timeout)
        try:
            conn.request(request.method, url.path or "/")
            response = conn.getresponse()
            return Response(response.status, response.reason, response.getheaders(), response.read())
        finally:
            conn.close()

    def close(self):
        pass


class Adapter(WireAdapter):
    NAME_LINE

    def open_session(self, *, timeout, tls=None, proxy=None):
        return _Session(timeout)

    def classify(self, exc):
        return None


WIRE_ADAPTER = Adapter()
'''


@pytest.fixture(autouse=True)
def _inner_runs(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n"
                     "    ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning\n"
                     "addopts = -p no:hypothesispytest -p no:cacheprovider -p h1conform.suites.plugin\n")
    pytester.makepyfile(test_demo=SCENARIOS)


def section(output: str, title: str) -> list[str]:
    """The lines of one test's part of the FAILURES section, after its `____ title ____` line."""
    lines = output.splitlines()
    start = next(number for number, line in enumerate(lines) if re.fullmatch(rf"_+ {re.escape(title)} _+", line))
    end = next(number for number, line in enumerate(lines[start + 1:], start + 1) if re.match(r"[_=]{3,} ", line))
    return lines[start + 1:end]


def test_a_failing_scenario_is_one_short_block(pytester: pytest.Pytester) -> None:
    output = pytester.runpytest("--impl=stdlib").stdout.str()
    block = section(output, "test_invalid_length[stdlib]")
    assert block[0] == HEADER
    assert block[1].startswith(f"  {REASON}")
    assert re.fullmatch(r"  at test_demo\.py:\d+ \(the traceback: --tb=long, or -v\)", block[-1]), block
    assert len(block) <= 5, block
    assert SOURCE_LINE not in output and not any(line.startswith("E   ") for line in block)


def test_the_same_block_under_xdist(pytester: pytest.Pytester) -> None:
    # The controller writes the terminal from the reports the workers sent.
    output = pytester.runpytest_subprocess("--impl=stdlib", "-n", "1", "-p", "xdist", timeout=120).stdout.str()
    block = section(output, "test_invalid_length[stdlib]")
    assert block[0] == HEADER and block[1].startswith(f"  {REASON}") and len(block) <= 5, block


def test_a_plain_test_of_the_same_run_keeps_its_traceback(pytester: pytest.Pytester) -> None:
    block = section(pytester.runpytest("--impl=stdlib").stdout.str(), "test_plain_failure")
    assert ">       assert 1 + 1 == 3" in block


@pytest.mark.parametrize("asked", [["--tb=long"], ["--tb=auto"], ["-v"]])
def test_the_traceback_when_asked_for(pytester: pytest.Pytester, asked: list[str]) -> None:
    output = pytester.runpytest("--impl=stdlib", *asked).stdout.str()
    assert any(SOURCE_LINE in line for line in section(output, "test_invalid_length[stdlib]"))


def test_the_traceback_when_asked_for_in_addopts(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "--tb=long")
    assert SOURCE_LINE in pytester.runpytest("--impl=stdlib").stdout.str()


def test_the_summary_line_carries_the_whole_reason(pytester: pytest.Pytester) -> None:
    # pytester's terminal is 80 columns wide: pytest would cut this line to `- Ass...` or less.
    result = pytester.runpytest("--impl=stdlib")
    lines = [line for line in result.stdout.lines if line.startswith("FAILED test_demo.py::test_invalid_length")]
    assert len(lines) == 1 and len(lines[0]) > 80
    assert lines[0].startswith(f"FAILED test_demo.py::test_invalid_length[stdlib] - {REASON}: status 200")
    assert not lines[0].endswith("...")
    # The plain failure's line is whole too, and the section has one header.
    result.stdout.fnmatch_lines(["FAILED test_demo.py::test_plain_failure - assert (1 + 1) == 3"])
    assert result.stdout.str().count("short test summary info") == 1
    result.assert_outcomes(passed=1, failed=2)


def test_skip_reasons_are_shown_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(h1x_named=NAMED_ADAPTER.replace("NAME_LINE", 'name = "named"'))
    pytester.syspathinsert()
    result = pytester.runpytest("--impl=h1x_named")
    result.stdout.fnmatch_lines(["SKIPPED [[]1] test_demo.py:*: unsupported: named has no http.client API*"])
    # Control: a run that asks for no short summary (-rN) gets none.
    assert "SKIPPED" not in pytester.runpytest("--impl=h1x_named", "-rN").stdout.str()


@pytest.mark.parametrize(("name_line", "expected"), [('name = "httplib2"', "httplib2"), ("pass", "h1x_file_adapter")],
                         ids=["own-name", "no-name-of-its-own"])
def test_test_ids_end_in_the_adapter_s_name(pytester: pytest.Pytester, name_line: str, expected: str) -> None:
    adapter = pytester.makepyfile(h1x_file_adapter=NAMED_ADAPTER.replace("NAME_LINE", name_line))
    result = pytester.runpytest(f"--impl={adapter}", "--collect-only", "-q")
    result.stdout.fnmatch_lines([f"test_demo.py::test_invalid_length[[]{expected}]"])


def test_an_adapter_name_that_cannot_name_an_implementation(pytester: pytest.Pytester) -> None:
    adapter = pytester.makepyfile(h1x_file_adapter=NAMED_ADAPTER.replace("NAME_LINE", 'name = "a=b"'))
    result = pytester.runpytest(f"--impl={adapter}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "its adapter's name 'a=b' is not a name" in result.stderr.str()


def test_junit_and_write_expect_keep_the_failure_as_recorded(pytester: pytest.Pytester) -> None:
    pytester.runpytest("--impl=stdlib", "--junitxml=junit.xml", "--write-expect=stdlib=written.txt")
    failures = {case.get("name"): case.find("failure") for case in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    failure = failures["test_invalid_length[stdlib]"]
    assert failure is not None and SOURCE_LINE in (failure.text or "")
    assert (failure.get("message") or "").startswith(f"AssertionError: {REASON}")
    written = (pytester.path / "written.txt").read_text(encoding="utf-8")
    assert f"demo.framing.invalid-length  AssertionError: {REASON}" in written


SUITES = suites_dir()


def test_messages_match_their_scenario_s_level(pytester: pytest.Pytester) -> None:
    # Every block whose reason cites a requirement keyword cites its scenario's own level first:
    # a MUST scenario does not fail with "a recipient MAY ..." (it did: response.chunked.line-endings).
    assert SUITES is not None
    # A subprocess: the run's rootdir is the suite's, whose settings are strict about modules this
    # process imported already.
    result = pytester.runpytest_subprocess(str(Path(SUITES) / "test_chunked.py"), "--impl=stdlib", "-p",
                                           "no:cacheprovider", "-k", "line_endings or trailer or leading_zeros",
                                           timeout=120)
    lines = result.stdout.lines
    checked = 0
    for number, line in enumerate(lines):
        header = re.fullmatch(r"(\S+)  stdlib  (MUST|SHOULD|MAY)  .*", line)
        if header is None:
            continue
        keyword = re.search(r"\b(MUST|SHOULD|MAY)\b", lines[number + 1])
        if keyword is not None:
            assert keyword.group(1) == header.group(2), (line, lines[number + 1])
            checked += 1
    assert checked >= 2, result.stdout.str()  # stdlib fails line-endings[*-lf-after-data-then-size-10]
