"""The agent profile against pinned older releases of urllib3, next to the current one, with requests beside it.

    python tools/versions.py [--out DIR] [--release 1.26.16 ...] [-n 2] [--refresh] [--report-only] [-- PYTEST-ARGS]

Why: the proof that the agent scenarios catch what urllib3's advisories describe. A scenario that cites an
advisory must fail on a release the advisory affects and pass on the current one; if none of its rows
flips, the scenario does not test what the advisory says (or the advisory's conditions differ).

Each release of RELEASES gets its own virtual environment, made once and kept in
$XDG_CACHE_HOME/h1conform/versions/urllib3-<release> (~/.cache when XDG_CACHE_HOME is unset): this checkout
installed editable (a change to the suite needs no reinstall), urllib3 at that release with the extras of the
codings the current release decodes, and requests at REQUESTS, so that requests' columns differ by urllib3
alone. An environment is remade when what it should hold changes (its stamp file), or with --refresh. The
current release is this interpreter's environment (tox -e agent-versions installs the clients extra there: the
newest releases).

Each environment runs the files that hold agent-profile scenarios (found by collecting the suite here) with
--impl=urllib3 --impl=requests, and writes DIR/urllib3-<release>.json (a run ending with failures is normal:
they are what this is about). Then, in DIR (default build/versions):
- REPORT.md and report.html: the columns side by side (python -m h1conform.reports render);
- diff-urllib3-<old>-to-<current>.md per pinned release (python -m h1conform.reports diff): every change;
- PROOF.md, also printed: per pinned release and advisory of ADVISORIES that affects it and not the current
  release, the urllib3 rows about it (Advisory.rows) of the scenarios citing it, their verdicts on both
  releases, and which flip.

Exit codes: 0 every proof holds; 1 an advisory cited by scenario rows none of which flips, or one the issue
asks for (Release.proves) that no row cites; 2 bad arguments, an environment that cannot be made, or a run
that ended with a usage or internal error (its output is shown).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "versions"
IMPL = "urllib3"  # the client whose releases vary; requests runs beside it on each
REQUESTS = "2.34.2"  # accepts urllib3 >= 1.26, < 3: the same requests in every pinned environment
RUN_TIMEOUT = 3600.0  # seconds for one environment's run; the suite's own deadlines end a hanging client first
INSTALL_TIMEOUT = 900.0  # seconds for making one environment (pip downloads on a slow index)
FLIPS_TO = "pass"
# A row that fails on the old release and passes on the current one flips. A timeout is the client's too:
# urllib3 2.5.0 decodes a whole brotli bomb, then copies the rest of it for every piece it hands over.
FAILED = ("fail", "fail-should", "timeout")


@dataclass(frozen=True)
class Release:
    version: str
    extras: str  # urllib3's extras for the codings the current release decodes (zstd exists from 2.0)
    proves: tuple[str, ...]  # the advisories the issue asks this release to prove: their rows must flip

    @property
    def name(self) -> str:
        return f"{IMPL}-{self.version}"

    @property
    def requirements(self) -> list[str]:
        return [f"{IMPL}[{self.extras}]=={self.version}", f"requests=={REQUESTS}"]


# The last releases before the fixes of the advisories the issue names.
RELEASES = (
    Release("1.26.16", "brotli", ("CVE-2023-43804",)),  # fixed in 1.26.17
    Release("1.26.17", "brotli", ("CVE-2023-45803",)),  # fixed in 1.26.18
    Release("2.5.0", "brotli,zstd", ("CVE-2025-66471", "CVE-2025-66418")),  # fixed in 2.6.0
)


@dataclass(frozen=True)
class Advisory:
    about: str
    affected: tuple[tuple[str, str], ...]  # the releases it affects: [introduced, fixed) ranges
    # The ids of the rows about it, where a scenario citing it has rows about other advisories too (the
    # credentials scenario cites the Authorization, Cookie and Proxy-Authorization ones); empty: every row.
    rows: str = ""

    def affects(self, version: str) -> bool:
        return any(Version(introduced) <= Version(version) < Version(fixed) for introduced, fixed in self.affected)

    def about_row(self, scenario_id: str) -> bool:
        return not self.rows or re.search(self.rows, scenario_id) is not None


# urllib3's advisories, from their texts (GHSA pages and CVE records); a branch that never got the fix
# runs to the fix on the next one.
ADVISORIES = {
    "CVE-2018-20060": Advisory("Authorization kept on a cross-origin redirect", (("0", "1.23"),),
                               r"(?<!proxy)-authorization\]$"),
    "CVE-2023-43804": Advisory("Cookie kept on a cross-origin redirect", (("0", "1.26.17"), ("2.0.0", "2.0.6")),
                               r"-cookie\]$"),
    "CVE-2023-45803": Advisory("the body kept after a 303 turned the method into GET",
                               (("0", "1.26.18"), ("2.0.0", "2.0.7")), r"\[303-"),
    "CVE-2024-37891": Advisory("Proxy-Authorization kept on a cross-origin redirect",
                               (("0", "1.26.19"), ("2.0.0", "2.2.2")), r"-proxy-authorization\]$"),
    "CVE-2025-66471": Advisory("the streaming API decodes a whole bomb at once", (("1.0", "2.6.0"),),
                               r"^agent\.coding\.bomb\["),
    "CVE-2025-66418": Advisory("an unbounded chain of content codings", (("1.24", "2.6.0"),),
                               r"^agent\.coding\.chain\["),
    "CVE-2026-21441": Advisory("a redirect's compressed body decoded whole to drain it", (("1.22", "2.6.3"),)),
    "CVE-2026-44432": Advisory("brotli's second read(amt), and drain_conn, decode everything", (("2.6.0", "2.7.0"),)),
}


class UsageError(Exception):
    """Something this tool cannot go on with; its message is one line (plus a command's output)."""


# -- the agent profile: which files, which advisories --------------------------------------------------


@dataclass
class AgentProfile:
    files: set[str] = field(default_factory=set)  # suite files holding agent scenarios, relative to ROOT
    citing: dict[str, set[str]] = field(default_factory=dict)  # advisory -> scenario ids (variants) citing it


class _AgentCollector:
    """A pytest plugin object: after collection, read each item's ScenarioInfo (the suite's plugin stashes it)."""

    def __init__(self) -> None:
        self.profile = AgentProfile()

    def pytest_collection_finish(self, session: object) -> None:
        from h1conform.suites.harness.scenario import Profile
        from h1conform.suites.plugin import INFO_KEY

        for item in session.items:  # type: ignore[attr-defined]
            info = item.stash.get(INFO_KEY, None)
            if info is None or info.profile is not Profile.AGENT:
                continue
            self.profile.files.add(str(Path(item.path).relative_to(ROOT)))
            for advisory in info.cves:
                self.profile.citing.setdefault(advisory, set()).add(info.id)


def collect_agent_profile() -> AgentProfile:
    import pytest

    collector = _AgentCollector()
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        status = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                              str(ROOT / "suites")], plugins=[collector])
    if status != 0:
        raise UsageError(f"collecting suites/ failed (pytest exit status {int(status)}):\n{output.getvalue()}")
    if not collector.profile.files:
        raise UsageError("the suite has no agent-profile scenario")
    return collector.profile


