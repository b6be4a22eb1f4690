"""CPython's own test suite for http.client, run against an implementation in its place.

    python tools/cpython_tests.py [--impl reference|stdlib] [--python PATH]... [--module NAME]

For each interpreter (the running one unless --python is given; repeat it for several), a child
process imports the implementation, puts it in `sys.modules["http.client"]` and in the `http`
package's `client` attribute *before* the test module (`test.test_httplib`, that interpreter's own
copy) is imported, runs the module with unittest, and reports every test's outcome. One child per
interpreter and implementation, so nothing of one run leaks into another.

`--impl=reference` (the default) runs h1conform's reference client; `--impl=stdlib` runs the
interpreter's own `http.client` unchanged, the control that must pass everything. Tests that need
the network (`support.requires('network')`) are skipped: the suite runs on loopback only.

Printed per interpreter: passed / failed / errors / skipped, the share of the tests that ran which
passed, then each test that did not pass. For the reference, a failing test is excused only by a
row of the table "CPython's test_httplib" in reference/CHOICES.md that names it and cites the
choice (a row of the other tables: 1, T2, R13...) that forces the difference; a failure without
such a row is flagged. The stdlib has no excuses: any failure of it is flagged.

Exit status: 0 every failure is excused, 1 a failure is not (or the stdlib failed), 2 the tests
could not be run (an interpreter that does not exist, a module that does not import, a child that
crashed or hung).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback
import unittest
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
CHOICES = ROOT / "reference" / "CHOICES.md"
IMPLEMENTATIONS = ("reference", "stdlib")
DEFAULT_MODULE = "test.test_httplib"
CHILD_TIMEOUT = 900.0  # seconds for one interpreter's whole run; a child still running is a hang
TARGET = 95.0  # percent of the tests that run which must pass (issue 14)
# The heading of the section of CHOICES.md whose table excuses test_httplib failures.
SECTION = "## CPython's test_httplib"

MESSAGE_LIMIT = 500  # characters of a failure's message that are reported
OUTCOMES = ("passed", "failed", "errors", "skipped")


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class UsageError(Exception):
    """Bad input: reported as one line, exit status 2."""


# -- CHOICES.md ---------------------------------------------------------------------------------

ROW_CELL = re.compile(r"^\|\s*([A-Z]?\d+)\s*\|")  # the "#" column of a choice table: 1, T2, R13
TEST_CELL = re.compile(r"^\|\s*`([A-Za-z_][\w.]*)`\s*\|\s*([^|]*?)\s*\|")


def choice_rows(text: str) -> set[str]:
    """The numbers of the choice rows (1, T1, R1...) in CHOICES.md's tables."""
    rows: set[str] = set()
    for line in text.splitlines():
        if line.startswith(SECTION):
            break  # the excuses table comes after the choices
        match = ROW_CELL.match(line)
        if match:
            rows.add(match[1])
    return rows


def excuses(text: str) -> dict[str, list[str]]:
    """Test name (`Class.test_method`) -> the choice rows cited for it, from SECTION's table.

    The second cell lists rows separated by commas or spaces ("3", "4, R11"); a row that is not
    in the choice tables is dropped, so a misspelt citation excuses nothing.
    """
    known = choice_rows(text)
    found: dict[str, list[str]] = {}
    in_section = False
    for line in text.splitlines():
        if line.startswith("## "):
            in_section = line.startswith(SECTION)
            continue
        match = TEST_CELL.match(line) if in_section else None
        if match:
            cited = [row for row in re.split(r"[,\s]+", match[2]) if row]
            found[match[1]] = [row for row in cited if row in known]
    return found


# -- a run's results ----------------------------------------------------------------------------


@dataclass
class Problem:
    test: str  # Class.test_method
    outcome: str  # "failed" or "errors"
    message: str  # the exception's last line
    rows: list[str] = field(default_factory=list)  # the CHOICES rows excusing it; [] for none


@dataclass
class RunResult:
    python: str  # version
    executable: str
    counts: dict[str, int]
    problems: list[Problem]

    @property
    def ran(self) -> int:
        return self.counts["passed"] + self.counts["failed"] + self.counts["errors"]

    @property
    def share(self) -> float:
        return 100.0 * self.counts["passed"] / self.ran if self.ran else 0.0

    @property
    def unexcused(self) -> list[Problem]:
        return [problem for problem in self.problems if not problem.rows]


