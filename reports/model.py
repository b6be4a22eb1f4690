"""The matrix: one column per (implementation, Python) of the runs, one row per scenario, and totals."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from h1conform.reports.load import ReportError, Results

VERDICTS = ("pass", "fail", "fail-should", "unsupported", "timeout", "error", "expected-failure",
            "unexpected-pass", "skipped")
LEVELS = ("MUST", "SHOULD", "MAY", "API")
BASELINES = ("reference", "stdlib")  # the columns every other one is read against, shown first
# A verdict that makes a pytest run fail (without --expect, every failing verdict does).
BAD = frozenset({"fail", "fail-should", "timeout", "error", "unexpected-pass"})


@dataclass
class Column:
    key: str  # stable: "impl@python" (python as major.minor), told apart from another as column_keys says
    label: str  # for people: "stdlib · CPython 3.12.1", "urllib3 1.26.16 · CPython 3.12.1"
    impl: dict[str, Any]  # the implementation's metadata from the run
    results: Results
    heading: str = ""  # the name over the column: the implementation's, and its release when it has several

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


class ColumnSource(NamedTuple):
    """What tells one column from another: the implementation, the run's Python, the implementation's
    version as the run reported it ("urllib3 1.26.16"), and the results file."""

    impl: str
    python: str
    version: str
    source: str


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _release(impl: str, version: str) -> str:
    """"urllib3 1.26.16" -> "1.26.16": the version without the name it repeats."""
    return version[len(impl) + 1:] if version.startswith(f"{impl} ") else version


# Ways to tell apart columns that share `impl@X.Y`, tried in this order: (key, heading) of a column.
def _by_python(s: ColumnSource) -> tuple[str, str]:
    return f"{s.impl}@{s.python}", s.impl


def _by_release(s: ColumnSource) -> tuple[str, str]:
    name = f"{s.impl} {_release(s.impl, s.version)}"
    return f"{name}@{_minor(s.python)}", name


def _by_file(s: ColumnSource) -> tuple[str, str]:
    return f"{s.impl}@{_minor(s.python)}#{Path(s.source).stem}", f"{s.impl} · {Path(s.source).stem}"


def _by_python_and_file(s: ColumnSource) -> tuple[str, str]:
    return f"{s.impl}@{s.python}#{Path(s.source).stem}", f"{s.impl} · {Path(s.source).stem}"


def column_keys(sources: Sequence[ColumnSource]) -> list[tuple[str, str]]:
    """(key, heading) per column. The key is `impl@X.Y`; columns sharing one are told apart by the first
    of these that differs for each of them: the full Python version (`impl@X.Y.Z`), the implementation's
    release (`impl V@X.Y`: one client at several releases, heading `impl V`), the results file
    (`impl@X.Y#stem`, heading `impl · stem`); else by both the Python version and the file."""
    names = [(f"{s.impl}@{_minor(s.python)}", s.impl) for s in sources]
    groups: dict[str, list[int]] = {}
    for index, (key, _) in enumerate(names):
        groups.setdefault(key, []).append(index)
    for members in (members for members in groups.values() if len(members) > 1):
        for refine in (_by_python, _by_release, _by_file, _by_python_and_file):
            refined = [refine(sources[index]) for index in members]
            if len({key for key, _ in refined}) == len(refined):
                break
        for index, name in zip(members, refined, strict=True):
            names[index] = name
    keys = [key for key, _ in names]
    if len(set(keys)) != len(keys):
        raise ReportError("the same results file is given twice: " + ", ".join(sorted(s.source for s in sources)))
    return names


def build(runs: Sequence[Results]) -> Matrix:
    if not runs:
        raise ReportError("no results files given")
    pairs: list[tuple[Results, dict[str, Any]]] = []
    for results in runs:
        names = list(dict.fromkeys([impl["name"] for impl in results.run["implementations"]]
                                   + [record["impl"] for record in results.records]))
        pairs.extend((results, results.implementation(name)) for name in names)
    names = column_keys([ColumnSource(impl["name"], results.python, str(impl.get("version", "")), str(results.path))
                         for results, impl in pairs])
    columns = [Column(key, f"{heading} · {results.python_implementation} {results.python}", impl, results, heading)
               for (key, heading), (results, impl) in zip(names, pairs, strict=True)]
    # Columns of one implementation side by side, by Python version; the baselines (reference,
    # stdlib) first, then the other implementations in the order first given.
    impl_order = list(dict.fromkeys(column.impl_name for column in columns))
    columns.sort(key=lambda c: (BASELINES.index(c.impl_name) if c.impl_name in BASELINES else len(BASELINES),
                                impl_order.index(c.impl_name), _natural(c.python), _natural(c.key)))
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
