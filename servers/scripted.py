"""The scripted in-process TCP server.

    with ScriptedServer() as server:
        server.add_connection(expect_request(), send(b"HTTP/1.1 204 No Content\\r\\n\\r\\n"))
        ...the client under test talks to server.url("/")...
        assert server.requests[0].method == b"GET"

It listens on an OS-chosen port of a loopback address; the n-th connection it accepts runs the
n-th script given to `add_connection`, each in its own thread, so that a client opening a second
connection while the first is still open is served. A connection with no script runs the
`every_connection` script if there is one; otherwise it is recorded and closed at once.
Whatever goes wrong in a connection thread is re-raised in the test by `close()`
(or `check()`), and `close()` fails loudly if a thread does not stop within its deadline.

With `tls=ServerTLS(...)` every connection is TLS: the script's steps read and send HTTP bytes
as TLS application data, and the connection's `tls` record says what the client offered (SNI,
ALPN), how the handshake ended, and whether the client sent close_notify.
"""

from __future__ import annotations

import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from h1conform.servers.connection import ConnectionRecord, ScriptError, ServerConnection, ServerShutdown
from h1conform.servers.requests import RecordedRequest
from h1conform.servers.steps import Step
from h1conform.servers.tls import ServerTLS

# How long a step waits for the client before the script fails. Longer than any scenario deadline
# (suites/harness/deadline.py): a client that stops sending is the deadline's to judge (a timeout,
# saying what the client was doing), and a bound that a loaded machine could reach would turn a
# slow client into a failing one. Only a run without a deadline gets here.
DEFAULT_STEP_TIMEOUT = 60.0
# How long close() waits for the server's threads to stop, and the default bound of the waits on
# them: only a stuck thread (a harness bug) reaches it, so it is generous for a loaded machine.
DEFAULT_JOIN_DEADLINE = 30.0


class ServerError(AssertionError):
    """What went wrong inside the server's threads, re-raised in the test."""


class ServerStuck(ServerError):
    """A server thread did not stop when asked: the harness's own failure (a starved machine or a
    bug in a step), not something a client did, so nothing the client did can be judged."""


