"""A refusal verdict is proven, not inferred (issue 18).

An `invalid-input` outcome counts only when the exception is one the adapter declares as its
client's validation error, raised by the client (not a TypeError or AttributeError, not raised by
the adapter's own code); anything else is the harness's `error`, naming the adapter. And a refusal
row first runs its scenario's valid variant: if that control fails, the row is `error`, not `pass`.

The suite's own refusal scenarios are run (in a subprocess, with a results file) with an adapter
that is broken the way the urllib3 adapter was on urllib3 1.26 (every request raises TypeError,
which it took for a refusal), and, as the control, with a sound adapter over the same client.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from h1conform.suites.harness.api_adapter import HTTPClientAPIAdapter
from h1conform.suites.harness.errors import HarnessError
from h1conform.suites.harness.wire import (
    ErrorKind,
    Failure,
    RefusedInput,
    Response,
    SessionHandle,
    TLSConfig,
    WireAdapter,
    WireRequest,
    WireSession,
)

ROOT = Path(__file__).resolve().parents[1]

# The suite's wire refusal rows that http.client refuses (so the sound adapter passes them all), and
# a row where a refusal is allowed (a client need not send an 8000-octet field value).
REFUSAL_ROWS = ["request.line.method.refused[crlf-injection]", "request.line.method.refused[lf]",
                "request.line.target.refused[space]", "request.headers.value.refused[crlf-injection]",
                "request.headers.value.refused[lf-injection]", "request.headers.name.refused[colon]",
                "response.fields.generated-lengths[8000-octets]"]
SELECTION = ("(test_method_refused and (crlf-injection or lf)) or (test_target_refused and space and not injection)"
             " or (test_value_refused and (crlf-injection or lf-injection)) or (test_name_refused and colon)"
             " or (test_generated_lengths and 8000)")

ADAPTER_FILE = '''
import http.client

from h1conform.suites.harness.api_adapter import HTTPClientAPIAdapter
from h1conform.suites.harness.wire import FEATURE_CUSTOM_METHODS, RefusedInput, WireAdapter, WireSession


def _unexpected_keyword():
    # A keyword this release of the client does not take, as urllib3 1.26 with assert_hostname.
    http.client.HTTPConnection("127.0.0.1", timeout=1, assert_hostname=None)


def _bad_method():
    # A client that refuses every request with its own validation error (a bad method).
    http.client.HTTPConnection("127.0.0.1").putrequest("G\\r\\nET", "/")


class _Session(WireSession):
    """Every request runs `attempt`, and whatever it raises is taken for a refusal."""

    def __init__(self, attempt):
        self._attempt = attempt

    def send(self, request):
        try:
            self._attempt()
        except Exception as exc:
            raise RefusedInput(str(exc)) from exc

    def close(self):
        pass


class BrokenAdapter(WireAdapter):
    name = "broken"
    features = frozenset({FEATURE_CUSTOM_METHODS})
    # Even declared, a TypeError is never a proof of refusal.
    validation_errors = (ValueError, TypeError)
    attempt = staticmethod(_unexpected_keyword)

    def open_session(self, *, timeout, tls=None, proxy=None):
        return _Session(self.attempt)

    def classify(self, exc):
        return None


class RefusesEverything(BrokenAdapter):
    name = "refuses-everything"
    validation_errors = (ValueError,)
    attempt = staticmethod(_bad_method)


WIRE_ADAPTER = {adapter}
'''


def _run_refusal_rows(tmp_path: Path, adapter: str) -> dict[str, dict[str, Any]]:
    """The suite's refusal rows of SELECTION run with the adapter file; their records by scenario id."""
    (tmp_path / "adapter_under_test.py").write_text(ADAPTER_FILE.replace("{adapter}", adapter))
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header",
         "suites/test_request_line.py", "suites/test_request_headers.py", "suites/test_field_syntax.py", "-k", f"({SELECTION}) and not api",
         f"--impl={tmp_path / 'adapter_under_test.py'}", f"--results={results}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert results.exists(), completed.stdout + completed.stderr
    document = json.loads(results.read_text(encoding="utf-8"))
    return {record["id"]: record for record in document["results"]}


