"""The suite's own settings (warnings as errors, registered marks only, strict expected failures) hold for
scenario tests however they are invoked: from the checkout, or from a rootdir whose configuration
says nothing of them (the suite run with --pyargs from elsewhere, or a project's scenarios).
"""

from __future__ import annotations

import pytest

SUBPROCESS_TIMEOUT = 60  # seconds; only reached if a run hangs

# An http.client-API implementation whose close() forgets the socket: every connection leaks.
LEAKY_MODULE = '''
from http.client import *
from http.client import HTTPConnection as _HTTPConnection


class HTTPConnection(_HTTPConnection):
    def close(self):
        self.sock = None  # dropped, never closed: ResourceWarning when it is collected
'''

SCENARIOS = '''
from h1conform.servers import respond
from h1conform.suites.harness import API, API_LEVEL, scenario

OK = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"


@scenario("demo.leak", refs=["http.client.HTTPConnection.close"], level=API_LEVEL, profile=API)
def test_request(server, client):
    server.add_connection(respond(OK))
    conn = client.connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
'''

# A rootdir that knows nothing of the suite's settings, and one with the checkout's.
FOREIGN_INI = "[pytest]\naddopts = -p no:hypothesispytest -p no:cacheprovider -p h1conform.suites.plugin\n"
CHECKOUT_INI = ("[pytest]\nfilterwarnings =\n    error\nxfail_strict = true\n"
                "addopts = --strict-markers -p no:hypothesispytest -p no:cacheprovider -p h1conform.suites.plugin\n")


def leak_outcome(pytester: pytest.Pytester, ini: str, impl: str) -> dict[str, int]:
    pytester.makeini(ini)
    pytester.makepyfile(test_leak=SCENARIOS, h1x_leaky=LEAKY_MODULE)
    pytester.syspathinsert()
    # A subprocess: the warnings and the garbage collection are the run's own.
    result = pytester.runpytest_subprocess(f"--impl={impl}", timeout=SUBPROCESS_TIMEOUT)
    return result.parseoutcomes()


@pytest.mark.parametrize("ini", [FOREIGN_INI, CHECKOUT_INI], ids=["foreign-rootdir", "checkout-settings"])
def test_a_leaking_client_errors_whatever_the_rootdir(pytester: pytest.Pytester, ini: str) -> None:
    # The leak shows when the fixture closes the connection: an error at teardown, the same with
    # the checkout's settings and without them.
    assert leak_outcome(pytester, ini, "h1x_leaky") == {"passed": 1, "errors": 1}


@pytest.mark.parametrize("ini", [FOREIGN_INI, CHECKOUT_INI], ids=["foreign-rootdir", "checkout-settings"])
def test_control_a_client_that_closes_passes(pytester: pytest.Pytester, ini: str) -> None:
    assert leak_outcome(pytester, ini, "stdlib") == {"passed": 1}


def test_an_unregistered_mark_on_a_scenario_is_an_error_without_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makeini(FOREIGN_INI + "filterwarnings =\n    ignore::pytest.PytestUnknownMarkWarning\n")
    pytester.makepyfile(test_marks=SCENARIOS.replace(
        "def test_request", "@pytest.mark.skip_if(True, reason='misspelt')\ndef test_request").replace(
        "from h1conform.servers", "import pytest\nfrom h1conform.servers"))
    result = pytester.runpytest("--impl=stdlib")
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()
    result.stdout.fnmatch_lines(["*invalid scenario metadata*", "*unknown marks [[]'skip_if'[]]*"])
    # Control: a registered mark is fine.
    pytester.makepyfile(test_marks=SCENARIOS.replace(
        "def test_request", "@pytest.mark.skipif(False, reason='not skipped')\ndef test_request").replace(
        "from h1conform.servers", "import pytest\nfrom h1conform.servers"))
    pytester.runpytest("--impl=stdlib").assert_outcomes(passed=1)
