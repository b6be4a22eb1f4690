"""Driver processes (docs/driver-protocol.md): a client in another process gets the verdicts it
would get in this one, and a driver that breaks the protocol costs only its scenario; the agent
mode's messages (section 4) carry what the client did as a user agent.

The driver here is tests/drivers/stdlib_driver.py: the stdlib's http.client behind the protocol,
so its verdicts must be those of `--impl=stdlib` (the control). Its faults strike once, on the
first request, and the next scenario must run on a fresh driver with its clean verdict.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from suite_runs import ROOT, verdicts

from h1conform.servers import ScriptedServer
from h1conform.servers.routes import Answer, serve
from h1conform.suites.adapters.requests_adapter import WIRE_ADAPTER as AGENT_ADAPTER
from h1conform.suites.harness.agent import HEAD_KEPT, AgentResponse, AgentSession, MemoryWatch
from h1conform.suites.harness.agent_fixtures import ok, redirect
from h1conform.suites.harness.drivers import DriverAdapter
from h1conform.suites.harness.errors import HarnessError
from h1conform.suites.harness.impls import ImplError, resolve
from h1conform.suites.harness.wire import Unsupported, WireAdapter, WireRequest

DRIVER = ROOT / "tests" / "drivers" / "stdlib_driver.py"
MANIFEST = ROOT / "tests" / "drivers" / "stdlib-driver.json"
# Scenarios that pass and fail on the stdlib, then refusal rows (their proof of refusal crosses
# the process boundary as a type name the driver declares).
SELECTION = ("suites/test_response_framing.py::test_content_length_valid",
             "suites/test_response_framing.py::test_content_length_invalid",
             "suites/test_request_line.py::test_method_refused")
FIRST = "response.framing.content-length.valid[whole-five]"  # the scenario a fault strikes (the first run)
REFUSED_BY_STDLIB = ("crlf-injection", "lf", "nul")  # the method rows http.client refuses (it sends DEL and SP)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Driver builds go to the test's folder, never the user's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def manifest(folder: Path, name: str, *arguments: str, requires: tuple[str, ...] = (),
             build: tuple[tuple[str, ...], ...] = ()) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"protocol": 1, "name": name, "requires": list(requires), "inputs": [],
                                "build": [list(step) for step in build],
                                "command": ["{python}", str(DRIVER), name, *arguments]}))
    return path


def run_pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_a_driver_gets_the_verdicts_its_client_gets_in_process(tmp_path: Path) -> None:
    by_impl = verdicts(tmp_path, *SELECTION, f"--impl={MANIFEST}", "--impl=stdlib")
    driven, stdlib = by_impl["stdlib-driver"], by_impl["stdlib"]
    assert driven.keys() == stdlib.keys()
    assert {key: verdict for key, (verdict, _) in driven.items()} == {key: verdict for key, (verdict, _) in stdlib.items()}
    kinds = {verdict for verdict, _ in stdlib.values()}
    assert {"pass", "fail"} <= kinds, kinds  # the selection tells a changed verdict either way
    for row in REFUSED_BY_STDLIB:  # proven across the process boundary: the refusal's type is declared
        assert driven[f"request.line.method.refused[{row}]"][0] == "pass"


@pytest.mark.parametrize("fault, verdict, reason", [
    ("die", "error", "driver die broke (exit code 3): it closed its output"),
    ("garbage", "error", "it wrote a line that is not JSON: b'this is not json'"),
    ("wrong-id", "error", "it answered id"),
    ("hang", "timeout", "ScenarioTimeout"),
])
def test_a_broken_driver_costs_only_its_scenario(tmp_path: Path, fault: str, verdict: str, reason: str) -> None:
    clean = verdicts(tmp_path / "clean", *SELECTION, f"--impl={manifest(tmp_path, 'good')}")["good"]
    faulty = manifest(tmp_path, fault, fault, str(tmp_path / "struck"))
    got = verdicts(tmp_path / "faulty", *SELECTION, f"--impl={faulty}", "--scenario-timeout=2")[fault]
    assert (tmp_path / "struck").exists()  # the fault did strike
    assert got[FIRST][0] == verdict and reason in got[FIRST][1], got[FIRST]
    assert clean[FIRST][0] == "pass"
    later = {key: value[0] for key, value in got.items() if key != FIRST}
    assert later == {key: value[0] for key, value in clean.items() if key != FIRST}


def test_a_refusal_the_driver_does_not_declare_is_an_error_not_a_pass(tmp_path: Path) -> None:
    declared = verdicts(tmp_path / "declared", SELECTION[2], f"--impl={manifest(tmp_path, 'declares')}")
    undeclared = verdicts(tmp_path / "undeclared", SELECTION[2],
                          f"--impl={manifest(tmp_path, 'declares-none', 'declare-none')}")
    for row in REFUSED_BY_STDLIB:
        key = f"request.line.method.refused[{row}]"
        assert declared["declares"][key][0] == "pass"
        verdict, reason = undeclared["declares-none"][key]
        assert verdict == "error" and "not one of the client's validation errors" in reason, (verdict, reason)


def test_a_missing_toolchain_makes_every_scenario_unsupported(tmp_path: Path) -> None:
    path = manifest(tmp_path, "needs-tool", requires=("h1conform-no-such-program",))
    result = run_pytest(SELECTION[0], f"--impl={path}", "-rs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" not in result.stdout.splitlines()[-1]
    assert "unsupported: driver needs-tool needs h1conform-no-such-program, which is not on PATH" in result.stdout


@pytest.mark.parametrize("problem, text, expected", [
    ("not JSON", "{", "not a readable JSON manifest"),
    ("a wrong protocol", json.dumps({"protocol": 2, "name": "x", "inputs": [], "command": ["x"]}), "protocol 2"),
    ("an input outside", json.dumps({"protocol": 1, "name": "x", "inputs": ["../etc"], "command": ["x"]}),
     "is not a file inside the manifest's folder"),
])
def test_a_bad_manifest_is_one_line_and_exit_code_4(tmp_path: Path, problem: str, text: str, expected: str) -> None:
    path = tmp_path / "driver.json"
    path.write_text(text)
    result = run_pytest(SELECTION[0], f"--impl={path}")
    assert result.returncode == 4, problem
    lines = [line for line in (result.stdout + result.stderr).splitlines() if f"--impl={path}" in line]
    assert len(lines) == 1 and expected in lines[0], result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_failed_build_or_a_silent_driver_is_one_line_and_exit_code_4(tmp_path: Path) -> None:
    failing = manifest(tmp_path, "fails-build", build=(("{python}", "-c", "raise SystemExit(5)"),))
    silent = manifest(tmp_path, "silent", "no-hello", str(tmp_path / "struck"))
    for path, expected in ((failing, "building it failed"), (silent, "closed its output while the suite waited for its hello")):
        result = run_pytest(SELECTION[0], f"--impl={path}")
        assert result.returncode == 4
        output = result.stdout + result.stderr
        assert expected in output and "Traceback" not in output, output
    # The control: the same manifests without the fault run.
    good = manifest(tmp_path, "builds", build=(("{python}", "-c", "pass"),))
    assert run_pytest(SELECTION[0], f"--impl={good}").returncode == 0


@pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")
def test_the_example_driver_in_perl_runs_the_control_rows(tmp_path: Path) -> None:
    """examples/driver-perl-http-tiny, written from docs/driver-protocol.md alone, works: its client
    passes the control rows of a scenario file, and fails a row the client really breaks."""
    example = ROOT / "examples" / "driver-perl-http-tiny" / "driver.json"
    by_impl = verdicts(tmp_path, "suites/test_response_framing.py::test_content_length_valid",
                       "suites/test_response_framing.py::test_content_length_multiple", f"--impl={example}")
    driven = by_impl["perl-http-tiny"]
    controls = {key: verdict for key, (verdict, _) in driven.items() if key.startswith("response.framing.content-length.valid")}
    assert controls and set(controls.values()) == {"pass"}, controls
    judged = {key: verdict for key, (verdict, _) in driven.items() if key not in controls}
    assert judged and set(judged.values()) <= {"pass", "fail"}, judged  # the invalid framings are judged too


# -- the agent mode (docs/driver-protocol.md, section 4) -------------------------------------------
# The test driver's agent sessions are requests' in-process agent sessions, run in the driver's process.

SCHEMA = ROOT / "suites" / "drivers" / "schema" / "driver-1.schema.json"
GZIPPED_ZEROS = gzip.compress(bytes(4 << 20))  # 4 MiB of zeros in a few KiB


def agent_routes() -> dict[str, Answer]:
    return {"/a": redirect(302, "/b"), "/b": ok(b"landed"),
            "/zeros": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
                      % (len(GZIPPED_ZEROS), GZIPPED_ZEROS)}


@contextmanager
def driver_adapter(path: Path) -> Iterator[WireAdapter]:
    adapter = resolve(str(path)).wire
    try:
        yield adapter
    finally:
        assert isinstance(adapter, DriverAdapter)
        adapter.stop()


@contextmanager
def agent_session(adapter: WireAdapter) -> Iterator[AgentSession]:
    session = adapter.open_agent_session(timeout=10.0)
    try:
        yield session
    finally:
        session.close()


# Agent scenarios whose verdicts depend on the client alone (the codings' also count sockets a
# client leaks after a decoding error, which only an in-process client shows).
AGENT_SELECTION = ("suites/test_agent_redirects.py", "suites/test_agent_credentials.py")


def test_a_driver_gets_the_agent_verdicts_its_client_gets_in_process(tmp_path: Path) -> None:
    by_impl = verdicts(tmp_path, *AGENT_SELECTION, f"--impl={MANIFEST}", "--impl=requests")
    driven, in_process = by_impl["stdlib-driver"], by_impl["requests"]
    assert driven.keys() == in_process.keys()
    assert {key: verdict for key, (verdict, _) in driven.items()} == {
        key: verdict for key, (verdict, _) in in_process.items()}
    kinds = {verdict for verdict, _ in in_process.values()}
    assert {"pass", "fail-should"} <= kinds, kinds  # the selection tells a changed verdict either way


def test_an_agent_session_follows_decodes_and_streams_in_the_driver(tmp_path: Path) -> None:
    with driver_adapter(manifest(tmp_path, "agent")) as adapter, \
            ScriptedServer(every_connection=[serve(agent_routes())]) as server, agent_session(adapter) as session:
        assert adapter.agent_features == AGENT_ADAPTER.agent_features
        assert isinstance(session, AgentSession) and session.pid not in (None, os.getpid())
        response = session.send(WireRequest("GET", server.url("/a")))
        assert isinstance(response, AgentResponse)
        assert (response.status, response.body, response.url) == (200, b"landed", server.url("/b"))
        # Followed by the client (the empty record is the kept-alive connection's wait for a next request).
        assert [request.target for request in server.requests if request.raw] == [b"/a", b"/b"]
        with MemoryWatch(session.pid) as watch:
            streamed = session.read_streamed(WireRequest("GET", server.url("/zeros")), 65536, 1 << 20)
            peak = watch.peak()
        # Read in the driver's process (no Python allocation of this one is traced), decoded by the
        # client, stopped at the limit, not at the end.
        assert 1 << 20 <= streamed.received < 4 << 20 and streamed.pieces >= 16, streamed
        assert streamed.head == bytes(HEAD_KEPT)
        assert peak.python is None


def test_a_streamed_answer_that_cannot_be_true_is_the_drivers_error(tmp_path: Path) -> None:
    with ScriptedServer(every_connection=[serve(agent_routes())]) as server:
        request = WireRequest("GET", server.url("/zeros"))
        with driver_adapter(manifest(tmp_path, "streams")) as adapter, agent_session(adapter) as session:
            assert session.read_streamed(request, 65536, 1 << 20).received >= 1 << 20  # the control
        with driver_adapter(manifest(tmp_path, "bad-streamed", "bad-streamed")) as adapter:
            with agent_session(adapter) as session:
                with pytest.raises(HarnessError, match="head must be the first 65536 bytes read, not 65535"):
                    session.read_streamed(request, 65536, 1 << 20)
            with agent_session(adapter) as fresh:
                assert fresh.pid != session.pid  # the driver that broke was stopped; the next session has a new one


def test_a_driver_without_agent_features_has_no_agent_mode(tmp_path: Path) -> None:
    with driver_adapter(manifest(tmp_path, "no-agent", "no-agent")) as adapter:
        assert adapter.agent_features == frozenset()
        with pytest.raises(Unsupported, match="no-agent: its adapter has no agent mode"):
            adapter.open_agent_session(timeout=10.0)
    with pytest.raises(ImplError, match=r"its agent_features must be a list of \[.*\]: \['flies'\]"):
        resolve(str(manifest(tmp_path, "bad-agent-features", "bad-agent-features")))


def exchange_validated(argv: list[str], cwd: Path, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every message of a session with the driver `argv`, checked against the protocol's schema."""
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    with subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdin is not None and process.stdout is not None
        messages = [json.loads(process.stdout.readline())]
        for command in commands:
            validator.validate(command)
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()
            messages.append(json.loads(process.stdout.readline()))
        process.stdin.close()
    for message in messages:
        validator.validate(message)
    return messages


