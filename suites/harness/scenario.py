"""Scenario metadata: the stable id, what it cites, how strict it is, and which face of a client it uses.

    @scenario("response.body.content-length", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
    def test_content_length_body(server, wire): ...

Parametrised variants share the scenario's metadata and get the id `base[variant]`, where the
variant is pytest's id for the parameters (the implementation's name is not part of it). A variant
can carry its own level and refs with `variant(...)`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from h1conform.suites.harness.references import is_documented, requirements, unknown_references


class Level(enum.Enum):
    """How strictly the checked behaviour is required."""

    MUST = "MUST"  # RFC MUST / MUST NOT / REQUIRED / SHALL
    SHOULD = "SHOULD"  # RFC SHOULD / SHOULD NOT / RECOMMENDED
    MAY = "MAY"  # RFC MAY / OPTIONAL: checked for reporting, never a conformance failure
    API = "API"  # documented http.client behaviour


class Profile(enum.Enum):
    API = "api"  # the scenario drives the http.client API of the implementation itself
    WIRE = "wire"  # the scenario drives the uniform request/response adapter
    AGENT = "agent"  # the scenario drives the client as a user agent (suites/harness/agent.py)


MUST, SHOULD, MAY, API_LEVEL = Level.MUST, Level.SHOULD, Level.MAY, Level.API
API, WIRE, AGENT = Profile.API, Profile.WIRE, Profile.AGENT

# The BCP 14 keywords of the requirement table, folded onto the levels a scenario can claim.
_KEYWORD_LEVEL = {
    "MUST": Level.MUST, "MUST NOT": Level.MUST, "REQUIRED": Level.MUST, "SHALL": Level.MUST,
    "SHALL NOT": Level.MUST, "SHOULD": Level.SHOULD, "SHOULD NOT": Level.SHOULD,
    "RECOMMENDED": Level.SHOULD, "NOT RECOMMENDED": Level.SHOULD, "MAY": Level.MAY,
    "OPTIONAL": Level.MAY,
}

_ID_PATTERN = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*(?:\.[a-z0-9]+(?:[-_][a-z0-9]+)*)+")

MARKER = "scenario"
VARIANT_MARKER = "scenario_variant"


@dataclass(frozen=True)
class ScenarioInfo:
    """The metadata of one scenario (one variant of a parametrised test)."""

    id: str
    refs: tuple[str, ...]
    level: Level
    profile: Profile
    needs: frozenset[str] = frozenset()  # wire features the adapter must offer
    cves: tuple[str, ...] = ()


def scenario(
    id: str,
    *,
    refs: Iterable[str],
    level: Level,
    profile: Profile,
    needs: Iterable[str] = (),
    cves: Iterable[str] = (),
) -> pytest.MarkDecorator:
    """Declare a test function as a scenario. Checked at collection, with clear messages."""
    mark: pytest.MarkDecorator = getattr(pytest.mark, MARKER)(
        id=id, refs=tuple(refs), level=level, profile=profile, needs=frozenset(needs), cves=tuple(cves)
    )
    return mark


def variant(*values: Any, id: str, level: Level | None = None, refs: Iterable[str] | None = None) -> Any:
    """One row of a parametrised scenario, optionally with its own level and refs."""
    overrides: dict[str, Any] = {}
    if level is not None:
        overrides["level"] = level
    if refs is not None:
        overrides["refs"] = tuple(refs)
    marks = [getattr(pytest.mark, VARIANT_MARKER)(**overrides)] if overrides else []
    return pytest.param(*values, id=id, marks=marks)


def check(info: ScenarioInfo) -> list[str]:
    """Everything wrong with a scenario's metadata; empty when it is complete and consistent."""
    problems = []
    if not _ID_PATTERN.fullmatch(info.id.split("[", 1)[0]):
        problems.append(f"id {info.id!r} is not a dotted lower-case name like 'response.status-line.code'")
    if not isinstance(info.level, Level):
        problems.append(f"level {info.level!r} is not one of {[level.name for level in Level]}")
    if not isinstance(info.profile, Profile):
        problems.append(f"profile {info.profile!r} is not one of {[p.value for p in Profile]}")
    if not info.refs:
        problems.append("no spec references (refs=[...] with requirement ids or http.client doc entries)")
    unknown = unknown_references(info.refs)
    if unknown:
        problems.append(f"cites unknown reference(s) {unknown}: not in client-requirements.tsv "
                        "nor a documented http.client entry")
    if isinstance(info.level, Level) and not unknown and info.refs:
        problems.extend(_level_problems(info))
    return problems


def _level_problems(info: ScenarioInfo) -> list[str]:
    """A scenario's level must be the level of something it cites, so a report never overstates it."""
    known = requirements()
    cited = {_KEYWORD_LEVEL[known[ref].level] for ref in info.refs if ref in known}
    if info.level is Level.API:
        if not any(is_documented(ref) for ref in info.refs):
            return ["level API needs at least one http.client documentation reference"]
        return []
    if info.level is Level.SHOULD and info.cves and cited:
        # A security expectation the RFC only asks a user agent to consider (credentials kept from
        # another origin: RFC 9110 15.4's list) is levelled SHOULD by the advisories it cites.
        return []
    if info.level not in cited:
        return [f"level {info.level.name} but no cited requirement is at that level "
                f"(cited: {sorted(level.name for level in cited) or 'documentation only'})"]
    return []
