"""Run the project's test command again and again on a busy machine, and say what changed.

    python tools/stress.py --runs 10 --busy 2
    python tools/stress.py --runs 3 --busy 0 -- -k connection     # extra pytest arguments after --

Each run is the README's test command (pytest -n 2 --impl=reference --impl=stdlib with the stdlib's
expectations file), run from the repository's top beside K busy processes (`while True: pass`,
started before the first run and killed after the last, on Ctrl-C or SIGTERM too), writing a JUnit
XML file to a temporary directory. It prints each run's exit code, duration, load average and
failing items, how many runs were green, whether each run gave every item of the reference and of
stdlib the same outcome as the other runs did, and every test id whose outcome ever differed, with
its outcome in each run.

Exit codes: 0 every run green and no outcome differed, 1 otherwise, 2 bad arguments (one line).
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_COMMAND = (f"{shlex.quote(sys.executable)} -m pytest -n 2 --impl=reference --impl=stdlib "
                   "--expect=stdlib=expectations/stdlib-3.12.txt -p no:cacheprovider -q")
BUSY_LOOP = [sys.executable, "-c", "while True: pass"]
WATCHED_IMPLS = ("reference", "stdlib")  # the implementations whose every item must be stable
LOAD_SAMPLE_EVERY = 2.0  # seconds between samples of the load average during a run
NOT_GREEN = ("failed", "error")
SHOWN_FAILURES = 10  # the failing items listed per run


class UsageError(Exception):
    """Bad arguments: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


@dataclass
class Run:
    number: int
    exit_code: int
    seconds: float
    load_max: float  # the highest 1-minute load average seen during the run
    outcomes: dict[str, str] = field(default_factory=dict)  # test id -> passed, failed, error, skipped, xfailed
    report_missing: bool = False


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """(options, extra pytest arguments): what follows `--` goes to pytest as it is."""
    argv = list(argv)
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    parser = _Parser(prog="stress.py", add_help=True)
    parser.add_argument("--runs", type=int, required=True, help="how many runs")
    parser.add_argument("--busy", type=int, default=0, help="busy processes beside the runs")
    parser.add_argument("--command", default=DEFAULT_COMMAND,
                        help="the test command (default: the README's); --junitxml and the extra arguments are added")
    options = parser.parse_args(argv)
    if options.runs < 1:
        raise UsageError(f"--runs must be at least 1, not {options.runs}")
    if options.busy < 0:
        raise UsageError(f"--busy must be 0 or more, not {options.busy}")
    try:
        options.command = shlex.split(options.command)
    except ValueError as exc:
        raise UsageError(f"--command: {exc}") from None
    if not options.command:
        raise UsageError("--command is empty")
    return options, extra


def junit_outcomes(path: Path) -> dict[str, str]:
    """Each test id of a JUnit XML file (as pytest writes it) with its outcome."""
    outcomes: dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        module = classname.replace(".", "/") + ".py" if classname else ""
        test_id = f"{module}::{name}" if module else name
        # A test that failed in teardown after passing has two children: the worst one counts.
        kinds = {child.tag: child for child in case}
        if "error" in kinds:
            outcome = "error"
        elif "failure" in kinds:
            outcome = "failed"
        elif "skipped" in kinds:
            outcome = "xfailed" if kinds["skipped"].get("type") == "pytest.xfail" else "skipped"
        else:
            outcome = "passed"
        outcomes[test_id] = outcome
    return outcomes


def differing(runs: Sequence[Run]) -> dict[str, list[str]]:
    """Test ids whose outcome was not the same in every run that wrote a report (absent: 'missing')."""
    reported = [run for run in runs if not run.report_missing]
    ids = sorted({test_id for run in reported for test_id in run.outcomes})
    table = {test_id: [run.outcomes.get(test_id, "missing") for run in reported] for test_id in ids}
    return {test_id: seen for test_id, seen in table.items() if len(set(seen)) > 1}


def watched(test_id: str) -> bool:
    """An item of the reference or of stdlib: its implementation ends the parametrisation."""
    return any(test_id.endswith(f"-{impl}]") or test_id.endswith(f"[{impl}]") for impl in WATCHED_IMPLS)


