"""Tests of the built-in client adapters (suites/adapters), their registration in suites.harness.impls,
and of the third-party entry point path with the example package (examples/h1conform-example-adapter).

The adapters are driven directly against a scripted server: what each sends and returns, keep-alive,
error kinds, refusals and idempotent closing. Whole-profile behaviour is the suite's business
(`pytest suites/ --impl=NAME`); these tests pin down the adapter code itself. A client that is not
installed skips its rows.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from h1conform.servers import ScriptedServer, close, expect_request, respond, send
from h1conform.suites.adapters._common import causes, classify_chain, has_duplicate_names, http_version
from h1conform.suites.harness.impls import ADAPTERS, ImplError, resolve
from h1conform.suites.harness.wire import ErrorKind, Failure, Response, SessionHandle, Unsupported, WireAdapter

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "h1conform-example-adapter"
USAGE_ERROR = pytest.ExitCode.USAGE_ERROR

# Clients whose request headers are a mapping: they cannot send a field name twice.
NO_DUPLICATES = {"requests", "urllib"}
# Clients that do not keep connections alive (urllib.request sends Connection: close).
NO_KEEP_ALIVE = {"urllib"}


def _adapter(name: str) -> WireAdapter:
    pytest.importorskip(ADAPTERS[name].client)
    return resolve(name).wire


@pytest.fixture(params=sorted(ADAPTERS))
def adapter(request: pytest.FixtureRequest) -> WireAdapter:
    return _adapter(request.param)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer("127.0.0.1")
    yield scripted
    scripted.close()


def _session(adapter: WireAdapter, timeout: float = 3.0) -> SessionHandle:
    return SessionHandle(adapter, adapter.open_session(timeout=timeout))


# -- resolution ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_builtin_name_resolves_to_its_adapter(name: str) -> None:
    pytest.importorskip(ADAPTERS[name].client)
    impl = resolve(name)
    assert (impl.name, impl.module, impl.has_api) == (name, None, False)
    assert type(impl.wire).__module__ == ADAPTERS[name].module
    distribution = ADAPTERS[name].distribution
    assert impl.version.startswith(f"{distribution} " if distribution else "CPython "), impl.version


def test_dotted_module_is_not_shadowed_by_an_adapter_name() -> None:
    # --impl=urllib3 is the adapter; urllib3.connection is still urllib3's own http.client-API module.
    pytest.importorskip("urllib3")
    impl = resolve("urllib3.connection")
    assert impl.has_api and impl.module is importlib.import_module("urllib3.connection")


def test_missing_client_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # importing httpx now fails as if it were absent
    with pytest.raises(ImplError) as raised:
        resolve("httpx")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("--impl=httpx: the httpx adapter needs httpx")
    assert "pip install 'httpx>=" in message and "h1conform[clients]" in message


def test_missing_client_is_a_one_line_usage_error(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _strict_ini(pytester)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    monkeypatch.setitem(sys.modules, "httpx", None)
    result = pytester.runpytest("--impl=httpx")
    assert result.ret == USAGE_ERROR, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1 and "pip install" in errors[0] and "httpx" in errors[0], errors
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_too_old_a_client_is_a_one_line_usage_error(pytester: pytest.Pytester,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("urllib3")
    _strict_ini(pytester)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    installed = importlib.metadata.version

    def version(distribution: str) -> str:
        return "1.25.11" if distribution == "urllib3" else installed(distribution)

    assert pytester.runpytest("--impl=urllib3").ret == pytest.ExitCode.OK  # control: the installed release
    monkeypatch.setattr(importlib.metadata, "version", version)
    result = pytester.runpytest("--impl=urllib3")
    assert result.ret == USAGE_ERROR, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.errlines if line.strip()]
    assert errors == ["ERROR: --impl=urllib3: urllib3 1.25.11 is not supported: the urllib3 adapter supports "
                      "urllib3 1.26 and later (pip install 'urllib3>=1.26')"], errors


WARNS_ON_IMPORT = """
import warnings
from http.client import *  # noqa: F403 (the http.client API)
from http.client import HTTPConnection

