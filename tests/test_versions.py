"""tools/versions.py's pure parts: which advisories affect a release, and the proof that a scenario citing one
flips between the release before its fix and the current one (no environment is made, no suite run)."""

from __future__ import annotations

import pytest
from tool_modules import load_tool

versions = load_tool("versions")


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
    assert {name for name, advisory in versions.ADVISORIES.items() if advisory.affects(release)} == affected


def test_each_pinned_release_is_the_one_before_the_fix_it_proves() -> None:
    # The pairs: each pinned release is affected by its advisory, the next patch release is not.
    pinned = {release.version: release.proves for release in versions.RELEASES}
    for release, advisory, fixed in (("1.26.16", "CVE-2023-43804", "1.26.17"), ("1.26.17", "CVE-2023-45803", "1.26.18"),
                                     ("2.5.0", "CVE-2025-66471", "2.6.0"), ("2.5.0", "CVE-2025-66418", "2.6.0")):
        assert advisory in pinned[release]
        assert versions.ADVISORIES[advisory].affects(release) and not versions.ADVISORIES[advisory].affects(fixed)


CITING = {  # the credentials scenario cites the three header advisories; each is about its own rows
    advisory: {"agent.redirect.credentials[other-port-cookie]", "agent.redirect.credentials[control-same-origin-cookie]",
               "agent.redirect.credentials[other-port-authorization]",
               "agent.redirect.credentials[other-port-proxy-authorization]"}
    for advisory in ("CVE-2018-20060", "CVE-2023-43804", "CVE-2024-37891")
} | {"CVE-2023-45803": {"agent.redirect.body[303-post-other-port]", "agent.redirect.body[307-post-other-port]"}}


def test_an_advisory_holds_when_one_of_its_rows_flips() -> None:
    old = {"agent.redirect.credentials[other-port-cookie]": "fail-should",
           "agent.redirect.credentials[control-same-origin-cookie]": "pass",
           "agent.redirect.credentials[other-port-authorization]": "pass",
           "agent.redirect.credentials[other-port-proxy-authorization]": "fail-should",
           "agent.redirect.body[303-post-other-port]": "pass", "agent.redirect.body[307-post-other-port]": "pass"}
    new = {scenario: "pass" for scenario in old}
    release = versions.Release("1.26.16", "brotli", ("CVE-2023-43804", "CVE-2025-66471"))
    proofs = {proof.advisory: proof for proof in versions.prove(CITING, release, old, "2.8.0", new)}
    # Only the advisories that affect 1.26.16 and not 2.8.0: not CVE-2018-20060 (fixed in 1.23), nor
    # CVE-2026-44432 (2.6.x only).
    assert set(proofs) == {"CVE-2023-43804", "CVE-2023-45803", "CVE-2024-37891", "CVE-2025-66471",
                           "CVE-2025-66418", "CVE-2026-21441"}
    cookie = proofs["CVE-2023-43804"]
    # Its own rows only (not the Authorization ones); the control passes on both.
    assert [(row.scenario, row.flips) for row in cookie.rows] == [
        ("agent.redirect.credentials[control-same-origin-cookie]", False),
        ("agent.redirect.credentials[other-port-cookie]", True)]
    assert cookie.holds and not cookie.failed and cookie.required
    assert [row.scenario for row in proofs["CVE-2024-37891"].rows] == [
        "agent.redirect.credentials[other-port-proxy-authorization]"]
    # The 303 row passes on the old release too: it does not catch the advisory; the 307 row is not about it.
    body = proofs["CVE-2023-45803"]
    assert [row.scenario for row in body.rows] == ["agent.redirect.body[303-post-other-port]"]
    assert not body.holds and body.failed
    # No scenario cites it: a failure where the issue asks for it, information otherwise.
    assert proofs["CVE-2025-66471"].rows == () and proofs["CVE-2025-66471"].failed
    assert proofs["CVE-2026-21441"].rows == () and not proofs["CVE-2026-21441"].failed
    text = versions.render_proofs(list(proofs.values()), "python tools/versions.py")
    assert ("## CVE-2023-43804 (required): Cookie kept on a cross-origin redirect: urllib3 1.26.16 -> 2.8.0: "
            "holds: 1 of 2 row(s) flip") in text
    assert "| `agent.redirect.credentials[other-port-cookie]` | fail-should | pass | yes |" in text
    assert "urllib3 1.26.16 -> 2.8.0: does NOT hold: none of its 1 row(s) flips" in text
    assert "NOT tested: no scenario row cites it, though the issue asks for it" in text


@pytest.mark.parametrize(("old", "new", "flips"), [
    ("fail", "pass", True), ("fail-should", "pass", True),
    ("pass", "pass", False), ("fail", "fail", False), ("unsupported", "pass", False), ("error", "pass", False),
    (None, "pass", False), ("fail", None, False), ("timeout", "pass", True),
])
def test_only_a_failure_that_becomes_a_pass_flips(old: str | None, new: str | None, flips: bool) -> None:
    # An error (the harness's) or unsupported row on the old release proves nothing about the client; a
    # timeout is the client's own verdict.
    assert versions.Row("a.b[c]", old, new).flips is flips


def test_an_unknown_release_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert versions.main(["--release", "9.9.9"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: --release 9.9.9: not pinned here"), err
