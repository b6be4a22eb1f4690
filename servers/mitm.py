"""A real mitmproxy for end-to-end scenarios, run as a child process for the test session.

    with MitmProxy(workdir, upstream_ca=ca_file, passthrough=[r"^localhost:"]) as mitm:
        mitm.url          # "http://127.0.0.1:PORT": give it to a client as its proxy
        mitm.ca_file      # mitmproxy's CA (PEM): trust it to accept intercepted HTTPS

Why a child process: mitmproxy runs its own asyncio loop, installs logging handlers and
warning-prone code paths; in a separate process none of that can leak into the test process
(whose `filterwarnings = error` turns any stray warning or unclosed socket into a failure), and
stopping it cannot leave a thread behind. Startup cost (interpreter, import, CA generation) is
paid once per session (once per xdist worker).

- Listens on 127.0.0.1, port 0: the OS chooses the port, which the child reports on its stdout
  as one JSON line once mitmproxy's server is listening. That line is the readiness signal; the
  parent waits for it with a deadline, never with a sleep.
- Its configuration directory (`confdir`: the CA it generates, command history) is `workdir`.
- Loopback only: an addon maps the names `localhost` to 127.0.0.1 (so that a tunnel to
  localhost never depends on the resolver's choice between ::1 and 127.0.0.1) and refuses any
  upstream that is not a loopback address.
- `upstream_ca`: the CA mitmproxy trusts when it connects to origins over TLS
  (`ssl_verify_upstream_trusted_ca`); verification stays on.
- `passthrough`: `ignore_hosts` patterns, matched by mitmproxy against "host:port" of the CONNECT
  target and "SNI:port": those tunnels are relayed without interception, end to end.
- Shutdown: closing the child's stdin asks mitmproxy to shut down cleanly; the parent waits for
  it with a deadline, then kills it if it must, and closes every pipe.
"""

from __future__ import annotations

import importlib.util
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

READY_TIMEOUT = 60.0  # generous: a loaded CI machine importing mitmproxy for the first time
STOP_TIMEOUT = 10.0
CA_FILE_NAME = "mitmproxy-ca-cert.pem"


class MitmError(RuntimeError):
    """mitmproxy did not start, or stopped on its own; the message includes its log."""


def available() -> str | None:
    """None if mitmproxy can run here; otherwise the reason it cannot, for a skip message."""
    if importlib.util.find_spec("mitmproxy") is None:
        return (f"mitmproxy is not installed for Python {sys.version.split()[0]}; it needs Python 3.12+ "
                "(pip install mitmproxy)")
    return None


