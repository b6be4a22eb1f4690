"""Requirement coverage of the suite: which client requirements of RFC 9112 / RFC 9110 a scenario cites.

    python tools/requirement_coverage.py [--rfc 9112] [--level MUST] [--missing-only] [--json]

Counted rows of suites/spec/client-requirements.tsv: applies=client and testable in (yes, partly).
A row is *cited* when at least one collected scenario (variant overrides included) names its id in
its refs. The refs are read from what pytest itself collects: `pytest --collect-only suites` runs
in-process with a small plugin that reads the ScenarioInfo the suite's plugin keeps in each item's
stash, so parametrised variants with their own refs count exactly as the suite sees them.

Every counted row that no scenario cites is *explained* by a line of suites/spec/uncited-reasons.tsv
(`id <TAB> category <TAB> reason`; categories in CATEGORIES): the tool prints each uncited row with
its reason, flags a row with neither a citation nor a reason, and a reason left for a row that is
cited now.

Exit status: 0 (the figures are information; a missed target is shown as MISS, not an error),
2 when the suite cannot be collected or the reasons file is malformed (one line saying where).
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
REASONS = ROOT / "suites" / "spec" / "uncited-reasons.tsv"
RFCS = ("RFC9112", "RFC9110")
TESTABLE = ("yes", "partly")

# BCP 14 keywords folded onto three level groups.
LEVEL_GROUPS = {
    "MUST/MUST NOT": ("MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT"),
    "SHOULD...": ("SHOULD", "SHOULD NOT", "RECOMMENDED", "NOT RECOMMENDED"),
    "MAY...": ("MAY", "OPTIONAL"),
}
GROUP_OF = {keyword: group for group, keywords in LEVEL_GROUPS.items() for keyword in keywords}

# Why a row has no scenario: the categories a reason line may give.
CATEGORIES = {
    "user-agent": "the user-agent profile (issue 17: redirects, Referer, User-Agent, stored credentials, "
                  "caches), which does not exist yet",
    "caller": "an element only a client's caller writes: no client of the api or wire profile generates it "
              "on its own",
    "no-profile": "a behaviour neither the api nor the wire profile can ask a client for",
    "not-yet": "testable black-box, no scenario yet",
}
# The targets of issue 15.
RFC9110_MINIMUM = 110


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


@dataclass(frozen=True)
class Reason:
    category: str  # a key of CATEGORIES
    text: str


class ReasonsError(Exception):
    """A reasons file that does not parse, or names rows the table does not count."""


@dataclass
class Coverage:
    rows: list[Row]  # the counted rows (after filters)
    cited: dict[str, list[str]]  # row id -> scenario ids citing it (counted rows only)
    reasons: dict[str, Reason] = field(default_factory=dict)  # row id -> why no scenario cites it
    by_rfc: dict[str, Tally] = field(default_factory=dict)
    by_rfc_level: dict[tuple[str, str], Tally] = field(default_factory=dict)
    overall: Tally = field(default_factory=Tally)

    @property
    def missing(self) -> list[Row]:
        return [row for row in self.rows if row.id not in self.cited]

    @property
    def unexplained(self) -> list[Row]:
        """Uncited rows without a reason."""
        return [row for row in self.missing if row.id not in self.reasons]

    @property
    def stale(self) -> list[str]:
        """Rows that keep a reason although a scenario cites them now."""
        return sorted(row_id for row_id in self.reasons if row_id in self.cited)

    def explained(self, rfc: str) -> int:
        return sum(1 for row in self.missing if row.rfc == rfc and row.id in self.reasons)

    def by_category(self) -> dict[str, int]:
        """Uncited rows per reason category ("no reason" for the unexplained), in CATEGORIES order."""
        counts = {category: 0 for category in CATEGORIES}
        for row in self.missing:
            reason = self.reasons.get(row.id)
            key = reason.category if reason is not None else "no reason"
            counts[key] = counts.get(key, 0) + 1
        return {category: count for category, count in counts.items() if count}


# -- pure parts --------------------------------------------------------------------------------------


def load_table(path: Path) -> list[Row]:
    """Every row of a requirement table (tab-separated, with a header line)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Row(r["id"], r["level"], r["applies"], r["testable"], r["text"]) for r in reader if r["id"]]


def load_reasons(path: Path, rows: list[Row]) -> dict[str, Reason]:
    """The reasons file: row id -> Reason. ReasonsError (saying file and line) for a line that
    does not parse, an unknown category, a row given twice, or a row the table does not count."""
    known = {row.id for row in counted(rows)}
    reasons: dict[str, Reason] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReasonsError(f"{path}: cannot be read ({exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#") or number == 1 and line.startswith("id\t"):
            continue
        where = f"{path}:{number}"
        parts = line.split("\t")
        if len(parts) != 3 or not all(part.strip() for part in parts):
            raise ReasonsError(f"{where}: expected 'id <TAB> category <TAB> reason', got {line[:80]!r}")
        row_id, category, text = (part.strip() for part in parts)
        if category not in CATEGORIES:
            raise ReasonsError(f"{where}: unknown category {category!r} (one of {', '.join(CATEGORIES)})")
        if row_id not in known:
            raise ReasonsError(f"{where}: {row_id!r} is not a counted row of {TABLE.name}")
        if row_id in reasons:
            raise ReasonsError(f"{where}: {row_id} has a reason already")
        reasons[row_id] = Reason(category, text)
    return reasons


