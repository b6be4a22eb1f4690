"""Tests of the suite's pytest plugin (suites.plugin), driven through pytester.

Each test writes a small scenario module (and, where needed, an implementation module, an
expectations file or a dist-info) into pytester's tmp dir and runs pytest on it. The plugin is
loaded through its pytest11 entry point in those runs too. Runs that depend on signals, on
sys.modules or on importlib.metadata's view of sys.path run in a subprocess, with a timeout so
that a regression ends as a failure instead of a hung suite.
"""

from __future__ import annotations

import glob
import http.client
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from h1conform.suites.plugin import UNSUPPORTED, is_control

ROOT = Path(__file__).resolve().parents[1]
USAGE_ERROR = pytest.ExitCode.USAGE_ERROR
SUBPROCESS_TIMEOUT = 60  # seconds; only reached if the plugin lets a run hang

# A scenario module with outcomes of every kind for stdlib: passes (wire and api), a variant
# parametrisation, and a genuine stdlib RFC breach (it accepts an invalid Content-Length).
SCENARIOS = r'''
import pytest
from h1conform.servers import close, expect_request, respond, send
from h1conform.suites.harness import (API, API_LEVEL, MUST, WIRE, ErrorKind, each_delivery, expect_failure,
                            expect_response, scenario)

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@scenario("demo.body.ok", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
@each_delivery
def test_body_ok(server, wire, delivery):
    server.add_connection(respond(OK, delivery))
    assert expect_response(wire.request("GET", server.url("/"))).body == b"hello"


@scenario("demo.body.incomplete", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_body_incomplete(server, wire):
    server.add_connection(expect_request(), send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
                          close())
    expect_failure(wire.request("GET", server.url("/")), ErrorKind.INCOMPLETE)


@scenario("demo.framing.invalid-length", refs=["RFC9112-6.3-p2-s4"], level=MUST, profile=WIRE)
def test_invalid_length(server, wire):
    # Two different Content-Length values: an invalid field, an unrecoverable error.
    # http.client uses the first one and accepts the response.
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"),
                          close())
    expect_failure(wire.request("GET", server.url("/")), ErrorKind.PROTOCOL, ErrorKind.INCOMPLETE)


@scenario("demo.api.incomplete-read", refs=["http.client.IncompleteRead"], level=API_LEVEL, profile=API)
def test_api_incomplete_read(server, client):
    server.add_connection(expect_request(), send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
                          close())
    conn = client.connect(server)
    conn.request("GET", "/")
    response = conn.getresponse()
    with pytest.raises(client.module.IncompleteRead) as raised:
        response.read()
    assert raised.value.partial == b"hello"
'''

# What stdlib does with SCENARIOS, by scenario id.
STDLIB_OUTCOMES = {
    "demo.body.ok[whole]": "passed",
    "demo.body.ok[bytewise]": "passed",
    "demo.body.incomplete": "passed",
    "demo.framing.invalid-length": "failed",
    "demo.api.incomplete-read": "passed",
}

# A module with the http.client API: the stdlib's, re-exported.
REEXPORT_MODULE = "from http.client import *\nfrom http.client import HTTPConnection\n"

# A wire-only implementation: a WireAdapter instance exposed as WIRE_ADAPTER, no HTTPConnection.
WIRE_ONLY_MODULE = r'''
import http.client
from urllib.parse import urlsplit

from h1conform.suites.harness.wire import ErrorKind, Response, Unsupported, WireAdapter, WireSession


class _Session(WireSession):
    def __init__(self, timeout):
        self.timeout = timeout
        self.conns = []

    def send(self, request):
        if request.method not in ("GET", "HEAD"):
            raise Unsupported(f"method {request.method}")
        url = urlsplit(request.url)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=self.timeout)
        self.conns.append(conn)
        conn.request(request.method, url.path or "/", body=request.body, headers=dict(request.headers))
        response = conn.getresponse()
        return Response(response.status, response.reason, response.getheaders(), response.read())

    def close(self):
        while self.conns:
            self.conns.pop().close()


class MiniAdapter(WireAdapter):
    name = "mini"

    def open_session(self, *, timeout, tls=None, proxy=None):
        return _Session(timeout)

    def classify(self, exc):
        if isinstance(exc, http.client.IncompleteRead):
            return ErrorKind.INCOMPLETE
        return None


WIRE_ADAPTER = MiniAdapter()
'''


@pytest.fixture(autouse=True)
def _strict_inner_runs(pytester: pytest.Pytester) -> None:
    # The inner runs have their own rootdir: give them the project's strictness too. They do not
    # need hypothesis, whose plugin would re-import it (1.5 s) in every in-process run. When the
    # outer run has already imported the plugin (tests/ and suites/ in one run), pytest cannot
    # assert-rewrite it again and says so: that warning is about the outer run, not the inner.
    # The scenarios of these runs live outside the suites package: like a project with scenarios
    # of its own, the runs register the suite's plugin themselves (-p), --impl given or not.
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n"
                     "    ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning\n"
                     "xfail_strict = true\n"
                     "addopts = --strict-markers -p no:hypothesispytest -p no:cacheprovider -p h1conform.suites.plugin\n")


def literal(text: str) -> str:
    """`text` as an fnmatch pattern that matches it literally (test ids have brackets)."""
    return glob.escape(text)


