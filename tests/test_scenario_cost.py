"""tools/scenario_cost.py: the per-scenario cost of each implementation, from one run's results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tool_modules import load_tool

cost_tool = load_tool("scenario_cost")

ITEMS = [f"scenario.x[{n}]" for n in range(40)]


def _run(durations: dict[str, float], drivers: tuple[str, ...] = (), extra: list[dict] | None = None) -> dict:
    """A results file where each implementation took its duration on every item of ITEMS."""
    implementations = [{"name": impl, "origin": f"/x/{impl}.json" if impl in drivers else f"/x/{impl}.py"}
                       for impl in durations]
    results = [{"id": item, "impl": impl, "verdict": "pass", "duration": seconds}
               for impl, seconds in durations.items() for item in ITEMS]
    return {"run": {"implementations": implementations}, "results": results + (extra or [])}


def test_each_implementation_is_set_against_the_in_process_median() -> None:
    found = cost_tool.costs(_run({"a": 0.002, "b": 0.004, "c": 0.006, "drv": 0.010}, drivers=("drv",)))
    by_impl = {cost.impl: cost for cost in found}
    assert by_impl["drv"].out_of_process and not by_impl["a"].out_of_process
    assert cost_tool.in_process_median(found) == pytest.approx(0.004)
    text, within = cost_tool.table(found, limit=2.0)
    assert not within and "drv" in text and "2.50x  ABOVE 2x" in text
    assert cost_tool.table(found, limit=3.0)[1]
    assert cost_tool.table(found, limit=None)[1]


def test_only_items_every_implementation_judged_are_compared() -> None:
    # A slow item that one implementation declined (unsupported) or hung in (timeout) is left out
    # for all: otherwise the columns would compare different work.
    extra = [{"id": "slow[1]", "impl": "a", "verdict": "pass", "duration": 9.0},
             {"id": "slow[1]", "impl": "drv", "verdict": "unsupported", "duration": 0.0},
             {"id": "slow[2]", "impl": "a", "verdict": "timeout", "duration": 5.0},
             {"id": "slow[2]", "impl": "drv", "verdict": "fail", "duration": 5.0}]
    found = cost_tool.costs(_run({"a": 0.002, "drv": 0.002}, drivers=("drv",), extra=extra))
    assert {cost.items for cost in found} == {len(ITEMS)}
    assert all(cost.median_seconds == pytest.approx(0.002) for cost in found)


@pytest.mark.parametrize("data, message", [
    (_run({"a": 0.1}), "fewer than two implementations"),
    (_run({"a": 0.1, "drv": 0.1}, drivers=("a", "drv")), "no in-process implementation"),
])
def test_runs_that_measure_nothing_are_refused(data: dict, message: str) -> None:
    with pytest.raises(cost_tool.UsageError, match=message):
        cost_tool.in_process_median(cost_tool.costs(data))


def test_too_few_common_items_is_refused() -> None:
    data = _run({"a": 0.1, "b": 0.1})
    data["results"] = [record for record in data["results"] if record["impl"] == "a" or record["id"] < "scenario.x[2]"]
    with pytest.raises(cost_tool.UsageError, match="judged by every implementation"):
        cost_tool.costs(data)


def test_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_run({"a": 0.002, "b": 0.004, "drv": 0.020}, drivers=("drv",))))
    assert cost_tool.main([str(path)]) == 0
    assert cost_tool.main([str(path), "--limit", "2"]) == 1
    capsys.readouterr()
    (tmp_path / "bad.json").write_text("{not json")
    assert cost_tool.main([str(tmp_path / "bad.json")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("scenario_cost: ") and error.count("\n") == 1