def parse_child_output(data: object) -> RunResult:
    """The child's JSON report, checked; UsageError if it is not what the child writes."""
    if not isinstance(data, dict):
        raise UsageError("the child's report is not a JSON object")
    try:
        counts = {name: int(data["counts"][name]) for name in OUTCOMES}
        problems = [Problem(str(item["test"]), str(item["outcome"]), str(item["message"]))
                    for item in data["problems"]]
        return RunResult(str(data["python"]), str(data["executable"]), counts, problems)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"the child's report is malformed ({exc!r})") from None


def attach_excuses(result: RunResult, impl: str, table: dict[str, list[str]]) -> None:
    """Mark each problem with the rows excusing it; the stdlib is never excused."""
    for problem in result.problems:
        problem.rows = table.get(problem.test, []) if impl == "reference" else []


def report_lines(result: RunResult, impl: str) -> list[str]:
    counts = result.counts
    lines = [f"Python {result.python} ({result.executable}), {impl}: "
             f"{counts['passed']} passed, {counts['failed']} failed, {counts['errors']} errors, "
             f"{counts['skipped']} skipped; {counts['passed']} of the {result.ran} that ran pass "
             f"({result.share:.1f}%, target {TARGET:.0f}%)"]
    for problem in result.problems:
        if problem.rows:
            why = "CHOICES.md row " + ", ".join(problem.rows)
        elif impl == "reference":
            why = "NO CHOICES.md ROW"
        else:
            why = "the stdlib must pass every test"
        lines.append(f"  {problem.outcome[:-1] if problem.outcome == 'errors' else 'failure'}: "
                     f"{problem.test} [{why}]: {problem.message}")
    return lines


def exit_status(results: Sequence[RunResult]) -> int:
    return 1 if any(result.unexcused for result in results) else 0


# -- running a child ----------------------------------------------------------------------------


def run_child(python: str, impl: str, module: str) -> RunResult:
    """Run `module`'s tests under `python` with `impl` as http.client; UsageError if that fails."""
    if not os.access(python, os.X_OK) or not os.path.isfile(python):
        raise UsageError(f"no such interpreter: {python}")
    env = dict(os.environ)
    # The checkout root first: h1conform's __init__ extends its path to the checkout's folders, so
    # h1conform.reference imports under any interpreter, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="cpython-tests-") as tmp:
        out = Path(tmp) / "result.json"
        command = [python, str(Path(__file__).resolve()), "--child", impl, "--module", module, "--out", str(out)]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, errors="replace",
                                  timeout=CHILD_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise UsageError(f"{python}: the tests did not finish within {CHILD_TIMEOUT:.0f} s") from None
        if not out.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise UsageError(f"{python}: the tests could not be run (exit status {done.returncode}): {last}")
        try:
            data = json.loads(out.read_text(encoding="utf-8"))
        except ValueError:
            raise UsageError(f"{python}: the child's report is not JSON") from None
    return parse_child_output(data)


def main(argv: Sequence[str] | None = None,
         runner: Callable[[str, str, str], RunResult] = run_child) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--impl", choices=IMPLEMENTATIONS, default="reference",
                        help="the implementation put in http.client's place (default: reference)")
    parser.add_argument("--python", action="append", metavar="PATH",
                        help="an interpreter to run the tests under (repeatable; default: this one)")
    parser.add_argument("--module", default=DEFAULT_MODULE, help=f"the test module (default: {DEFAULT_MODULE})")
    args = parser.parse_args(argv)
    try:
        table = excuses(CHOICES.read_text(encoding="utf-8"))
        results = []
        for python in args.python or [sys.executable]:
            result = runner(python, args.impl, args.module)
            attach_excuses(result, args.impl, table)
            print("\n".join(report_lines(result, args.impl)), flush=True)
            results.append(result)
    except (UsageError, OSError) as exc:
        print(f"cpython_tests: {exc}", file=sys.stderr)
        return 2
    status = exit_status(results)
    if status:
        print("FAILED: a test fails with no CHOICES.md row excusing it" if args.impl == "reference"
              else "FAILED: the stdlib must pass every test", file=sys.stderr)
    return status


