"""Branch coverage of the running interpreter's own http/client.py by the suite.

    python tools/stdlib_coverage.py [--html DIR] [--workers 2 | --serial]

Runs `pytest suites/ --impl=stdlib -n 2` with coverage.py measuring branch coverage of exactly one
file: the resolved path of `http.client.__file__` of this interpreter. Then prints coverage's total
(statements + branches, the figure `coverage report --branch` shows), the branches alone, and the
lines and branches the suite never runs.

How the xdist workers are measured: the run is started with COVERAGE_PROCESS_START pointing at a
generated rc file (branch = True, parallel = True, include = that one file). coverage.py's startup
hook (the `a1_coverage.pth` it installs) then starts measuring at interpreter start-up in *every*
process: the controller and each worker that xdist spawns, each writing its own data file, which are
combined at the end. This is what makes the figure correct: `coverage run -m pytest -n 2` alone
would measure only the controller, which runs no test, and http.client (imported by the plugin at
start-up) would look covered only for its module-level lines. Measuring from start-up also counts
http.client's import-time lines, as a serial `coverage run` would. `--serial` runs the same without
-n (slower), to cross-check that both give the same figure.

Exit status: 0 when measured (the figure is information; the target is shown as ok / MISS), 2 when
pytest did not run the suite (a usage or collection error).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 97.0


def target_file() -> Path:
    return Path(http.client.__file__).resolve()


def rc_text(include: Path, data_file: Path) -> str:
    return (f"[run]\nbranch = True\nparallel = True\ninclude = {include}\ndata_file = {data_file}\n"
            "disable_warnings = no-data-collected, module-not-measured\n")


def line_ranges(lines: list[int]) -> list[tuple[int, int]]:
    """Consecutive line numbers folded into (first, last) ranges."""
    ranges: list[tuple[int, int]] = []
    for line in sorted(lines):
        if ranges and line == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], line)
        else:
            ranges.append((line, line))
    return ranges


def run_suite(workdir: Path, rc: Path, serial: bool, workers: int) -> int:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE_")}
    env["COVERAGE_PROCESS_START"] = str(rc)
    command = [sys.executable, "-m", "pytest", "suites/", "--impl=stdlib", "-q", "--tb=no", "--no-header",
               "-p", "no:cacheprovider"]
    if not serial:
        command += ["-n", str(workers)]
    print("running:", " ".join(command[2:]), "(COVERAGE_PROCESS_START set)", flush=True)
    completed = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    summary = [line for line in completed.stdout.splitlines() if line.strip()][-1:]
    print("pytest:", summary[0] if summary else "(no output)", f"[exit status {completed.returncode}]")
    if completed.returncode not in (0, 1):
        sys.stderr.write(completed.stdout[-4000:])
    return completed.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", metavar="DIR", type=Path, help="also write coverage's HTML report to DIR")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="xdist workers (default 2)")
    parser.add_argument("--serial", action="store_true", help="run without xdist (cross-check)")
    args = parser.parse_args(argv)

    import coverage

    source = target_file()
    with tempfile.TemporaryDirectory(prefix="stdlib-coverage-") as tmp:
        work = Path(tmp)
        rc = work / "coveragerc"
        rc.write_text(rc_text(source, work / ".coverage"))
        status = run_suite(work, rc, args.serial, args.workers)
        if status not in (0, 1):
            print(f"stdlib_coverage: pytest did not run the suite (exit status {status})", file=sys.stderr)
            return 2
        cov = coverage.Coverage(config_file=str(rc), data_file=str(work / ".coverage"))
        cov.combine(data_paths=[str(work)], strict=True)
        cov.save()
        report_file = work / "coverage.json"
        cov.json_report(outfile=str(report_file))
        data = json.loads(report_file.read_text())
        files = data["files"]
        if len(files) != 1:
            print(f"stdlib_coverage: expected data for {source} only, got {sorted(files)}", file=sys.stderr)
            return 2
        measured = next(iter(files.values()))
        if args.html:
            cov.html_report(directory=str(args.html))

    summary = measured["summary"]
    total = summary["percent_covered"]
    branches = 100.0 * summary["covered_branches"] / summary["num_branches"] if summary["num_branches"] else 100.0
    mode = "serially" if args.serial else f"with -n {args.workers}"
    print()
    print(f"{source} (Python {sys.version.split()[0]}), suite run {mode}")
    print(f"  statements: {summary['covered_lines']} of {summary['num_statements']} run")
    print(f"  branches:   {summary['covered_branches']} of {summary['num_branches']} taken ({branches:.1f}%), "
          f"{summary['num_partial_branches']} partial")
    print(f"  branch coverage (coverage.py total, statements + branches): {total:.1f}%")
    print(f"  target >= {TARGET:.0f}%: {'ok' if total >= TARGET else 'MISS'} (total), "
          f"{'ok' if branches >= TARGET else 'MISS'} (branches alone)")

    lines = source.read_text(encoding="utf-8").splitlines()
    missing = measured["missing_lines"]
    print()
    print(f"missing lines ({len(missing)}):")
    for first, last in line_ranges(missing):
        where = f"{first}" if first == last else f"{first}-{last}"
        print(f"  {where:<9} {lines[first - 1].strip()[:90]}")
    missed_branches = measured["missing_branches"]
    print()
    print(f"missing branches ({len(missed_branches)}; a negative destination is an exit from the function):")
    for origin, destination in missed_branches:
        if origin in missing:
            continue  # the line itself never ran; already listed
        print(f"  {origin}->{destination:<6} {lines[origin - 1].strip()[:90]}")
    skipped = sum(1 for origin, _ in missed_branches if origin in missing)
    if skipped:
        print(f"  (and {skipped} branch(es) from lines that never ran, listed above)")
    if args.html:
        print(f"\nHTML report: {args.html}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
