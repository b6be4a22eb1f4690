"""The client's progress in a scenario, as its scripted servers saw it: what the deadline watches.

The servers record when bytes last moved on each connection and what moved (servers/connection.py);
the connection where something moved last tells what the client was doing when it stopped.
"""

from __future__ import annotations

import time

from h1conform.servers import ConnectionRecord, ScriptedServer


class ServersWatch:
    """Progress of the client against a scenario's servers (a `deadline.Watch`).

    `servers` is the scenario's list, read live: servers a scenario starts later count too.
    `closing`: the scenario's own code is done, and only the client's closing is left.
    Called from a signal handler, so it only reads (no locks): lists are copied before use.
    """

    def __init__(self, servers: list[ScriptedServer], *, closing: bool = False) -> None:
        self.servers = servers
        self.closing = closing

    def last_progress(self) -> float | None:
        # While a server has work of its own (its thread waiting for its turn on a loaded machine,
        # bytes from the client it has not read yet), the client is not the one holding things up.
        if any(server.busy() for server in list(self.servers)):
            return time.monotonic()
        latest = self._latest()
        return latest.progress_at if latest is not None else None

    def activity(self) -> str:
        if self.closing:
            return "closing its connections"
        latest = self._latest()
        return "connecting (no connection accepted yet)" if latest is None else describe(latest)

    def _latest(self) -> ConnectionRecord | None:
        records = [record for server in list(self.servers) for record in list(server.connections)]
        return max(records, key=lambda record: record.progress_at, default=None)


def describe(record: ConnectionRecord) -> str:
    """What the client was doing on the connection, judged by what moved on it last."""
    where = f"on connection {record.index}"
    tls = record.tls
    if tls is not None and tls.handshake in ("not started", "in progress") and record.last_moved != "closed":
        return f"in the TLS handshake {where}"
    if record.last_moved == "accepted":
        return f"sending the request {where} (connected, nothing sent yet)"
    if record.last_moved == "received":
        requests = list(record.requests)
        if requests and requests[-1].complete:
            return f"waiting for the status line {where} (the request arrived whole, no response byte sent yet)"
        return f"sending the request {where} ({len(record.received)} bytes arrived so far)"
    sent = len(record.sent) + record.flooded
    if record.last_moved == "sent" and record.script_done:
        return f"reading the response {where} (all {sent} bytes sent), or closing"
    if record.last_moved == "sent":
        return f"reading the response {where} (the server sent {sent} bytes)"
    return f"busy after closing connection {record.index}, its last"
