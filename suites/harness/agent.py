"""The agent profile: a client as an application uses it, following redirects, decoding content
codings, keeping cookies and retrying by its own defaults.

The wire profile sees exactly one exchange per request: every adapter follows no redirect and
retries nothing. Agent scenarios open an *agent session* instead (`WireAdapter.open_agent_session`)
and look at what the client does by itself over several origins: which requests reach which
server, with which method, body and credentials, and what the application finally gets.

An adapter says what its client does as a user agent in `agent_features`; a scenario that needs a
behaviour the client does not have (a cookie jar, brotli) is *unsupported* for it. An
http.client-API module hands all of this to its caller and has no agent mode.
"""

from __future__ import annotations

import abc
import os
import tracemalloc
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from h1conform.suites.harness.containment import client_starts, close_each
from h1conform.suites.harness.errors import HarnessError
from h1conform.suites.harness.wire import (
    CLIENT_TIMEOUT,
    Failure,
    Headers,
    Outcome,
    Response,
    SessionHandle,
    TLSConfig,
    Unsupported,
    WireAdapter,
    WireRequest,
    WireSession,
)

# What a client does by itself as a user agent (WireAdapter.agent_features).
FOLLOWS_REDIRECTS = "follows-redirects"  # follows 3xx responses with a Location
DECODES_GZIP = "decodes-gzip"  # decodes Content-Encoding: gzip (and x-gzip)
DECODES_DEFLATE = "decodes-deflate"
DECODES_BR = "decodes-br"
DECODES_ZSTD = "decodes-zstd"
COOKIE_JAR = "cookie-jar"  # stores Set-Cookie and sends the cookies back (RFC 6265)
RETRIES = "retries"  # repeats a request by itself after some failures

EVERY_AGENT_FEATURE = frozenset({FOLLOWS_REDIRECTS, DECODES_GZIP, DECODES_DEFLATE, DECODES_BR, DECODES_ZSTD,
                                 COOKIE_JAR, RETRIES})
# The feature that decoding each content coding needs.
DECODES = {"gzip": DECODES_GZIP, "deflate": DECODES_DEFLATE, "br": DECODES_BR, "zstd": DECODES_ZSTD}

@dataclass(frozen=True)
class AgentResponse(Response):
    """The response the application finally gets, its body decoded as the client decodes it."""

    url: str | None = None  # the URL it came from (after redirects), when the client tells


class AgentSession(WireSession):
    """A client session with the client's own user-agent behaviour.

    `send` follows redirects, decodes and retries as the client does by default, and returns the
    final response as an AgentResponse. `stream` reads a body through the client's streaming API.
    """

    # The process whose memory the client's decoding uses (a driver's, for a client of another language).
    pid: int = os.getpid()

    @abc.abstractmethod
    def stream(self, request: WireRequest, chunk_size: int) -> AbstractContextManager[Iterator[bytes]]:
        """The decoded body of `request`'s final response, in pieces of at most about `chunk_size`
        bytes, read from the network only as the iterator is advanced (the client's streaming API:
        urllib3's `stream()`, requests' `iter_content()`...). Leaving the context releases the
        response, whether or not it was read to its end."""

    def read_streamed(self, request: WireRequest, chunk_size: int, limit: int) -> Streamed:
        """Read `request`'s body through `stream()` until `limit` decoded bytes or its end. A driver
        overrides it: its client reads in its own process, which answers with the figures."""
        streamed = Streamed()
        with self.stream(request, chunk_size) as chunks:
            for chunk in chunks:
                streamed.add(chunk)
                del chunk  # not held while the next piece is decoded
                if streamed.received >= limit:
                    break
        return streamed


# How much of a streamed body a scenario keeps to check what was decoded.
HEAD_KEPT = 65536


@dataclass
class Streamed:
    """What reading a body through a streaming API gave: how much, in how many pieces, and its start."""

    received: int = 0
    pieces: int = 0
    head: bytearray = field(default_factory=bytearray)
    # The peak resident set (bytes) of a child process the client decoded in (curl-cli's curl), as
    # its driver measured it: the memory watch sees only the driver's own process.
    child_peak_resident: int | None = None

    def add(self, chunk: bytes) -> None:
        self.received += len(chunk)
        self.pieces += 1
        if len(self.head) < HEAD_KEPT:
            self.head += chunk[: HEAD_KEPT - len(self.head)]


@dataclass(frozen=True)
class MemoryPeak:
    """How much memory a client used at most while it read a body, above what it held before."""

    python: int | None  # peak of Python allocations (tracemalloc), for a client in this process
    resident: int | None  # growth of the process's peak resident set (Linux VmHWM), None where unknown

    @property
    def most(self) -> int:
        return max(self.python or 0, self.resident or 0)

    def __str__(self) -> str:
        shown = [f"{label} {value / 2**20:.1f} MiB" for label, value in
                 (("Python allocations", self.python), ("resident set growth", self.resident)) if value is not None]
        return ", ".join(shown) or "not measured"


