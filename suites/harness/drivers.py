"""Clients in any language, behind a driver process: the wire adapter that speaks the driver protocol.

`DriverAdapter` is a WireAdapter like the in-process ones (suites/adapters/): scenarios open
sessions and send requests through it, and get a Response or a Failure of one of the wire
profile's error kinds. Underneath, each session and request is a command to the driver process
(suites/harness/driver_process.py), started once per test process and kept running, so that a
scenario pays for a few JSON lines, not for a start-up.

What stays with the harness: starting or building a driver is the harness's time (the deadline is
paused), and a driver that breaks the protocol makes its scenario `error`, then is replaced.
What is the client's: an error it reports (its kind, its own type name and message), and a hang,
which the scenario's deadline ends as `timeout` (the driver is then stopped: its state is unknown).

A driver whose hello lists `agent_features` has an agent mode (the agent profile,
suites/harness/agent.py): its agent sessions are opened with `"agent": true`, their responses say
the final URL, and a body read through the client's streaming API is read in the driver's own
process, which answers with the figures (`streamed`) while the suite watches its memory.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import itertools
from collections.abc import Iterator
from contextlib import AbstractContextManager, suppress
from typing import Any, TypeGuard

from h1conform.servers import ScriptedServer, ServerError, respond
from h1conform.suites.harness.agent import EVERY_AGENT_FEATURE, HEAD_KEPT, AgentResponse, AgentSession, Streamed
from h1conform.suites.harness.deadline import deadline_paused
from h1conform.suites.harness.driver_build import Manifest, build_folder, expand, missing_programs
from h1conform.suites.harness.driver_process import DriverBroken, DriverProcess, shown
from h1conform.suites.harness.errors import HarnessError
from h1conform.suites.harness.wire import (
    EVERY_FEATURE,
    ErrorKind,
    RemoteClientError,
    Response,
    TLSConfig,
    Unsupported,
    WireAdapter,
    WireRequest,
    WireSession,
)

_KINDS = {kind.value: kind for kind in ErrorKind}
WARM_UP_PATH = "/h1conform-warm-up"  # the target of the request that warms a fresh driver up
WARM_UP_TIMEOUT = 30.0  # seconds the warm-up request may take (a cold JVM on a loaded machine)
WARM_UP_BOUND = 60.0  # seconds the harness waits for each warm-up answer: beyond, the driver is broken


class DriverAdapter(WireAdapter):
    """The wire adapter of one driver, from its manifest. If a required program is missing, the
    adapter is `unavailable` (every wire scenario unsupported, with that reason), never an error."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.name = manifest.name
        self.client = manifest.name
        self.version = "unknown"
        self._process: DriverProcess | None = None
        atexit.register(self.stop)
        self._remote_refusals: frozenset[str] = frozenset()
        missing = missing_programs(manifest)
        if missing:
            self.unavailable = (f"driver {manifest.name} needs {', '.join(missing)}, which is not on PATH "
                                f"(install it to test this client)")
            self.features = EVERY_FEATURE  # so that every wire scenario reaches the one reason above
            return
        self._argv = [expand(argument) for argument in manifest.command]
        self._folder = build_folder(manifest)
        # Said once at resolution, so that reports can show the client and its version; the
        # process is stopped again (a controller of xdist workers never runs a scenario).
        self._start()
        self.stop()

    def _start(self, *, warm_up: bool = False) -> DriverProcess:
        process = DriverProcess(self.name, self._argv, self._folder)
        try:
            self._adopt(process.hello(), process)
            if warm_up:
                _warm_up(process)
        except BaseException:
            process.kill()
            raise
        self._process = process
        return process

    def stop(self) -> None:
        """End the running driver, if any (at exit; a later session starts a fresh one)."""
        if self._process is not None:
            self._process.stop()
            self._process = None

    def _adopt(self, hello: dict[str, Any], process: DriverProcess) -> None:
        if hello.get("protocol") != 1:
            raise process.broken(f"it speaks protocol {hello.get('protocol')!r}, the suite speaks 1")
        if hello.get("name") != self.name:
            raise process.broken(f"its hello names it {hello.get('name')!r}, its manifest {self.name!r}")
        features, refusals = hello.get("features"), hello.get("validation_errors")
        if not _strings(features) or not set(features) <= EVERY_FEATURE:
            raise process.broken(f"its features must be a list of {sorted(EVERY_FEATURE)}: {features!r}")
        if not _strings(refusals) or not all(refusals):
            raise process.broken(f"its validation_errors must be a list of type names: {refusals!r}")
        client, version = hello.get("client"), hello.get("version")
        if not isinstance(client, str) or not isinstance(version, str) or not client or not version:
            raise process.broken(f"its hello must name its client and version: {hello!r}")
        agent_features = hello.get("agent_features", [])
        if not _strings(agent_features) or not set(agent_features) <= EVERY_AGENT_FEATURE:
            raise process.broken(f"its agent_features must be a list of {sorted(EVERY_AGENT_FEATURE)}: "
                                 f"{agent_features!r}")
        self.features = frozenset(features)
        self.agent_features = frozenset(agent_features)
        self._remote_refusals = frozenset(refusals)
        self.client, self.version = client, version

    def declares_refusal(self, exc: BaseException) -> bool:
        return isinstance(exc, RemoteClientError) and exc.type_name in self._remote_refusals

    def open_session(self, *, timeout: float, tls: TLSConfig | None = None, proxy: str | None = None) -> WireSession:
        process, session = self._open(timeout=timeout, tls=tls, proxy=proxy, agent=False)
        return DriverSession(self, process, session)

    def open_agent_session(self, *, timeout: float, tls: TLSConfig | None = None) -> AgentSession:
        if not self.agent_features and not self.unavailable:
            raise Unsupported(f"{self.name}: {self.no_agent_mode}")
        process, session = self._open(timeout=timeout, tls=tls, proxy=None, agent=True)
        return DriverAgentSession(self, process, session)

    def _open(self, *, timeout: float, tls: TLSConfig | None, proxy: str | None,
              agent: bool) -> tuple[DriverProcess, str]:
        """A session opened in the running driver (started if need be): the process and the session's name."""
        if self.unavailable:
            raise Unsupported(self.unavailable)
        process = self._running()
        session = f"s{next(_session_ids)}"
        tls_settings = None if tls is None else {"ca_file": tls.ca_file, "client_cert": tls.client_cert,
                                                  "check_hostname": tls.check_hostname}
        # `agent` is sent only when true: a driver without an agent mode never sees the field.
        answer = self.exchange(process, {"op": "open", "session": session, "timeout": timeout,
                                         "tls": tls_settings, "proxy": proxy, **({"agent": True} if agent else {})})
        if "unsupported" in answer:
            raise Unsupported(f"{self.name}: {_text(answer['unsupported'])}")
        if answer.get("ok") is not True:
            raise self.broke(process, f"it answered open with {shown(answer)}")
        return process, session

    def classify(self, exc: BaseException) -> ErrorKind | None:
        return exc.kind if isinstance(exc, RemoteClientError) else None

    def exchange(self, process: DriverProcess, command: dict[str, Any]) -> dict[str, Any]:
        """One command to `process` and its answer. A broken driver becomes the scenario's
        HarnessError; any interruption (the deadline) stops the driver before it goes on."""
        try:
            return process.exchange(command)
        except DriverBroken as exc:
            self._discard(process)
            raise HarnessError(str(exc)) from None
        except BaseException:
            self._discard(process)
            raise

    def _running(self) -> DriverProcess:
        if self._process is not None and self._process.alive():
            return self._process
        if self._process is not None:
            self._discard(self._process)
        with deadline_paused():  # starting the driver (a JVM...) is the harness's time, not the client's
            try:
                return self._start(warm_up=True)
            except DriverBroken as exc:
                raise HarnessError(str(exc)) from None

    def broke(self, process: DriverProcess, problem: str) -> HarnessError:
        """The scenario's HarnessError for a driver that answered against the protocol; it is stopped."""
        error = HarnessError(str(process.broken(problem)))
        self._discard(process)
        return error

    def _discard(self, process: DriverProcess) -> None:
        if self._process is process:
            self._process = None
        # The deadline's alarm repeats while client code runs: one landing while the driver is
        # being stopped would leave it running, unreaped (a JVM takes longer than the repeat).
        with deadline_paused():
            process.kill()

    def runs(self, process: DriverProcess) -> bool:
        """Whether `process` is this adapter's live driver (not one it stopped or replaced)."""
        return self._process is process and process.alive()


