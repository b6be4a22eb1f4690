"""Reading results files: parse, check the schema version, validate against the schema.

A results file holds text that the client under test chose, so reading it refuses what Python's
json module accepts but a report cannot use: NaN and infinities (not JSON, and they blank the HTML
page), numbers too long to convert, and nesting deeper than any results file has (which would be a
RecursionError further on). A lone surrogate (the escape `"\\udcff"` with no partner: valid JSON
syntax, but no character) is replaced by U+FFFD, so that every report can still be written as UTF-8.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_NAME = "h1conform-results"
SCHEMA_VERSIONS = (1,)  # the versions this package can read
MAX_DEPTH = 32  # arrays and objects inside each other; a results file has 6
MAX_DIGITS = 40  # of a number; a results file's longest is a duration
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins the pairs: what is left is lone


class ReportError(Exception):
    """Input the reports cannot use; the message is one line for the user."""


@dataclass(frozen=True)
class Results:
    """One results file: the run's metadata and its records (see the schema for the fields)."""

    path: Path
    run: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def python(self) -> str:
        return str(self.run["python"]["version"])

    @property
    def python_implementation(self) -> str:
        return str(self.run["python"]["implementation"])

    def implementation(self, name: str) -> dict[str, Any]:
        for impl in self.run["implementations"]:
            if impl["name"] == name:
                return dict(impl)
        return {"name": name, "spec": name, "version": "unknown", "origin": "unknown", "api": True}


@functools.cache
def schema(version: int = 1) -> dict[str, Any]:
    text = resources.files("h1conform.reports").joinpath("schema", f"results-{version}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(document: Any, where: str = "results") -> None:
    """Raise ReportError (one line) unless `document` is a valid results document."""
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_NAME:
        raise ReportError(f"{where}: not an h1conform results file (no \"schema\": \"{SCHEMA_NAME}\")")
    version = document.get("schema_version")
    if version not in SCHEMA_VERSIONS:
        raise ReportError(f"{where}: schema_version {version!r} is not one this version of reports reads "
                          f"({', '.join(map(str, SCHEMA_VERSIONS))})")
    validator = jsonschema.Draft202012Validator(schema(version))
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        location = "/".join(str(part) for part in error.absolute_path) or "(top)"
        message = " ".join(error.message.split())
        if len(message) > 200:
            message = message[:197] + "..."
        raise ReportError(f"{where}: invalid at {location}: {message}")


class _Unusable(ValueError):
    """Raised inside json.loads for a number a report cannot use."""


def _number(text: str) -> float:
    value = float(text) if len(text) <= MAX_DIGITS else math.inf
    if not math.isfinite(value):
        raise _Unusable(text)
    return value


def _integer(text: str) -> int:
    if len(text) > MAX_DIGITS:
        raise _Unusable(text)
    return int(text)


def _constant(text: str) -> None:
    raise _Unusable(text)


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text, parse_float=_number, parse_int=_integer, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{where}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except _Unusable as exc:
        shown = str(exc) if len(str(exc)) <= 20 else f"{str(exc)[:20]}... ({len(str(exc))} characters)"
        raise ReportError(f"{where}: {shown} is not a finite JSON number of at most {MAX_DIGITS} characters") from None
    except RecursionError:
        raise ReportError(f"{where}: arrays or objects nested deeper than {MAX_DEPTH} levels") from None


def _clean(document: Any, where: str) -> Any:
    """`document` with lone surrogates replaced by U+FFFD; ReportError if it nests deeper than MAX_DEPTH.

    Walks with a stack, not recursion: the depth is what it checks.
    """
    def cleaned(value: Any) -> Any:
        return _LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value

    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ReportError(f"{where}: arrays or objects nested deeper than {MAX_DEPTH} levels")
        if isinstance(container, list):
            for index, item in enumerate(container):
                container[index] = cleaned(item)
                if isinstance(item, (list, dict)):
                    stack.append((item, depth + 1))
        elif isinstance(container, dict):
            for key, item in list(container.items()):
                if isinstance(item, (list, dict)):
                    stack.append((item, depth + 1))
                if _LONE_SURROGATE.search(key):
                    del container[key]
                container[cleaned(key)] = cleaned(item)
    return cleaned(document)


def load(path: Path | str) -> Results:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ReportError(f"{path}: is a directory, not a results file") from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ReportError(f"{path}: not UTF-8 text") from None
    document = _clean(_parse(text, str(path)), str(path))
    validate(document, str(path))
    return Results(path, document["run"], document["results"])