class MemoryWatch:
    """Measures a process's peak memory over a stretch of code: Python allocations by tracemalloc
    (this process only) and the resident set's high-water mark, reset through /proc's clear_refs
    (Linux; the peak is then what the process reached since the reset)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._in_process = pid == os.getpid()
        self._baseline_resident: int | None = None
        self._was_tracing = False

    def __enter__(self) -> MemoryWatch:
        if self._in_process:
            self._was_tracing = tracemalloc.is_tracing()
            if not self._was_tracing:
                tracemalloc.start()
            tracemalloc.reset_peak()
            self._baseline_python = tracemalloc.get_traced_memory()[0]
        self._baseline_resident = _reset_peak_resident(self.pid)
        return self

    def peak(self) -> MemoryPeak:
        python = None
        if self._in_process and tracemalloc.is_tracing():
            python = max(0, tracemalloc.get_traced_memory()[1] - self._baseline_python)
        resident = None
        if self._baseline_resident is not None:
            now = _status_kib(self.pid, "VmHWM")
            resident = None if now is None else max(0, now - self._baseline_resident) * 1024
        return MemoryPeak(python, resident)

    def __exit__(self, *exc_info: object) -> None:
        if self._in_process and not self._was_tracing:
            tracemalloc.stop()


def _status_kib(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _reset_peak_resident(pid: int) -> int | None:
    """Reset the process's peak resident set to its current one; that size in KiB, None if this
    system cannot (not Linux, or /proc not writable)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return None
    return _status_kib(pid, "VmRSS")


@dataclass(frozen=True)
class StreamResult:
    """What a scenario learns from reading a body through the client's streaming API."""

    received: int  # decoded bytes read before the limit or the end
    head: bytes  # the first decoded bytes (up to 64 KiB), to check what was decoded
    pieces: int  # how many pieces the client handed over
    memory: MemoryPeak
    failure: Failure | None  # the client's error while opening or reading, if any


class AgentClient:
    """The implementation's agent mode, as scenarios use it: sessions closed at teardown."""

    def __init__(self, adapter_name: str, adapter: WireAdapter) -> None:
        self.name = adapter_name
        self.adapter = adapter
        self.features = adapter.agent_features | adapter.features
        self._sessions: list[SessionHandle] = []

    def session(self, *, timeout: float = CLIENT_TIMEOUT, tls: TLSConfig | None = None) -> SessionHandle:
        """An agent session: cookies and connections live as long as it does."""
        client_starts()
        opened = self.adapter.open_agent_session(timeout=timeout, tls=tls)
        if not isinstance(opened, AgentSession):
            raise HarnessError(f"the {self.name} adapter is broken: open_agent_session() returned "
                               f"{type(opened).__name__}, not an AgentSession")
        handle = SessionHandle(self.adapter, opened)
        self._sessions.append(handle)
        return handle

    def require(self, feature: str, why: str) -> None:
        """Unsupported unless the client has `feature` as a user agent."""
        if feature not in self.features:
            raise Unsupported(f"{self.name} as a user agent does not have {feature!r}: {why}")

    def request(self, method: str, url: str, headers: Headers = (), body: bytes | None = None, *,
                timeout: float = CLIENT_TIMEOUT, tls: TLSConfig | None = None) -> Outcome:
        """One request in an agent session of its own; the outcome is an AgentResponse or a Failure."""
        with self.session(timeout=timeout, tls=tls) as session:
            return session.request(method, url, headers, body)

    def stream(self, method: str, url: str, headers: Headers = (), *, chunk_size: int, limit: int,
               timeout: float = CLIENT_TIMEOUT, tls: TLSConfig | None = None) -> StreamResult:
        """Read the body of one request through the client's streaming API, `chunk_size` at a time,
        stopping after `limit` decoded bytes, while measuring the client's peak memory."""
        with self.session(timeout=timeout, tls=tls) as handle:
            session = handle.session
            assert isinstance(session, AgentSession)
            streamed, failure = Streamed(), None
            with MemoryWatch(session.pid) as watch:
                try:
                    streamed = session.read_streamed(WireRequest(method, url, tuple(headers), None), chunk_size, limit)
                except (Unsupported, HarnessError):
                    raise
                except Exception as exc:
                    failure = handle.failure(exc)
                memory = watch.peak()
            if streamed.child_peak_resident is not None:
                memory = MemoryPeak(memory.python, max(memory.resident or 0, streamed.child_peak_resident))
            return StreamResult(streamed.received, bytes(streamed.head), streamed.pieces, memory, failure)

    def close_all(self) -> None:
        close_each(self._sessions, lambda session: session.close())