CONTROL_FAILED = "control failed: the adapter or client cannot run this scenario"


@pytest.mark.parametrize("adapter, causes", [
    # Every request raises TypeError, which the adapter takes for a refusal: no proof. (The
    # refusal rows find it in their control, which runs first.)
    pytest.param("BrokenAdapter()", ["the broken adapter failed, not its client: TypeError"], id="type-error"),
    # Every request is refused with a real validation error of the client: the invalid variants are
    # refused too, but the valid one is not sent either, so those refusals prove nothing.
    pytest.param("RefusesEverything()", [CONTROL_FAILED], id="refuses-everything"),
])
def test_broken_adapter_passes_no_refusal_row(tmp_path: Path, adapter: str, causes: list[str]) -> None:
    records = _run_refusal_rows(tmp_path, adapter)
    assert sorted(records) == sorted(REFUSAL_ROWS)
    verdicts = {scenario: record["verdict"] for scenario, record in records.items()}
    assert verdicts == dict.fromkeys(REFUSAL_ROWS, "error"), verdicts
    for scenario, record in records.items():
        reason = record["reason"]
        assert all(cause in reason for cause in causes), (scenario, reason)


def test_sound_adapter_passes_every_refusal_row(tmp_path: Path) -> None:
    # The control: the same client (http.client) through a sound adapter.
    records = _run_refusal_rows(tmp_path, 'HTTPClientAPIAdapter(http.client, "sound")')
    verdicts = {scenario: record["verdict"] for scenario, record in records.items()}
    assert verdicts == dict.fromkeys(REFUSAL_ROWS, "pass"), verdicts


# -- the proof itself, one request at a time -------------------------------------------------------


class _Raising(WireSession):
    """A session whose send() runs `action` (which raises)."""

    def __init__(self, action: Any) -> None:
        self._action = action

    def send(self, request: WireRequest) -> Response:
        self._action(request)
        raise AssertionError("unreachable: the action raises")

    def close(self) -> None:
        pass


class _Adapter(WireAdapter):
    name = "probe"
    validation_errors = (ValueError,)

    def __init__(self, action: Any, classify: Any = None) -> None:
        self._action = action
        self._classify = classify or (lambda exc: None)

    def open_session(self, *, timeout: float, tls: TLSConfig | None = None, proxy: str | None = None) -> WireSession:
        return _Raising(self._action)

    def classify(self, exc: BaseException) -> ErrorKind | None:
        kind: ErrorKind | None = self._classify(exc)
        return kind


def _request(adapter: WireAdapter) -> Failure | Response:
    return SessionHandle(adapter, adapter.open_session(timeout=1.0)).request("GET", "http://127.0.0.1:1/")


def _client_refuses(request: WireRequest) -> None:
    try:
        # The client (http.client) refuses the method: the ValueError is raised in its code.
        http_client_module().HTTPConnection("127.0.0.1", 1).putrequest("GET\r\nX: 1", "/")
    except ValueError as exc:
        raise RefusedInput(str(exc)) from exc


def http_client_module() -> Any:
    import http.client
    return http.client


def _adapter_raises_value_error(request: WireRequest) -> None:
    try:
        raise ValueError("the adapter's own check")
    except ValueError as exc:
        raise RefusedInput(str(exc)) from exc


def _type_error(request: WireRequest) -> None:
    try:
        http_client_module().HTTPConnection("127.0.0.1", 1, assert_hostname=None)
    except TypeError as exc:
        raise RefusedInput(str(exc)) from exc


def test_a_declared_error_raised_by_the_client_is_a_refusal() -> None:
    outcome = _request(_Adapter(_client_refuses))
    assert isinstance(outcome, Failure) and outcome.kind is ErrorKind.INVALID_INPUT, outcome