def odd_items(run: Run, changed: dict[str, list[str]]) -> list[str]:
    """The reference and stdlib items of this run whose outcome is not the one most runs had."""
    odd = []
    for test_id, seen in changed.items():
        if watched(test_id):
            usual = max(set(seen), key=seen.count)
            if run.outcomes.get(test_id, "missing") != usual:
                odd.append(test_id)
    return odd


def report(runs: Sequence[Run], busy: int) -> list[str]:
    changed = differing(runs)
    lines = []
    for run in runs:
        odd = odd_items(run, changed)
        stable = "no report" if run.report_missing else f"no, {len(odd)} differ" if odd else "yes"
        lines.append(f"run {run.number}: exit {run.exit_code}, {run.seconds:.1f} s, load average up to "
                     f"{run.load_max:.2f}, {len(run.outcomes)} items; every reference and stdlib item as in most "
                     f"runs: {stable}")
        broken = [f"{test_id} ({outcome})" for test_id, outcome in run.outcomes.items() if outcome in NOT_GREEN]
        if broken:
            more = f" and {len(broken) - SHOWN_FAILURES} more" if len(broken) > SHOWN_FAILURES else ""
            lines.append(f"  not green: {', '.join(broken[:SHOWN_FAILURES])}{more}")
    green = sum(run.exit_code == 0 for run in runs)
    lines.append(f"green: {green} of {len(runs)} (beside {busy} busy process{'es' if busy != 1 else ''})")
    if not changed:
        lines.append("outcomes that differed between runs: none")
    else:
        lines.append(f"outcomes that differed between runs: {len(changed)}")
        reported = [run.number for run in runs if not run.report_missing]
        for test_id, seen in changed.items():
            per_run = ", ".join(f"run {number} {outcome}" for number, outcome in zip(reported, seen, strict=True))
            lines.append(f"  {test_id}: {per_run}")
    return lines


@contextmanager
def busy_processes(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` processes spinning on a core each, killed however the block ends."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            processes.append(subprocess.Popen(BUSY_LOOP, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
        yield processes
    finally:
        for process in processes:
            process.kill()
        for process in processes:
            process.wait()


def run_once(number: int, command: list[str], extra: list[str], directory: Path) -> Run:
    junit = directory / f"run-{number}.xml"
    peak = [os.getloadavg()[0]]
    done = threading.Event()

    def sample_load() -> None:
        while not done.wait(LOAD_SAMPLE_EVERY):
            peak.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample_load, daemon=True)
    sampler.start()
    started = time.monotonic()
    process = subprocess.Popen([*command, f"--junitxml={junit}", *extra], cwd=REPO,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        exit_code = process.wait()
    finally:
        if process.poll() is None:  # Ctrl-C: the run goes too
            process.kill()
            process.wait()
        done.set()
        sampler.join()
    seconds = time.monotonic() - started
    peak.append(os.getloadavg()[0])
    try:
        outcomes = junit_outcomes(junit)
    except (OSError, ET.ParseError):
        return Run(number, exit_code, seconds, max(peak), report_missing=True)
    return Run(number, exit_code, seconds, max(peak), outcomes)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # a SIGTERM ends the runs as Ctrl-C does: the busy processes are killed


def main(argv: Sequence[str]) -> int:
    try:
        options, extra = parse_args(argv)
    except UsageError as exc:
        print(f"stress.py: error: {exc}", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _stress(options, extra)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stress(options: argparse.Namespace, extra: list[str]) -> int:
    runs: list[Run] = []
    try:
        with busy_processes(options.busy), tempfile.TemporaryDirectory(prefix="h1conform-stress-") as directory:
            for number in range(1, options.runs + 1):
                run = run_once(number, options.command, extra, Path(directory))
                runs.append(run)
                print(f"run {number}: exit {run.exit_code}, {run.seconds:.1f} s", flush=True)
    except KeyboardInterrupt:
        print(f"stress.py: interrupted after {len(runs)} run(s)", file=sys.stderr)
        if not runs:
            return 1
    print()
    print("\n".join(report(runs, options.busy)))
    all_green = all(run.exit_code == 0 and not run.report_missing for run in runs) and len(runs) == options.runs
    return 0 if all_green and not differing(runs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
