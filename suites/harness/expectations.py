"""Expectations files: the scenarios known to fail for an implementation, each with a reason.

    # stdlib on CPython 3.12: RFC breaches the suite reports honestly
    response.framing.content-length.conflicting   first Content-Length wins instead of an error

One scenario id per line, then whitespace, then the reason (required), UTF-8 (a leading BOM, as
some editors write, is fine). A line whose first non-blank character is `#` is a comment; a `#`
anywhere else is part of the reason (reasons quote headers, fragments and URLs).
A listed scenario that fails is an expected failure; one that passes fails the run (remove its
line). An id that matches no scenario of the suite is an error; one that names a scenario this
run did not select (-k, a single file) is not.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r"(?P<id>\S+)(?:\s+(?P<reason>.*\S))?\s*$")
_ID = re.compile(r"[a-z0-9][a-z0-9._-]*(?:\[[^\]\s]+\])?")


class ExpectationsError(Exception):
    """A malformed expectations file; the message names the file and line."""


@dataclass(frozen=True)
class Expectation:
    scenario_id: str
    reason: str
    source: str  # file:line, so a message can point at the line to remove


def load(path: Path) -> dict[str, Expectation]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ExpectationsError(f"--expect {path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ExpectationsError(f"--expect {path}: not UTF-8 text") from None
    expectations: dict[str, Expectation] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.strip()
        if not content or content.startswith("#"):
            continue
        where = f"{path}:{number}"
        match = _LINE.match(content)
        assert match is not None  # any non-blank content has a first word
        scenario_id, reason = match["id"], match["reason"]
        if not _ID.fullmatch(scenario_id):
            raise ExpectationsError(f"{where}: {scenario_id!r} is not a scenario id")
        if not reason:
            raise ExpectationsError(f"{where}: {scenario_id} needs a reason after the id")
        if scenario_id in expectations:
            raise ExpectationsError(f"{where}: {scenario_id} is listed twice "
                                    f"(first at {expectations[scenario_id].source})")
        expectations[scenario_id] = Expectation(scenario_id, reason, where)
    return expectations


def declared_scenario_ids(directory: Path) -> set[str]:
    """The base ids (without a variant) of the scenarios declared in a directory's test modules,
    read from their source (`@scenario("id", ...)`), without importing them: how a partial run
    tells a scenario it did not select from an id that names nothing."""
    ids: set[str] = set()
    for module in sorted(directory.glob("test_*.py")):
        tree = ast.parse(module.read_bytes(), filename=str(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called_name(node.func) == "scenario":
                first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "id"), None)
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    ids.add(first.value)
    return ids


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None
