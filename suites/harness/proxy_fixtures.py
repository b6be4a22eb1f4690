"""Fixtures of the proxies scenarios use: a scripted CONNECT proxy per scenario, one mitmproxy per worker.

    def test_x(proxy, server, client):            # scripted proxy (servers/proxy.py), scripted origin
        proxy.add_connection(tunnel(server))

    def test_y(mitmproxy, tls_server, wire):       # a real mitmproxy, started once per session
        wire.request("GET", f"https://localhost:{tls_server.port}/", proxy=mitmproxy.url, tls=...)

Registered with the suite's plugin (suites/plugin.py `pytest_plugins`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from h1conform.servers import ScriptedServer
from h1conform.servers.mitm import MitmProxy, available
from h1conform.suites.harness.deadline import deadline_paused

# Tunnels to this host name go through mitmproxy untouched (its `ignore_hosts`), end to end TLS;
# tunnels to 127.0.0.1 are intercepted. Both names are in the TLS origins' good certificate.
PASSTHROUGH_HOST = "localhost"
INTERCEPT_HOST = "127.0.0.1"


@pytest.fixture
def proxy(make_server: Callable[..., ScriptedServer]) -> ScriptedServer:
    """A scripted server on 127.0.0.1 that scenarios script as a proxy (servers/proxy.py steps)."""
    return make_server()


@pytest.fixture(scope="session")
def mitmproxy(tmp_path_factory: pytest.TempPathFactory, tls_ca_file: str) -> Iterator[MitmProxy]:
    """A real mitmproxy for the session (per xdist worker), in a child process.

    It trusts the session's test CA upstream (so intercepted origins are verified), relays tunnels
    to `PASSTHROUGH_HOST` untouched and intercepts the others; `mitmproxy.ca_file` is its own CA.
    Scenarios that use it are skipped, with the reason, where mitmproxy is not installed.
    """
    reason = available()
    if reason is not None:
        pytest.skip(reason)
    proxy = MitmProxy(tmp_path_factory.mktemp("mitmproxy"), upstream_ca=tls_ca_file,
                      passthrough=[rf"^{PASSTHROUGH_HOST}:"])
    with deadline_paused():
        proxy.start()
    try:
        yield proxy
    finally:
        with deadline_paused():  # stopped in the teardown of the session's last scenario
            proxy.stop()


@pytest.fixture
def mitm(mitmproxy: MitmProxy) -> MitmProxy:
    """The session's mitmproxy, checked to be still running before the scenario uses it."""
    mitmproxy.check()
    return mitmproxy
