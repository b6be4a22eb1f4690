"""How a suite run reads at a glance: one short block per failing scenario, and summary lines that keep the reason.

pytest shows each failure as its traceback (some 50 lines for a scenario, mostly the scenario's
source) and cuts each short-summary line to the terminal's width, which a long test id fills
(`- Ass...`). For scenarios, the run's FAILURES and ERRORS sections show instead:

    _______ test_content_length_multiple[bytewise-different-list-stdlib] _______
    response.framing.content-length.multiple[bytewise-different-list]  stdlib  MUST  RFC9112-6.3-p2-s5
      expected protocol-error, the client accepted the response: status 200, ...
      at suites/test_response_framing.py:212 (the traceback: --tb=long, or -v)

and the short summary's FAILED and ERROR lines (-rfE) are written whole, `FAILED <test id> - <reason>`.
Tracebacks come back when they are asked for: `-v`, or any `--tb=...` given (command line,
addopts, PYTEST_ADDOPTS). Skip reasons are listed by default, as -rs does, unless the run asked
for no short summary (-rN). Only the terminal changes: reports, JUnit XML, results files and
--write-expect keep the failure as pytest recorded it (this module swaps what the terminal shows
while it writes its summary, and puts everything back).

Registered by suites/plugin.py on the process that writes the terminal (not on xdist workers).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Generator, Iterable
from pathlib import PurePath
from typing import Any

import pytest

# The user properties the suite's plugin puts on a scenario's reports (they travel with xdist).
SCENARIO, IMPL, LEVEL, REFS = "scenario", "impl", "level", "refs"
REASON_LINES = 12  # of a reason in a block; the traceback has the rest
LINE_WIDTH = 300  # of one line of a reason in a block
TRACEBACK_HINT = "(the traceback: --tb=long, or -v)"
# The summary characters (-r) whose lines this module writes itself, and the statistics they list.
TAKEN = {"f": ("failed", "FAILED"), "E": ("error", "ERROR")}
# The others, with what pytest lists for them: whether it writes a "short test summary info" header.
PYTEST_CHARS = {"x": "xfailed", "X": "xpassed", "s": "skipped", "p": "passed"}


# "package.module.SomeError: message", as pytest writes an exception of a module's own.
_QUALIFIED = re.compile(r"(?:[A-Za-z_][\w]*\.)+(?=[A-Za-z_]\w*: )")


def failure_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    """What went wrong, as a person reads it: the exception's message, without pytest's
    `AssertionError: ` / `Failed: ` prefixes (the scenario's checks raise those) and with its
    class's short name; then the exceptions it was raised from, one line each."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if isinstance(longrepr, str):
        text = longrepr
    elif crash is not None:
        text = _message(str(crash.message))
        causes = [element[1] for element in getattr(longrepr, "chain", [])[:-1]
                  if element[1] is not None and element[2] is not None and "direct cause" in element[2]]
        text += "".join(f"\nraised from {_message(str(cause.message)).splitlines()[0]}" for cause in causes)
    elif isinstance(longrepr, tuple):
        text = str(longrepr[2])
    else:
        text = str(longrepr)
    return text.strip() or "(no message)"


def _message(text: str) -> str:
    for prefix in ("AssertionError: ", "Failed: "):
        text = text.removeprefix(prefix)
    # `assert condition, message`: pytest adds "assert False" below the message, which says nothing.
    return _QUALIFIED.sub("", text.strip().removesuffix("\nassert False"), count=1)


def scenario_block(report: pytest.TestReport) -> str:
    """The short block that stands for a failing scenario's traceback."""
    properties = dict(report.user_properties)
    header = "  ".join(str(properties[key]) for key in (SCENARIO, IMPL, LEVEL, REFS) if properties.get(key))
    if report.when != "call":
        header += f"  (error in {report.when})"
    lines = failure_reason(report).splitlines()
    shown = [line if len(line) <= LINE_WIDTH else line[:LINE_WIDTH - 3] + "..." for line in lines[:REASON_LINES]]
    if len(lines) > REASON_LINES:
        shown.append(f"... {len(lines) - REASON_LINES} more lines")
    where = _where(report)
    return "\n".join([header, *("  " + line for line in shown),
                      f"  {'at ' + where + ' ' if where else ''}{TRACEBACK_HINT}"])


def _where(report: pytest.TestReport) -> str:
    """The line of the test's own file where it failed (not the harness's check that raised)."""
    test_file = PurePath(report.location[0]).name
    entries = getattr(getattr(report.longrepr, "reprtraceback", None), "reprentries", [])
    for entry in reversed(entries):
        location = getattr(entry, "reprfileloc", None)
        if location is not None and PurePath(location.path).name == test_file:
            return f"{report.location[0]}:{location.lineno}"
    return ""


def summary_line(reporter: Any, report: pytest.TestReport | pytest.CollectReport, word: str) -> str:
    """pytest's short-summary line for a failure or error, with its reason's first line in full."""
    reason = failure_reason(report).splitlines()[0]
    nodeid = reporter.config.cwd_relative_nodeid(report.nodeid)
    return f"{reporter._tw.markup(word, red=True, bold=True)} {nodeid} - {reason}"


def tracebacks_asked(config: pytest.Config) -> bool:
    if config.get_verbosity() > 0:
        return True
    given = [*config.invocation_params.args, *config.getini("addopts"),
             *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    return any(str(arg).startswith("--tb") for arg in given)


def _is_scenario(report: pytest.TestReport | pytest.CollectReport) -> bool:
    return isinstance(report, pytest.TestReport) and SCENARIO in dict(report.user_properties)


class ScenarioOutput:
    """The terminal's summary of a suite run (see the module's docstring)."""

    def __init__(self, config: pytest.Config) -> None:
        self.short_blocks = not tracebacks_asked(config)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Generator[None, None, None]:
        # tryfirst wrapper: around pytest's own summary (its FAILURES sections come before its
        # yield, the short summary after), so that what it shows is swapped in, then put back.
        reporter = terminalreporter
        chars: str = reporter.reportchars
        swapped = self._swap_in_blocks(reporter.stats) if self.short_blocks else []
        taken = [char for char in chars if char in TAKEN]
        reporter.reportchars = "".join(char for char in chars if char not in TAKEN)
        # -rN leaves only "w" (the warnings summary, not a line of its own): no summary wanted.
        if "s" not in chars and set(chars) - {"w"}:
            reporter.reportchars += "s"
        try:
            return (yield)
        finally:
            for report, saved in swapped:
                vars(report).update(saved)
            lines = [summary_line(reporter, report, word) for char in taken
                     for stat, word in [TAKEN[char]] for report in reporter.stats.get(stat, [])]
            if lines:
                if not any(reporter.stats.get(PYTEST_CHARS[char]) for char in reporter.reportchars
                           if char in PYTEST_CHARS):
                    reporter.write_sep("=", "short test summary info", cyan=True, bold=True)
                for line in lines:
                    reporter.write_line(line)
            reporter.reportchars = chars

    @staticmethod
    def _swap_in_blocks(stats: dict[str, list[Any]]) -> list[tuple[Any, dict[str, Any]]]:
        """Give each failing scenario's report its short block; return what to put back."""
        swapped = []
        reports: Iterable[Any] = [*stats.get("failed", []), *stats.get("error", [])]
        for report in reports:
            if _is_scenario(report) and not (isinstance(report.longrepr, str) and report.longrepr.startswith("[XPASS")):
                # Also without its captured output and xdist's "[gw0] linux -- Python ..." line
                # (printed for a report that has a `node`): one block, nothing around it.
                saved = {name: vars(report)[name] for name in ("longrepr", "sections", "node") if name in vars(report)}
                swapped.append((report, saved))
                report.longrepr, report.sections = scenario_block(report), []
                vars(report).pop("node", None)
        return swapped
