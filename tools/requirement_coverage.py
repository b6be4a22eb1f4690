"""Requirement coverage of the suite: which client requirements of RFC 9112 / RFC 9110 a scenario cites.

    python tools/requirement_coverage.py [--rfc 9112] [--level MUST] [--missing-only] [--json]

Counted rows of suites/spec/client-requirements.tsv: applies=client and testable in (yes, partly).
A row is *cited* when at least one collected scenario (variant overrides included) names its id in
its refs. The refs are read from what pytest itself collects: `pytest --collect-only suites` runs
in-process with a small plugin that reads the ScenarioInfo the suite's plugin keeps in each item's
stash, so parametrised variants with their own refs count exactly as the suite sees them.

Exit status: 0 (the figures are information; a missed target is shown as MISS, not an error),
2 when the suite cannot be collected.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "suites" / "spec" / "client-requirements.tsv"
RFCS = ("RFC9112", "RFC9110")
TESTABLE = ("yes", "partly")

# BCP 14 keywords folded onto three level groups.
LEVEL_GROUPS = {
    "MUST/MUST NOT": ("MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT"),
    "SHOULD...": ("SHOULD", "SHOULD NOT", "RECOMMENDED", "NOT RECOMMENDED"),
    "MAY...": ("MAY", "OPTIONAL"),
}
GROUP_OF = {keyword: group for group, keywords in LEVEL_GROUPS.items() for keyword in keywords}


@dataclass(frozen=True)
class Row:
    id: str
    level: str  # the keyword as written in the table
    applies: str
    testable: str
    text: str

    @property
    def rfc(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def group(self) -> str:
        return GROUP_OF[self.level]


@dataclass
class Tally:
    cited: int = 0
    total: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.cited / self.total if self.total else 100.0

    def line(self) -> str:
        return f"cited: {self.cited} of {self.total} ({self.percent:.1f}%)"


@dataclass
class Coverage:
    rows: list[Row]  # the counted rows (after filters)
    cited: dict[str, list[str]]  # row id -> scenario ids citing it (counted rows only)
    by_rfc: dict[str, Tally] = field(default_factory=dict)
    by_rfc_level: dict[tuple[str, str], Tally] = field(default_factory=dict)
    overall: Tally = field(default_factory=Tally)

    @property
    def missing(self) -> list[Row]:
        return [row for row in self.rows if row.id not in self.cited]


# -- pure parts --------------------------------------------------------------------------------------


def load_table(path: Path) -> list[Row]:
    """Every row of a requirement table (tab-separated, with a header line)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Row(r["id"], r["level"], r["applies"], r["testable"], r["text"]) for r in reader if r["id"]]


def counted(rows: Iterable[Row], rfc: str | None = None, group: str | None = None) -> list[Row]:
    """The rows that bind a client and can be tested, optionally of one RFC and one level group."""
    return [row for row in rows
            if row.applies == "client" and row.testable in TESTABLE
            and (rfc is None or row.rfc == rfc) and (group is None or row.group == group)]


def measure(rows: list[Row], citations: dict[str, set[str]]) -> Coverage:
    """Tally the counted rows; citations maps a requirement id to the scenario ids citing it."""
    coverage = Coverage(rows, {row.id: sorted(citations[row.id]) for row in rows if citations.get(row.id)})
    for row in rows:
        hit = int(row.id in coverage.cited)
        for tally in (coverage.by_rfc.setdefault(row.rfc, Tally()),
                      coverage.by_rfc_level.setdefault((row.rfc, row.group), Tally()),
                      coverage.overall):
            tally.cited += hit
            tally.total += 1
    return coverage


def targets(coverage: Coverage, all_levels: bool = True) -> list[tuple[bool, str]]:
    """The issue's targets, each (met, description), for the RFCs and levels that were counted.

    The percentage targets are over every level of an RFC, so they are left out (all_levels=False)
    when the rows were filtered by level.
    """
    result = []
    must = coverage.by_rfc_level.get(("RFC9112", "MUST/MUST NOT"))
    if must is not None:
        result.append((must.cited == must.total, f"RFC 9112: every MUST/MUST NOT row cited; {must.line()}"))
    for rfc, minimum in (("RFC9112", 80.0), ("RFC9110", 50.0)):
        tally = coverage.by_rfc.get(rfc)
        if tally is not None and all_levels:
            result.append((tally.percent >= minimum, f"RFC {rfc[3:]}: >= {minimum:.0f}% of rows cited; {tally.line()}"))
    return result


def normalise_rfc(value: str) -> str:
    digits = value.upper().removeprefix("RFC").strip()
    rfc = f"RFC{digits}"
    if rfc not in RFCS:
        raise argparse.ArgumentTypeError(f"unknown RFC {value!r}: use 9112 or 9110")
    return rfc


