"""The suite's pytest hooks that keep each scenario's result its own (a plugin module of the suite).

- A `HarnessError` (the harness broke: a wait on its own thread ran out, say) is shown as an
  ERROR in whatever phase it happens, never as the client's FAILED, and it never counts as the
  expected failure of a scenario listed in `--expect`: the listing is about the client, and a
  broken harness says nothing about it.
- A problem in the teardown of a scenario listed in `--expect` is shown as an ERROR, as it is
  for any other scenario. pytest's xfail would otherwise take it for the listed failure ("XFAIL
  at teardown") and hide it.
- A scenario's report holds text the client chose (its exception messages). xdist sends reports
  from its workers as UTF-8, and a lone surrogate in them crashed the worker: they are cleaned
  (results.clean) on their way.
- A scenario's teardown runs under the deadline (the client's close() may hang), but only the
  client's code in it may be interrupted (containment.harness_code).

Only scenarios are concerned (tests with the scenario mark): other tests keep pytest's behaviour.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from h1conform.suites.harness.containment import harness_code
from h1conform.suites.harness.errors import HarnessError
from h1conform.suites.harness.results import clean
from h1conform.suites.harness.scenario import MARKER

# The attribute of a TestReport that says its phase ended in a harness error (it travels with
# the report to the xdist controller, where the terminal shows it).
HARNESS_ERROR = "h1conform_harness_error"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # tryfirst: outside pytest's xfail handling, to undo it where it does not apply.
    report: pytest.TestReport = yield
    if call.excinfo is None or item.get_closest_marker(MARKER) is None:
        return report
    harness_broke = call.excinfo.errisinstance(HarnessError)
    if harness_broke:
        setattr(report, HARNESS_ERROR, True)
    if (harness_broke or call.when == "teardown") and hasattr(report, "wasxfail") and report.skipped:
        del report.wasxfail  # not the listed failure: shown and counted as the problem it is
        report.outcome = "failed"
    return report


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    # trylast: inside the deadline's wrapper (suites/plugin.py), so that it holds that deadline's alarms.
    if item.get_closest_marker(MARKER) is None:
        return (yield)
    with harness_code():
        return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, str] | None:
    # pytest calls any failed setup or teardown an error already; a failed call only when we say so.
    if report.when == "call" and getattr(report, HARNESS_ERROR, False):
        return "error", "E", "ERROR"
    return None


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(report: pytest.CollectReport | pytest.TestReport) -> Generator[None, Any, Any]:
    data = yield
    if isinstance(report, pytest.TestReport) and any(name == "scenario" for name, _ in report.user_properties):
        return clean(data)
    return data
