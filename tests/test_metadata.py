"""Scenario metadata: the requirement table the suite ships, documented API names, and check()."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from h1conform.suites.harness.references import DOCUMENTED_API, TABLES, requirements, unknown_references
from h1conform.suites.harness.scenario import (
    _KEYWORD_LEVEL,
    API,
    API_LEVEL,
    MAY,
    MUST,
    SHOULD,
    WIRE,
    ScenarioInfo,
    check,
)

SHARED_TABLE = Path(__file__).resolve().parents[2] / "shared" / "spec" / "client-requirements.tsv"
VENDORED_TABLE = Path(__file__).resolve().parents[1] / "suites" / "spec" / "client-requirements.tsv"


@pytest.mark.skipif(not SHARED_TABLE.is_file(), reason="no shared/spec beside this checkout")
def test_vendored_requirement_table_matches_the_shared_one() -> None:
    assert VENDORED_TABLE.read_bytes() == SHARED_TABLE.read_bytes(), (
        "suites/spec/client-requirements.tsv differs from shared/spec: copy the shared one over it")


def test_requirement_table_loads_every_row() -> None:
    rows = requirements()
    lines = [line for name in TABLES for line in (VENDORED_TABLE.parent / name).read_text("utf-8").splitlines()[1:]]
    assert len(rows) == len([line for line in lines if line.strip()])
    assert rows["RFC9112-6.3-p2-s7"].level == "MUST"
    assert rows["RFC9112-6.3-p2-s7"].applies == "client"
    assert "close the connection" in rows["RFC9112-6.3-p2-s7"].text


def test_every_keyword_in_the_table_maps_to_a_level() -> None:
    keywords = {row.level for row in requirements().values()}
    assert keywords <= _KEYWORD_LEVEL.keys(), f"unmapped BCP 14 keywords: {keywords - _KEYWORD_LEVEL.keys()}"


def test_documented_module_level_names_exist_in_http_client() -> None:
    audit_events = {"http.client.connect", "http.client.send"}
    top_level = {name.split(".")[2] for name in DOCUMENTED_API - audit_events}
    missing = sorted(name for name in top_level if not hasattr(http.client, name))
    assert not missing, f"documented names that http.client does not have: {missing}"


def test_unknown_references() -> None:
    refs = ("RFC9112-6.3-p2-s7", "http.client.HTTPResponse.read", "RFC9112-99-p1-s1", "http.client.nope")
    assert unknown_references(refs) == ["RFC9112-99-p1-s1", "http.client.nope"]


def info(**overrides: object) -> ScenarioInfo:
    fields: dict[str, object] = dict(id="response.body.ok", refs=("RFC9112-6.3-p2-s8",), level=MUST, profile=WIRE)
    fields.update(overrides)
    return ScenarioInfo(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("scenario, problem", [
    pytest.param(info(), None, id="control-complete"),
    pytest.param(info(id="response.body.ok[variant-a]"), None, id="control-variant-id"),
    pytest.param(info(level=MAY, refs=("RFC9112-2.2-p3-s1",)), None, id="control-may"),
    pytest.param(info(level=API_LEVEL, profile=API, refs=("http.client.HTTPResponse.read",)), None,
                 id="control-api"),
    pytest.param(info(id="Response Body"), "is not a dotted lower-case name", id="bad-id"),
    pytest.param(info(id="single"), "is not a dotted lower-case name", id="undotted-id"),
    pytest.param(info(refs=()), "no spec references", id="no-refs"),
    pytest.param(info(refs=("RFC1-1",)), "cites unknown reference", id="unknown-ref"),
    pytest.param(info(level=SHOULD), "level SHOULD but no cited requirement is at that level", id="level-mismatch"),
    pytest.param(info(level=API_LEVEL), "needs at least one http.client documentation reference", id="api-no-doc"),
    pytest.param(info(level="MUST"), "is not one of", id="level-not-enum"),
    pytest.param(info(profile="wire"), "is not one of", id="profile-not-enum"),
])
def test_check(scenario: ScenarioInfo, problem: str | None) -> None:
    problems = check(scenario)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in found for found in problems), problems