def counted(rows: Iterable[Row], rfc: str | None = None, group: str | None = None) -> list[Row]:
    """The rows that bind a client and can be tested, optionally of one RFC and one level group."""
    return [row for row in rows
            if row.applies == "client" and row.testable in TESTABLE
            and (rfc is None or row.rfc == rfc) and (group is None or row.group == group)]


def measure(rows: list[Row], citations: dict[str, set[str]], reasons: dict[str, Reason] | None = None) -> Coverage:
    """Tally the counted rows; citations maps a requirement id to the scenario ids citing it,
    reasons a row id to why no scenario does (only the reasons of `rows` are kept)."""
    ids = {row.id for row in rows}
    coverage = Coverage(rows, {row.id: sorted(citations[row.id]) for row in rows if citations.get(row.id)},
                        {row_id: reason for row_id, reason in (reasons or {}).items() if row_id in ids})
    for row in rows:
        hit = int(row.id in coverage.cited)
        for tally in (coverage.by_rfc.setdefault(row.rfc, Tally()),
                      coverage.by_rfc_level.setdefault((row.rfc, row.group), Tally()),
                      coverage.overall):
            tally.cited += hit
            tally.total += 1
    return coverage


def targets(coverage: Coverage, all_levels: bool = True, rfc9110_minimum: int = RFC9110_MINIMUM) -> list[tuple[bool, str]]:
    """The issue's targets, each (met, description), for the RFCs and levels that were counted.

    The RFC 9110 minimum is over every level, so it is left out (all_levels=False) when the rows
    were filtered by level.
    """
    result = []
    rfc9112 = coverage.by_rfc.get("RFC9112")
    if rfc9112 is not None:
        explained = coverage.explained("RFC9112")
        result.append((rfc9112.cited + explained == rfc9112.total,
                       f"RFC 9112: every row cited or explained; {rfc9112.line()}, explained: {explained}"))
    rfc9110 = coverage.by_rfc.get("RFC9110")
    if rfc9110 is not None and all_levels:
        result.append((rfc9110.cited >= rfc9110_minimum,
                       f"RFC 9110: >= {rfc9110_minimum} rows cited; {rfc9110.line()}"))
    unexplained, stale = len(coverage.unexplained), len(coverage.stale)
    result.append((not unexplained and not stale, f"every uncited row has a reason, no cited row keeps one; "
                                                  f"{unexplained} without a reason, {stale} kept"))
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
        raise SystemExit(_bad_input(f"collecting {suite} failed (pytest exit status {int(status)})"))
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
    lines.append(f"not cited by any scenario: {len(missing)} row(s)"
                 + "".join(f"; {category}: {count}" for category, count in coverage.by_category().items()))
    for row in missing:
        lines.append(f"  {row.id:<22} {row.level:<15} {row.text[:80]}")
        reason = coverage.reasons.get(row.id)
        lines.append(f"  {'':<22} why ({reason.category}): {reason.text}" if reason is not None
                     else f"  {'':<22} NO REASON: cite it from a scenario, or say why not in {REASONS.relative_to(ROOT)}")
    lines.extend(f"cited now, yet still given a reason (remove it from {REASONS.relative_to(ROOT)}): {row_id}"
                 for row_id in coverage.stale)
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
        "missing": [{"id": r.id, "level": r.level, "text": r.text,
                     **({"category": why.category, "reason": why.text} if (why := coverage.reasons.get(r.id)) else {})}
                    for r in coverage.missing],
        "uncited_by_category": coverage.by_category(),
        "stale_reasons": coverage.stale,
        "cited_by": coverage.cited,
    }, indent=2)


def _bad_input(message: str) -> int:
    """Say what is wrong in one line on stderr; the exit status for it."""
    print(f"requirement_coverage: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rfc", type=normalise_rfc, help="only this RFC (9112 or 9110)")
    parser.add_argument("--level", type=normalise_level, help="only this level group (MUST, SHOULD or MAY)")
    parser.add_argument("--missing-only", action="store_true", help="only list the rows no scenario cites")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    table = load_table(TABLE)
    try:
        reasons = load_reasons(REASONS, table)
    except ReasonsError as exc:
        return _bad_input(str(exc))
    rows = counted(table, args.rfc, args.level)
    citations, scenarios = collect_citations()
    coverage = measure(rows, citations, reasons)
    all_levels = args.level is None
    print(as_json(coverage, scenarios, all_levels) if args.json
          else render(coverage, scenarios, args.missing_only, all_levels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
