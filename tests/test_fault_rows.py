"""The explicit fault rows (suites/test_fault_rows.py, issue 15 item 3) leave no class to chance.

1. Every class of fault in every part of a request has a row that the suite collects: one of its
   own, or the older rows `COVERED_ELSEWHERE` names (which must still exist under those ids).
2. The malformed-response rows can fail: an implementation that raises an undocumented exception
   (ValueError) where http.client raises HTTPException fails them, while its controls pass; the
   stdlib, the control, passes every row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from suite_runs import ROOT, verdicts

from h1conform.suites.harness.fault_table import COVERED_ELSEWHERE, FAULTS, PARTS

# The ways a part is given (the last word of a row's variant id, when a part has several).
HOWS = ("request", "step-by-step", "constructor", "host-port-string")

COLLECT = """
import json, sys
sys.path.insert(0, "tools")
from requirement_coverage import collect_citations
citations, _ = collect_citations()
print(json.dumps(sorted(set().union(*citations.values()))))
"""


def _collected_scenario_ids() -> set[str]:
    """Every scenario id (variants included) that pytest collects from suites/."""
    completed = subprocess.run([sys.executable, "-c", COLLECT], cwd=ROOT, capture_output=True, text=True,
                               timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    ids: list[str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return set(ids)


def test_every_class_in_every_part_has_a_row() -> None:
    ids = _collected_scenario_ids()
    variants = {scenario.partition("[")[2].rstrip("]") for scenario in ids if scenario.startswith("request.faults.")}
    missing = []
    for part in PARTS:
        for fault in FAULTS:
            elsewhere = COVERED_ELSEWHERE.get((part.name, fault))
            if elsewhere is not None:
                gone = [row for row in elsewhere if row not in ids]
                assert not gone, f"{part.name} x {fault}: the rows said to cover it are not collected: {gone}"
                assert not _rows_of(variants, part.name, fault), f"{part.name} x {fault}: a row here too"
            elif not _rows_of(variants, part.name, fault):
                missing.append(f"{part.name} x {fault}")
    assert not missing, f"no row for {missing}"
    # Each part's valid element is a row too (the controls).
    assert all(_rows_of(variants, part.name, "valid") for part in PARTS)


def _rows_of(variants: set[str], part: str, fault: str) -> set[str]:
    """The variant ids of the fault rows for `part` x `fault` (one per way the part is given)."""
    return variants & {f"{part}-{fault}", *(f"{part}-{fault}-{how}" for how in HOWS)}


UNDOCUMENTED = '''
"""http.client, except that a response it cannot parse raises ValueError instead of HTTPException."""
import http.client as _stdlib
from http.client import *


class HTTPResponse(_stdlib.HTTPResponse):
    def begin(self):
        try:
            super().begin()
        except _stdlib.HTTPException as exc:
            raise ValueError(f"undocumented: {exc!r}") from None


class HTTPConnection(_stdlib.HTTPConnection):
    response_class = HTTPResponse
'''


def _malformed_verdicts(tmp_path: Path) -> dict[str, dict[str, tuple[str, str]]]:
    (tmp_path / "undocumented.py").write_text(UNDOCUMENTED)
    return verdicts(tmp_path, "suites/test_fault_rows.py", "-k", "test_malformed_response and whole",
                    f"--impl={tmp_path / 'undocumented.py'}", "--impl=stdlib")


def test_malformed_response_rows_catch_an_undocumented_exception(tmp_path: Path) -> None:
    by_impl = _malformed_verdicts(tmp_path)
    stdlib, undocumented = by_impl["stdlib"], by_impl["undocumented"]
    assert sorted(stdlib) == sorted(undocumented) and len(stdlib) == 63, sorted(stdlib)
    assert {verdict for verdict, _ in stdlib.values()} == {"pass"}, stdlib
    failed = {scenario for scenario, (verdict, _) in undocumented.items() if verdict == "fail"}
    # A NUL in the version or the status code: http.client raises UnknownProtocol / BadStatusLine there.
    for row in ("version-nul", "status-code-nul"):
        scenario = f"response.faults.exceptions[whole-{row}]"
        assert scenario in failed and "got ValueError: undocumented" in undocumented[scenario][1], undocumented[scenario]
    passed = {scenario for scenario, (verdict, _) in undocumented.items() if verdict == "pass"}
    assert {"response.faults.exceptions[whole-control-content-length]",
            "response.faults.exceptions[whole-control-chunked]"} <= passed
    assert failed | passed == set(undocumented), undocumented
