"""Instruments: what scenarios observe a client through besides the wire (http.client's audit
events, its debug output), and the probes that tell whether an implementation has them at all.

A scenario that watches through an instrument can only judge an implementation that has it.
`http.client.send` exists from Python 3.10; a drop-in replacement may raise no audit event or print
no debug output. Such an implementation is *unsupported* by the scenario, with the reason; it never
fails for lacking the instrument. The probe asks the least: does the instrument report anything at
all for a plain GET? If it does, the scenario runs and judges what it reports.

    def test_x(make_server, client, audit):
        require_audit_event(make_server, client, audit, "http.client.send")
        ...
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from h1conform.servers import ScriptedServer, respond
from h1conform.suites.harness.wire import Unsupported

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class AuditEvents:
    """The http.client.* audit events raised with a watched connection as their first argument.

    Audit hooks cannot be removed: one hook per process, which records only the events of the
    connections a scenario watches, and nothing once the scenario has ended (`clear`).
    """

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self._watched: list[object] = []

    def watch(self, conn: object) -> None:
        self._watched.append(conn)

    def named(self, name: str) -> list[tuple[Any, ...]]:
        """The arguments of the recorded events called `name`, in order."""
        return [args for event, args in self.events if event == name]

    def clear(self) -> None:
        self.events.clear()
        self._watched.clear()

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event.startswith("http.client.") and args and any(args[0] is conn for conn in self._watched):
            self.events.append((event, args))


_EVENTS = AuditEvents()
_hooked = False


@pytest.fixture
def audit() -> Iterator[AuditEvents]:
    """The audit events of the connections the scenario watches (`audit.watch(conn)`)."""
    global _hooked
    if not _hooked:
        sys.addaudithook(_EVENTS.hook)
        _hooked = True
    try:
        yield _EVENTS
    finally:
        _EVENTS.clear()


def _plain_get(make_server: Callable[[], ScriptedServer], client: Any,
               prepare: Callable[[Any], None]) -> None:
    """A GET answered 200 on a server of its own, on a connection `prepare(conn)` has set up."""
    with make_server() as server:
        server.add_connection(respond(_OK))
        conn = client.connect(server)
        prepare(conn)
        try:
            conn.request("GET", "/probe")
            conn.getresponse().read()
        finally:
            conn.close()


def require_audit_event(make_server: Callable[[], ScriptedServer], client: Any, audit: AuditEvents,
                        *names: str) -> None:
    """Unsupported unless a plain GET through the implementation raises one of the audit events
    `names` (the scenario then judges whether it raises each as it should)."""
    _plain_get(make_server, client, audit.watch)
    raised = any(audit.named(name) for name in names)
    audit.clear()
    if not raised:
        raise Unsupported(f"{client.impl.name} raises no {' or '.join(names)} audit event for a plain GET, and this "
                          "scenario observes the client through it")


def require_debug_output(make_server: Callable[[], ScriptedServer], client: Any,
                         capsys: pytest.CaptureFixture[str]) -> None:
    """Unsupported unless set_debuglevel(1) makes a plain GET print something to stdout."""
    capsys.readouterr()
    _plain_get(make_server, client, lambda conn: _debug_on(client, conn))
    printed = capsys.readouterr().out
    if not printed:
        raise Unsupported(f"{client.impl.name} prints no debug output for a plain GET at set_debuglevel(1), and "
                          "this scenario observes the client through it")


def _debug_on(client: Any, conn: Any) -> None:
    if not callable(getattr(conn, "set_debuglevel", None)):
        raise Unsupported(f"{client.impl.name}'s HTTPConnection has no set_debuglevel(), and this scenario "
                          "observes the client through its debug output")
    conn.set_debuglevel(1)