class DriverSession(WireSession):
    def __init__(self, adapter: DriverAdapter, process: DriverProcess, session: str) -> None:
        self._adapter = adapter
        self._process = process
        self._session = session
        self._open = True

    def send(self, request: WireRequest) -> Response:
        answer = self._request(request)
        try:
            return _outcome(answer, self._adapter.name)
        except _MALFORMED as exc:
            raise self._broke_answering(answer, exc) from None

    def _request(self, request: WireRequest, **extra: Any) -> dict[str, Any]:
        """The driver's answer to `request` in this session (`extra`: more fields of the command)."""
        if not self._open:
            raise RuntimeError("the session is closed")
        if not self._adapter.runs(self._process):
            raise HarnessError(f"driver {self._adapter.name} is no longer running (it was stopped or died)")
        return self._adapter.exchange(self._process, {
            "op": "request", "session": self._session, "method": request.method, "url": request.url,
            "headers": [[name, value] for name, value in request.headers],
            "body": None if request.body is None else base64.b64encode(request.body).decode("ascii"), **extra})

    def _broke_answering(self, answer: dict[str, Any], exc: Exception) -> HarnessError:
        return self._adapter.broke(self._process, f"it answered a request with {shown(answer)} "
                                   f"({type(exc).__name__}: {exc})")

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        if not self._adapter.runs(self._process):
            return  # the driver was stopped, replaced or died: its sessions went with it
        answer = self._adapter.exchange(self._process, {"op": "close", "session": self._session})
        if answer.get("ok") is not True:
            raise self._adapter.broke(self._process, f"it answered close with {shown(answer)}")