# -- the child: runs in the interpreter under test ----------------------------------------------


def child(impl: str, module_name: str, out: Path) -> int:
    """Install `impl` as http.client, import and run `module_name`, write the outcomes to `out`."""
    import http

    if impl == "reference":
        implementation = importlib.import_module("h1conform.reference")
        sys.modules["http.client"] = implementation
        setattr(http, "client", implementation)  # what `from http import client` reads  # noqa: B010
    _deny_network()
    module = importlib.import_module(module_name)
    client = getattr(module, "client", None)
    if impl == "reference" and client is not None and client is not sys.modules["http.client"]:
        print(f"{module_name} did not get the reference as http.client", file=sys.stderr)
        return 2
    result = OutcomeResult()
    unittest.defaultTestLoader.loadTestsFromModule(module).run(result)
    counts = dict.fromkeys(OUTCOMES, 0)
    for outcome in result.outcomes.values():
        counts[outcome] += 1
    report = {
        "python": sys.version.split()[0], "executable": sys.executable, "counts": counts,
        "problems": [{"test": test, "outcome": outcome, "message": result.messages[test]}
                     for test, outcome in result.outcomes.items() if outcome in ("failed", "errors")],
    }
    out.write_text(json.dumps(report), encoding="utf-8")
    return 0


def _deny_network() -> None:
    """Enable every regrtest resource but the network (unittest alone would enable all)."""
    try:
        support = importlib.import_module("test.support")
        resources = importlib.import_module("test.libregrtest.utils").ALL_RESOURCES
    except ImportError:  # an interpreter without its test package: the import of the module says so
        return
    setattr(support, "use_resources", [name for name in resources if name not in ("network", "urlfetch")])  # noqa: B010


def _test_name(test: object) -> str:
    """`Class.test_method` of a test, a subtest (its test's name) or an error holder."""
    test_case = getattr(test, "test_case", test)  # a subtest reports under its test
    if isinstance(test_case, unittest.TestCase):
        return ".".join(test_case.id().split(".")[-2:])
    return str(test)  # setUpClass / setUpModule errors: "setUpClass (module.Class)"


_RANK = {"passed": 0, "skipped": 1, "failed": 2, "errors": 3}  # a test's worst outcome wins


class OutcomeResult(unittest.TestResult):
    """Each test's worst outcome (its subtests included) and its exception's last line."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, str] = {}
        self.messages: dict[str, str] = {}

    def _record(self, test: object, outcome: str, err: ExcInfo | None = None) -> None:
        name = _test_name(test)
        if _RANK[outcome] >= _RANK[self.outcomes.get(name, "passed")]:
            self.outcomes[name] = outcome
            if err is not None:
                lines = "".join(traceback.format_exception_only(err[0], err[1])).strip().splitlines()
                self.messages[name] = " | ".join(line.strip() for line in lines)[:MESSAGE_LIMIT]

    def addSuccess(self, test: unittest.TestCase) -> None:  # noqa: N802 (unittest's names)
        self._record(test, "passed")

    def addError(self, test: unittest.TestCase, err: ExcInfo) -> None:  # type: ignore[override]  # noqa: N802
        self._record(test, "errors", err)

    def addFailure(self, test: unittest.TestCase, err: ExcInfo) -> None:  # type: ignore[override]  # noqa: N802
        self._record(test, "failed", err)

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:  # noqa: N802
        self._record(test, "skipped")

    def addExpectedFailure(self, test: unittest.TestCase, err: ExcInfo) -> None:  # type: ignore[override]  # noqa: N802
        self._record(test, "passed")

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:  # noqa: N802
        self._record(test, "failed")
        self.messages[_test_name(test)] = "unexpected success"

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase,  # type: ignore[override]  # noqa: N802
                   err: ExcInfo | None) -> None:
        if err is not None:
            self._record(subtest, "failed" if issubclass(err[0], test.failureException) else "errors", err)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_parser = argparse.ArgumentParser()
        child_parser.add_argument("--child", required=True)
        child_parser.add_argument("--module", required=True)
        child_parser.add_argument("--out", required=True, type=Path)
        child_args = child_parser.parse_args()
        sys.exit(child(child_args.child, child_args.module, child_args.out))
    sys.exit(main())