def normalise_level(value: str) -> str:
    keyword = " ".join(value.upper().replace("_", " ").split())
    if keyword in LEVEL_GROUPS:
        return keyword
    if keyword.rstrip(".") + "..." in LEVEL_GROUPS:
        return keyword.rstrip(".") + "..."
    if keyword in GROUP_OF:
        return GROUP_OF[keyword]
    raise argparse.ArgumentTypeError(f"unknown level {value!r}: use MUST, SHOULD or MAY")


# -- collecting the suite ------------------------------------------------------------------------------


class _CitationCollector:
    """A pytest plugin object: after collection, read every item's ScenarioInfo from its stash."""

    def __init__(self) -> None:
        self.citations: dict[str, set[str]] = {}
        self.scenarios: set[str] = set()

    def pytest_collection_finish(self, session: object) -> None:
        from h1conform.suites.plugin import INFO_KEY

        for item in session.items:  # type: ignore[attr-defined]
            info = item.stash.get(INFO_KEY, None)
            if info is None:
                continue
            self.scenarios.add(info.id)
            for ref in info.refs:
                self.citations.setdefault(ref, set()).add(info.id)


def collect_citations(suite: Path = ROOT / "suites") -> tuple[dict[str, set[str]], int]:
    """Collect the suite in-process; return (requirement id -> scenario ids, number of scenarios)."""
    import pytest

    collector = _CitationCollector()
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        status = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT), str(suite)],
                             plugins=[collector])
    if status != 0:
        sys.stderr.write(output.getvalue())
        raise SystemExit(f"requirement_coverage: collecting {suite} failed (pytest exit status {int(status)})")
    return collector.citations, len(collector.scenarios)


# -- output ----------------------------------------------------------------------------------------------


def render(coverage: Coverage, scenarios: int, missing_only: bool, all_levels: bool = True) -> str:
    lines = []
    if not missing_only:
        lines.append(f"Requirement coverage of suites/ ({scenarios} scenario variants collected) against "
                     f"{TABLE.relative_to(ROOT)}")
        lines.append("counted rows: applies=client, testable yes/partly; cited = in the refs of a scenario")
        lines.append("")
        for rfc in RFCS:
            if rfc not in coverage.by_rfc:
                continue
            groups = [(group, tally) for group in LEVEL_GROUPS
                      if (tally := coverage.by_rfc_level.get((rfc, group))) is not None]
            if all_levels:
                groups.insert(0, ("all levels", coverage.by_rfc[rfc]))
            for index, (group, tally) in enumerate(groups):
                lines.append(f"{'RFC ' + rfc[3:] if index == 0 else '':<10}{group:<15}{tally.line()}")
        if len(coverage.by_rfc) > 1:
            lines.append(f"{'both RFCs':<10}{'all levels' if all_levels else groups[0][0]:<15}{coverage.overall.line()}")
        goals = targets(coverage, all_levels)
        if goals:
            lines.append("")
            lines.append("targets:")
            lines.extend(f"  {'ok  ' if met else 'MISS'}  {text}" for met, text in goals)
        lines.append("")
    missing = coverage.missing
    lines.append(f"not cited by any scenario: {len(missing)} row(s)")
    lines.extend(f"  {row.id:<22} {row.level:<15} {row.text[:80]}" for row in missing)
    return "\n".join(lines)


def as_json(coverage: Coverage, scenarios: int, all_levels: bool = True) -> str:
    return json.dumps({
        "table": str(TABLE.relative_to(ROOT)),
        "scenarios": scenarios,
        "overall": {"cited": coverage.overall.cited, "total": coverage.overall.total},
        "by_rfc": {rfc: {"cited": t.cited, "total": t.total, "levels": {
            group: {"cited": lt.cited, "total": lt.total}
            for group in LEVEL_GROUPS if (lt := coverage.by_rfc_level.get((rfc, group))) is not None}}
            for rfc, t in coverage.by_rfc.items()},
        "targets": [{"met": met, "target": text} for met, text in targets(coverage, all_levels)],
        "missing": [{"id": r.id, "level": r.level, "text": r.text} for r in coverage.missing],
        "cited_by": coverage.cited,
    }, indent=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rfc", type=normalise_rfc, help="only this RFC (9112 or 9110)")
    parser.add_argument("--level", type=normalise_level, help="only this level group (MUST, SHOULD or MAY)")
    parser.add_argument("--missing-only", action="store_true", help="only list the rows no scenario cites")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    rows = counted(load_table(TABLE), args.rfc, args.level)
    citations, scenarios = collect_citations()
    coverage = measure(rows, citations)
    all_levels = args.level is None
    print(as_json(coverage, scenarios, all_levels) if args.json
          else render(coverage, scenarios, args.missing_only, all_levels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
