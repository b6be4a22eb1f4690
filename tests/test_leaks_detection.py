"""Leaks are attributed (issue 15, item 2): what a client leaves open fails the scenario that left
it, with a reason naming the error path and the object; what no scenario left changes no verdict.

Two halves:
- the suite's own leak scenarios (suites/test_leaks.py), run in a subprocess with a results file,
  against deliberately leaky copies of the stdlib's http.client: one whose close() after a failure
  drops the socket without closing it (freed unclosed: a ResourceWarning), one that keeps it (no
  warning; the server never sees the client's FIN). Both fail the error paths, each verdict naming
  the path, and pass the controls; the stdlib passes the same rows (its own leaks are on the
  `dropped` rows, not selected here).
- the harness's attribution itself (suites/harness/leaks.py), with scenarios of its own: an
  unclosed socket held in a reference cycle (freed only by a collection) during the call, an
  unclosed socket left by close() in the teardown, and one left by a test that is no scenario.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBPROCESS_TIMEOUT = 300  # seconds; only a run that hangs gets near it

# The stdlib's http.client, whose close() after a failed request or read leaks the socket: it drops
# it unclosed ("drops") or keeps it in a list ("keeps"). Everything else is the stdlib's.
LEAKY_MODULE = '''
from http.client import *
from http.client import HTTPConnection as _HTTPConnection

KIND = {kind!r}
KEPT = []  # the sockets a "keeps" client holds on to


class HTTPConnection(_HTTPConnection):
    failed = False

    def _failing(self, action, *args):
        try:
            return action(*args)
        except Exception:
            self.failed = True
            raise

    def request(self, *args, **kwargs):
        return self._failing(lambda: super(HTTPConnection, self).request(*args, **kwargs))

    def getresponse(self):
        response = self._failing(super().getresponse)
        read = response.read
        response.read = lambda amt=None: self._failing(read, amt)
        return response

    def close(self):
        if self.failed and self.sock is not None:
            if KIND == "keeps":
                KEPT.append(self.sock)
            self.sock = None  # let go of it without closing it
        super().close()
'''

# Error paths of suites/test_leaks.py the leaky close() leaks on, and controls it passes.
ERROR_ROWS = {
    "leaks.api.incomplete-read[content-length-closed]": "IncompleteRead (body cut short) and close()",
    "leaks.api.incomplete-read[chunked-closed]": "IncompleteRead (body cut short) and close()",
    "leaks.api.getresponse-error[malformed-status-line-closed]": "BadStatusLine (inside getresponse()) and close()",
    "leaks.wire.incomplete-read[content-length]": "incomplete-message (body cut short) and closing the session",
    "leaks.wire.incomplete-read[chunked]": "incomplete-message (body cut short) and closing the session",
}
CONTROL_ROWS = ["leaks.api.partial-read-control", "leaks.api.tunnel-refused-control", "leaks.wire.control"]
SELECTION = ("(incomplete_read and (closed or wire)) or (getresponse_error and malformed and closed) "
             "or partial_read_control or tunnel_control or wire_control")


def run_leak_rows(tmp_path: Path, impl: str) -> dict[str, dict[str, Any]]:
    """The selected rows of suites/test_leaks.py run against `impl`; their records by scenario id."""
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q", "--no-header",
         "suites/test_leaks.py", "-k", SELECTION, f"--impl={impl}", f"--results={results}"],
        cwd=ROOT, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False)
    assert results.exists(), completed.stdout + completed.stderr
    document = json.loads(results.read_text(encoding="utf-8"))
    return {record["id"]: record for record in document["results"]}


@pytest.mark.parametrize("kind, left", [
    pytest.param("drops", "leaked unclosed <socket.socket", id="drops-the-socket"),
    pytest.param("keeps", "left open after", id="keeps-the-socket"),
])
def test_a_leaky_client_fails_each_error_path_named(tmp_path: Path, kind: str, left: str) -> None:
    module = tmp_path / f"leaky_{kind}.py"
    module.write_text(LEAKY_MODULE.format(kind=kind))
    records = run_leak_rows(tmp_path, str(module))
    assert sorted(records) == sorted([*ERROR_ROWS, *CONTROL_ROWS])
    for scenario, path in ERROR_ROWS.items():
        record = records[scenario]
        assert record["verdict"] == "fail", record
        assert left in record["reason"] and f"after {path}" in record["reason"], record["reason"]
    if kind == "keeps":  # the server's side: no FIN or RST
        assert "the server saw no FIN or RST" in records["leaks.wire.incomplete-read[content-length]"]["reason"]
    # The controls: the same checks after a successful exchange pass on the same client.
    assert {scenario: records[scenario]["verdict"] for scenario in CONTROL_ROWS} == dict.fromkeys(CONTROL_ROWS, "pass")


def test_the_stdlib_passes_the_same_rows(tmp_path: Path) -> None:
    records = run_leak_rows(tmp_path, "stdlib")
    assert {scenario: record["verdict"] for scenario, record in records.items()} == dict.fromkeys(
        [*ERROR_ROWS, *CONTROL_ROWS], "pass")


# -- the harness's attribution, with scenarios of its own --------------------------------------------------

# Implementations: the stdlib's http.client, leaking one unclosed socket in a reference cycle
# (freed only by a garbage collection) at each getresponse(), or dropping its socket unclosed in
# close() (freed at once, in the teardown that closes the scenario's connections).
CYCLE_MODULE = '''
import socket
from http.client import *
from http.client import HTTPConnection as _HTTPConnection


class HTTPConnection(_HTTPConnection):
    def getresponse(self):
        cycle = {"socket": socket.socket()}
        cycle["itself"] = cycle  # unreachable once this returns; freed only by a collection
        return super().getresponse()
'''
CLOSE_DROPS_MODULE = '''
from http.client import *
from http.client import HTTPConnection as _HTTPConnection


class HTTPConnection(_HTTPConnection):
    def close(self):
        self.sock = None  # dropped, never closed
'''

SCENARIOS = '''
import gc
import socket

from h1conform.servers import respond
from h1conform.suites.harness import API, API_LEVEL, SHOULD, scenario

OK = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"


def request(server, client):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"


@scenario("demo.leaks-api", refs=["http.client.HTTPConnection.close"], level=API_LEVEL, profile=API)
def test_1_api(server, client):
    request(server, client)


@scenario("demo.leaks-should", refs=["RFC9112-9.5-p2-s2"], level=SHOULD, profile=API)
def test_2_should(server, client):
    request(server, client)


def test_3_not_a_scenario():
    gc.disable()  # so that only the next scenario's first collection can free it
    cycle = {"socket": socket.socket()}
    cycle["itself"] = cycle


@scenario("demo.after-a-leak-of-no-scenario", refs=["http.client.HTTPConnection.close"], level=API_LEVEL,
          profile=API)
def test_4_after(server, client):
    gc.enable()
    request(server, client)
'''
INI = ("[pytest]\nfilterwarnings =\n    error\nxfail_strict = true\n"
       "addopts = --strict-markers -p no:hypothesispytest -p no:cacheprovider -p no:randomly\n")


def run_scenarios(pytester: pytest.Pytester, impl: str) -> tuple[pytest.RunResult, dict[str, dict[str, Any]]]:
    pytester.makeini(INI)
    pytester.makepyfile(test_demo=SCENARIOS, h1x_cycle=CYCLE_MODULE, h1x_close_drops=CLOSE_DROPS_MODULE)
    pytester.syspathinsert()
    # A subprocess: the garbage collector, the warnings and the unraisable hook are the run's own.
    result = pytester.runpytest_subprocess(f"--impl={impl}", "--results=results.json", "-s",
                                           timeout=SUBPROCESS_TIMEOUT)
    document = json.loads((pytester.path / "results.json").read_text(encoding="utf-8"))
    return result, {record["id"]: record for record in document["results"]}


def test_a_leak_in_a_cycle_fails_the_scenario_that_left_it(pytester: pytest.Pytester) -> None:
    result, records = run_scenarios(pytester, "h1x_cycle")
    for scenario, verdict in (("demo.leaks-api", "fail"), ("demo.leaks-should", "fail-should")):
        assert records[scenario]["verdict"] == verdict, records[scenario]
        assert "the client leaked unclosed <socket.socket" in records[scenario]["reason"]
        assert not records[scenario]["reason"].startswith("teardown")  # found in the call itself
    assert "LeakFound" in result.stdout.str()


def test_a_leak_in_close_fails_the_scenario_in_its_teardown(pytester: pytest.Pytester) -> None:
    _, records = run_scenarios(pytester, "h1x_close_drops")
    for scenario, verdict in (("demo.leaks-api", "fail"), ("demo.leaks-should", "fail-should")):
        assert records[scenario]["verdict"] == verdict, records[scenario]
        reason = records[scenario]["reason"]
        assert reason.startswith("teardown: ") and "LeakFound: the client leaked unclosed <socket" in reason, reason


def test_a_leak_of_no_scenario_changes_no_verdict(pytester: pytest.Pytester) -> None:
    # The control of both tests above too: the stdlib leaks nothing, every scenario passes.
    result, records = run_scenarios(pytester, "stdlib")
    assert {scenario: record["verdict"] for scenario, record in records.items()} == dict.fromkeys(
        ["demo.leaks-api", "demo.leaks-should", "demo.after-a-leak-of-no-scenario"], "pass")
    # The socket the plain test left is freed at the next scenario's start, said, not charged.
    result.stderr.fnmatch_lines(["h1conform: leaked unclosed <socket.socket*freed before *test_4_after*"
                                 "not charged to any (unattributable)"])
