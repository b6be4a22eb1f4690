"""The matrix as one self-contained HTML page: inline CSS and JS, the data embedded as JSON.

The page builds its table from the embedded data with a few lines of JavaScript, so that a report
of thousands of scenarios stays a small file and filters redraw at once. It needs no network.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from h1conform.reports import spec
from h1conform.reports.escape import script_json
from h1conform.reports.markdown import MEANING
from h1conform.reports.model import LEVELS, VERDICTS, Matrix

TITLE = "HTTP/1.1 client conformance: compatibility report"


def page_data(matrix: Matrix, notes: str = "") -> dict[str, Any]:
    topics = matrix.topics()
    topic_index = {topic: index for index, topic in enumerate(topics)}
    columns = []
    for column in matrix.columns:
        run = column.results.run
        columns.append({
            "key": column.key, "label": column.label, "heading": column.heading, "impl": column.impl_name,
            "spec": str(column.impl.get("spec", column.impl_name)), "version": str(column.impl.get("version", "")),
            "origin": str(column.impl.get("origin", "")), "api": bool(column.impl.get("api", True)),
            "python": run["python"]["version"], "python_implementation": run["python"]["implementation"],
            "platform": run["platform"], "commit": run["suite"].get("commit"), "started": run["started"],
            "file": column.results.path.name,
        })
    rows = []
    refs: set[str] = set()
    for index, scenario in enumerate(matrix.scenarios):
        refs.update(scenario.refs)
        cells: list[dict[str, Any] | str | None] = []
        for column in matrix.columns:
            record = matrix.cell(scenario.id, column.key)
            if record is None:
                cells.append(None)
                continue
            if record["verdict"] == "pass" and not record.get("expectation"):
                cells.append("pass")  # most cells: the page expands a bare verdict to {"v": verdict}
                continue
            cell: dict[str, Any] = {"v": record["verdict"], "d": record["duration"]}
            if record.get("reason"):
                cell["r"] = record["reason"]
            if record.get("expectation"):
                cell["e"] = record["expectation"]
            if record.get("trace"):
                cell["t"] = record["trace"]
            if record["verdict"] != "pass" and record.get("nodeid"):
                cell["n"] = record["nodeid"]
            cells.append(cell)
        rows.append({"index": index, "id": scenario.id, "topic": topic_index[scenario.topic], "level": scenario.level,
                     "profile": scenario.profile, "refs": scenario.refs, "cells": cells})
    return {
        "summary": f"{len(matrix.scenarios)} scenarios in {len(topics)} topics, {len(matrix.columns)} columns "
                   "(implementation x Python).",
        "verdicts": list(VERDICTS), "meanings": MEANING, "levels": list(LEVELS), "topics": topics,
        "columns": columns, "rows": rows, "refs": spec.describe_all(refs), "notes": notes.strip(),
    }


def render(matrix: Matrix, *, notes: str = "") -> str:
    template = resources.files("h1conform.reports").joinpath("static", "report.html").read_text("utf-8")
    return template.replace("__TITLE__", TITLE).replace("__DATA__", script_json(page_data(matrix, notes)), 1)
