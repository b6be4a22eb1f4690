"""Results files: one JSON document per run, with the run's metadata and one record per scenario.

    pytest suites/ --impl=stdlib --results=results.json

Two pieces, so that it works the same with and without xdist:

- `ReportAnnotator` runs where the tests run (each xdist worker, or the only process). It knows the
  item: the scenario's metadata, the exception, the scripted servers and what they sent and
  received. It decides each phase's verdict and puts it, with a short reason and (for failures)
  the wire trace, on the report as a plain JSON-able dict (`report.h1conform`), which xdist
  carries to the controller like any other report attribute.
- `ResultsRecorder` runs on the controller (or the only process). It merges the setup, call and
  teardown phases of each test into one record and writes the file at the end of the session.

The file's format is `reports/schema/results-1.schema.json`; `reports` renders and compares them.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import pytest

from h1conform.servers import ScriptError
from h1conform.suites.harness.containment import ClientFault
from h1conform.suites.harness.deadline import ScenarioTimeout
from h1conform.suites.harness.errors import HarnessError
from h1conform.suites.harness.impls import Implementation
from h1conform.suites.harness.leaks import LeakFound
from h1conform.suites.harness.scenario import Level, ScenarioInfo

SCHEMA = "h1conform-results"
SCHEMA_VERSION = 1

# Verdicts, in the design's words. "skipped" is for a scenario that did not run for a reason
# that is not the implementation's (an optional dependency of the suite is missing, say).
VERDICTS = ("pass", "fail", "fail-should", "unsupported", "timeout", "error", "expected-failure",
            "unexpected-pass", "skipped")
FAILING = frozenset({"fail", "fail-should", "timeout", "error", "expected-failure"})
SPOILABLE = frozenset({"pass", "unexpected-pass"})  # verdicts that a later phase's problem replaces

# Failures that say nothing about the scenario under way: an unclosed object collected during it
# that its own client code did not leave (those are LeakFound: suites/harness/leaks.py).
UNATTRIBUTABLE = (pytest.PytestUnraisableExceptionWarning, ResourceWarning)

REPORT_ATTRIBUTE = "h1conform"  # the attribute of a TestReport that carries a phase's verdict

REASON_LIMIT = 600  # characters of a reason
TRACE_HEAD = 1536  # bytes kept from the start of each direction of a connection
TRACE_TAIL = 512  # bytes kept from its end
TRACE_CONNECTIONS = 8  # connections kept per scenario (the first ones)


def truncate_bytes(data: bytes, head: int = TRACE_HEAD, tail: int = TRACE_TAIL) -> str:
    """`data` as text (one character per byte, latin-1), its middle replaced by a marker if long."""
    if len(data) <= head + tail:
        return data.decode("latin-1")
    omitted = len(data) - head - tail
    return (data[:head].decode("latin-1") + f"\n[... {omitted} bytes omitted ...]\n"
            + data[-tail:].decode("latin-1"))


def wire_trace(servers: Iterable[Any]) -> list[dict[str, Any]]:
    """What each scripted server received and sent, connection by connection, truncated."""
    trace: list[dict[str, Any]] = []
    for number, server in enumerate(servers):
        host, port = getattr(server, "host", "?"), getattr(server, "port", 0)
        for record in list(getattr(server, "connections", ()))[:TRACE_CONNECTIONS]:
            received, sent = bytes(record.received), bytes(record.sent)
            trace.append({
                "server": f"{host}:{port}" if number == 0 else f"#{number + 1} {host}:{port}",
                "connection": record.index,
                "received": truncate_bytes(received),
                "received_length": len(received),
                "sent": truncate_bytes(sent),
                "sent_length": len(sent),
                "events": [str(event) for event in record.events],
            })
    return trace


def _one_line(text: str, limit: int = REASON_LIMIT) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    short = " / ".join(lines[:4])
    return short if len(short) <= limit else short[: limit - 3] + "..."


def _crash_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
        return str(report.longrepr[2])
    return report.longreprtext


def _harness_broke(servers: Iterable[Any]) -> bool:
    """True if a scripted server failed for its own reasons, not because the client misbehaved."""
    for server in servers:
        for error in getattr(server, "errors", ()):
            if not isinstance(error, ScriptError):
                return True
    return False


def phase_verdict(call: pytest.CallInfo[None], report: pytest.TestReport, info: ScenarioInfo,
                  servers: list[Any], unsupported_prefix: str) -> tuple[str, str] | None:
    """(verdict, reason) of one phase of a scenario's test; None when the phase says nothing."""
    excinfo = call.excinfo
    taken = _taken_for_listed_failure(call, report)
    if hasattr(report, "wasxfail") and not taken:
        if report.skipped:
            return "expected-failure", _one_line(_crash_message(report))
        return "unexpected-pass", _one_line(str(report.wasxfail))
    if report.skipped and not taken:
        reason = _crash_message(report)
        if reason.startswith("Skipped: "):
            reason = reason.removeprefix("Skipped: ")
        return ("unsupported" if reason.startswith(unsupported_prefix) else "skipped"), _one_line(reason)
    if report.passed:
        return ("pass", "") if report.when == "call" else None
    # Failed (or a problem pytest's xfail took for the listed failure).
    if isinstance(report.longrepr, str) and report.longrepr.startswith("[XPASS(strict)]"):
        return "unexpected-pass", _one_line(report.longrepr.removeprefix("[XPASS(strict)]"))
    message = _one_line(_crash_message(report))
    phase_message = message if report.when == "call" else f"{report.when}: {message}"
    if excinfo is not None and excinfo.errisinstance(HarnessError):
        return "error", f"{report.when}: {message}"
    if excinfo is not None and isinstance(excinfo.value, ClientFault):
        return excinfo.value.verdict, phase_message
    if excinfo is not None and excinfo.errisinstance(ScenarioTimeout):
        return "timeout", message
    if excinfo is not None and excinfo.errisinstance(LeakFound) and not _harness_broke(servers):
        # Found while the scenario's own client code ran (its call, or the teardown closing its
        # connections): the client's failure, in either phase (suites/harness/leaks.py).
        return _client_failed(info), phase_message
    if report.when != "call" or _harness_broke(servers):
        return "error", phase_message
    if excinfo is not None and excinfo.errisinstance(UNATTRIBUTABLE):
        # Raised because something was garbage-collected unclosed while this test ran; it may
        # have been left by an earlier test: the run's problem, not this scenario's verdict.
        return "error", phase_message
    return _client_failed(info), message