def ipv6_available() -> bool:
    """True if this machine can listen on ::1."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


class ServerThread(threading.Thread):
    """A thread of a scripted server: the harness's, never a client's (a watch for threads that a
    client leaves running passes over it)."""

    def run(self) -> None:
        # Ctrl-C's SIGINT and the scenario deadline's SIGALRM are meant for the main thread, whose
        # Python handlers run there. The kernel may hand such a signal to any thread that does not
        # block it; had it come here, a main thread blocked in a lock's wait (a hung client) would
        # never wake to handle it (a real Ctrl-C once left a run going that way).
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGALRM})
        super().run()


class ScriptedServer:
    """A loopback server whose every connection follows a script of steps."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        step_timeout: float = DEFAULT_STEP_TIMEOUT,
        join_deadline: float = DEFAULT_JOIN_DEADLINE,
        tls: ServerTLS | None = None,
        every_connection: Sequence[Step] | None = None,
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.step_timeout = step_timeout
        self.join_deadline = join_deadline
        self.tls = tls  # TLS settings: every connection is TLS (the handshake made as its script needs it)
        # The script of every connection that add_connection() did not script (servers/routes.py's
        # serve(), for a client that decides how many connections it opens); None: closed at once.
        self.every_connection = every_connection
        self.connections: list[ConnectionRecord] = []
        self.errors: list[BaseException] = []
        self._scripts: list[Sequence[Step]] = []
        self._optional: list[bool] = []
        self._required_connections = 0
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._accepted = threading.Condition(self._lock)  # notified whenever a connection is accepted
        self._stopping = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.bind((host, 0))
            self._listener.listen(16)
            self._listener.setblocking(False)
        except OSError:
            self._close_sockets()
            raise
        self.port: int = self._listener.getsockname()[1]
        self._closed = False
        self._start_thread("accept", self._accept_loop)

    # -- what scenarios use ---------------------------------------------------------------------

    @property
    def authority(self) -> str:
        """host:port as it appears in a URL (IPv6 literals in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def url(self, path: str = "/", scheme: str | None = None) -> str:
        """A URL of this server: https for a TLS server, http otherwise, unless `scheme` says."""
        scheme = scheme or ("https" if self.tls is not None else "http")
        return f"{scheme}://{self.authority}{path}"

    def add_connection(self, *steps: Step | Sequence[Step], optional: bool = False) -> int:
        """Script the next connection; steps may be given flat or as lists. Returns its index.

        A script that never runs because the client did not open that connection is an error
        reported by close(), unless it is `optional` (for clients that may or may not connect).
        An optional connection on which the client sends nothing at all is not an error either:
        a client may open a connection and then refuse the request before sending a byte.
        """
        flat: list[Step] = []
        for step in steps:
            flat.extend(step if isinstance(step, Sequence) else [step])
        with self._lock:
            self._scripts.append(flat)
            self._optional.append(optional)
            if not optional:
                self._required_connections = len(self._scripts)
            return len(self._scripts) - 1

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, over all connections, in accept order."""
        return [request for record in self.connections for request in record.requests]

    @property
    def bytes_received(self) -> int:
        """How many bytes the server received, over all connections (0: the client sent nothing)."""
        return sum(len(record.received) for record in self.connections)

    def connection(self, index: int) -> ConnectionRecord:
        """The record of the index-th accepted connection, with a clear failure if there is none."""
        if index >= len(self.connections):
            raise AssertionError(f"expected at least {index + 1} connection(s), the client opened "
                                 f"{len(self.connections)}")
        return self.connections[index]

    def wait_connections(self, count: int, timeout: float = DEFAULT_JOIN_DEADLINE) -> bool:
        """Wait at most `timeout` seconds until `count` connections have been accepted.

        A client's connect() returns once the kernel has the connection, before the server's
        thread has recorded it: a test that inspects connection(0) right after it waits here.
        """
        with self._accepted:
            return self._accepted.wait_for(lambda: len(self.connections) >= count, timeout)

    def connections_opened(self, timeout: float = DEFAULT_JOIN_DEADLINE) -> int | None:
        """How many connections the client has opened by now, whether or not the server's thread has
        accepted them yet: it waits (at most `timeout` seconds; None if that runs out) until the
        thread has accepted every connection the kernel holds, then counts. Unlike a bounded
        wait_connections(), the answer does not depend on how soon that thread runs.
        """
        deadline = time.monotonic() + timeout
        with self._accepted:
            while True:
                pending, _, _ = select.select([self._listener], [], [], 0)
                if not pending:
                    return len(self.connections)
                if not self._accepted.wait(max(0.0, deadline - time.monotonic())):
                    return None

    def wait_idle(self, timeout: float = DEFAULT_JOIN_DEADLINE) -> bool:
        """Wait at most `timeout` seconds in all for every accepted connection to end its script."""
        deadline = time.monotonic() + timeout
        return all(record.wait_finished(max(0.0, deadline - time.monotonic())) for record in list(self.connections))

    def busy(self) -> bool:
        """True while the server, not the client, holds the scenario up: a connection the kernel
        holds that the accept thread has not taken yet, or a connection's `server_busy()`.
        Takes no lock (the scenario deadline asks from a signal handler)."""
        try:
            pending, _, _ = select.select([self._listener], [], [], 0)
        except (OSError, ValueError):  # closed
            return False
        return bool(pending) or any(record.server_busy() for record in list(self.connections))

    def check(self) -> None:
        """Raise ServerError now if anything went wrong in the server's threads."""
        if self.errors:
            message = "\n".join(f"- {error}" for error in self.errors)
            raise ServerError(f"the scripted server reported:\n{message}") from self.errors[0]

    def close(self) -> None:
        """Stop accepting, end every script, join all threads, then re-raise their errors."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._wake_writer.send(b"x")
        stuck = []
        for thread in self._threads:
            thread.join(self.join_deadline)
            if thread.is_alive():
                stuck.append(thread.name)
        self._close_sockets()
        if stuck:
            raise ServerStuck(f"server thread(s) did not stop within {self.join_deadline} s: {stuck}")
        if len(self.connections) < self._required_connections:
            self.errors.append(ScriptError(
                f"the script for connection {len(self.connections)} never ran: the client opened "
                f"{len(self.connections)} connection(s), the scenario expected {self._required_connections}"))
        self.check()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.close()
        except ServerError as server_error:
            if exc is None:
                raise
            # The test already failed; keep its exception and say what the server saw too.
            exc.add_note(str(server_error))

    # -- the threads ----------------------------------------------------------------------------

    def _start_thread(self, name: str, target: Callable[..., None], *args: object) -> None:
        thread = ServerThread(target=target, args=args, name=f"scripted-server-{self.port}-{name}",
                                  daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        try:
            while True:
                readable, _, _ = select.select([self._listener, self._wake_reader], [], [])
                if self._wake_reader in readable:
                    return
                # Accepted and recorded under the lock: connections_opened() never sees a
                # connection that is out of the kernel's queue and not yet in `connections`.
                with self._lock:
                    try:
                        sock, peer = self._listener.accept()
                    except BlockingIOError:  # the client gave up the connection before it was accepted
                        continue
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    index = len(self.connections)
                    script = self._scripts[index] if index < len(self._scripts) else self.every_connection
                    optional = index < len(self._optional) and self._optional[index]
                    record = ConnectionRecord(index, peer, scripted=script is not None)
                    self.connections.append(record)
                    self._accepted.notify_all()
                conn = ServerConnection(sock, record, self._wake_reader, self._stopping, self.step_timeout, self.tls)
                self._start_thread(f"conn{index}", self._serve, conn, script or [], optional)
        except BaseException as exc:  # pragma: no cover - a harness bug; surfaced by close()
            self.errors.append(exc)

    def _serve(self, conn: ServerConnection, script: Sequence[Step], optional: bool) -> None:
        record = conn.record
        try:
            if not record.scripted:
                record.events.append("no script for this connection: closed at once")
                return
            for number, step in enumerate(script):
                if not conn.open:
                    raise ScriptError(f"step {step} comes after the connection was closed")
                try:
                    step.run(conn)
                except ScriptError as exc:
                    raise ScriptError(f"connection {record.index}, step {number} {step}: {exc}") from None
                except ServerShutdown:
                    if step.awaits_client:
                        raise ScriptError(f"connection {record.index}, step {number} {step}: the test "
                                          "ended before the client sent what this step expects") from None
                    raise
            record.script_done = True
            conn.drain()
        except ServerShutdown:
            pass
        except ScriptError as exc:
            if optional and not record.received:
                record.events.append(f"optional connection on which the client sent nothing: {exc}")
            else:
                self.errors.append(exc)
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            conn.close()
            record._finished.set()

    def _close_sockets(self) -> None:
        for sock in (self._listener, self._wake_reader, self._wake_writer):
            sock.close()
