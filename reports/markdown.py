"""The matrix as Markdown: a legend, the columns, totals per level and profile, then one table per topic.

Every string from a results file (scenario ids, implementation names and versions, reasons...) is
written with `escape.code`, so no Markdown renderer can read it as HTML, a link or table syntax.
The report has no raw HTML of its own either: inside an HTML block some renderers (Python-Markdown)
would copy a code span's text out unescaped. The notes (`--notes`) are the report author's own
Markdown, not a client's, and are copied as written.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import quote

from h1conform.reports.escape import code
from h1conform.reports.model import LEVELS, VERDICTS, Column, Matrix, Scenario

SYMBOL = {
    "pass": "✅", "fail": "❌", "fail-should": "⚠️", "unsupported": "➖", "timeout": "⏱️", "error": "💥",
    "expected-failure": "🔶", "unexpected-pass": "❗", "skipped": "⏭️",
}
NOT_RUN = "·"
_PORT = re.compile(r"(127\.0\.0\.1|\[::1\]|localhost):\d{2,5}\b")
REASON_LIMIT = 160  # characters of a reason in the Markdown (the HTML page has all of it)
MEANING = {
    "pass": "passed",
    "fail": "failed a MUST or API requirement",
    "fail-should": "missed a SHOULD (or MAY): not a conformance failure",
    "unsupported": "the implementation cannot express the scenario (never counted as a pass)",
    "timeout": "hung past the scenario deadline",
    "error": "the harness broke, not the implementation",
    "expected-failure": "failed, and listed in the run's expectations file",
    "unexpected-pass": "passed, but listed in the expectations file as failing",
    "skipped": "not run, for a reason that is not the implementation's",
}


def _count(counter: Counter[str]) -> str:
    """`passed/total (n ❌ m ⚠️ ...)` for one cell of the totals."""
    total = sum(counter.values())
    if not total:
        return NOT_RUN
    others = [f"{counter[verdict]} {SYMBOL[verdict]}" for verdict in VERDICTS if verdict != "pass" and counter[verdict]]
    return f"{counter['pass']}/{total}" + (f" ({' '.join(others)})" if others else "")


def _columns_table(matrix: Matrix) -> list[str]:
    lines = ["| column | implementation | version | Python | platform | suite commit | run at |",
             "|---|---|---|---|---|---|---|"]
    for column in matrix.columns:
        run = column.results.run
        impl = column.impl
        kind = "http.client API" if impl.get("api") else "wire adapter"
        commit = (run["suite"].get("commit") or "")[:10] or "-"
        python = (run["python"]["full"].split() or [""])[0]
        cells = [code(column.key, table=True), f"{code(str(impl.get('spec', impl['name'])), table=True)} ({kind})",
                 code(str(impl.get("version", "")), table=True),
                 f"{code(python, table=True)} {code(run['python']['implementation'], table=True)}",
                 code(run["platform"], table=True), code(commit, table=True), code(run["started"], table=True)]
        lines.append(f"| {' | '.join(cells)} |")
    return lines


def _totals_table(matrix: Matrix) -> list[str]:
    header = "| level | " + " | ".join(code(column.key, table=True) for column in matrix.columns) + " |"
    lines = [header, "|---|" + "---|" * len(matrix.columns)]
    totals = [matrix.totals(column) for column in matrix.columns]
    for level in (*LEVELS, "all"):
        if not any(sum(t[level].values()) for t in totals):
            continue
        name = "**all**" if level == "all" else level
        lines.append(f"| {name} | " + " | ".join(_count(t[level]) for t in totals) + " |")
    profiles = [matrix.profile_totals(column) for column in matrix.columns]
    for profile in ("api", "wire", "agent"):
        lines.append(f"| profile {profile} | " + " | ".join(_count(p.get(profile, Counter())) for p in profiles) + " |")
    return lines


# When the variants of one scenario differ, a cell shows the most serious verdict among them.
SEVERITY = ("error", "timeout", "fail", "unexpected-pass", "fail-should", "expected-failure", "unsupported",
            "skipped", "pass")
REASONS_PER_SCENARIO = 3  # reasons listed under a topic per scenario and column group; the HTML has all


def base_id(scenario_id: str) -> str:
    """A scenario id without its variant: `a.b.c[x-y]` -> `a.b.c`."""
    return scenario_id.partition("[")[0]


def _cell(matrix: Matrix, variants: list[Scenario], column: Column) -> str:
    """One symbol if every variant has the same verdict; else the most serious one and passed/run."""
    verdicts = [record["verdict"] for record in (matrix.cell(s.id, column.key) for s in variants) if record]
    if not verdicts:
        return NOT_RUN
    worst = min(verdicts, key=SEVERITY.index)
    if len(set(verdicts)) == 1:
        return SYMBOL[worst] if len(verdicts) == 1 else f"{SYMBOL[worst]} {len(verdicts)}"
    return f"{SYMBOL[worst]} {verdicts.count('pass')}/{len(verdicts)}"


def _reasons(matrix: Matrix, variants: list[Scenario]) -> list[str]:
    """The non-pass reasons of one scenario's variants: the same verdict for the same reason in
    several columns (one client on several Pythons, say) is said once; at most a few per scenario."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for scenario in variants:
        for column in matrix.columns:
            record = matrix.cell(scenario.id, column.key)
            if record is not None and record["verdict"] != "pass" and record.get("reason"):
                reason = _PORT.sub(r"\1:PORT", record["reason"])  # ports differ from run to run
                keys = grouped.setdefault((record["verdict"], reason), [])
                if code(column.key) not in keys:
                    keys.append(code(column.key))
    lines = []
    for (verdict, reason), keys in list(grouped.items())[:REASONS_PER_SCENARIO]:
        short = reason if len(reason) <= REASON_LIMIT else reason[: REASON_LIMIT - 3] + "..."
        lines.append(f"- {code(base_id(variants[0].id))} on {', '.join(keys)}, {verdict}: {code(short)}")
    if len(grouped) > REASONS_PER_SCENARIO:
        lines.append(f"- {code(base_id(variants[0].id))}: {len(grouped) - REASONS_PER_SCENARIO} more "
                     "reason(s) in the HTML report")
    return lines