def _client_failed(info: ScenarioInfo) -> str:
    """The verdict of a requirement the client broke: a missed SHOULD or MAY is not a failure of a MUST."""
    return "fail" if info.level in (Level.MUST, Level.API) else "fail-should"


def _taken_for_listed_failure(call: pytest.CallInfo[None], report: pytest.TestReport) -> bool:
    """True if pytest's xfail (a scenario listed in --expect) took for the listed failure a problem
    that is not the client's result: a harness error, or any problem in teardown. Such a problem
    is recorded as it would be for a scenario that is not listed (suites/harness/outcomes.py
    shows it so too)."""
    excinfo = call.excinfo
    return excinfo is not None and report.skipped and (
        excinfo.errisinstance(HarnessError) or report.when == "teardown")


class ReportAnnotator:
    """Puts each scenario phase's verdict, reason and wire trace on its report (where tests run)."""

    def __init__(self, info_key: pytest.StashKey[ScenarioInfo], servers_key: pytest.StashKey[list[Any]],
                 unsupported_prefix: str) -> None:
        self.info_key = info_key
        self.servers_key = servers_key
        self.unsupported_prefix = unsupported_prefix

    # tryfirst: the outermost wrapper, so it sees the report after xfail handling has shaped it.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report: pytest.TestReport = yield
        info = item.stash.get(self.info_key, None)
        if info is None:
            return report
        servers = item.stash.get(self.servers_key, [])
        # Every phase carries the scenario's metadata, so that a test whose later phases never
        # report (a crashed xdist worker) can still be recorded; `verdict` is None when the phase
        # says nothing about it (a setup or teardown that passed).
        verdict, reason = phase_verdict(call, report, info, servers, self.unsupported_prefix) or (None, "")
        data: dict[str, Any] = {
            "verdict": verdict,
            "reason": reason,
            "scenario": info.id,
            "level": info.level.value,
            "profile": info.profile.value,
            "refs": list(info.refs),
        }
        if verdict in FAILING or verdict == "unexpected-pass":
            data["trace"] = wire_trace(servers)
        if hasattr(report, "wasxfail"):
            data["expectation"] = str(report.wasxfail)
        # Cleaned here already: xdist carries the report to the controller as UTF-8.
        setattr(report, REPORT_ATTRIBUTE, clean(data))
        return report


def _suite_commit(root: Path) -> str | None:
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def _suite_version() -> str | None:
    try:
        return importlib.metadata.version("h1conform")
    except importlib.metadata.PackageNotFoundError:
        return None


def _implementation(impl: Implementation) -> dict[str, Any]:
    return {
        "name": impl.name,
        "spec": impl.spec,
        "version": impl.version,
        "origin": impl.origin,
        "api": impl.has_api,
        "features": sorted(impl.wire.features),
    }