class DriverAgentSession(DriverSession, AgentSession):
    """An agent session of a driver (`"agent": true`): the client follows redirects, decodes and
    keeps cookies by its own defaults, in the driver's process."""

    def __init__(self, adapter: DriverAdapter, process: DriverProcess, session: str) -> None:
        super().__init__(adapter, process, session)
        self.pid = process.pid  # the client decodes there: the suite watches that process's memory

    def send(self, request: WireRequest) -> AgentResponse:
        answer = self._request(request)
        try:
            response = _outcome(answer, self._adapter.name)
            url = answer["response"].get("url")
            return AgentResponse(response.status, response.reason, response.headers, response.body, response.version,
                                 url=None if url is None else _text(url))
        except _MALFORMED as exc:
            raise self._broke_answering(answer, exc) from None

    def stream(self, request: WireRequest, chunk_size: int) -> AbstractContextManager[Iterator[bytes]]:
        raise Unsupported(f"{self._adapter.name}: the driver reads a streamed body in its own process "
                          "(read_streamed), never piece by piece in the suite's")

    def read_streamed(self, request: WireRequest, chunk_size: int, limit: int) -> Streamed:
        """The driver reads the body through its client's streaming API, `chunk_size` at a time, until
        `limit` decoded bytes or the end, holding none of it but the first HEAD_KEPT bytes."""
        answer = self._request(request, stream={"chunk_size": chunk_size, "limit": limit})
        try:
            if "streamed" not in answer:
                _outcome(answer, self._adapter.name)  # raises the client's error, or says it cannot
                raise ValueError("a streamed request is answered by streamed, error or unsupported")
            return _streamed(answer["streamed"])
        except _MALFORMED as exc:
            raise self._broke_answering(answer, exc) from None