# As six does on Python 3.11 when an old client imports it.
warnings.warn("_SixMetaPathImporter.find_spec() not found; falling back to find_module()", ImportWarning)
"""


@pytest.mark.parametrize("warns", [True, False], ids=["warns", "control"])
def test_warnings_on_import_are_notes(pytester: pytest.Pytester, warns: bool) -> None:
    _strict_ini(pytester)  # filterwarnings = error
    pytester.makepyfile(warning_client=WARNS_ON_IMPORT if warns else WARNS_ON_IMPORT.split("# As six")[0],
                        test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--impl=warning_client.py")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    notes = [line for line in result.outlines if line.startswith("note: ")]
    assert notes == (["note: --impl=warning_client.py: importing it warned: ImportWarning: "
                      "_SixMetaPathImporter.find_spec() not found; falling back to find_module()"] if warns else [])


# -- each adapter against a scripted server ---------------------------------------------------------


def test_response_as_the_client_exposes_it(adapter: WireAdapter, server: ScriptedServer) -> None:
    server.add_connection(respond(b"HTTP/1.1 201 Made It\r\nX-One: 1\r\nContent-Length: 5\r\nX-Two: 2\r\n\r\nhello"))
    with _session(adapter) as session:
        outcome = session.request("POST", server.url("/path?q=1"), [("X-Sent", "yes")], b"body!")
    assert isinstance(outcome, Response), outcome
    assert (outcome.status, outcome.reason, outcome.body, outcome.version) == (201, "Made It", b"hello", "HTTP/1.1")
    names = [name.lower() for name, _ in outcome.headers]
    assert names.index("x-one") < names.index("content-length") < names.index("x-two"), outcome.headers
    sent = server.requests[0]
    assert (sent.method, sent.target, sent.body) == (b"POST", b"/path?q=1", b"body!")
    assert sent.header_values("x-sent") == [b"yes"]


def test_response_fields_are_the_octets_received(adapter: WireAdapter, server: ScriptedServer) -> None:
    # The wire profile holds received octets as ISO-8859-1 text, each name in the case it was sent:
    # httpx's str views lower-case names and decode UTF-8, aiohttp's decode UTF-8 with surrogates;
    # the adapters hand over the octets those clients keep. The control is the ASCII field.
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nX-Mixed-Case: ascii\r\nX-Latin: caf\xe9\r\n"
                                  b"X-Utf8: \xc3\x9c\r\nContent-Length: 2\r\n\r\nok"))
    with _session(adapter) as session:
        outcome = session.request("GET", server.url("/"))
    assert isinstance(outcome, Response), outcome
    assert outcome.headers[:3] == [("X-Mixed-Case", "ascii"), ("X-Latin", "caf\xe9"), ("X-Utf8", "\xc3\x9c")]


def test_request_field_with_obs_text_is_sent_as_its_octet(adapter: WireAdapter, server: ScriptedServer) -> None:
    # "caf\xe9" stands for the octets c a f 0xE9 (obs-text is valid in a field value); httpx sends
    # only ASCII from a str, so its adapter hands it bytes. "plain" is the control.
    if adapter.name == "aiohttp":
        pytest.skip("aiohttp writes every str field as UTF-8 and takes no bytes: it cannot send the octet 0xE9")
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    with _session(adapter) as session:
        outcome = session.request("GET", server.url("/"), [("X-Plain", "plain"), ("X-Latin", "caf\xe9")])
    assert isinstance(outcome, Response), outcome
    sent = server.requests[0]
    assert (sent.header_values("x-plain"), sent.header_values("x-latin")) == ([b"plain"], [b"caf\xe9"])


@pytest.mark.parametrize("lines, fields", [
    pytest.param([b"X-A: v\r\n"], [("X-A", "v")], id="control-plain"),
    pytest.param([b"X-A: a\r\n", b"  \tb  \r\n"], [("X-A", "a\tb")], id="fold-keeps-the-last-blank"),
    pytest.param([b"X-A: a\r\n", b" \r\n"], [("X-A", "a")], id="fold-of-blanks-only"),
    pytest.param([b" X-A: v\r\n", b"\tX-B: w\r\n"], [("X-A", "v\tX-B: w")], id="blank-first-line"),
    pytest.param([b"X-A: v\r\n", b"\r\n", b"X-Trailer: t\r\n"], [("X-A", "v")], id="trailer-after-head"),
])
def test_pycurl_head_reads_lines_as_libcurl_header_store(lines: list[bytes], fields: list[tuple[str, str]]) -> None:
    # libcurl's curl_easy_header(): an obs-fold line joins the value before it with the last of its
    # leading blanks; a blank-led line with no field before it is a field once its blanks go.
    pycurl_adapter = pytest.importorskip("h1conform.suites.adapters.pycurl_adapter")
    head = pycurl_adapter._Head()
    for line in [b"HTTP/1.1 200 OK\r\n", *lines]:
        head.line(line)
    assert head.headers == fields


def test_session_keeps_the_connection(adapter: WireAdapter, server: ScriptedServer) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    if adapter.name in NO_KEEP_ALIVE:
        server.add_connection(respond(ok))
        server.add_connection(respond(ok))
    else:
        server.add_connection(respond(ok), respond(ok))
    with _session(adapter) as session:
        for path in ("/1", "/2"):
            assert isinstance(session.request("GET", server.url(path)), Response)
    assert len(server.connections) == (2 if adapter.name in NO_KEEP_ALIVE else 1)


def test_duplicate_request_fields(adapter: WireAdapter, server: ScriptedServer) -> None:
    headers = [("X-Dup", "a"), ("X-Dup", "b")]
    if adapter.name in NO_DUPLICATES:
        with _session(adapter) as session, pytest.raises(Unsupported):
            session.request("GET", server.url("/"), headers)
        return
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    with _session(adapter) as session:
        assert isinstance(session.request("GET", server.url("/"), headers), Response)
    assert server.requests[0].header_values("x-dup") in ([b"a", b"b"], [b"a, b"])


@pytest.mark.parametrize("script, kind", [
    pytest.param([expect_request(), send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"), close()],
                 ErrorKind.INCOMPLETE, id="body-cut-short"),
    pytest.param([expect_request(), close()], ErrorKind.CLOSED, id="closed-before-response"),
    pytest.param([expect_request(), send(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello"), close()],
                 ErrorKind.PROTOCOL, id="conflicting-content-length"),
])
def test_error_kinds(adapter: WireAdapter, server: ScriptedServer, script: list[Any], kind: ErrorKind) -> None:
    server.add_connection(*script)
    server.add_connection(*script, optional=True)  # a client may retry an idempotent request once
    with _session(adapter) as session:
        outcome = session.request("GET", server.url("/"))
    if kind is ErrorKind.PROTOCOL and isinstance(outcome, Response):
        pytest.skip(f"{adapter.name} accepts conflicting Content-Length values (the suite reports it)")
    if kind is ErrorKind.INCOMPLETE and isinstance(outcome, Response):
        # requests 2.28 over urllib3 1.26 does not check Content-Length (urllib3 2 does).
        pytest.skip(f"{adapter.name} accepts a body shorter than its Content-Length (the suite reports it)")
    assert isinstance(outcome, Failure) and outcome.kind is kind, outcome


def test_timeout(adapter: WireAdapter, server: ScriptedServer) -> None:
    server.add_connection(expect_request())  # then reads on, never answering
    with _session(adapter, timeout=0.2) as session:
        outcome = session.request("GET", server.url("/"))
    assert isinstance(outcome, Failure) and outcome.kind is ErrorKind.TIMEOUT, outcome


def test_refused_before_sending(adapter: WireAdapter, server: ScriptedServer) -> None:
    # A field value with CR LF. httpx and aiohttp connect before they check the request (h11 and
    # aiohttp's writer refuse it then): a connection on which nothing arrives is allowed.
    server.add_connection(optional=True)
    with _session(adapter) as session:
        outcome = session.request("GET", server.url("/"), [("X-Bad", "a\r\nX-Injected: 1")])
    if isinstance(outcome, Response) or server.bytes_received:
        pytest.skip(f"{adapter.name} sends a field value with CR LF (the suite reports it)")
    assert isinstance(outcome, Failure) and outcome.kind is ErrorKind.INVALID_INPUT, outcome


def test_close_is_idempotent(adapter: WireAdapter) -> None:
    session = adapter.open_session(timeout=1.0)
    session.close()
    session.close()


# -- the shared helpers ------------------------------------------------------------------------------


def test_causes_follows_every_way_of_wrapping() -> None:
    root = ConnectionResetError("reset")
    by_argument = OSError("aborted", root)
    try:
        try:
            raise by_argument
        except OSError as exc:
            raise RuntimeError("wrapper") from exc
    except RuntimeError as outer:
        chain = list(causes(outer))
    assert chain[0].args == ("wrapper",) and chain[1] is by_argument and chain[2] is root


def test_classify_chain_prefers_the_precise_cause_then_the_innermost_wrapper() -> None:
    wrapped = ValueError("outer")
    wrapped.__cause__ = LookupError("middle")
    wrapped.__cause__.__cause__ = ConnectionResetError()
    assert classify_chain(wrapped, lambda _: None) is ErrorKind.CLOSED
    generic = ValueError("outer")
    generic.__cause__ = LookupError("inner")

    def fallback(exc: BaseException) -> ErrorKind | None:
        kinds: dict[type[BaseException], ErrorKind] = {ValueError: ErrorKind.PROTOCOL,
                                                       LookupError: ErrorKind.INCOMPLETE}
        return kinds.get(type(exc))

    assert classify_chain(generic, lambda _: None, fallback) is ErrorKind.INCOMPLETE


@pytest.mark.parametrize("partial, expected, kind", [
    pytest.param(3, 2, ErrorKind.INCOMPLETE, id="control-short-body"),
    pytest.param(10, -5, ErrorKind.PROTOCOL, id="body-past-content-length"),
])
def test_urllib3_incomplete_read_past_its_length_is_a_protocol_error(partial: int, expected: int,
                                                                     kind: ErrorKind) -> None:
    # requests' streamed read of "Content-Length: 5, 5" then 10 octets: urllib3 takes the length as 5,
    # http.client reads to the close, and urllib3 raises IncompleteRead(10, -5).
    urllib3_adapter = pytest.importorskip("h1conform.suites.adapters.urllib3_adapter")
    import urllib3.exceptions
    assert urllib3_adapter.urllib3_kind(urllib3.exceptions.IncompleteRead(partial, expected)) is kind


def test_header_helpers() -> None:
    assert has_duplicate_names([("A", "1"), ("a", "2")]) and not has_duplicate_names([("A", "1"), ("B", "2")])
    assert [http_version(v) for v in (11, 10, (1, 1), None, 99)] == ["HTTP/1.1", "HTTP/1.0", "HTTP/1.1", None, None]


# -- a third-party package registering by entry point -------------------------------------------------

EXAMPLE_SCENARIOS = r'''
from h1conform.servers import respond
from h1conform.suites.harness import API, API_LEVEL, MUST, WIRE, expect_response, scenario


@scenario("demo.example.wire", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_wire(server, wire):
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
    assert expect_response(wire.request("GET", server.url("/"))).body == b"hello"


@scenario("demo.example.api", refs=["http.client.HTTPResponse.read"], level=API_LEVEL, profile=API)
def test_api(server, client):
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
    conn = client.connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"hello"
'''


def _strict_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n"
                     "    ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning\n"
                     "xfail_strict = true\n"
                     "addopts = --strict-markers -p no:hypothesispytest -p no:cacheprovider\n")


def _install_example(site: Path) -> None:
    """What `pip install` of the example leaves behind: a .dist-info with its entry points, taken
    from its pyproject.toml, and its source on the path."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    dist_info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = [f"[{group}]" + "".join(f"\n{name} = {value}" for name, value in entries.items())
             for group, entries in project["entry-points"].items()]
    (dist_info / "entry_points.txt").write_text("\n\n".join(lines) + "\n")


def test_example_package_entry_points(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _strict_ini(pytester)
    pytester.makepyfile(test_example=EXAMPLE_SCENARIOS)
    site = pytester.mkdir("site")
    _install_example(site)
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    monkeypatch.syspath_prepend(str(site))
    result = pytester.runpytest("--impl=example-wire", "--impl=example-api", "-rA")
    result.assert_outcomes(passed=3, skipped=1)
    result.stdout.fnmatch_lines(["PASSED test_example.py::test_wire?example-wire?",
                                 "PASSED test_example.py::test_wire?example-api?",
                                 "PASSED test_example.py::test_api?example-api?",
                                 "SKIPPED * unsupported: example-wire has no http.client API*"])
