"""What one scenario costs per implementation, side by side, from one run's results file.

    python -m pytest suites -n 2 @expectations/clients.args --results=run.json
    python tools/scenario_cost.py run.json                 # the table
    python tools/scenario_cost.py run.json --limit 2.0     # exit 1 if a driver costs more than 2x

An item's cost is its recorded duration: setup, call and teardown, so a driver's process start
counts where it happens. Only the items every implementation of the run judged (pass, fail or
fail-should) are compared: an implementation that declines a scenario, or hangs in it, says
nothing about what a scenario costs it, and a column taken over other items would compare other
work. Each implementation's figure is its median over those items; the in-process median is the
median of the in-process implementations' figures (an implementation whose origin is a driver's
JSON spec runs out of process), and each row gives its ratio to it. Implementations judged on
fewer than MIN_COMMON common items are refused, as such a median is no measure.

Exit codes: 0 the table (every driver within --limit, when given), 1 a driver above it, 2 bad input
(one line).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

JUDGED = ("pass", "fail", "fail-should")  # verdicts that ran the scenario to its end
MIN_COMMON = 30


class UsageError(Exception):
    """Bad arguments or input: one line, exit code 2."""


@dataclass(frozen=True)
class Cost:
    impl: str
    out_of_process: bool
    median_seconds: float
    items: int


def load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable results file ({exc})") from None
    if not isinstance(data, dict) or "results" not in data or "run" not in data:
        raise UsageError(f"{path}: not an h1conform results file (no 'run' and 'results')")
    return data


def out_of_process_impls(data: dict) -> set[str]:
    """The implementations of the run that are drivers: their origin is a driver's JSON spec."""
    return {impl["name"] for impl in data["run"].get("implementations", [])
            if str(impl.get("origin", "")).endswith(".json")}


def costs(data: dict) -> list[Cost]:
    """Each implementation's median cost over the items every implementation of the run judged."""
    durations: dict[str, dict[str, float]] = {}
    for record in data["results"]:
        if record.get("verdict") in JUDGED:
            durations.setdefault(record["impl"], {})[record["id"]] = float(record["duration"])
    impls = sorted({record["impl"] for record in data["results"]})
    if len(impls) < 2:
        raise UsageError("the run has fewer than two implementations: nothing to compare")
    common = set.intersection(*(set(durations.get(impl, {})) for impl in impls))
    if len(common) < MIN_COMMON:
        raise UsageError(f"only {len(common)} items were judged by every implementation of the run "
                         f"(at least {MIN_COMMON} needed)")
    drivers = out_of_process_impls(data)
    return [Cost(impl, impl in drivers, statistics.median(durations[impl][item] for item in common), len(common))
            for impl in impls]


def in_process_median(found: list[Cost]) -> float:
    in_process = [cost.median_seconds for cost in found if not cost.out_of_process]
    if not in_process:
        raise UsageError("the run has no in-process implementation to compare the drivers with")
    return statistics.median(in_process)


def table(found: list[Cost], limit: float | None) -> tuple[str, bool]:
    """The table, and whether every driver is within `limit` of the in-process median."""
    baseline = in_process_median(found)
    lines = [f"{found[0].items} items judged by every implementation; in-process median {baseline * 1000:.1f} ms",
             f"{'implementation':<18} {'runs':<14} {'median ms':>9} {'x in-process':>12}"]
    within = True
    for cost in sorted(found, key=lambda cost: (cost.out_of_process, cost.median_seconds)):
        ratio = cost.median_seconds / baseline
        verdict = ""
        if limit is not None and cost.out_of_process:
            verdict = "  ok" if ratio <= limit else f"  ABOVE {limit:g}x"
            within = within and ratio <= limit
        place = "out of process" if cost.out_of_process else "in process"
        lines.append(f"{cost.impl:<18} {place:<14} {cost.median_seconds * 1000:>9.1f} {ratio:>11.2f}x{verdict}")
    return "\n".join(lines), within


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a results file (--results) of one run")
    parser.add_argument("--limit", type=float, help="exit 1 if a driver's ratio is above this")
    options = parser.parse_args(argv)
    try:
        text, within = table(costs(load(options.results)), options.limit)
    except UsageError as exc:
        print(f"scenario_cost: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