def _streamed(figures: dict[str, Any]) -> Streamed:
    """Streamed from a driver's `streamed` answer; ValueError or TypeError if it cannot be true."""
    received, pieces = figures["received"], figures["pieces"]
    for name, value in (("received", received), ("pieces", pieces)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise TypeError(f"{name} must be a count, not {value!r}")
    head = base64.b64decode(_text(figures["head"]), validate=True)
    if len(head) != min(received, HEAD_KEPT):
        raise ValueError(f"head must be the first {min(received, HEAD_KEPT)} bytes read, not {len(head)}")
    if received and not pieces:
        raise ValueError(f"{received} bytes read in no piece")
    streamed = Streamed(received, pieces, bytearray(head))
    child_peak = figures.get("child_peak_resident")
    if child_peak is not None:
        if not isinstance(child_peak, int) or isinstance(child_peak, bool) or child_peak < 0:
            raise TypeError(f"child_peak_resident must be a size in bytes, not {child_peak!r}")
        streamed.child_peak_resident = child_peak
    return streamed


# What a malformed answer raises while it is read: the driver broke the protocol.
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, binascii.Error)


def _warm_up(process: DriverProcess) -> None:
    """One GET through a driver just started, on a server of its own, in the harness's time.

    A client's first request loads the rest of its code (a JVM's HttpClient took over 5 s on a
    loaded machine before a byte moved): that is start-up, not the behaviour a scenario judges, and
    left to the first scenario it would end as that scenario's timeout. The outcome does not
    matter; only a driver that breaks the protocol (DriverBroken) stops the start."""
    with suppress(ServerError), ScriptedServer() as server:
        server.add_connection(respond(b"HTTP/1.1 204 No Content\r\n\r\n"), optional=True)
        session = f"s{next(_session_ids)}"
        opened = process.exchange({"op": "open", "session": session, "timeout": WARM_UP_TIMEOUT, "tls": None,
                                   "proxy": None}, bound=WARM_UP_BOUND)
        if opened.get("ok") is True:
            process.exchange({"op": "request", "session": session, "method": "GET", "url": server.url(WARM_UP_PATH),
                              "headers": [], "body": None}, bound=WARM_UP_BOUND)
            process.exchange({"op": "close", "session": session}, bound=WARM_UP_BOUND)


def _outcome(answer: dict[str, Any], name: str) -> Response:
    """The Response in `answer`; RemoteClientError for the client's error, Unsupported for what it
    cannot express. KeyError, TypeError or ValueError for an answer that is none of these."""
    if "unsupported" in answer:
        raise Unsupported(f"{name}: {_text(answer['unsupported'])}")
    if "error" in answer:
        error = answer["error"]
        kind = _KINDS[error["kind"]]
        raise RemoteClientError(kind, _text(error["type"]), _text(error["message"]))
    response = answer["response"]
    headers = response["headers"]
    if not isinstance(headers, list) or not all(isinstance(pair, list) and len(pair) == 2 and _strings(pair)
                                                for pair in headers):
        raise ValueError("headers must be a list of [name, value] pairs of strings")
    status, reason, version = response["status"], response["reason"], response["version"]
    if not isinstance(status, int) or isinstance(status, bool):
        raise TypeError(f"status must be an integer, not {status!r}")
    return Response(status, "" if reason is None else _text(reason), [(name, value) for name, value in headers],
                    base64.b64decode(_text(response["body"]), validate=True),
                    None if version is None else _text(version))


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    return value


def _strings(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_session_ids = itertools.count(1)