def write_scenarios(pytester: pytest.Pytester, source: str = SCENARIOS, name: str = "test_demo") -> Path:
    return pytester.makepyfile(**{name: source})


def stdlib_copy(pytester: pytest.Pytester, name: str = "stdcopy.py") -> Path:
    """A full copy of the stdlib's http/client.py, as a file outside any package."""
    target = pytester.path / "impls" / name
    target.parent.mkdir(exist_ok=True)
    assert http.client.__file__ is not None
    shutil.copyfile(http.client.__file__, target)
    return target


def outcomes(result: pytest.RunResult) -> dict[tuple[str, str], str]:
    """{(scenario id, impl name): outcome} of an in-process run, from the reports' properties."""
    found: dict[tuple[str, str], str] = {}
    for report in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        if report.when != "call" and report.passed:
            continue
        scenario_id = dict(report.user_properties)["scenario"]
        impl = report.nodeid.rsplit("[", 1)[1].rstrip("]").rsplit("-", 1)[-1]
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        else:
            outcome = report.outcome
        found.setdefault((scenario_id, impl), outcome)
    return found


def by_scenario(found: dict[tuple[str, str], str], impl: str) -> dict[str, str]:
    return {scenario_id: outcome for (scenario_id, name), outcome in found.items() if name == impl}


def assert_one_line_usage_error(result: pytest.RunResult, *fragments: str) -> str:
    """Exit code 4, one ERROR line on stderr that has every fragment, and no traceback anywhere."""
    assert result.ret == USAGE_ERROR, result.stdout.str() + result.stderr.str()
    everything = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in everything
    assert "INTERNALERROR" not in everything
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


# -- --impl forms ---------------------------------------------------------------------------------


def test_default_impl_is_the_reference(pytester: pytest.Pytester) -> None:
    # The reference passes every scenario, the one stdlib fails included.
    write_scenarios(pytester)
    result = pytester.runpytest()
    assert by_scenario(outcomes(result), "reference") == dict.fromkeys(STDLIB_OUTCOMES, "passed")
    result.assert_outcomes(passed=5)


