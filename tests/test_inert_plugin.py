"""Installed next to a project's own tests, h1conform changes nothing in runs that do not ask for the suite.

The entry point (h1conform.pytest_plugin) is loaded into every pytest run of the environment; these
tests run pytest in a subprocess, in a throwaway project outside the checkout, the way a client
author's CI would, and check that such a run imports nothing of the suite, sees its environment as
given, and keeps its own `servers`, `reports` and `reference` packages; and that the runs which do
ask for the suite (--impl, its path, --pyargs, testpaths) get it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from h1conform.pytest_plugin import _collects, suites_dir

SUBPROCESS_TIMEOUT = 120  # seconds; only reached if a run hangs
SUITES = suites_dir()
assert SUITES is not None

# What a client author's project may well have: top-level packages named like ours.
OWN_PACKAGES = {
    "servers/__init__.py": "class ScriptedServer:\n    OWNER = 'the project'\n",
    "reports/__init__.py": "OWNER = 'the project'\n",
    "reference/__init__.py": "OWNER = 'the project'\n",
}

# Its tests read the variables that the suite's isolation removes from scenario tests.
OWN_TESTS = r'''
import os
import sys

import reference
import reports
from servers import ScriptedServer


def test_own_packages_are_the_projects():
    assert ScriptedServer.OWNER == reports.OWNER == reference.OWNER == "the project"


def test_environment_as_given():
    assert os.environ.get("HTTPS_PROXY") == "http://proxy.example:3128"
    assert os.environ.get("http_proxy") == "http://proxy.example:3128"
    assert os.environ.get("REQUESTS_CA_BUNDLE") == "/etc/ssl/x.pem"
    assert os.environ.get("SSL_CERT_FILE") == "/etc/ssl/x.pem"
    assert os.environ.get("NETRC") == "/home/me/.netrc"


def test_nothing_of_the_suite_is_imported():
    loaded = sorted(name for name in sys.modules if name.startswith("h1conform."))
    assert loaded == ["h1conform.pytest_plugin"], loaded
'''

PROJECT_ENV = {"HTTPS_PROXY": "http://proxy.example:3128", "http_proxy": "http://proxy.example:3128",
               "REQUESTS_CA_BUNDLE": "/etc/ssl/x.pem", "SSL_CERT_FILE": "/etc/ssl/x.pem", "NETRC": "/home/me/.netrc"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name, text in OWN_PACKAGES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "tests").mkdir()
    (root / "tests" / "test_own.py").write_text(OWN_TESTS, encoding="utf-8")
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
                                         'filterwarnings = ["error"]\n', encoding="utf-8")
    return root


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m pytest ARGS` in `cwd`, as the project's CI runs it, with the project's environment."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTEST_", "PYTHONPATH"))}
    env.update(PROJECT_ENV)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False)


@pytest.mark.parametrize("disable", [False, True], ids=["installed", "disabled"])
def test_a_project_with_its_own_servers_reports_and_reference_passes(project: Path, disable: bool) -> None:
    # The same three tests pass with h1conform's plugin loaded and with it disabled (-p no:h1conform).
    if disable:  # then nothing of h1conform is loaded at all
        (project / "tests" / "test_own.py").write_text(OWN_TESTS.replace('["h1conform.pytest_plugin"]', "[]"))
    result = run_pytest(project, *(["-p", "no:h1conform"] if disable else []))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_control_the_suite_does_change_a_scenario_s_environment(project: Path) -> None:
    # Control: the same project asking for the suite (--impl) gets it, and the suite's isolation
    # shows in its scenario, not in the project's own tests.
    (project / "tests" / "test_scenario.py").write_text(r'''
import os
from h1conform.suites.harness import API, API_LEVEL, scenario


@scenario("demo.environment", refs=["http.client.HTTPConnection"], level=API_LEVEL, profile=API)
def test_scenario_is_isolated(client):
    assert "HTTPS_PROXY" not in os.environ and "REQUESTS_CA_BUNDLE" not in os.environ
''', encoding="utf-8")
    (project / "tests" / "test_own.py").write_text(OWN_TESTS.replace(
        'assert loaded == ["h1conform.pytest_plugin"], loaded', 'assert "h1conform.suites.plugin" in loaded'))
    result = run_pytest(project, "--impl=reference")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def collected(cwd: Path, *args: str) -> list[str]:
    result = run_pytest(cwd, "--collect-only", "-q", *args)
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: nothing collected
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_runs_that_ask_for_the_suite_get_it(project: Path) -> None:
    assert SUITES is not None
    by_path = collected(project, str(SUITES / "test_status_line.py"))
    by_pyargs = collected(project, "--pyargs", "h1conform.suites.test_status_line")
    assert by_path and all(item.endswith("-reference]") or item.endswith("[reference]") for item in by_path)
    assert len(by_pyargs) == len(by_path)
    (project / "pyproject.toml").write_text(f'[tool.pytest.ini_options]\ntestpaths = ["{SUITES / "test_status_line.py"}"]\n')
    assert len(collected(project)) == len(by_path)


def test_a_directory_above_an_installed_suite_in_a_virtual_environment_does_not_ask_for_it(tmp_path: Path) -> None:
    # `pytest` in a project whose .venv holds h1conform: pytest does not collect the .venv, and the
    # plugin does not wake up for it either. Shown with a stand-in tree (a pyvenv.cfg marks a venv).
    config = SimpleNamespace(invocation_params=SimpleNamespace(dir=tmp_path),
                             getoption=lambda name, default=None: default,
                             getini=lambda name: [".*", "venv", "build"])  # pytest's default norecursedirs, in part
    for venv_dir, asks in ((".venv", False), ("env", False), ("code", True)):
        suites = tmp_path / venv_dir / "lib" / "site-packages" / "h1conform" / "suites"
        suites.mkdir(parents=True)
        if venv_dir == "env":
            (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
        assert _collects(str(tmp_path), suites, config) is asks, venv_dir  # type: ignore[arg-type]
        assert _collects(str(suites), suites, config) is True  # type: ignore[arg-type]


@pytest.mark.parametrize("route", [["--impl=reference"], ["--results=r.json"], ["-p", "h1conform.suites.plugin"]],
                         ids=["--impl", "--results", "-p"])
def test_a_suite_registered_late_still_configures_and_brings_its_fixtures(project: Path, route: list[str]) -> None:
    # The suite's plugin is registered in pytest_configure: its own configure (the scenario
    # marker, the isolation plugin) and its pytest_plugins' fixtures (TLS, proxies) still apply.
    (project / "tests" / "test_scenario.py").write_text(r'''
import os
from h1conform.suites.harness import API, API_LEVEL, scenario


@scenario("demo.fixtures", refs=["http.client.HTTPConnection"], level=API_LEVEL, profile=API)
def test_fixtures_of_every_module(client, make_server, tls_ca_file, proxy, request):
    assert os.path.isfile(tls_ca_file) and proxy.port
    assert request.config.pluginmanager.has_plugin("h1conform-isolation")
    assert "HTTPS_PROXY" not in os.environ
''', encoding="utf-8")
    result = run_pytest(project, "--strict-markers", "tests/test_scenario.py", *route)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