# -- environments --------------------------------------------------------------------------------------


def cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "h1conform" / "versions"


def _stamp(release: Release) -> str:
    """What an environment holds: it is remade when this changes (the suite's own dependencies included)."""
    pyproject = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return json.dumps({"requirements": release.requirements, "python": sys.version, "checkout": str(ROOT),
                       "pyproject": pyproject}, sort_keys=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time makes a given environment (two runs of this tool may share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(command: Sequence[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"{what}: no end within {timeout:g} s: {' '.join(command)}") from None
    if done.returncode != 0:
        raise UsageError(f"{what} failed (exit status {done.returncode}): {' '.join(command)}\n"
                         f"{done.stdout[-4000:]}{done.stderr[-4000:]}")


def environment(release: Release, refresh: bool) -> Path:
    """The Python of `release`'s environment, made (or remade) when needed."""
    folder = cache_folder() / release.name
    python = folder / "bin" / "python"
    stamp_file = folder / "h1conform-versions.json"
    with _locked(cache_folder() / f"{release.name}.lock"):
        if not refresh and python.exists() and stamp_file.exists() and stamp_file.read_text() == _stamp(release):
            return python
        print(f"making the environment of {release.name} in {folder} ...", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(folder)], f"making {folder}", INSTALL_TIMEOUT)
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", str(ROOT),
              *release.requirements], f"installing {', '.join(release.requirements)} in {folder}", INSTALL_TIMEOUT)
        stamp_file.write_text(_stamp(release))
    return python