def agent_commands(server: ScriptedServer) -> list[dict[str, Any]]:
    def request(id_: int, path: str, **extra: Any) -> dict[str, Any]:
        return {"id": id_, "op": "request", "session": "a", "method": "GET", "url": server.url(path), "headers": [],
                "body": None, **extra}
    return [{"id": 1, "op": "open", "session": "a", "timeout": 10.0, "tls": None, "proxy": None, "agent": True},
            request(2, "/a"), request(3, "/zeros", stream={"chunk_size": 65536, "limit": 1 << 20}),
            {"id": 4, "op": "close", "session": "a"}]


@pytest.mark.parametrize("driver", ["stdlib-driver", "curl-cli"])
def test_agent_mode_messages_follow_the_schema(tmp_path: Path, driver: str) -> None:
    if driver == "curl-cli" and shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    argv = {"stdlib-driver": [sys.executable, str(DRIVER), "stdlib-driver"],
            "curl-cli": [sys.executable, str(ROOT / "suites" / "drivers" / "curl" / "driver.py")]}[driver]
    with ScriptedServer(every_connection=[serve(agent_routes())]) as server:
        hello, opened, redirected, streamed, closed = exchange_validated(argv, tmp_path, agent_commands(server))
    assert {"follows-redirects", "decodes-gzip"} <= set(hello["agent_features"])
    assert opened == closed | {"id": 1} == {"id": 1, "ok": True}
    assert base64.b64decode(redirected["response"]["body"]) == b"landed"
    assert redirected["response"]["url"] == server.url("/b")
    assert streamed["streamed"]["received"] >= 1 << 20
    assert base64.b64decode(streamed["streamed"]["head"]) == bytes(HEAD_KEPT)
