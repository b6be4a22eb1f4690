"""A running driver: one child process, spoken to in JSON lines (docs/driver-protocol.md).

The suite writes one command and reads its one answer before the next. Every way a driver can
break (it does not start, exits, closes its output, writes what is no message of the protocol)
raises DriverBroken, which the adapter turns into the scenario's `error`; the process is then
stopped, and the next scenario starts a fresh one. Its standard error goes to a temporary file,
not a pipe: no thread of ours reads it (a thread would count as one the client left running), and
its tail is shown when the driver breaks.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

HELLO_BOUND = 60.0  # seconds a driver has to say hello once started (a JVM on a loaded machine)
STOP_BOUND = 10.0  # seconds a driver has to exit once its input ends, before it is killed
TERM_GRACE = 1.0  # seconds a driver stopped mid-request has to clean up after SIGTERM, before SIGKILL
STDERR_TAIL = 4096  # octets of the driver's standard error shown when it breaks
LINE_LIMIT = 512 * 1024 * 1024  # octets of one answer: a 64 MiB flood accepted whole, in base64, fits
_READ_SIZE = 1 << 16


class DriverBroken(Exception):
    """The driver did something the protocol does not allow: the harness's error, not the client's."""


class DriverProcess:
    def __init__(self, name: str, argv: list[str], cwd: Path) -> None:
        self.name = name
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=self._stderr, bufsize=0)
        except OSError as exc:
            self._stderr.close()
            raise DriverBroken(f"driver {name}: it could not start: {' '.join(argv)}: {exc}") from None
        self._pending = bytearray()  # read from its output, not yet a whole line
        self._next_id = 0

    def hello(self) -> dict[str, Any]:
        """The driver's first line, which must come within HELLO_BOUND seconds."""
        message = self._read_message(bound=HELLO_BOUND, waiting_for="its hello")
        if message.get("type") != "hello":
            raise self.broken(f"its first line is not a hello: {shown(message)}")
        return message

    def exchange(self, command: dict[str, Any], *, bound: float | None = None) -> dict[str, Any]:
        """Send `command` (an `id` is added) and return its answer, waiting for it for at most
        `bound` seconds (None: while the client works, the scenario's deadline is the bound). Any
        interruption (the deadline, a Ctrl-C) leaves the driver in an unknown state: the caller stops it."""
        self._next_id += 1
        wanted = self._next_id
        line = json.dumps({"id": wanted, **command}, ensure_ascii=True).encode("ascii") + b"\n"
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(line)
        except (BrokenPipeError, ConnectionResetError):
            raise self.broken("it stopped reading its input") from None
        answer = self._read_message(bound=bound, waiting_for=f"the answer to {command.get('op')!r}")
        if answer.get("id") != wanted:
            raise self.broken(f"it answered id {answer.get('id')!r} where {wanted} was asked: {shown(answer)}")
        return answer

    @property
    def pid(self) -> int:
        """The driver's process id (the agent profile watches its memory while it streams a body)."""
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        """End the driver: its input closed (it should exit), then killed if it does not; always waited for."""
        process = self._process
        if process.stdin is not None and not process.stdin.closed:
            try:
                process.stdin.close()
            except OSError:
                pass  # the pipe is broken: the driver is gone already
        try:
            process.wait(timeout=STOP_BOUND)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()
            self._stderr.close()

    def kill(self) -> None:
        """End the driver now (its state is unknown): SIGTERM, so that it can stop what it started
        (curl-cli's curl, its temporary files), then SIGKILL after TERM_GRACE; always waited for."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=TERM_GRACE)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self.stop()

    def broken(self, problem: str) -> DriverBroken:
        """DriverBroken for `problem`, with the tail of the driver's standard error."""
        tail = self._stderr_tail()
        code = self._process.poll()
        status = f" (exit code {code})" if code is not None else ""
        return DriverBroken(f"driver {self.name} broke{status}: {problem}" + (f"; its stderr ends: {tail}" if tail else ""))

    def _stderr_tail(self) -> str:
        if self._stderr.closed:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - STDERR_TAIL))
        return self._stderr.read().decode("utf-8", "backslashreplace").strip().encode("unicode_escape").decode("ascii")

    def _read_message(self, *, bound: float | None, waiting_for: str) -> dict[str, Any]:
        line = self._read_line(bound, waiting_for)
        try:
            message = json.loads(line)
        except ValueError:
            raise self.broken(f"it wrote a line that is not JSON: {line[:200]!r}") from None
        if not isinstance(message, dict):
            raise self.broken(f"it wrote a line that is not a JSON object: {line[:200]!r}")
        return message

    def _read_line(self, bound: float | None, waiting_for: str) -> bytes:
        """One line of the driver's output. Waits with no bound of its own while the client works
        (the scenario's deadline ends a hung client); `bound` only for the harness's waits."""
        stdout = self._process.stdout
        assert stdout is not None
        give_up = None if bound is None else time.monotonic() + bound
        while b"\n" not in self._pending:
            if len(self._pending) > LINE_LIMIT:
                raise self.broken(f"it wrote over {LINE_LIMIT} octets without ending the line")
            remaining = None if give_up is None else give_up - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise self.broken(f"it did not send {waiting_for} within {bound:.0f} s")
            ready, _, _ = select.select([stdout], [], [], remaining)
            if not ready:
                continue
            data = os.read(stdout.fileno(), _READ_SIZE)
            if not data:
                with suppress(subprocess.TimeoutExpired):  # a driver that closed its output is ending:
                    self._process.wait(timeout=TERM_GRACE)  # its exit code says how
                raise self.broken(f"it closed its output while the suite waited for {waiting_for}")
            self._pending += data
        line, _, rest = bytes(self._pending).partition(b"\n")
        self._pending = bytearray(rest)
        return line


def shown(message: dict[str, Any]) -> str:
    text = json.dumps(message, ensure_ascii=True)
    return text if len(text) <= 200 else text[:200] + "..."