class ResultsRecorder:
    """Merges each scenario test's phases into one record and writes the results file (controller side)."""

    def __init__(self, path: Path, config: pytest.Config, impls: list[Implementation], suite_root: Path) -> None:
        self.path = path
        self.config = config
        self.impls = impls
        self.suite_root = suite_root
        self.started = time.time()
        self.records: list[dict[str, Any]] = []
        self._pending: dict[str, dict[str, Any]] = {}
        self.write_error: str | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTRIBUTE, None)
        properties = dict(report.user_properties)
        pending = self._pending.get(report.nodeid)
        if pending is None and "scenario" in properties:
            pending = self._pending[report.nodeid] = {
                "id": str(properties["scenario"]),
                "impl": str(properties.get("impl", "")),
                "verdict": None,
                "duration": 0.0,
                "nodeid": report.nodeid,
            }
        if pending is None:
            return
        pending["duration"] += report.duration
        if isinstance(data, dict):
            for key in ("level", "profile", "refs"):
                pending.setdefault(key, data[key])
            # The first phase with something to say decides; a teardown problem only spoils a pass
            # (an unexpected pass too: a scenario whose teardown broke did not pass cleanly).
            if data["verdict"] is not None and (
                    pending["verdict"] is None or (pending["verdict"] in SPOILABLE and data["verdict"] != "pass")):
                pending["verdict"] = data["verdict"]
                pending["reason"] = data["reason"]
                for key in ("trace", "expectation"):
                    if key in data:
                        pending[key] = data[key]
        if report.when == "teardown":
            self._finish(self._pending.pop(report.nodeid))

    def _finish(self, pending: dict[str, Any]) -> None:
        if "level" not in pending:
            return  # not annotated (the annotator was not loaded where it ran): nothing reliable to say
        if pending["verdict"] is None:
            pending["verdict"] = "error"
            pending["reason"] = "the test did not finish (its xdist worker crashed, or the run was interrupted)"
        record = {
            "id": pending["id"],
            "impl": pending["impl"],
            "verdict": pending["verdict"],
            "level": pending["level"],
            "profile": pending["profile"],
            "refs": pending["refs"],
            "duration": round(pending["duration"], 6),
            "reason": pending.get("reason", ""),
        }
        if pending["verdict"] != "pass":  # the test to run again to see it
            record["nodeid"] = pending["nodeid"]
        for key in ("trace", "expectation"):
            if key in pending:
                record[key] = pending[key]
        self.records.append(record)

    def document(self, exit_status: int) -> dict[str, Any]:
        while self._pending:  # tests whose teardown never reported
            self._finish(self._pending.popitem()[1])
        finished = time.time()
        workers = getattr(self.config.option, "numprocesses", None)
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "run": {
                "suite": {"name": "h1conform", "version": _suite_version(), "commit": _suite_commit(self.suite_root)},
                "python": {
                    "version": platform.python_version(),
                    "implementation": platform.python_implementation(),
                    "full": sys.version,
                    "executable": sys.executable,
                },
                "platform": platform.platform(),
                "started": _iso(self.started),
                "finished": _iso(finished),
                "duration": round(finished - self.started, 3),
                "options": [str(arg) for arg in self.config.invocation_params.args],
                "pytest": pytest.__version__,
                "workers": workers if isinstance(workers, int) else 0,
                "exit_status": exit_status,
                "implementations": [_implementation(impl) for impl in self.impls],
            },
            "results": sorted(self.records, key=lambda record: (record["impl"], record["id"])),
        }

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # The whole text first (it cannot fail: every string is cleaned), then one write to a
        # temporary file renamed over the target, so that a reader never sees half a file and a
        # failed write leaves nothing behind.
        text = dumps(self.document(int(exitstatus)))
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(text.encode("utf-8"))
            os.replace(temporary, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            self.write_error = f"{type(exc).__name__}: {exc.strerror or exc}"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.write_error is not None:
            terminalreporter.write_line(f"h1conform: the results file {self.path} could not be written: "
                                        f"{self.write_error}", red=True)
            return
        terminalreporter.write_line(f"h1conform: results of {len(self.records)} scenario runs written to {self.path}")


def clean_text(text: str) -> str:
    """`text` as valid UTF-8: a lone surrogate (a client's invalid UTF-8 decoded with
    surrogateescape, or its own '\\udc80') becomes the visible escape `\\udc80`. Control
    characters and NUL stay: JSON escapes them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def clean(value: Any) -> Any:
    """`value` (JSON-able: dicts, lists, strings, numbers) with every string and key cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(key)): clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(clean(item) for item in value)
    return value


def dumps(document: dict[str, Any]) -> str:
    """JSON with one record per line: compact, and a diff of two runs shows one line per change.

    Every string is cleaned (clean_text) first, so the text always encodes as UTF-8."""
    document = clean(document)
    head = {key: value for key, value in document.items() if key != "results"}
    lines = json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "results": ['
    records = [json.dumps(record, ensure_ascii=False, separators=(",", ":")) for record in document["results"]]
    return lines + ("\n" + ",\n".join(records) + "\n" if records else "") + "]\n}\n"


def _iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(timespec="seconds")