def test_builtin_stdlib_name(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    result = pytester.runpytest("--impl=stdlib", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([literal("test_demo.py::test_body_ok[whole-stdlib]"),
                                 literal("test_demo.py::test_body_incomplete[stdlib]")])


def test_dotted_module(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    pytester.makepyfile(h1x_reexport=REEXPORT_MODULE)
    pytester.syspathinsert()
    result = pytester.runpytest("--impl=h1x_reexport")
    assert by_scenario(outcomes(result), "h1x_reexport") == STDLIB_OUTCOMES


def test_py_file_copy_of_stdlib_matches_stdlib(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    copy = stdlib_copy(pytester)
    stdlib = by_scenario(outcomes(pytester.runpytest("--impl=stdlib")), "stdlib")
    copied = by_scenario(outcomes(pytester.runpytest(f"--impl={copy}")), "stdcopy")
    assert copied == stdlib == STDLIB_OUTCOMES


def make_site(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, entry_points: str) -> Path:
    """A site dir with h1x_ep_client.py and a dist-info declaring `entry_points`, on PYTHONPATH."""
    site = pytester.mkdir("site")
    (site / "h1x_ep_client.py").write_text(REEXPORT_MODULE)
    dist_info = site / "h1x_ep_client-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: h1x-ep-client\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[h1conform.implementations]\n{entry_points}")
    monkeypatch.setenv("PYTHONPATH", str(site))
    return site


def test_entry_point(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    write_scenarios(pytester)
    make_site(pytester, monkeypatch, "epclient = h1x_ep_client\n")
    result = pytester.runpytest_subprocess("--impl=epclient", "-rA", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([literal("FAILED test_demo.py::test_invalid_length[epclient]") + " - *"])
    result.stdout.fnmatch_lines([literal("PASSED test_demo.py::test_body_ok[bytewise-epclient]")])


def test_entry_point_that_fails_to_load(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    write_scenarios(pytester)
    make_site(pytester, monkeypatch, "epbroken = h1x_ep_missing_module\n")
    result = pytester.runpytest_subprocess("--impl=epbroken", timeout=SUBPROCESS_TIMEOUT)
    line = assert_one_line_usage_error(result, "--impl=epbroken", "h1x_ep_missing_module")
    assert "failed to load" in line


def test_wire_adapter_module_runs_wire_scenarios_only(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester, SCENARIOS + r'''

@scenario("demo.method.custom", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE, needs=["custom-methods"])
def test_custom_method(server, wire):
    server.add_connection(respond(OK))
    expect_response(wire.request("BREW", server.url("/")))


@scenario("demo.method.post", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_post(server, wire):
    expect_response(wire.request("POST", server.url("/"), body=b"x"))
''')
    pytester.makepyfile(h1x_wireonly=WIRE_ONLY_MODULE)
    pytester.syspathinsert()
    result = pytester.runpytest("--impl=h1x_wireonly")
    found = by_scenario(outcomes(result), "mini")  # named by its adapter's `name`, not its module
    assert found == {**STDLIB_OUTCOMES, "demo.api.incomplete-read": "skipped",
                     "demo.method.custom": "skipped", "demo.method.post": "skipped"}
    reasons = {report.nodeid.split("::")[1].split("[")[0]: report.longrepr[2]
               for report in result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
               if report.skipped}
    assert set(reasons) == {"test_api_incomplete_read", "test_custom_method", "test_post"}
    for reason in reasons.values():
        assert reason.removeprefix("Skipped: ").startswith(UNSUPPORTED), reason
    assert "no http.client API" in reasons["test_api_incomplete_read"]
    assert "custom-methods" in reasons["test_custom_method"]
    assert "method POST" in reasons["test_post"]


# -- several --impl in one run --------------------------------------------------------------------


def test_repeated_impl_runs_each_scenario_once_per_impl(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    copy = stdlib_copy(pytester)
    result = pytester.runpytest("--impl=stdlib", f"--impl={copy}", "-v")
    found = outcomes(result)
    assert by_scenario(found, "stdlib") == by_scenario(found, "stdcopy") == STDLIB_OUTCOMES
    assert len(found) == 2 * len(STDLIB_OUTCOMES)
    result.stdout.fnmatch_lines_random([
        "*" + literal("test_demo.py::test_body_incomplete[stdlib] PASSED") + "*",
        "*" + literal("test_demo.py::test_body_incomplete[stdcopy] PASSED") + "*",
        "*" + literal("test_demo.py::test_body_ok[bytewise-stdlib] PASSED") + "*",
        "*" + literal("test_demo.py::test_body_ok[bytewise-stdcopy] PASSED") + "*",
    ])


def test_same_impl_name_twice_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    assert_one_line_usage_error(pytester.runpytest("--impl=stdlib", "--impl=stdlib"), "stdlib")


def test_two_files_with_the_same_stem_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    first = stdlib_copy(pytester, "client.py")
    second = pytester.mkdir("other") / "client.py"
    shutil.copyfile(first, second)
    assert_one_line_usage_error(pytester.runpytest(f"--impl={first}", f"--impl={second}"), "client")


# -- bad --impl values ----------------------------------------------------------------------------


def test_impl_no_such_module(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    assert_one_line_usage_error(pytester.runpytest("--impl=h1x_no_such_module"), "--impl=h1x_no_such_module")


def test_impl_module_raising_import_error(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    pytester.makepyfile(h1x_broken='raise ImportError("h1x needs libfoo")\n')
    pytester.syspathinsert()
    line = assert_one_line_usage_error(pytester.runpytest("--impl=h1x_broken"), "--impl=h1x_broken")
    assert "h1x needs libfoo" in line


def test_impl_module_with_a_missing_dependency_is_not_reported_as_missing_itself(pytester: pytest.Pytester) -> None:
    # The module exists; what is missing is a module it imports, whose name is a prefix of its own.
    write_scenarios(pytester)
    pytester.makepyfile(h1x_client="import h1x\n")
    pytester.syspathinsert()
    line = assert_one_line_usage_error(pytester.runpytest("--impl=h1x_client"), "--impl=h1x_client")
    assert "importing it failed" in line
    assert "'h1x'" in line


def test_impl_module_without_the_api(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    line = assert_one_line_usage_error(pytester.runpytest("--impl=json"), "--impl=json")
    assert "HTTPConnection" in line


def test_impl_missing_py_file(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    missing = pytester.path / "nowhere" / "client.py"
    assert_one_line_usage_error(pytester.runpytest(f"--impl={missing}"), str(missing))


def test_impl_py_file_failing_at_import(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    broken = pytester.path / "impls" / "broken.py"
    broken.parent.mkdir()
    broken.write_text("1 / 0\n")
    line = assert_one_line_usage_error(pytester.runpytest(f"--impl={broken}"), str(broken))
    assert "ZeroDivisionError" in line


def test_impl_empty_value(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    assert_one_line_usage_error(pytester.runpytest("--impl="), "--impl")


# What an implementation may raise when it is imported: none of it may end the run with a
# traceback, an INTERNALERROR or silence; each is one line and exit code 4.
RAISED_AT_IMPORT = {
    "system-exit": ("raise SystemExit(3)\n", "SystemExit: 3"),
    "keyboard-interrupt": ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
    "base-exception": ("class Stop(BaseException):\n    pass\nraise Stop('custom')\n", "Stop: custom"),
}


@pytest.mark.parametrize("form", ["dotted", "file"])
@pytest.mark.parametrize("raised", sorted(RAISED_AT_IMPORT))
def test_impl_raising_a_base_exception_at_import(pytester: pytest.Pytester, raised: str, form: str) -> None:
    source, shown = RAISED_AT_IMPORT[raised]
    write_scenarios(pytester)
    module = pytester.makepyfile(h1x_raising=source)
    pytester.syspathinsert()
    spec = "h1x_raising" if form == "dotted" else str(module)
    # A subprocess: a KeyboardInterrupt that escaped would end an in-process run's caller too.
    result = pytester.runpytest_subprocess(f"--impl={spec}", timeout=SUBPROCESS_TIMEOUT)
    line = assert_one_line_usage_error(result, f"--impl={spec}")
    assert shown in line


def test_impl_directory(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    package = pytester.mkpydir("h1x_package")
    line = assert_one_line_usage_error(pytester.runpytest(f"--impl={package}"), str(package))
    assert "a directory" in line and "no such file" not in line
    # Control: the same package by its dotted name is an implementation.
    (package / "__init__.py").write_text(REEXPORT_MODULE)
    pytester.syspathinsert()
    assert by_scenario(outcomes(pytester.runpytest("--impl=h1x_package")), "h1x_package") == STDLIB_OUTCOMES


# -- scenario metadata ----------------------------------------------------------------------------

SCENARIO_HEAD = '''
from h1conform.servers import respond
from h1conform.suites.harness import API, API_LEVEL, MAY, MUST, WIRE, scenario

OK = b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n"
'''


def metadata_failure(pytester: pytest.Pytester, source: str) -> str:
    """Run a module whose metadata is wrong; the run must stop before any test, without a traceback."""
    pytester.makepyfile(test_meta=SCENARIO_HEAD + source)
    result = pytester.runpytest()
    output = result.stdout.str() + result.stderr.str()
    assert result.ret in (pytest.ExitCode.INTERRUPTED, USAGE_ERROR), output
    assert "INTERNALERROR" not in output
    assert "Traceback" not in output
    assert not {"passed", "failed", "skipped", "xfailed"} & result.parseoutcomes().keys()  # no test ran
    assert "invalid scenario metadata" in output
    return output


def test_metadata_without_refs(pytester: pytest.Pytester) -> None:
    output = metadata_failure(pytester, '''
@scenario("demo.norefs", refs=[], level=MUST, profile=WIRE)
def test_no_refs(server, wire):
    pass
''')
    assert "test_meta.py::test_no_refs" in output
    assert "no spec references" in output


def test_metadata_unknown_ref(pytester: pytest.Pytester) -> None:
    output = metadata_failure(pytester, '''
@scenario("demo.unknown-ref", refs=["RFC9112-99.9-p9-s9"], level=MUST, profile=WIRE)
def test_unknown_ref(server, wire):
    pass
''')
    assert "test_meta.py::test_unknown_ref" in output
    assert "RFC9112-99.9-p9-s9" in output


def test_metadata_bad_id(pytester: pytest.Pytester) -> None:
    output = metadata_failure(pytester, '''
@scenario("Demo Bad Id", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_bad_id(server, wire):
    pass
''')
    assert "test_meta.py::test_bad_id" in output
    assert "'Demo Bad Id' is not a dotted lower-case name" in output


def test_metadata_level_not_matching_refs(pytester: pytest.Pytester) -> None:
    # RFC9112-2.2-p3-s1 is a MAY: a scenario citing only it cannot claim MUST.
    output = metadata_failure(pytester, '''
@scenario("demo.lf-only", refs=["RFC9112-2.2-p3-s1"], level=MUST, profile=WIRE)
def test_lf_only(server, wire):
    pass
''')
    assert "test_meta.py::test_lf_only" in output
    assert "level MUST but no cited requirement is at that level" in output


def test_metadata_api_profile_without_client_fixture(pytester: pytest.Pytester) -> None:
    output = metadata_failure(pytester, '''
@scenario("demo.api.no-client", refs=["http.client.HTTPResponse.read"], level=API_LEVEL, profile=API)
def test_api_without_client(server, wire):
    pass
''')
    assert "test_meta.py::test_api_without_client" in output
    assert "'client' fixture" in output


def test_metadata_two_functions_one_id(pytester: pytest.Pytester) -> None:
    output = metadata_failure(pytester, '''
@scenario("demo.twice", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_first(server, wire):
    pass


@scenario("demo.twice", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_second(server, wire):
    pass
''')
    assert "test_meta.py::test_second" in output
    assert "also used by test_meta.py::test_first" in output


def test_metadata_positional_marker_gets_a_clear_error(pytester: pytest.Pytester) -> None:
    # `pytest --markers` advertises `scenario(id, refs, level, profile)`; written that way the
    # mark carries positional args, which must be a clear metadata error, not an INTERNALERROR.
    output = metadata_failure(pytester, '''
import pytest

@pytest.mark.scenario("demo.positional", ["RFC9112-6.3-p2-s8"], MUST, WIRE)
def test_positional(server, wire):
    pass
''')
    assert "test_meta.py::test_positional" in output


def test_complete_scenario_is_collected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_meta=SCENARIO_HEAD + '''
@scenario("demo.complete", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_complete(server, wire):
    server.add_connection(respond(OK))
    assert wire.request("GET", server.url("/")).status == 200


@scenario("demo.lf-only", refs=["RFC9112-2.2-p3-s1"], level=MAY, profile=WIRE)
def test_may(server, wire):
    server.add_connection(respond(OK))
    assert wire.request("GET", server.url("/")).status == 200
''')
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def test_variant_ids_exclude_the_impl_name(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_meta=SCENARIO_HEAD + '''
import pytest
from h1conform.suites.harness import variant


@scenario("demo.variants", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
@pytest.mark.parametrize("x", [variant(1, id="one"), variant(2, id="two", level=MAY, refs=["RFC9112-2.2-p3-s1"])])
@pytest.mark.parametrize("y", ["a", "b"])
def test_variants(server, wire, x, y, scenario_info):
    print(f"INFO {scenario_info.id} {scenario_info.level.name}")


@scenario("demo.plain", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_plain(server, wire, scenario_info):
    print(f"INFO {scenario_info.id} {scenario_info.level.name}")
''')
    copy = stdlib_copy(pytester)
    result = pytester.runpytest("--impl=stdlib", f"--impl={copy}", "-s", "--junitxml=out.xml")
    result.assert_outcomes(passed=10)
    expected = {"demo.plain"} | {f"demo.variants[{y}-{x}]" for x in ("one", "two") for y in ("a", "b")}
    printed = [match.split() for match in re.findall(r"INFO (\S+ \S+)", result.stdout.str())]
    assert sorted(printed) == sorted([[scenario_id, "MAY" if "two" in scenario_id else "MUST"]
                                      for scenario_id in expected for _ in ("stdlib", "stdcopy")])
    tree = ET.parse(pytester.path / "out.xml")
    properties = [(case.get("name"), prop.get("value"))
                  for case in tree.iter("testcase") for prop in case.iter("property")
                  if prop.get("name") == "scenario"]
    assert ("test_variants[a-one-stdcopy]", "demo.variants[a-one]") in properties
    assert ("test_plain[stdlib]", "demo.plain") in properties
    assert {value for _, value in properties} == expected
    assert len(properties) == 10


# -- the per-scenario deadline ----------------------------------------------------------------------

HANGING_MODULE = '''
import threading
from http.client import *
from http.client import HTTPConnection as _HTTPConnection


class HTTPConnection(_HTTPConnection):
    def getresponse(self):
        threading.Event().wait()  # never set: the client hangs
'''


def test_hanging_client_times_out_and_the_run_continues(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(h1x_hang=HANGING_MODULE)
    pytester.makepyfile(test_hang=SCENARIO_HEAD + '''
@scenario("demo.hang", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_a_hangs(server, wire):
    server.add_connection(respond(OK))
    wire.request("GET", server.url("/"))


@scenario("demo.after-hang", refs=["http.client.HTTPConnection"], level=API_LEVEL, profile=API)
def test_b_runs_after(client):
    assert client.module.HTTPConnection.default_port == 80
''')
    result = pytester.runpytest_subprocess("--impl=h1x_hang", "--scenario-timeout=1", "-rA",
                                           timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["  ScenarioTimeout: the client made no progress for 1 s while *",
                                 literal("FAILED test_hang.py::test_a_hangs[h1x_hang]") + " - ScenarioTimeout: *"])
    result.stdout.fnmatch_lines([literal("PASSED test_hang.py::test_b_runs_after[h1x_hang]")])
    assert result.duration < SUBPROCESS_TIMEOUT / 2


def test_client_hanging_in_close_times_out_too(pytester: pytest.Pytester) -> None:
    # A client whose close() hangs (say, it joins a stuck background thread) hangs in the
    # fixture teardown, which must be bounded by the deadline too: "never a hung run".
    pytester.makepyfile(h1x_hang_close=HANGING_MODULE.replace("getresponse", "close"))
    pytester.makepyfile(test_hang=SCENARIO_HEAD + '''
@scenario("demo.hang-close", refs=["http.client.HTTPConnection.close"], level=API_LEVEL, profile=API)
def test_a_hangs_in_close(server, client):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b""


@scenario("demo.after-hang", refs=["http.client.HTTPConnection"], level=API_LEVEL, profile=API)
def test_b_runs_after(client):
    assert client.module.HTTPConnection.default_port == 80
''')
    try:
        # The bound only catches a hung run: a loaded machine may take seconds to start pytest.
        result = pytester.runpytest_subprocess("--impl=h1x_hang_close", "--scenario-timeout=1", "-rA",
                                               timeout=SUBPROCESS_TIMEOUT)
    except pytester.TimeoutExpired:
        pytest.fail("the run hung in the teardown of a scenario whose client's close() never returns; "
                    "--scenario-timeout does not cover fixture teardown", pytrace=False)
    result.stdout.fnmatch_lines(["*ScenarioTimeout: the client made no progress for 1 s while closing its connections*"])
    result.stdout.fnmatch_lines([literal("PASSED test_hang.py::test_b_runs_after[h1x_hang_close]")])


# -- --expect -------------------------------------------------------------------------------------


def test_expect_listed_failing_scenario_is_xfailed(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="# known breaches\ndemo.framing.invalid-length   first Content-Length wins\n")
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt")
    assert by_scenario(outcomes(result), "stdlib") == {**STDLIB_OUTCOMES, "demo.framing.invalid-length": "xfailed"}
    assert result.ret == pytest.ExitCode.OK


def test_expect_listed_passing_scenario_fails_the_run(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="demo.framing.invalid-length  known\n\ndemo.body.incomplete  was broken\n")
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt", "-rA")
    assert by_scenario(outcomes(result), "stdlib") == {
        **STDLIB_OUTCOMES, "demo.framing.invalid-length": "xfailed", "demo.body.incomplete": "failed"}
    result.stdout.fnmatch_lines([
        "[[]XPASS(strict)] listed in expect.txt:3: was broken (if it passes now, remove that line)",
        literal("FAILED test_demo.py::test_body_incomplete[stdlib]") + " - *",
    ])


def test_expect_variant_id(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="demo.body.ok[bytewise]  flaky server\n")
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt")
    found = by_scenario(outcomes(result), "stdlib")
    assert found["demo.body.ok[bytewise]"] == "failed"  # it passes: strict
    assert found["demo.body.ok[whole]"] == "passed"


def test_expect_unknown_id_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="demo.body.ok[whole]  fine\ndemo.nothing.here  no such scenario\n")
    assert_one_line_usage_error(pytester.runpytest("--impl=stdlib", "--expect=expect.txt"), "demo.nothing.here", "expect.txt:2")


@pytest.mark.parametrize(("content", "fragments"), [
    ("demo.body.incomplete  reason\ndemo.framing.invalid-length\n",
     ["expect.txt:2", "demo.framing.invalid-length", "reason"]),
    ("demo.body.incomplete  reason\n# comment\ndemo.body.incomplete  again\n",
     ["expect.txt:3", "listed twice", "expect.txt:1"]),
    ("Not/An/Id  reason\n", ["expect.txt:1", "Not/An/Id"]),
], ids=["id-without-reason", "duplicate-id", "bad-id"])
def test_expect_malformed_file(pytester: pytest.Pytester, content: str, fragments: list[str]) -> None:
    write_scenarios(pytester)
    pytester.makefile(".txt", expect=content)
    assert_one_line_usage_error(pytester.runpytest("--impl=stdlib", "--expect=expect.txt"), *fragments)


def test_expect_unreadable_file(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    assert_one_line_usage_error(pytester.runpytest("--expect=missing.txt"), "missing.txt", "cannot read")


def test_expect_empty_file_changes_nothing(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="")
    with_file = pytester.runpytest("--impl=stdlib", "--expect=expect.txt")
    without = pytester.runpytest("--impl=stdlib")
    assert outcomes(with_file) == outcomes(without)
    assert by_scenario(outcomes(with_file), "stdlib") == STDLIB_OUTCOMES


def test_expect_for_one_implementation(pytester: pytest.Pytester) -> None:
    # IMPL=FILE applies a file to one implementation only: the same failing scenario is an
    # expected failure for stdlib and a plain failure for the copy, which has no file.
    write_scenarios(pytester)
    copy = stdlib_copy(pytester)
    pytester.makefile(".txt", expect="demo.framing.invalid-length   first Content-Length wins\n")
    result = pytester.runpytest("--impl=stdlib", f"--impl={copy}", "--expect=stdlib=expect.txt")
    found = outcomes(result)
    assert by_scenario(found, "stdlib")["demo.framing.invalid-length"] == "xfailed"
    assert by_scenario(found, copy.stem)["demo.framing.invalid-length"] == "failed"


def test_expect_for_an_implementation_not_in_the_run(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="demo.framing.invalid-length   first Content-Length wins\n")
    assert_one_line_usage_error(pytester.runpytest("--expect=nosuch=expect.txt"), "nosuch", "not an implementation")


def test_expect_file_with_a_utf8_bom(pytester: pytest.Pytester) -> None:
    # Some editors start UTF-8 files with a BOM: the file is read the same as without it.
    write_scenarios(pytester)
    (pytester.path / "expect.txt").write_bytes(
        "\ufeffdemo.framing.invalid-length   first Content-Length wins\n".encode("utf-8"))
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt")
    assert by_scenario(outcomes(result), "stdlib")["demo.framing.invalid-length"] == "xfailed"
    assert result.ret == pytest.ExitCode.OK


def test_expect_hash_inside_a_reason_is_part_of_it(pytester: pytest.Pytester) -> None:
    # `#` starts a comment only as a line's first non-blank character.
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="# a comment\n   # an indented comment\n"
                                     "demo.framing.invalid-length   issue #1234: the first Content-Length wins\n")
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt", "-rx")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["XFAIL *test_invalid_length* - listed in expect.txt:3: "
                                 "issue #1234: the first Content-Length wins*"])


# A real scenario of the suite, which the runs below do not collect.
SUITE_SCENARIO = "response.framing.content-length.multiple"


@pytest.mark.parametrize("selection", [["-k", "not invalid_length"], ["--deselect", "test_demo.py::test_invalid_length"]],
                         ids=["-k", "--deselect"])
def test_expect_partial_run_gates_what_it_runs(pytester: pytest.Pytester, selection: list[str]) -> None:
    # The file lists a scenario the run deselected and one of the suite in a file the run did not
    # collect: neither is an error; the listed scenario that did run still gates.
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="demo.framing.invalid-length   first Content-Length wins\n"
                                     f"{SUITE_SCENARIO}[bytewise-different-list]   not collected here\n"
                                     "demo.body.incomplete   listed, passes\n")
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt", *selection)
    found = by_scenario(outcomes(result), "stdlib")
    assert "demo.framing.invalid-length" not in found
    assert found["demo.body.incomplete"] == "failed"  # XPASS(strict): the gate holds for what ran
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_expect_one_file_of_the_suite_with_the_published_expectations(pytester: pytest.Pytester) -> None:
    # `tox -e py3xx -- suites/test_status_line.py`: one file of the real suite, gated on the whole
    # suite's expectations file, runs and passes (it stopped with one 27.7 KB line of every id the
    # run did not collect).
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    expected = ROOT / "expectations" / f"stdlib-{version}.txt"
    if not expected.is_file():
        pytest.skip(f"no expectations file for Python {version}")
    result = pytester.runpytest_subprocess(str(ROOT / "suites" / "test_status_line.py"), "--impl=stdlib",
                                           f"--expect=stdlib={expected}", "-p", "no:cacheprovider",
                                           timeout=SUBPROCESS_TIMEOUT)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-2000:] + result.stderr.str()
    assert result.parseoutcomes().get("xfailed", 0) > 0  # it did gate: listed failures of that file


def test_expect_ids_naming_nothing_are_one_readable_line(pytester: pytest.Pytester) -> None:
    # Many unknown ids: one line with a few of them and the count, however long the file.
    write_scenarios(pytester)
    unknown = [f"demo.nothing.n{number:03}" for number in range(200)]
    pytester.makefile(".txt", expect="".join(f"{scenario_id}   no such scenario\n" for scenario_id in unknown)
                      + "demo.body.ok[nosuchvariant]   a collected scenario, a variant it does not have\n")
    line = assert_one_line_usage_error(pytester.runpytest("--impl=stdlib", "--expect=expect.txt", "-k", "body_ok"),
                                       "201 listed ids match no scenario of the suite",
                                       "demo.nothing.n000 (expect.txt:1)", "and 196 more")
    assert len(line) < 400, line



def test_write_expect_then_gate_on_it(pytester: pytest.Pytester) -> None:
    # A run writes its failures as an expectations file; gating on that file makes the same
    # run green, with the failure reported as expected.
    write_scenarios(pytester)
    first = pytester.runpytest("--impl=stdlib", "--write-expect=written.txt")
    assert by_scenario(outcomes(first), "stdlib")["demo.framing.invalid-length"] == "failed"
    written = (pytester.path / "written.txt").read_text()
    listed = [line.split()[0] for line in written.splitlines() if line and not line.startswith("#")]
    assert listed == ["demo.framing.invalid-length"]
    second = pytester.runpytest("--impl=stdlib", "--expect=written.txt")
    assert by_scenario(outcomes(second), "stdlib")["demo.framing.invalid-length"] == "xfailed"
    assert second.ret == pytest.ExitCode.OK


def test_write_expect_keeps_a_client_s_hostile_text_in_one_valid_line(pytester: pytest.Pytester) -> None:
    # A failure's reason is the client's text: a lone surrogate and control characters must not
    # crash the writer or break the file into lines; the file gates the same run afterwards.
    # Control: the same scenario with a plain message is written as it is.
    pytester.makepyfile(test_hostile=SCENARIO_HEAD + r'''
import pytest


@scenario("demo.hostile", refs=["http.client.HTTPConnection.request"], level=API_LEVEL, profile=API)
@pytest.mark.parametrize("text", ["plain message", "bad \udc80 text\x00\x1b[31m end"], ids=["plain", "hostile"])
def test_hostile(server, client, text):
    raise AssertionError(text)
''')
    first = pytester.runpytest("--impl=stdlib", "--write-expect=written.txt")
    assert first.ret == pytest.ExitCode.TESTS_FAILED
    written = (pytester.path / "written.txt").read_text(encoding="utf-8")
    rows = [line for line in written.splitlines() if line and not line.startswith("#")]
    assert len(rows) == 2, written
    assert "plain message" in rows[1]
    assert "\\udc80" in rows[0] and "\\x00" in rows[0] and "\\x1b" in rows[0], rows[0]
    second = pytester.runpytest("--impl=stdlib", "--expect=written.txt")
    assert second.ret == pytest.ExitCode.OK


# -- server errors ----------------------------------------------------------------------------------


def test_server_error_fails_the_scenario(pytester: pytest.Pytester) -> None:
    # The script expects a second request on the connection; the client half-closes instead.
    # Reading until EOF makes it deterministic: the server records its error before it closes.
    pytester.makepyfile(test_scripted_demo=SCENARIO_HEAD + '''
import socket
from h1conform.servers import expect_request


@scenario("demo.second-request", refs=["http.client.HTTPConnection.request"], level=API_LEVEL, profile=API)
def test_no_second_request(server, client):
    server.add_connection(respond(OK), expect_request())
    conn = client.connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b""
    conn.sock.shutdown(socket.SHUT_WR)
    assert conn.sock.recv(1) == b""
''')
    result = pytester.runpytest("-rA")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the scripted server reported:*",
                                 "*step 2 expect_request(): the client closed the connection after 0 bytes*"])


SILENT_UNMET_SCRIPTS = SCENARIO_HEAD + '''
from h1conform.servers import expect_request


@scenario("demo.never-connects", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_client_never_connects(server, wire):
    server.add_connection(respond(OK))  # the client under test never makes this request


@scenario("demo.no-second-request", refs=["http.client.HTTPConnection.request"], level=API_LEVEL, profile=API)
def test_client_keeps_the_connection_idle(client, server):
    server.add_connection(respond(OK), expect_request())  # the second request never comes
    conn = client.connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b""
'''


@pytest.mark.parametrize("test_name", ["test_client_never_connects", "test_client_keeps_the_connection_idle"])
def test_unmet_script_expectation_is_not_a_pass(pytester: pytest.Pytester, test_name: str) -> None:
    pytester.makepyfile(test_scripted_demo=SILENT_UNMET_SCRIPTS)
    result = pytester.runpytest("-k", test_name, "-rA")
    outcomes_ = result.parseoutcomes()
    assert "passed" not in outcomes_, (
        f"{test_name} passed although its script expected a request the client never sent")
    assert outcomes_.get("failed", 0) + outcomes_.get("errors", 0) == 1
    assert "the scripted server reported" in result.stdout.str()



# -- CI gating: each rule of --expect, as a third party's CI sees it (exit code, message) ----------


def test_gate_unlisted_failure_fails_the_run(pytester: pytest.Pytester) -> None:
    # The file lists another scenario; the stdlib's real failure is not listed: the run fails.
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="demo.body.incomplete  listed for another reason\n")
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt")
    found = by_scenario(outcomes(result), "stdlib")
    assert found["demo.framing.invalid-length"] == "failed"
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([literal("FAILED test_demo.py::test_invalid_length[stdlib]") + " - *"])


def test_gate_listed_failure_alone_passes_the_run(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="demo.framing.invalid-length  first Content-Length wins\n")
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt", "-rx")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["XFAIL test_demo.py::test_invalid_length[[]stdlib] - listed in expect.txt:1: "
                                 "first Content-Length wins*"])


def test_gate_listed_scenario_that_passes_fails_the_run_and_says_to_remove_the_line(pytester: pytest.Pytester) -> None:
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="demo.framing.invalid-length  known\ndemo.body.incomplete  was broken\n")
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["[[]XPASS(strict)] listed in expect.txt:2: was broken (if it passes now, remove that line)",
                                 literal("FAILED test_demo.py::test_body_incomplete[stdlib]") + " - *"])


def test_gate_unknown_id_under_xdist_fails_the_run_with_the_message(pytester: pytest.Pytester) -> None:
    # Under -n, xdist cannot stop on a usage error raised in a worker's collection: the run
    # fails with a test named --expect carrying the message (README: exit codes).
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="demo.nothing.here  no such scenario\n")
    result = pytester.runpytest_subprocess("--impl=stdlib", "--expect=expect.txt", "-n", "1", "-p", "xdist",
                                           timeout=SUBPROCESS_TIMEOUT)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*--expect: a listed id matches no scenario of the suite: "
                                 "demo.nothing.here (expect.txt:1)*", "*FAILED*--expect*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_gate_write_expect_for_one_implementation(pytester: pytest.Pytester) -> None:
    # IMPL=FILE writes only that implementation's failures; the reference's file is empty.
    write_scenarios(pytester)
    copy = stdlib_copy(pytester)
    pytester.runpytest("--impl=reference", f"--impl={copy}", f"--write-expect={copy.stem}=copy.txt",
                       "--write-expect=reference=ref.txt")
    listed = [line.split()[0] for line in (pytester.path / "copy.txt").read_text().splitlines()
              if line and not line.startswith("#")]
    assert listed == ["demo.framing.invalid-length"]
    assert [line for line in (pytester.path / "ref.txt").read_text().splitlines()
            if line and not line.startswith("#")] == []


def test_gate_junit_xml_keeps_scenario_ids_of_every_outcome(pytester: pytest.Pytester) -> None:
    # A CI system reads the JUnit file: every test case, expected failures and failures included,
    # carries its scenario id and implementation as properties.
    write_scenarios(pytester)
    pytester.makefile(".txt", expect="demo.framing.invalid-length  first Content-Length wins\n"
                                     "demo.body.incomplete  was broken\n")
    result = pytester.runpytest("--impl=stdlib", "--expect=expect.txt", "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    cases = {}
    for case in ET.parse(pytester.path / "junit.xml").iter("testcase"):
        properties = {prop.get("name"): prop.get("value") for prop in case.iter("property")}
        outcome = ("skipped" if case.find("skipped") is not None else
                   "failure" if case.find("failure") is not None else "passed")
        cases[properties["scenario"]] = (properties["impl"], outcome)
    assert cases == {
        "demo.body.ok[whole]": ("stdlib", "passed"),
        "demo.body.ok[bytewise]": ("stdlib", "passed"),
        "demo.body.incomplete": ("stdlib", "failure"),  # listed, passes: XPASS(strict)
        "demo.framing.invalid-length": ("stdlib", "skipped"),  # listed, fails: expected
        "demo.api.incomplete-read": ("stdlib", "passed"),
    }


def test_controls_runs_only_the_rows_that_exchange_valid_messages() -> None:
    assert is_control("response.framing.content-length.valid[whole-five]")
    assert is_control("request.line.method.refused[valid]")
    assert is_control("response.chunked.coding-before-chunked[bytewise-control-chunked-only]")
    assert not is_control("response.framing.content-length.invalid[whole-letters]")
    assert not is_control("request.line.method.refused[nul]")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", "--impl=stdlib",
         "suites/test_request_line.py", "--controls"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    collected = [line for line in completed.stdout.splitlines() if "::" in line]
    assert "test_method_refused[valid-stdlib]" in completed.stdout, completed.stdout
    assert collected and all("valid" in line or "control" in line for line in collected), collected
    assert "test_method_refused[nul-stdlib]" not in completed.stdout  # the control: without --controls it is there
    assert "[nul-stdlib]" in subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", "--impl=stdlib",
         "suites/test_request_line.py"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False).stdout