class MitmProxy:
    """A mitmproxy child process: start() waits until it listens, stop() ends it."""

    def __init__(self, workdir: Path | str, *, upstream_ca: str | None = None, passthrough: Sequence[str] = (),
                 ready_timeout: float = READY_TIMEOUT) -> None:
        self.workdir = Path(workdir)
        self.upstream_ca = upstream_ca
        self.passthrough = list(passthrough)
        self.ready_timeout = ready_timeout
        self.host = "127.0.0.1"
        self.port = 0
        self.startup_seconds = 0.0
        self.returncode: int | None = None  # the child's exit status, once stopped
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path = self.workdir / "mitmproxy.log"

    @property
    def url(self) -> str:
        """The proxy URL to give a client ("http://127.0.0.1:PORT")."""
        return f"http://{self.host}:{self.port}"

    @property
    def ca_file(self) -> str:
        """mitmproxy's CA certificate (PEM), generated in its confdir at startup."""
        return str(self.workdir / CA_FILE_NAME)

    def log(self) -> str:
        """What mitmproxy logged so far (for failure messages)."""
        try:
            return self._log_path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> None:
        if self._process is not None:
            raise MitmError("mitmproxy is already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = {"confdir": str(self.workdir), "listen_host": self.host, "upstream_ca": self.upstream_ca,
                  "ignore_hosts": self.passthrough}
        # No proxy settings from the environment may reach mitmproxy's upstream connections.
        env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
        env["PYTHONUNBUFFERED"] = "1"
        started = time.monotonic()
        with open(self._log_path, "wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "h1conform.servers.mitm", json.dumps(config)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env)
        try:
            ready = self._read_ready_line()
        except BaseException:
            self.stop()
            raise
        self.host, self.port = ready["host"], int(ready["port"])
        self.startup_seconds = time.monotonic() - started

    def _read_ready_line(self) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdout is not None
        deadline = time.monotonic() + self.ready_timeout
        line = b""
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise MitmError(f"mitmproxy did not report listening within {self.ready_timeout:g} s; log:\n"
                                    + self.log())
                if not selector.select(remaining):
                    continue
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    process.wait(STOP_TIMEOUT)
                    raise MitmError(f"mitmproxy exited (status {process.returncode}) before listening; log:\n"
                                    + self.log())
                line += chunk
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            raise MitmError(f"mitmproxy failed to start: {message['error']}; log:\n{self.log()}")
        return message

    def check(self) -> None:
        """Raise MitmError if the child has exited."""
        if self._process is not None and self._process.poll() is not None:
            raise MitmError(f"mitmproxy exited (status {self._process.returncode}); log:\n{self.log()}")

    def stop(self) -> None:
        """Ask mitmproxy to shut down (its stdin closes) and wait for it; a child that hangs is killed,
        and one that does not exit cleanly (status 0) is an error, with its log."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                try:
                    process.stdin.close()
                except BrokenPipeError:
                    pass
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
                raise MitmError(f"mitmproxy did not stop within {STOP_TIMEOUT:g} s and was killed") from None
        finally:
            if process.stdout is not None:
                process.stdout.close()
        self.returncode = process.returncode
        if process.returncode != 0 and self.port:
            raise MitmError(f"mitmproxy exited with status {process.returncode}; log:\n{self.log()[-4000:]}")

    def __enter__(self) -> MitmProxy:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


# -- the child process ---------------------------------------------------------------------------


def _child(config: dict[str, Any]) -> int:  # pragma: no cover - runs in the child process
    import re

    # Settings are checked before mitmproxy's (slow) import, and reported like any start failure.
    for pattern in config["ignore_hosts"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            sys.stdout.write(json.dumps({"error": f"passthrough pattern {pattern!r} is not a regular expression: "
                                                  f"{exc}"}) + "\n")
            sys.stdout.flush()
            return 2

    import asyncio
    import ipaddress
    import logging
    import threading

    from mitmproxy import ctx, options
    from mitmproxy.addons import default_addons, errorcheck
    from mitmproxy.master import Master
    from mitmproxy.proxy import server_hooks

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    class LoopbackOnly:
        """Map localhost to 127.0.0.1; refuse every upstream that is not a loopback address."""

        def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
            assert data.server.address is not None
            host, port, *_ = data.server.address
            if host == "localhost":
                data.server.address = ("127.0.0.1", port)
                host = "127.0.0.1"
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                data.server.error = f"the test proxy connects to loopback addresses only, not {host!r}"

    class Ready:
        """Report the listening address on stdout once the server runs."""

        def running(self) -> None:
            addresses = ctx.master.addons.get("proxyserver").listen_addrs()  # type: ignore[no-untyped-call]
            if not addresses:
                message: dict[str, Any] = {"error": "no listening address"}
            else:
                host, port, *_ = addresses[0]
                message = {"host": host, "port": port}
            sys.stdout.write(json.dumps(message) + "\n")
            sys.stdout.flush()

    async def run() -> None:
        opts = options.Options(
            confdir=config["confdir"], listen_host=config["listen_host"], listen_port=0, mode=["regular"])
        # Eager (mitmproxy's default, made explicit): the upstream connection opens at CONNECT, before
        # the client's TLS handshake; scenarios rely on that to know when an origin is done with.
        master = Master(opts)
        master.addons.add(*default_addons(), errorcheck.ErrorCheck(),  # type: ignore[no-untyped-call]
                          LoopbackOnly(), Ready())
        updates: dict[str, Any] = {"ignore_hosts": config["ignore_hosts"], "connection_strategy": "eager"}
        if config["upstream_ca"]:
            updates["ssl_verify_upstream_trusted_ca"] = config["upstream_ca"]
        opts.update(**updates)  # type: ignore[no-untyped-call]

        loop = asyncio.get_running_loop()

        def wait_for_stdin_eof() -> None:
            sys.stdin.buffer.read()  # returns at EOF: the parent closed our stdin, or died
            loop.call_soon_threadsafe(master.should_exit.set)

        threading.Thread(target=wait_for_stdin_eof, name="stdin-watch", daemon=True).start()
        await master.run()

    asyncio.run(run())
    return 0


if __name__ == "__main__":  # pragma: no cover - the child process
    sys.exit(_child(json.loads(sys.argv[1])))
