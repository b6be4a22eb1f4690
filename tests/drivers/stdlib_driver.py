"""A driver of the protocol (docs/driver-protocol.md) around the stdlib's http.client, for the
project's tests: its sessions are the in-process http.client-API adapter's, so its verdicts must be
the stdlib's own. Its agent mode (the agent profile) is requests' in-process agent session, so
its agent verdicts must be `--impl=requests`'s, and its streamed reads happen in this process,
whose memory the suite watches. A fault, named by the first argument, strikes once per marker file (the second
argument): on the first request when the file does not exist yet, which it then creates, so the
driver the suite starts next behaves.

    python stdlib_driver.py NAME                      # the name its manifest gives it
    python stdlib_driver.py NAME die|garbage|wrong-id|hang|no-hello MARKER_FILE
    python stdlib_driver.py NAME declare-none         # declares no validation error
    python stdlib_driver.py NAME no-agent|bad-agent-features|bad-streamed
        # no agent mode; an agent feature the protocol does not have; streamed answers one byte short
"""

from __future__ import annotations

import base64
import http.client
import json
import sys
import threading
from pathlib import Path
from typing import Any

from h1conform.suites.adapters.requests_adapter import WIRE_ADAPTER as AGENT_ADAPTER
from h1conform.suites.harness.agent import HEAD_KEPT, AgentResponse, AgentSession
from h1conform.suites.harness.api_adapter import HTTPClientAPIAdapter
from h1conform.suites.harness.wire import (
    RefusedInput,
    TLSConfig,
    Unsupported,
    WireAdapter,
    WireRequest,
    WireSession,
)

ADAPTER = HTTPClientAPIAdapter(http.client, "stdlib")
NAME = sys.argv[1]
FAULT = sys.argv[2] if len(sys.argv) > 2 else "good"
MARKER = Path(sys.argv[3]) if len(sys.argv) > 3 else None


# The hello's agent_features where a fault changes them.
AGENT_FEATURES = {"no-agent": [], "bad-agent-features": ["flies"]}


def write(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def fault_strikes(command: dict[str, Any]) -> bool:
    """Whether the fault strikes this command: the first request of a scenario (the suite's warm-up
    request to a fresh driver is none)."""
    if MARKER is None or MARKER.exists() or command["url"].endswith("/h1conform-warm-up"):
        return False
    MARKER.write_text("struck\n")
    return True


def open_session(command: dict[str, Any]) -> WireSession:
    tls = None if command["tls"] is None else TLSConfig(**command["tls"])
    if command.get("agent"):
        return AGENT_ADAPTER.open_agent_session(timeout=command["timeout"], tls=tls)
    return ADAPTER.open_session(timeout=command["timeout"], proxy=command["proxy"], tls=tls)


def request(session: WireSession, command: dict[str, Any]) -> dict[str, Any]:
    body = command["body"]
    wire_request = WireRequest(command["method"], command["url"], tuple((name, value) for name, value in command["headers"]),
                               None if body is None else base64.b64decode(body))
    adapter: WireAdapter = AGENT_ADAPTER if isinstance(session, AgentSession) else ADAPTER
    try:
        if "stream" in command:
            assert isinstance(session, AgentSession), "a stream request in a session that is not an agent's"
            return streamed(session, wire_request, command["stream"])
        response = session.send(wire_request)
    except Unsupported as exc:
        return {"unsupported": str(exc)}
    except RefusedInput as refused:
        cause = refused.__cause__ or refused
        return {"error": {"kind": "invalid-input", "type": type(cause).__name__, "message": str(cause)}}
    except Exception as exc:
        kind = adapter.classify(exc)
        return {"error": {"kind": kind.value if kind else "unclassified", "type": type(exc).__name__, "message": str(exc)}}
    answer: dict[str, Any] = {
        "status": response.status, "reason": response.reason, "version": response.version,
        "headers": [list(pair) for pair in response.headers], "body": base64.b64encode(response.body).decode("ascii")}
    if isinstance(response, AgentResponse) and response.url is not None:
        answer["url"] = response.url
    return {"response": answer}


def streamed(session: AgentSession, wire_request: WireRequest, stream: dict[str, int]) -> dict[str, Any]:
    """The body read through requests' streaming API in this process, the agent mode's `streamed` answer."""
    figures = session.read_streamed(wire_request, stream["chunk_size"], stream["limit"])
    head = bytes(figures.head[:HEAD_KEPT - 1 if FAULT == "bad-streamed" else HEAD_KEPT])
    return {"streamed": {"received": figures.received, "pieces": figures.pieces,
                         "head": base64.b64encode(head).decode("ascii")}}


def main() -> None:
    if FAULT == "no-hello":
        return
    refusals = [] if FAULT == "declare-none" else sorted({cls.__name__ for cls in ADAPTER.validation_errors})
    write({"type": "hello", "protocol": 1, "name": NAME, "client": "http.client", "version": sys.version.split()[0],
           "features": sorted(ADAPTER.features), "validation_errors": refusals,
           "agent_features": AGENT_FEATURES.get(FAULT, sorted(AGENT_ADAPTER.agent_features))})
    sessions: dict[str, WireSession] = {}
    for line in sys.stdin:
        command = json.loads(line)
        answer: dict[str, Any]
        if command["op"] == "open":
            try:
                sessions[command["session"]] = open_session(command)
                answer = {"ok": True}
            except Unsupported as exc:
                answer = {"unsupported": str(exc)}
        elif command["op"] == "close":
            sessions.pop(command["session"]).close()
            answer = {"ok": True}
        elif fault_strikes(command):
            if FAULT == "die":
                sys.exit(3)
            if FAULT == "garbage":
                sys.stdout.write("this is not json\n")
                sys.stdout.flush()
                continue
            if FAULT == "wrong-id":
                write({"id": command["id"] + 7, "ok": True})
                continue
            if FAULT == "hang":
                threading.Event().wait()
            answer = {}
        else:
            answer = request(sessions[command["session"]], command)
        write({"id": command["id"], **answer})


if __name__ == "__main__":
    main()
