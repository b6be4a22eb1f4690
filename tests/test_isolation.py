"""Tests of suites.harness.isolation: the environment that steers HTTP clients is neutralised while a scenario
runs and while the implementations are imported, and only then; the built-in adapters ignore it even when it
is set again during a scenario."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from h1conform.servers import ScriptedServer, respond
from h1conform.suites.harness.impls import ADAPTERS, resolve
from h1conform.suites.harness.isolation import NEUTRALISED, PINNED, isolate, restore
from h1conform.suites.harness.wire import Response, SessionHandle

# A proxy that would swallow every request: a loopback port where nothing listens (port 9,
# "discard", is not served on this machine's loopback), so that even a leak stays on loopback.
BOGUS_PROXY = "http://127.0.0.1:9"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_isolate_and_restore() -> None:
    environ = {"HTTP_PROXY": BOGUS_PROXY, "no_proxy": "*", "SSL_CERT_FILE": "/x.pem", "PATH": "/bin",
               "NETRC": "/home/u/.netrc"}
    saved = isolate(environ)
    assert environ == {"PATH": "/bin", **PINNED}
    restore(environ, saved)
    assert environ == {"HTTP_PROXY": BOGUS_PROXY, "no_proxy": "*", "SSL_CERT_FILE": "/x.pem", "PATH": "/bin",
                       "NETRC": "/home/u/.netrc"}
    assert {"HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE", "SSL_CERT_DIR", "SSLKEYLOGFILE"} <= set(NEUTRALISED)


INNER = r'''
import os
import urllib.request

from h1conform.servers import ScriptedServer, respond
from h1conform.suites.harness import API, API_LEVEL, scenario

BOGUS_PROXY = "http://127.0.0.1:9"  # the outer module's


def test_a_plain_test_before_sees_the_environment_as_given():
    assert os.environ["HTTP_PROXY"] == BOGUS_PROXY and os.environ["SSL_CERT_FILE"] == "/etc/ssl/x.pem"


@scenario("demo.isolated", refs=["http.client.HTTPConnection"], level=API_LEVEL, profile=API)
def test_default_clients_reach_loopback(client):
    assert "HTTP_PROXY" not in os.environ and "http_proxy" not in os.environ and "ALL_PROXY" not in os.environ
    assert "SSL_CERT_FILE" not in os.environ
    assert os.environ["NETRC"] == os.devnull
    server = ScriptedServer("127.0.0.1")
    try:
        server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        # urllib.request's default opener takes its proxies from the environment.
        with urllib.request.urlopen(server.url("/plain"), timeout=3) as response:
            assert response.read() == b"ok"
        assert server.requests[0].target == b"/plain"
    finally:
        server.close()


def test_a_plain_test_after_sees_the_environment_as_given():
    test_a_plain_test_before_sees_the_environment_as_given()
'''

# An implementation that reads the environment when it is imported, as some clients do.
READS_AT_IMPORT = '''
import os
from http.client import *
from http.client import HTTPConnection

PROXY_AT_IMPORT = os.environ.get("HTTPS_PROXY")
CA_AT_IMPORT = os.environ.get("REQUESTS_CA_BUNDLE")
'''

READS_AT_IMPORT_SCENARIO = '''
from h1conform.suites.harness import API, API_LEVEL, scenario


@scenario("demo.import-isolated", refs=["http.client.HTTPConnection"], level=API_LEVEL, profile=API)
def test_saw_no_proxy_at_import(client):
    assert client.module.PROXY_AT_IMPORT is None and client.module.CA_AT_IMPORT is None
'''


@pytest.fixture
def proxied_environment(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every proxy variable points at a bogus proxy, the CA variables at a bundle, for the inner runs."""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, BOGUS_PROXY)
    monkeypatch.setenv("NO_PROXY", "nothing.example")
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/ssl/x.pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/x.pem")
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n"
                     "    ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning\n"
                     "addopts = -p no:hypothesispytest -p no:cacheprovider\n")


@pytest.mark.usefixtures("proxied_environment")
def test_scenarios_run_isolated_and_other_tests_do_not(pytester: pytest.Pytester) -> None:
    # The run starts with every proxy variable pointing at a bogus proxy: the scenario's request
    # still reaches the loopback server, the plain tests before and after it see the variables as
    # given, and the caller's environment is as it was afterwards.
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest("--impl=reference")
    result.assert_outcomes(passed=3)
    assert os.environ["HTTP_PROXY"] == BOGUS_PROXY and os.environ["NO_PROXY"] == "nothing.example"


@pytest.mark.usefixtures("proxied_environment")
def test_implementations_are_imported_isolated(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(h1x_reads_env=READS_AT_IMPORT, test_inner=READS_AT_IMPORT_SCENARIO)
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess("--impl=h1x_reads_env", timeout=60)
    result.assert_outcomes(passed=1)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer("127.0.0.1")
    yield scripted
    scripted.close()


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapters_ignore_the_environment(name: str, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: os.PathLike[str]) -> None:
    # Set again while isolated: the adapters must not look.
    pytest.importorskip(ADAPTERS[name].client)
    for variable in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(variable, BOGUS_PROXY)
    netrc = os.path.join(tmp_path, "netrc")
    with open(netrc, "w", encoding="ascii") as file:
        file.write("machine 127.0.0.1 login user password secret\n")
    monkeypatch.setenv("NETRC", netrc)
    server.add_connection(respond(OK))
    adapter = resolve(name).wire
    with SessionHandle(adapter, adapter.open_session(timeout=3.0)) as session:
        outcome = session.request("GET", server.url("/direct"))
    assert isinstance(outcome, Response) and outcome.body == b"ok", outcome
    sent = server.requests[0]
    assert sent.target == b"/direct", "origin-form: the request went straight to the server, not to a proxy"
    assert sent.header("authorization") is None, "no credentials were taken from the .netrc"
