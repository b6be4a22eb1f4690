"""Expectations files: the scenarios known to fail for an implementation, each with a reason.

    # stdlib on CPython 3.12: RFC breaches the suite reports honestly
    response.framing.content-length.conflicting   first Content-Length wins instead of an error

One scenario id per line, then whitespace, then the reason (required). `#` starts a comment.
A listed scenario that fails is an expected failure; one that passes fails the run (remove its
line); an id that matches no collected scenario is an error.
"""

from __future__ import annotations

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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExpectationsError(f"--expect {path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ExpectationsError(f"--expect {path}: not UTF-8 text") from None
    expectations: dict[str, Expectation] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
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
