"""tools/versions.py's pure parts: which advisories affect a release, and the proof that a scenario citing one
flips between the release before its fix and the current one (no environment is made, no suite run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_tools_{name}", TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


versions = _load("versions")


@pytest.mark.parametrize(("release", "affected"), [
    ("1.26.16", {"CVE-2023-43804", "CVE-2023-45803", "CVE-2024-37891", "CVE-2025-66471", "CVE-2025-66418",
                 "CVE-2026-21441"}),
    ("1.26.17", {"CVE-2023-45803", "CVE-2024-37891", "CVE-2025-66471", "CVE-2025-66418", "CVE-2026-21441"}),
    ("1.22", {"CVE-2018-20060", "CVE-2023-43804", "CVE-2023-45803", "CVE-2024-37891", "CVE-2025-66471",
              "CVE-2026-21441"}),
    ("2.0.5", {"CVE-2023-43804", "CVE-2023-45803", "CVE-2024-37891", "CVE-2025-66471", "CVE-2025-66418",
               "CVE-2026-21441"}),
    ("2.5.0", {"CVE-2025-66471", "CVE-2025-66418", "CVE-2026-21441"}),
    ("2.6.0", {"CVE-2026-21441", "CVE-2026-44432"}),
    ("2.8.0", set()),
])
def test_the_advisories_that_affect_a_release(release: str, affected: set[str]) -> None:
    assert {advisory for advisory in versions.ADVISORIES if versions.affects(advisory, release)} == affected


def test_each_pinned_release_is_the_one_before_the_fix_it_proves() -> None:
    # The pairs: each pinned release is affected by its advisory, the next patch release is not.
    for release, advisory, fixed in (("1.26.16", "CVE-2023-43804", "1.26.17"), ("1.26.17", "CVE-2023-45803", "1.26.18"),
                                     ("2.5.0", "CVE-2025-66471", "2.6.0"), ("2.5.0", "CVE-2025-66418", "2.6.0")):
        assert release in {r.version for r in versions.RELEASES}
        assert versions.affects(advisory, release) and not versions.affects(advisory, fixed)


CITING = {
    "CVE-2023-43804": {"agent.redirect.credentials[cookie-other-port]", "agent.redirect.credentials[control-cookie]"},
    "CVE-2023-45803": {"agent.redirect.method[303-post]"},
}


def test_an_advisory_holds_when_one_of_its_rows_flips() -> None:
    old = {"agent.redirect.credentials[cookie-other-port]": "fail-should",
           "agent.redirect.credentials[control-cookie]": "pass", "agent.redirect.method[303-post]": "pass"}
    new = {scenario: "pass" for scenario in old}
    proofs = {proof.advisory: proof for proof in versions.prove(CITING, "1.26.16", old, "2.8.0", new)}
    # Only the advisories that affect 1.26.16 and not 2.8.0; CVE-2026-44432 (2.6.x only) is not one.
    assert set(proofs) == {"CVE-2023-43804", "CVE-2023-45803", "CVE-2024-37891", "CVE-2025-66471",
                           "CVE-2025-66418", "CVE-2026-21441"}
    cookie = proofs["CVE-2023-43804"]
    assert cookie.holds and [row.flips for row in cookie.rows] == [False, True]  # the control passes on both
    # The 303 row passes on the old release too: it does not catch the advisory.
    assert not proofs["CVE-2023-45803"].holds
    # An advisory no scenario cites cannot hold.
    assert proofs["CVE-2024-37891"].rows == () and not proofs["CVE-2024-37891"].holds
    text = versions.render_proofs(list(proofs.values()), "python tools/versions.py")
    assert "## CVE-2023-43804: urllib3 1.26.16 -> 2.8.0: holds: 1 of 2 row(s) flip" in text
    assert "| `agent.redirect.credentials[cookie-other-port]` | fail-should | pass | yes |" in text
    assert "## CVE-2023-45803: urllib3 1.26.16 -> 2.8.0: does NOT hold: none of 1 row(s) flips" in text
    assert "## CVE-2024-37891: urllib3 1.26.16 -> 2.8.0: NO scenario cites it" in text


@pytest.mark.parametrize(("old", "new", "flips"), [
    ("fail", "pass", True), ("fail-should", "pass", True),
    ("pass", "pass", False), ("fail", "fail", False), ("unsupported", "pass", False), ("error", "pass", False),
    (None, "pass", False), ("fail", None, False), ("timeout", "pass", False),
])
def test_only_a_failure_that_becomes_a_pass_flips(old: str | None, new: str | None, flips: bool) -> None:
    # An error, timeout or unsupported row on the old release proves nothing about the client.
    assert versions.Row("a.b[c]", old, new).flips is flips


def test_an_unknown_release_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert versions.main(["--release", "9.9.9"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: --release 9.9.9: not pinned here"), err
