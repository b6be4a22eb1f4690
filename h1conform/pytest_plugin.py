"""The `pytest11` entry point of h1conform: the suite's options, and nothing more until a run asks for the suite.

Installed next to a project's own tests, this module is loaded into every pytest run of that
environment. So it imports nothing of the suite, changes no environment variable, and only adds the
suite's command-line options (pytest parses the command line before any plugin could decide
anything, so the options must exist in every run).

A run asks for the suite when it
- gives one of the suite's options: `--impl`, `--expect`, `--write-expect` or `--results`;
- collects the suites package: a path argument inside it or containing it (`pytest suites/`,
  `pytest .` in a checkout), `--pyargs h1conform.suites...`, or no argument at all where the
  `testpaths` that pytest falls back to lead there; or
- registers the suite's plugin itself (`-p h1conform.suites.plugin`, or `pytest_plugins` in a
  conftest.py): how a project runs scenarios of its own, outside the suites package.

Only then is the suite's plugin, h1conform.suites.plugin, registered (with the fixtures, the
environment isolation of scenario tests and the servers it brings).
"""

from __future__ import annotations

import fnmatch
import importlib.util
from pathlib import Path

import pytest

SUITE_PLUGIN = "h1conform.suites.plugin"
SUITES_PACKAGE = "h1conform.suites"
DEFAULT_IMPLS = ["reference"]
DEFAULT_SCENARIO_TIMEOUT = 5.0
# The options that only make sense for a suite run: giving one asks for the suite.
SUITE_OPTIONS = ("impl", "expect", "write_expect", "results", "controls")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("h1conform", "HTTP/1.1 client conformance suite (h1conform)")
    group.addoption("--impl", action="append", default=[], metavar="IMPL",
                    help="implementation under test: a built-in name (reference, stdlib, or a client adapter: urllib3, "
                         "requests, httpx, aiohttp, pycurl, urllib), an entry point name, a dotted module or a .py "
                         f"file; repeat to run several side by side (default: {', '.join(DEFAULT_IMPLS)})")
    group.addoption("--expect", action="append", default=[], metavar="[IMPL=]FILE",
                    help="expectations file listing scenarios known to fail, one 'id reason' per line; "
                         "IMPL= limits it to one implementation (repeat for several)")
    group.addoption("--write-expect", action="append", default=[], metavar="[IMPL=]FILE",
                    help="write the scenarios that failed in this run to FILE as an expectations file "
                         "(with IMPL=, those of one implementation); the reason is the failure's first line")
    group.addoption("--results", default=None, metavar="FILE",
                    help="write the run's results as JSON to FILE: run metadata and one record per scenario "
                         "(verdict, level, refs, reason, wire trace of failures); render with "
                         "python -m h1conform.reports")
    group.addoption("--controls", action="store_true", default=False,
                    help="run only the control rows: the variants that exchange valid messages (a variant id with "
                         "a 'control' or 'valid' part, or a scenario whose id ends in '.valid'); a control that "
                         "fails means a broken adapter or driver, not a finding about the client")
    group.addoption("--scenario-timeout", type=float, default=DEFAULT_SCENARIO_TIMEOUT, metavar="SECONDS",
                    help="a scenario whose client makes no progress (no byte moves to or from its servers) for "
                         "this long ends as a timeout; the harness's own work does not count, and a Hypothesis "
                         f"property gets it per example (default {DEFAULT_SCENARIO_TIMEOUT:g}; 0 disables)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # tryfirst: registered here, the suite's plugin still gets this (historic) hook, and its
    # `pytest_plugins` are loaded with it, before any other plugin's configure.
    if asks_for_suite(config):
        config.pluginmanager.import_plugin(SUITE_PLUGIN)


def asks_for_suite(config: pytest.Config) -> bool:
    if config.pluginmanager.has_plugin(SUITE_PLUGIN):
        return True
    if any(config.getoption(name) for name in SUITE_OPTIONS):
        return True
    suites = suites_dir()
    if suites is None:
        return False
    return any(_collects(arg, suites, config) for arg in config.args)


def suites_dir() -> Path | None:
    """Where the suites package is, found without importing it (None: not importable)."""
    spec = importlib.util.find_spec(SUITES_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _collects(arg: str, suites: Path, config: pytest.Config) -> bool:
    """Whether collecting the command-line argument `arg` collects (part of) the suites package."""
    target = arg.split("::", 1)[0]
    if config.getoption("pyargs", False) and (
            target in ("h1conform", SUITES_PACKAGE) or target.startswith(SUITES_PACKAGE + ".")):
        return True
    path = (config.invocation_params.dir / target).resolve()
    if path == suites or suites in path.parents:
        return True
    if path not in suites.parents:
        return False
    # A directory above the suites: pytest walks down to them unless it skips a directory on
    # the way, as it does with a virtual environment (where an installed suite lives) and
    # whatever `norecursedirs` names (".*", so a project's .venv).
    patterns = config.getini("norecursedirs")
    in_venvs = bool(config.getoption("collect_in_virtualenv", False))
    between = [suites, *suites.parents[:len(suites.parents) - len(path.parents) - 1]]
    return not any(any(fnmatch.fnmatch(directory.name, pattern) for pattern in patterns)
                   or (not in_venvs and (directory / "pyvenv.cfg").is_file())
                   for directory in between)
