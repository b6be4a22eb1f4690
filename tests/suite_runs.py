"""Running the suite in a subprocess, as a user would, and reading its verdicts from the results file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def verdicts(tmp_path: Path, *args: str) -> dict[str, dict[str, tuple[str, str]]]:
    """Run `pytest *args` on this checkout with a results file; (verdict, reason) of each scenario
    by implementation name, then scenario id."""
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header", *args, f"--results={results}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert results.exists(), completed.stdout + completed.stderr
    document: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    by_impl: dict[str, dict[str, tuple[str, str]]] = {}
    for record in document["results"]:
        by_impl.setdefault(record["impl"], {})[record["id"]] = (record["verdict"], record["reason"])
    return by_impl
