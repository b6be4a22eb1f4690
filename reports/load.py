"""Reading results files: parse, check the schema version, validate against the schema."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_NAME = "h1conform-results"
SCHEMA_VERSIONS = (1,)  # the versions this package can read


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
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    validate(document, str(path))
    return Results(path, document["run"], document["results"])