@pytest.mark.parametrize("action, why", [
    pytest.param(_type_error, "a programming error, never a client's refusal", id="type-error"),
    pytest.param(_adapter_raises_value_error, "raised by the adapter's own code", id="adapter-raises"),
])
def test_anything_else_is_an_error_naming_the_adapter(action: Any, why: str) -> None:
    with pytest.raises(HarnessError, match=f"the probe adapter failed, not its client: .*{why}"):
        _request(_Adapter(action))


def test_a_classified_refusal_needs_the_same_proof() -> None:
    # classify() saying INVALID_INPUT is no proof either: the exception must be a declared one.
    def fails(request: WireRequest) -> None:
        raise KeyError("adapter bug")

    def refused(request: WireRequest) -> None:
        http_client_module().HTTPConnection("127.0.0.1", 1).putrequest("G ET\r\n", "/")

    always_refusal = (lambda exc: ErrorKind.INVALID_INPUT)
    with pytest.raises(HarnessError, match="probe adapter failed"):
        _request(_Adapter(fails, always_refusal))
    outcome = _request(_Adapter(refused, always_refusal))  # control: a ValueError from http.client
    assert isinstance(outcome, Failure) and outcome.kind is ErrorKind.INVALID_INPUT, outcome


def test_a_broken_classify_is_an_error_naming_the_adapter() -> None:
    # aiohttp before 3.10: classify() looked up aiohttp.ConnectionTimeoutError and raised AttributeError.
    def times_out(request: WireRequest) -> None:
        raise TimeoutError("timed out")

    def broken(exc: BaseException) -> ErrorKind | None:
        raise AttributeError("module 'aiohttp' has no attribute 'ConnectionTimeoutError'")

    with pytest.raises(HarnessError, match="the probe adapter is broken: classifying TimeoutError raised AttributeError"):
        _request(_Adapter(times_out, broken))
    outcome = _request(_Adapter(times_out, lambda exc: ErrorKind.TIMEOUT))  # control
    assert isinstance(outcome, Failure) and outcome.kind is ErrorKind.TIMEOUT, outcome


def test_the_stdlib_adapter_declares_http_client_refusals() -> None:
    import http.client
    adapter = HTTPClientAPIAdapter(http.client, "stdlib")
    assert set(adapter.validation_errors) == {ValueError, http.client.InvalidURL}


# -- the same rule for http.client-API modules ----------------------------------------------------

API_MODULE = '''
import http.client
from http.client import *  # noqa: F403 (the rest of the http.client API)


class HTTPConnection(http.client.HTTPConnection):
    def putrequest(self, method, url, *args, **kwargs):
        raise ValueError("refused")  # every request, valid or not


class HTTPSConnection(http.client.HTTPSConnection):
    putrequest = HTTPConnection.putrequest
'''
API_ROWS = ["request.line.method.refused-api[request-crlf-injection]",
            "request.headers.value.refused-api[putheader-crlf-injection]",
            "request.host.refused[constructor-crlf-injection]"]


@pytest.mark.parametrize("impl, verdict", [
    pytest.param("refuses_everything.py", "error", id="refuses-everything"),
    pytest.param("stdlib", "pass", id="control-stdlib"),
])
def test_api_module_that_refuses_everything_passes_no_refusal_row(tmp_path: Path, impl: str, verdict: str) -> None:
    (tmp_path / "refuses_everything.py").write_text(API_MODULE)
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header",
         "suites/test_request_line.py", "suites/test_request_headers.py", "suites/test_request_host.py", "-k",
         "(test_method_refused_api and request-crlf-injection and not putrequest) or (test_value_refused_api and putheader-crlf-injection)"
         " or (test_host_refused and constructor-crlf-injection)",
         f"--impl={tmp_path / impl if impl.endswith('.py') else impl}", f"--results={results}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert results.exists(), completed.stdout + completed.stderr
    records = {record["id"]: record for record in json.loads(results.read_text(encoding="utf-8"))["results"]}
    assert {scenario: record["verdict"] for scenario, record in records.items()} == dict.fromkeys(API_ROWS, verdict)
    if verdict == "error":
        assert all(CONTROL_FAILED in record["reason"] for record in records.values()), records
