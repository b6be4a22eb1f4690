"""The matrix: one column per (implementation, Python) of the runs, one row per scenario, and totals."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from h1conform.reports.load import ReportError, Results

VERDICTS = ("pass", "fail", "fail-should", "unsupported", "timeout", "error", "expected-failure",
            "unexpected-pass", "skipped")
LEVELS = ("MUST", "SHOULD", "MAY", "API")
BASELINES = ("reference", "stdlib")  # the columns every other one is read against, shown first
# A verdict that makes a pytest run fail (without --expect, every failing verdict does).
BAD = frozenset({"fail", "fail-should", "timeout", "error", "unexpected-pass"})


@dataclass
class Column:
    key: str  # stable: "impl@python" (python as major.minor, or more when that is ambiguous)
    label: str  # for people: "stdlib · CPython 3.12.1"
    impl: dict[str, Any]  # the implementation's metadata from the run
    results: Results

    @property
    def impl_name(self) -> str:
        return str(self.impl["name"])

    @property
    def python(self) -> str:
        return self.results.python


@dataclass
class Scenario:
    id: str
    topic: str
    level: str
    profile: str
    refs: list[str]


@dataclass
class Matrix:
    columns: list[Column]
    scenarios: list[Scenario]  # sorted by topic, then id
    cells: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (scenario id, column key) -> record

    def cell(self, scenario_id: str, column_key: str) -> dict[str, Any] | None:
        return self.cells.get((scenario_id, column_key))

    def topics(self) -> list[str]:
        return list(dict.fromkeys(scenario.topic for scenario in self.scenarios))

    def totals(self, column: Column) -> dict[str, Counter[str]]:
        """{level or "all": Counter(verdict)} for one column."""
        by_level: dict[str, Counter[str]] = {level: Counter() for level in (*LEVELS, "all")}
        for scenario in self.scenarios:
            record = self.cells.get((scenario.id, column.key))
            if record is None:
                continue
            by_level[scenario.level][record["verdict"]] += 1
            by_level["all"][record["verdict"]] += 1
        return by_level

    def profile_totals(self, column: Column) -> dict[str, Counter[str]]:
        by_profile: dict[str, Counter[str]] = {"api": Counter(), "wire": Counter(), "agent": Counter()}
        for scenario in self.scenarios:
            record = self.cells.get((scenario.id, column.key))
            if record is not None:
                by_profile.setdefault(scenario.profile, Counter())[record["verdict"]] += 1
        return by_profile


def topic_of(scenario_id: str) -> str:
    """`response.framing.content-length[x]` -> `response.framing`: the first two parts of the id."""
    base = scenario_id.split("[", 1)[0]
    return ".".join(base.split(".")[:2])


_DIGITS = re.compile(r"([0-9]+)")


def _natural(text: str) -> list[Any]:
    """A sort key that orders "x[2]" before "x[10]": text, then (length, digits) of each ASCII digit
    run, alternately (no int(): a run can be thousands of digits long)."""
    parts: list[Any] = []
    for index, part in enumerate(_DIGITS.split(text)):
        digits = part.lstrip("0")
        parts.append((len(digits), digits) if index % 2 else part)
    return parts


def column_keys(pairs: Sequence[tuple[str, str, str]]) -> list[str]:
    """Keys for (impl, python version, file) triples: impl@X.Y, or impl@X.Y.Z, or impl@X.Y.Z#file when needed."""
    def minor(version: str) -> str:
        return ".".join(version.split(".")[:2])

    keys = [f"{impl}@{minor(python)}" for impl, python, _ in pairs]
    ambiguous = {key for key in keys if keys.count(key) > 1}
    keys = [f"{impl}@{python}" if key in ambiguous else key for key, (impl, python, _) in zip(keys, pairs, strict=True)]
    ambiguous = {key for key in keys if keys.count(key) > 1}
    keys = [f"{key}#{Path(source).stem}" if key in ambiguous else key for key, (_, _, source) in zip(keys, pairs, strict=True)]
    if len(set(keys)) != len(keys):
        raise ReportError("the same results file is given twice: " + ", ".join(sorted(source for *_, source in pairs)))
    return keys


def build(runs: Sequence[Results]) -> Matrix:
    if not runs:
        raise ReportError("no results files given")
    pairs: list[tuple[Results, dict[str, Any]]] = []
    for results in runs:
        names = list(dict.fromkeys([impl["name"] for impl in results.run["implementations"]]
                                   + [record["impl"] for record in results.records]))
        pairs.extend((results, results.implementation(name)) for name in names)
    keys = column_keys([(impl["name"], results.python, str(results.path)) for results, impl in pairs])
    columns = [Column(key, f"{impl['name']} · {results.python_implementation} {results.python}", impl, results)
               for key, (results, impl) in zip(keys, pairs, strict=True)]
    # Columns of one implementation side by side, by Python version; the baselines (reference,
    # stdlib) first, then the other implementations in the order first given.
    impl_order = list(dict.fromkeys(column.impl_name for column in columns))
    columns.sort(key=lambda c: (BASELINES.index(c.impl_name) if c.impl_name in BASELINES else len(BASELINES),
                                impl_order.index(c.impl_name), _natural(c.python), c.key))
    by_pair = {(id(column.results), column.impl_name): column for column in columns}
    matrix = Matrix(columns, [])
    scenarios: dict[str, Scenario] = {}
    for results in runs:
        for record in results.records:
            column = by_pair[(id(results), record["impl"])]
            scenarios.setdefault(record["id"], Scenario(record["id"], topic_of(record["id"]), record["level"],
                                                        record["profile"], list(record["refs"])))
            matrix.cells[(record["id"], column.key)] = record
    matrix.scenarios = sorted(scenarios.values(), key=lambda s: (s.topic, _natural(s.id)))
    return matrix
