"""What changed between two runs: regressions first, then fixes, other changes, new and removed scenarios.

The Markdown it writes is pasted into pull requests and CI logs: every string from the results files
(and the files' names) goes through `escape.code`, like the report's.
"""

from __future__ import annotations

from dataclasses import dataclass

from h1conform.reports.escape import code
from h1conform.reports.load import Results
from h1conform.reports.model import Column, Matrix, build

# How bad a verdict is, for telling a regression from a fix.
RANK = {"pass": 0, "unsupported": 1, "skipped": 1, "expected-failure": 2, "fail-should": 3, "unexpected-pass": 3,
        "fail": 4, "timeout": 4, "error": 4}


@dataclass(frozen=True)
class Change:
    column: str
    scenario: str
    old: str | None  # None: the scenario did not run in the old run
    new: str | None
    reason: str

    @property
    def kind(self) -> str:
        if self.old is None:
            return "new"
        if self.new is None:
            return "removed"
        if RANK[self.new] > RANK[self.old]:
            return "regression"
        if RANK[self.new] < RANK[self.old]:
            return "fix"
        return "changed"


@dataclass
class Diff:
    changes: list[Change]
    only_old: list[str]  # columns in the old run only
    only_new: list[str]
    compared: list[tuple[str, str]]  # (old column, new column)

    def of_kind(self, kind: str) -> list[Change]:
        return [change for change in self.changes if change.kind == kind]

    @property
    def regressions(self) -> list[Change]:
        return self.of_kind("regression")


def _base_key(column: Column) -> tuple[str, str]:
    """(implementation, Python X.Y): columns of two runs pair on these."""
    return column.impl_name, ".".join(column.python.split(".")[:2])


def compare(old: Results, new: Results) -> Diff:
    old_matrix, new_matrix = build([old]), build([new])
    old_columns = {_base_key(column): column.key for column in old_matrix.columns}
    new_columns = {_base_key(column): column.key for column in new_matrix.columns}
    pairs = [(old_columns[key], new_columns[key]) for key in old_columns if key in new_columns]
    if not pairs and len(old_columns) == 1 and len(new_columns) == 1:
        pairs = [(next(iter(old_columns.values())), next(iter(new_columns.values())))]  # one column each: compare them
    paired_old = {o for o, _ in pairs}
    paired_new = {n for _, n in pairs}
    changes = []
    for old_key, new_key in pairs:
        changes.extend(_column_changes(old_matrix, old_key, new_matrix, new_key))
    order = {"regression": 0, "fix": 1, "changed": 2, "new": 3, "removed": 4}
    changes.sort(key=lambda change: (order[change.kind], change.column, change.scenario))
    return Diff(changes, [k for k in old_columns.values() if k not in paired_old],
                [k for k in new_columns.values() if k not in paired_new], pairs)


def _column_changes(old: Matrix, old_key: str, new: Matrix, new_key: str) -> list[Change]:
    ids = list(dict.fromkeys([s.id for s in old.scenarios] + [s.id for s in new.scenarios]))
    label = new_key if old_key == new_key else f"{old_key} -> {new_key}"
    changes = []
    for scenario_id in ids:
        before, after = old.cell(scenario_id, old_key), new.cell(scenario_id, new_key)
        old_verdict = before["verdict"] if before else None
        new_verdict = after["verdict"] if after else None
        if old_verdict == new_verdict:
            continue
        reason = (after or {}).get("reason", "") or (before or {}).get("reason", "")
        changes.append(Change(label, scenario_id, old_verdict, new_verdict, str(reason)))
    return changes


def render(diff: Diff, old_name: str, new_name: str) -> str:
    lines = [f"# Changes from {code(old_name)} to {code(new_name)}", ""]
    if not diff.compared:
        lines.append("No column (implementation x Python version) is in both runs: nothing to compare.")
    else:
        compared = ", ".join(code(o) if o == n else f"{code(o)} -> {code(n)}" for o, n in diff.compared)
        lines.append(f"Compared: {compared}. {len(diff.regressions)} regression(s), {len(diff.of_kind('fix'))} fix(es), "
                     f"{len(diff.of_kind('changed'))} other change(s), {len(diff.of_kind('new'))} new and "
                     f"{len(diff.of_kind('removed'))} removed scenario run(s).")
    for column in diff.only_old:
        lines.append(f"Column {code(column)} is in the old run only.")
    for column in diff.only_new:
        lines.append(f"Column {code(column)} is in the new run only.")
    titles = {"regression": "Regressions", "fix": "Fixes", "changed": "Other changes", "new": "New scenarios",
              "removed": "Removed scenarios"}
    for kind, title in titles.items():
        changes = diff.of_kind(kind)
        if not changes:
            continue
        lines += ["", f"## {title} ({len(changes)})", ""]
        for change in changes:
            reason = f": {code(change.reason)}" if change.reason and change.new not in (None, "pass") else ""
            lines.append(f"- {code(change.scenario)} on {code(change.column)}: {change.old or 'not run'} -> "
                         f"{change.new or 'not run'}{reason}")
    return "\n".join(lines) + "\n"
