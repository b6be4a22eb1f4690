"""The limits scenarios (suites/test_limits.py) can fail: a client without limits fails every flood.

The reference and the stdlib pass most floods, which alone would not show that a flood's verdict
depends on the client. So the scenarios are run (in a subprocess, with a results file) against
http.client with its two limits raised out of reach (`_MAXLINE`, `_MAXHEADERS`): every flood must
fail, saying the client read it without stopping, and every control must still pass. The
verdict's other branches (an error only after the whole flood, memory over the bound, an error of
the wrong kind) are checked on judge_flood() itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from h1conform.servers.steps import flood
from h1conform.suites.harness.floods import MEMORY_BOUND, Peak, Quantity, judge_flood
from h1conform.suites.harness.wire import ErrorKind, Failure

ROOT = Path(__file__).resolve().parents[1]

UNBOUNDED_CLIENT = '''
"""http.client with its line and header limits out of reach."""
import http.client
from http.client import *  # noqa: F403

http.client._MAXLINE = 1 << 40
http.client._MAXHEADERS = 1 << 40
'''


@pytest.fixture(scope="module")
def unbounded_records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The verdicts of every flood scenario and control run with the unbounded client, by scenario id."""
    folder = tmp_path_factory.mktemp("unbounded")
    (folder / "unbounded_client.py").write_text(UNBOUNDED_CLIENT)
    results = folder / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header", "suites/test_limits.py",
         "-k", "not endless", f"--impl={folder / 'unbounded_client.py'}", f"--results={results}",
         # Past a flood, http.client parses 64 MiB of fields with the email package, with no byte
         # moving: on a loaded machine longer than the default deadline, which would call it a timeout.
         "--scenario-timeout=300"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert results.exists(), completed.stdout + completed.stderr
    document = json.loads(results.read_text(encoding="utf-8"))
    return {record["id"]: record for record in document["results"]}


def test_a_client_without_limits_fails_every_flood(unbounded_records: dict[str, dict[str, Any]]) -> None:
    floods = {scenario: record for scenario, record in unbounded_records.items() if scenario.endswith("[flood]")}
    assert len(floods) == 14, sorted(floods)
    verdicts = {scenario: record["verdict"] for scenario, record in floods.items()}
    assert verdicts == dict.fromkeys(floods, "fail-should"), verdicts
    for scenario, record in floods.items():
        assert "64.0 MiB" in record["reason"] and "without stopping" in record["reason"], (scenario, record["reason"])


def test_a_client_without_limits_passes_every_control(unbounded_records: dict[str, dict[str, Any]]) -> None:
    controls = {scenario: record["verdict"] for scenario, record in unbounded_records.items()
                if scenario.endswith("[control]")}
    assert controls == dict.fromkeys(controls, "pass") and len(controls) == 14, controls


# -- judge_flood()'s other branches ----------------------------------------------------------------

QUANTITY = Quantity("test units", b"head", b"unit", b"tail", control_units=1)
PROTOCOL_ERROR = Failure(ErrorKind.PROTOCOL, ValueError("too long"))


def _peak(octets: int) -> Peak:
    peak = Peak()
    peak.octets = octets
    return peak


def _judge(stopped: Any, *, reached_end: bool = False, peak: int = 0) -> None:
    step = flood(QUANTITY.head, QUANTITY.unit, QUANTITY.flood_units, QUANTITY.tail)
    step.progress.reached_end = reached_end
    judge_flood(QUANTITY, step, stopped, _peak(peak), (ErrorKind.PROTOCOL,), "the rule")


def test_judge_passes_a_client_that_stopped_early_with_a_protocol_error() -> None:
    _judge(PROTOCOL_ERROR)  # the control of the branches below
    _judge(ValueError("an api client's exception"))


@pytest.mark.parametrize("stopped, reached_end, peak, message", [
    pytest.param(None, False, 0, "without stopping and accepted the response", id="accepted"),
    pytest.param(PROTOCOL_ERROR, True, 0, "without stopping, then failed with protocol-error", id="failed-at-the-end"),
    pytest.param(PROTOCOL_ERROR, False, MEMORY_BOUND, "but held 16.0 MiB of memory", id="memory"),
    pytest.param(Failure(ErrorKind.CLOSED, ConnectionResetError()), False, 0, "expected protocol-error", id="kind"),
])
def test_judge_fails(stopped: Any, reached_end: bool, peak: int, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        _judge(stopped, reached_end=reached_end, peak=peak)