def render(matrix: Matrix, *, notes: str = "", html_name: str | None = None) -> str:
    lines = ["# HTTP/1.1 client conformance: compatibility report", ""]
    lines.append(f"{len(matrix.scenarios)} scenarios (variants counted separately) in {len(matrix.topics())} "
                 f"topics, {len(matrix.columns)} columns (implementation x Python). Written by "
                 "`python -m h1conform.reports render` from the results files of `pytest suites/ --results=FILE`.")
    if html_name:
        lines += ["", f"The same report as one HTML page, with filters and the details of every cell "
                      f"(reason, wire trace, the requirement's text): [{code(html_name)}]({quote(html_name)})."]
    lines += ["", "Legend: " + ", ".join(f"{SYMBOL[v]} {v} ({MEANING[v]})" for v in VERDICTS)
              + f", {NOT_RUN} not run.", ""]
    lines += ["## Columns", "", *_columns_table(matrix), ""]
    if notes.strip():
        lines += ["## Notes on the columns", "", notes.strip(), ""]
    lines += ["## Totals", "", "Passed/total per level (MUST, SHOULD, MAY of RFC 9110/9112; API: the documented "
              "`http.client` API) and per profile, then the count of each other verdict.", "",
              *_totals_table(matrix), ""]
    lines += ["## Scenarios by topic", "",
              "One row per scenario, its variants folded: a cell is one symbol when every variant has that "
              "verdict (with their number when there are several), otherwise the most serious verdict among "
              "them and how many variants passed, e.g. `❌ 9/12`. The HTML report shows every variant.", ""]
    for topic in matrix.topics():
        by_base: dict[str, list[Scenario]] = {}
        for scenario in matrix.scenarios:
            if scenario.topic == topic:
                by_base.setdefault(base_id(scenario.id), []).append(scenario)
        lines += [f"### {code(topic)}", ""]
        lines.append("| scenario | level | profile | " + " | ".join(code(c.key, table=True) for c in matrix.columns)
                     + " |")
        lines.append("|---|---|---|" + "---|" * len(matrix.columns))
        reasons: list[str] = []
        for base, variants in by_base.items():
            cells = " | ".join(_cell(matrix, variants, column) for column in matrix.columns)
            levels = "/".join(dict.fromkeys(v.level for v in variants))
            lines.append(f"| {code(base, table=True)} | {levels} | {variants[0].profile} | {cells} |")
            reasons += _reasons(matrix, variants)
        if reasons:
            lines += ["", f"Reasons ({len(reasons)}):", "", *reasons]
        lines.append("")
    return "\n".join(lines)
