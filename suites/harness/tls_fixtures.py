"""Fixtures for TLS scenarios: one test CA per session (per xdist worker) and TLS scripted servers.

    def test_x(tls_server, wire, tls_ca_file):              # a server with the good certificate
        tls_server.add_connection(respond(OK))
        wire.request("GET", tls_server.url("/"), tls=TLSConfig(ca_file=tls_ca_file))

    def test_y(make_tls_server):                              # any certificate kind, host, client auth
        server = make_tls_server(CertKind.EXPIRED)
        server = make_tls_server(CertKind.GOOD, host="::1", require_client_cert=True)

Registered by suites/plugin.py (`pytest_plugins`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from h1conform.servers import CertKind, ScriptedServer, TestPKI


@pytest.fixture(scope="session")
def tls_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """The session's test CA and every certificate made from it (files in a temporary directory),
    made here, in setup, so that no scenario's deadline pays for them."""
    pki = TestPKI(tmp_path_factory.mktemp("tls"))
    pki.make_all()
    return pki


@pytest.fixture(scope="session")
def tls_ca_file(tls_pki: TestPKI) -> str:
    """Path of the test CA's certificate (PEM): what a client must trust to accept the servers."""
    return str(tls_pki.ca_file)


@pytest.fixture(scope="session")
def tls_client_cert_file(tls_pki: TestPKI) -> str:
    """Path of a PEM with a client certificate signed by the test CA and its key (mutual TLS)."""
    return str(tls_pki.client_cert_file)


@pytest.fixture
def make_tls_server(tls_pki: TestPKI, make_server: Callable[..., ScriptedServer]) -> Callable[..., ScriptedServer]:
    """Factory of TLS scripted servers: make_tls_server(kind=CertKind.GOOD, host="127.0.0.1",
    require_client_cert=False, **ScriptedServer kwargs); closed at teardown like `server`."""

    def make(kind: CertKind = CertKind.GOOD, host: str = "127.0.0.1", *, require_client_cert: bool = False,
             **kwargs: Any) -> ScriptedServer:
        return make_server(host, tls=tls_pki.server(kind, require_client_cert=require_client_cert), **kwargs)

    return make


@pytest.fixture
def tls_server(make_tls_server: Callable[..., ScriptedServer]) -> ScriptedServer:
    """A TLS scripted server on 127.0.0.1 presenting the good certificate (localhost, 127.0.0.1, ::1)."""
    return make_tls_server()