# -- runs ------------------------------------------------------------------------------------------------


def run_profile(python: Path, files: Sequence[str], results: Path, workers: int, extra: Sequence[str]) -> None:
    """Run the agent files with urllib3 and requests in `python`'s environment, writing `results`."""
    command = [str(python), "-m", "pytest", *files, "-p", "no:cacheprovider", "-q", "--no-header", "-rN", "--tb=no",
               f"--impl={IMPL}", "--impl=requests", f"--results={results}", *(["-n", str(workers)] if workers else []),
               *extra]
    # The pinned environment's own packages only: nothing of this interpreter's on its path.
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    results.unlink(missing_ok=True)  # a file left by an earlier run must not pass for this one's
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"the run for {results.name} did not end within {RUN_TIMEOUT:g} s: {' '.join(command)}") from None
    duration = time.monotonic() - started
    if done.returncode not in (0, 1) or not results.exists():
        raise UsageError(f"the run for {results.name} ended with pytest exit status {done.returncode} (0 or 1 "
                         f"expected): {' '.join(command)}\n{done.stdout[-4000:]}{done.stderr[-4000:]}")
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"  {results.name}: {summary} ({duration:.0f} s)", flush=True)


# -- the proof -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    scenario: str
    old: str | None  # verdict on the old release; None: not run
    new: str | None

    @property
    def flips(self) -> bool:
        return self.old in FAILED and self.new == FLIPS_TO


@dataclass(frozen=True)
class Proof:
    advisory: str
    old: str  # release
    new: str
    rows: tuple[Row, ...]  # the urllib3 rows about the advisory, of the scenarios citing it
    required: bool  # one the issue asks for (Release.proves): a missing scenario fails it too

    @property
    def holds(self) -> bool:
        return any(row.flips for row in self.rows)

    @property
    def failed(self) -> bool:
        """Rows that do not flip; or no row, for a required proof (else the suite just does not test it)."""
        return not self.holds and (bool(self.rows) or self.required)

    @property
    def state(self) -> str:
        if self.holds:
            return f"holds: {sum(row.flips for row in self.rows)} of {len(self.rows)} row(s) flip"
        if self.rows:
            return f"does NOT hold: none of its {len(self.rows)} row(s) flips"
        return "NOT tested: no scenario row cites it" + (", though the issue asks for it" if self.required else "")


def verdicts(path: Path, impl: str = IMPL) -> tuple[str, dict[str, str]]:
    """(the implementation's version, {scenario id: verdict}) of one results file."""
    from h1conform.reports.load import load

    results = load(path)
    return str(results.implementation(impl).get("version", "")), {
        record["id"]: record["verdict"] for record in results.records if record["impl"] == impl}


def prove(citing: dict[str, set[str]], old: Release, old_verdicts: dict[str, str], new_version: str,
          new_verdicts: dict[str, str]) -> list[Proof]:
    """One Proof per advisory that affects the old release and not the new one."""
    proofs = []
    for name, advisory in ADVISORIES.items():
        if not advisory.affects(old.version) or advisory.affects(new_version):
            continue
        rows = tuple(Row(scenario, old_verdicts.get(scenario), new_verdicts.get(scenario))
                     for scenario in sorted(citing.get(name, ())) if advisory.about_row(scenario))
        proofs.append(Proof(name, old.version, new_version, rows, name in old.proves))
    return proofs


