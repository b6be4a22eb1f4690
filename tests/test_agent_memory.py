"""The memory check of agent.coding.bomb (suites/test_agent_codings.py) can fail, and measures.

A scenario that passes every real client would not show that its verdict depends on the client.
(Real ones fail it too: httpx decodes each network read whole, 254 MiB for the gzip bomb.)
So the gzip bomb and its control run (in a subprocess, with a results file, as a user runs the
suite) against two fake user agents given as `--impl=<file.py>`: one decodes the whole body in
one piece (what the advisories describe), which must fail the bomb on memory and still pass the
control; one decodes at most a piece at a time, which must pass both. Then MemoryWatch itself
must find a known allocation, within a tolerance, in this process (tracemalloc and the resident
set) and in a child process (the resident set: a driver's client runs in its own process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from h1conform.suites.harness.agent import MemoryWatch

ROOT = Path(__file__).resolve().parents[1]
MiB = 1 << 20

# A user agent whose streaming API is http.client, its gzip bodies decoded by `decode(response, piece)`,
# which yields the decoded pieces; a body with no coding (the scenario's baseline) is read as it comes.
FAKE_AGENT = '''
"""A fake user agent for tests/test_agent_memory.py: http.client, decoding gzip itself."""
import http.client
import zlib
from contextlib import contextmanager
from urllib.parse import urlsplit

from h1conform.suites.harness.agent import DECODES_GZIP, AgentResponse, AgentSession
from h1conform.suites.harness.wire import Unsupported, WireAdapter

{decode}


class Session(AgentSession):
    def __init__(self, timeout):
        self.timeout = timeout

    @contextmanager
    def _response(self, request):
        url = urlsplit(request.url)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=self.timeout)
        try:
            connection.request(request.method, url.path, headers={{"Accept-Encoding": "gzip"}})
            yield connection.getresponse()
        finally:
            connection.close()

    def send(self, request):
        with self._response(request) as response:
            body = b"".join(decode(response, 1 << 16))
            return AgentResponse(response.status, response.reason, response.getheaders(), body)

    @contextmanager
    def stream(self, request, chunk_size):
        with self._response(request) as response:
            if response.getheader("Content-Encoding") is None:
                yield iter(lambda: response.read(chunk_size), b"")
            else:
                yield decode(response, chunk_size)

    def close(self):
        pass


class Adapter(WireAdapter):
    name = "{name}"
    agent_features = frozenset({{DECODES_GZIP}})

    def open_session(self, *, timeout, tls=None, proxy=None):
        raise Unsupported("an agent-only fake")

    def open_agent_session(self, *, timeout, tls=None):
        return Session(timeout)

    def classify(self, exc):
        return None


WIRE_ADAPTER = Adapter()
'''

# The whole body decoded at once, then handed over in pieces: 1 GiB held for a gzip bomb.
UNBOUNDED = '''
def decode(response, piece):
    whole = zlib.decompress(response.read(), 31)
    for start in range(0, len(whole), piece):
        yield whole[start:start + piece]
'''

# At most `piece` decoded bytes at a time, from network reads of at most `piece` bytes.
BOUNDED = '''
def decode(response, piece):
    decoder = zlib.decompressobj(31)
    pending = b""
    while not decoder.eof:
        if not pending:
            pending = response.read(piece)
            if not pending:
                raise ValueError("the gzip stream is cut short")
        decoded = decoder.decompress(pending, piece)
        pending = decoder.unconsumed_tail
        if decoded:
            yield decoded
'''

ROWS = ("agent.coding.bomb[gzip]", "agent.coding.bomb[control-gzip]")


def _run(folder: Path, name: str, decode: str) -> dict[str, dict[str, Any]]:
    """The records of the gzip bomb and its control run against a fake agent, by scenario id."""
    fake = folder / f"{name}.py"
    fake.write_text(FAKE_AGENT.format(decode=textwrap.dedent(decode), name=name))
    results = folder / f"{name}.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header", "suites/test_agent_codings.py",
         "-k", "bomb and gzip and not gzip-gzip", f"--impl={fake}", f"--results={results}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert results.exists(), completed.stdout + completed.stderr
    records = json.loads(results.read_text(encoding="utf-8"))["results"]
    by_id = {record["id"]: record for record in records}
    assert sorted(by_id) == sorted(ROWS), (sorted(by_id), completed.stdout[-2000:])
    return by_id


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fake_agents")


def test_a_client_decoding_the_whole_body_fails_the_bomb_on_memory(folder: Path) -> None:
    records = _run(folder, "unbounded_agent", UNBOUNDED)
    bomb, control = records["agent.coding.bomb[gzip]"], records["agent.coding.bomb[control-gzip]"]
    assert bomb["verdict"] == "fail-should", bomb
    assert "decodes more than the application asked for" in bomb["reason"], bomb["reason"]
    assert control["verdict"] == "pass", control


def test_a_client_decoding_a_piece_at_a_time_passes_the_bomb(folder: Path) -> None:
    records = _run(folder, "bounded_agent", BOUNDED)
    assert {scenario: record["verdict"] for scenario, record in records.items()} == dict.fromkeys(ROWS, "pass"), records


# -- MemoryWatch against a known allocation ------------------------------------------------------------

KNOWN = 100 * MiB
# What else a process may allocate or touch meanwhile (the interpreter, the allocator's rounding).
TOLERANCE = 8 * MiB


def test_memory_watch_measures_an_allocation_in_this_process() -> None:
    with MemoryWatch(os.getpid()) as watch:
        block = bytearray(KNOWN)  # zero-filled: every page is written, so resident
        del block
        peak = watch.peak()
    assert peak.python is not None and abs(peak.python - KNOWN) < TOLERANCE, str(peak)
    if peak.resident is None:
        pytest.skip("this system cannot reset a process's peak resident set (/proc/<pid>/clear_refs)")
    assert abs(peak.resident - KNOWN) < TOLERANCE, str(peak)


CHILD = '''
import sys
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()
block = bytearray({size})
del block
sys.stdout.write("done\\n"); sys.stdout.flush()
sys.stdin.readline()
'''


def test_memory_watch_measures_an_allocation_in_a_child_process() -> None:
    """The driver case: the memory is another process's, seen through its resident set only."""
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(size=KNOWN)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline() == "ready\n"
        with MemoryWatch(child.pid) as watch:
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline() == "done\n"
            peak = watch.peak()
    finally:
        child.stdin.close()
        child.wait(timeout=30)
        child.stdout.close()
    assert peak.python is None, "tracemalloc sees this process only"
    if peak.resident is None:
        pytest.skip("this system cannot reset a process's peak resident set (/proc/<pid>/clear_refs)")
    assert abs(peak.resident - KNOWN) < TOLERANCE, str(peak)