def render_proofs(proofs: Sequence[Proof], command: str) -> str:
    from h1conform.reports.escape import code

    lines = ["# urllib3's advisories: their scenarios on a release they affect and on the current one", "",
             f"Made by `{command}`. For each pinned release and each urllib3 advisory that affects it and not the "
             "current release: the urllib3 rows about it of the scenarios that cite it (`cves=[...]`), their "
             f"verdicts on both releases, and whether they flip ({', '.join(FAILED)} on the old release, "
             f"{FLIPS_TO} on the current one). It holds when a row flips; rows that pass on both are its controls "
             "or conditions the release handled. The advisories the issue asks for are marked (required).", ""]
    for proof in proofs:
        required = " (required)" if proof.required else ""
        lines += [f"## {proof.advisory}{required}: {ADVISORIES[proof.advisory].about}: urllib3 {proof.old} -> "
                  f"{proof.new}: {proof.state}", ""]
        if proof.rows:
            lines += [f"| scenario | {proof.old} | {proof.new} | flips |", "|---|---|---|---|"]
            lines += [f"| {code(row.scenario, table=True)} | {row.old or 'not run'} | {row.new or 'not run'} | "
                      f"{'yes' if row.flips else ''} |" for row in proof.rows]
            lines.append("")
    return "\n".join(lines)


# -- command line ----------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python tools/versions.py", description=(
        "Run the agent profile against pinned older urllib3 releases and the current one; write the results, "
        "a side-by-side report, the diffs and the advisories' proof."))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"where the results and reports go (default: {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--release", action="append", default=[], metavar="VERSION",
                        help="run only this pinned release (repeat for several; default: "
                             f"{', '.join(r.version for r in RELEASES)})")
    parser.add_argument("-n", "--workers", type=int, default=0, metavar="N",
                        help="pytest-xdist workers per run (default: none)")
    parser.add_argument("--refresh", action="store_true", help="remake the pinned environments")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: report, diff and prove from the results files already in DIR")
    parser.add_argument("pytest_args", nargs="*", metavar="PYTEST-ARGS", help="given to each pytest run (after --)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    chosen = [r for r in RELEASES if not args.release or r.version in args.release]
    unknown = sorted(set(args.release) - {r.version for r in RELEASES})
    if unknown:
        print(f"error: --release {', '.join(unknown)}: not pinned here (pinned: "
              f"{', '.join(r.version for r in RELEASES)})", file=sys.stderr)
        return 2
    try:
        return _main(args, chosen)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace, chosen: Sequence[Release]) -> int:
    from h1conform.reports.__main__ import main as reports

    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    current = importlib.metadata.version(IMPL)
    profile = collect_agent_profile()
    files = sorted(profile.files)
    runs = {release.version: out / f"{release.name}.json" for release in chosen}
    runs[current] = out / f"{IMPL}-{current}.json"
    if not args.report_only:
        print(f"agent profile: {', '.join(files)}", flush=True)
        for release in chosen:
            run_profile(environment(release, args.refresh), files, runs[release.version], args.workers,
                        args.pytest_args)
        run_profile(Path(sys.executable), files, runs[current], args.workers, args.pytest_args)
    missing = [str(path) for path in runs.values() if not path.exists()]
    if missing:
        raise UsageError(f"no results file {', '.join(missing)}: run without --report-only first")
    ordered = sorted(runs, key=Version)
    if reports(["render", *map(str, (runs[v] for v in ordered)), "--markdown", str(out / "REPORT.md"),
                "--html", str(out / "report.html")]) != 0:
        raise UsageError("rendering the report failed (above)")
    new_version, new = verdicts(runs[current])
    if new_version != f"{IMPL} {current}":
        raise UsageError(f"{runs[current]} ran {new_version!r}, not {IMPL} {current} (this environment's)")
    proofs: list[Proof] = []
    for release in chosen:
        diff_file = out / f"diff-{release.name}-to-{current}.md"
        if reports(["diff", str(runs[release.version]), str(runs[current]), "--output", str(diff_file)]) not in (0, 1):
            raise UsageError(f"writing {diff_file} failed (above)")
        old_version, old = verdicts(runs[release.version])
        if old_version != f"{IMPL} {release.version}":
            raise UsageError(f"{runs[release.version]} ran {old_version!r}, not {IMPL} {release.version}")
        proofs += prove(profile.citing, release, old, current, new)
    command = "python tools/versions.py" + (f" --out {args.out}" if args.out != DEFAULT_OUT else "")
    text = render_proofs(proofs, command)
    (out / "PROOF.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"\nwritten in {out}: {', '.join(sorted(p.name for p in out.iterdir() if p.suffix in ('.md', '.html')))}")
    return 1 if any(proof.failed for proof in proofs) else 0


if __name__ == "__main__":
    sys.exit(main())
