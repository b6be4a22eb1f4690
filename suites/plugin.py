"""The suite's pytest plugin: registered by h1conform.pytest_plugin (the `pytest11` entry point) when a run asks for the suite.

The entry point adds the options (`--impl`, several allowed, `--expect`, `--write-expect`, `--results`,
`--scenario-timeout`) and decides; this plugin then runs every scenario once per implementation;
validates scenario metadata at collection; applies the suite's own settings to scenario tests
(warnings as errors, known marks only), whatever the rootdir and its configuration; marks
scenarios an implementation cannot run as unsupported; enforces the per-scenario deadline; writes
results files (suites/harness/results.py); and gives scenarios the `server`, `client` (api profile)
and `wire` (wire profile) fixtures. It only acts on tests that carry a `@scenario` mark or live in
this `suites` package, and isolates the environment around scenario tests only
(suites/harness/isolation.py). A project that runs scenarios of its own, outside the suites
package, registers it with `-p h1conform.suites.plugin`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from h1conform.pytest_plugin import DEFAULT_IMPLS
from h1conform.servers import ScriptedServer, ServerError, ServerStuck
from h1conform.suites.harness import containment, expectations, isolation, leaks, output, results
from h1conform.suites.harness.deadline import deadline, deadline_paused, scenario_deadline
from h1conform.suites.harness.errors import HarnessError
from h1conform.suites.harness.fixtures import ApiClient, WireClient, cannot_express
from h1conform.suites.harness.impls import Implementation, ImplError, resolve_all
from h1conform.suites.harness.progress import ServersWatch
from h1conform.suites.harness.scenario import MARKER, VARIANT_MARKER, Profile, ScenarioInfo, check
from h1conform.suites.harness.wire import Unsupported

# Fixture modules of the servers that scenarios share (TLS, proxies, origins); loaded with this plugin.
pytest_plugins: list[str] = ["h1conform.suites.harness.proxy_fixtures", "h1conform.suites.harness.tls_fixtures",
                             "h1conform.suites.harness.outcomes", "h1conform.suites.harness.instruments",
                             "h1conform.suites.harness.agent_fixtures"]

SUITES_DIR = Path(__file__).parent
UNSUPPORTED = "unsupported: "  # prefix of skip reasons that mean "this client cannot express it"

IMPLS_KEY = pytest.StashKey[list[Implementation]]()
# Expectations by implementation name; the key None holds a file that applies to every one.
EXPECT_KEY = pytest.StashKey[dict[str | None, dict[str, expectations.Expectation]]]()
INFO_KEY = pytest.StashKey[ScenarioInfo]()
SERVERS_KEY = pytest.StashKey[list[ScriptedServer]]()
OWNERS_KEY = pytest.StashKey[dict[tuple[str, str], str]]()

PROFILE_FIXTURE = {Profile.API: "client", Profile.WIRE: "wire", Profile.AGENT: "agent"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(*, id, refs, level, profile): a conformance scenario "
                            "(declare it with suites.harness.scenario)")
    config.addinivalue_line("markers", f"{VARIANT_MARKER}(level, refs): metadata of one parametrised variant")
    # Registered here, not through pytest_plugins: this module imports it already, and pytest
    # would warn that it cannot assert-rewrite a module imported before it.
    config.pluginmanager.register(isolation, "h1conform-isolation")
    try:
        with isolation.isolated():  # a client may read its proxies or CA bundle when it is imported
            impls = config.stash[IMPLS_KEY] = resolve_all(config.getoption("impl") or DEFAULT_IMPLS)
        names = [impl.name for impl in impls]
        config.stash[EXPECT_KEY] = _load_expectations(config.getoption("expect"), names)
        targets = _targets("--write-expect", config.getoption("write_expect"), names)
    except (ImplError, expectations.ExpectationsError) as exc:
        raise pytest.UsageError(str(exc)) from None
    if not hasattr(config, "workerinput"):  # where the terminal is written: the xdist controller, or the only process
        config.pluginmanager.register(output.ScenarioOutput(config), "h1conform-output")
    if targets and not hasattr(config, "workerinput"):  # on the xdist controller, or without xdist
        config.pluginmanager.register(ExpectationsWriter(targets), "h1conform-expectations-writer")
    results_path = config.getoption("results")
    if results_path:
        # Verdicts are decided where the tests run (the annotator), and gathered where reports
        # arrive (the recorder): the xdist controller, or the only process.
        config.pluginmanager.register(results.ReportAnnotator(INFO_KEY, SERVERS_KEY, UNSUPPORTED),
                                      "h1conform-results-annotator")
        if not hasattr(config, "workerinput"):
            config.pluginmanager.register(results.ResultsRecorder(Path(results_path), config, impls, SUITES_DIR.parent),
                                          "h1conform-results-recorder")


def pytest_report_header(config: pytest.Config) -> list[str]:
    # Warnings an implementation's import raised (impls.resolve): shown once, as notes.
    return [f"note: {note}" for impl in config.stash.get(IMPLS_KEY, []) for note in impl.notes]


def _targets(option: str, values: list[str], impl_names: list[str]) -> dict[str | None, Path]:
    """[IMPL=]FILE values by implementation name (None: every implementation of the run)."""
    targets: dict[str | None, Path] = {}
    for value in values:
        name, separator, path = value.partition("=")
        impl: str | None = name if separator else None
        if impl is not None and impl not in impl_names:
            raise expectations.ExpectationsError(
                f"{option} {value}: {impl!r} is not an implementation of this run ({', '.join(impl_names)})")
        if impl in targets:
            raise expectations.ExpectationsError(f"{option} given twice for {impl or 'every implementation'}")
        targets[impl] = Path(path if separator else name)
    return targets


def _load_expectations(values: list[str], impl_names: list[str]) -> dict[str | None, dict[str, expectations.Expectation]]:
    return {impl: expectations.load(path) for impl, path in _targets("--expect", values, impl_names).items()}


def _is_scenario_function(definition: Any) -> bool:
    return definition.get_closest_marker(MARKER) is not None


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # trylast: the parametrize marks come first, so the implementation is the last part of a
    # test id and the rest of it is the scenario's variant.
    if not _is_scenario_function(metafunc.definition) or "impl" not in metafunc.fixturenames:
        return
    impls = metafunc.config.stash[IMPLS_KEY]
    metafunc.parametrize("impl", impls, ids=[impl.name for impl in impls])


class MetadataProblem(Exception):
    """Scenario metadata that cannot even be read (positional or unknown marker arguments)."""


_FIELDS = {"id", "refs", "level", "profile", "needs", "cves"}


def _scenario_info(item: pytest.Item) -> ScenarioInfo | None:
    mark = item.get_closest_marker(MARKER)
    if mark is None:
        return None
    if mark.args:
        raise MetadataProblem("the scenario mark takes keyword arguments only: use @scenario(...)")
    fields = dict(mark.kwargs)
    missing, unknown = {"id", "refs", "level", "profile"} - fields.keys(), fields.keys() - _FIELDS
    if missing or unknown:
        raise MetadataProblem(f"scenario mark with missing {sorted(missing)} / unknown {sorted(unknown)} "
                              "arguments: use @scenario(id, refs=..., level=..., profile=...)")
    variant_mark = item.get_closest_marker(VARIANT_MARKER)
    if variant_mark is not None:
        fields.update(variant_mark.kwargs)
    base = fields.pop("id", "")
    callspec = getattr(item, "callspec", None)
    variant_id = callspec.id if callspec is not None else ""
    impl = _impl(item)
    if impl is not None:
        variant_id = variant_id.removesuffix(impl.name).removesuffix("-")
    return ScenarioInfo(id=f"{base}[{variant_id}]" if variant_id else base, **fields)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    # Metadata is checked as each module is collected, so a bad scenario is a collection error
    # naming the test; that is reported the same way with or without xdist.
    report: pytest.CollectReport = yield
    if report.passed:
        # dict.fromkeys: the same problem repeats for each implementation; say it once.
        problems = list(dict.fromkeys(problem for node in report.result if isinstance(node, pytest.Item)
                                      for problem in _register(node)))
        if problems:
            report.outcome = "failed"
            report.longrepr = "invalid scenario metadata:\n  " + "\n  ".join(problems)
    return report


def _register(item: pytest.Item) -> list[str]:
    """Check an item's scenario metadata and keep it in the item's stash; return the problems."""
    try:
        info = _scenario_info(item)
    except MetadataProblem as exc:
        return [f"{item.nodeid.split('[', 1)[0]}: {exc}"]
    if info is None:
        if SUITES_DIR in Path(item.path).parents:
            return [f"{item.nodeid.split('[', 1)[0]}: no @scenario(...) metadata (id, refs, level, profile)"]
        return []
    function = item.nodeid.split("[", 1)[0]
    problems = [f"{function} ({info.id}): {problem}" for problem in _problems(item, info)]
    impl = _impl(item)
    owners = item.config.stash.setdefault(OWNERS_KEY, {})
    owner = owners.setdefault((info.id, impl.name if impl else ""), function)
    if owner != function:
        problems.append(f"{function}: scenario id {info.id!r} is also used by {owner}")
    item.stash[INFO_KEY] = info
    _apply_suite_settings(item)
    item.user_properties.append(("scenario", info.id))
    if impl is not None:
        item.user_properties.append(("impl", impl.name))
    # For the terminal's short blocks (suites/harness/output.py), which the xdist controller writes.
    item.user_properties += [("level", info.level.value), ("refs", " ".join(info.refs))]
    return problems


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> Generator[None, None, None]:
    # A wrapper, first: the expectations are matched against every collected scenario, before -k,
    # -m or --deselect take some away (a partial run gates what it runs, and an id it did not
    # select is not an error); a run-wide error is added after them, so that none removes it.
    files = config.stash[EXPECT_KEY]
    matched: set[tuple[str | None, str]] = set()
    collected_bases: set[str] = set()
    for item in items:
        info = item.stash.get(INFO_KEY, None)
        if info is None:
            continue
        collected_bases.add(_base_id(info.id))
        impl = _impl(item)
        _mark_unsupported(item, info, impl)
        for key in (impl.name if impl else None, None):
            expectation = files.get(key, {}).get(info.id)
            if expectation is not None:
                matched.add((key, info.id))
                item.add_marker(pytest.mark.xfail(strict=True, reason=(
                    f"listed in {expectation.source}: {expectation.reason} "
                    "(if it passes now, remove that line)")))
                break
    unmatched = [e for key, listed in files.items() for scenario_id, e in listed.items()
                 if (key, scenario_id) not in matched]
    unknown = _naming_nothing(unmatched, collected_bases) if unmatched else []
    yield
    if config.getoption("controls"):
        _keep_controls(config, items)
    if unknown:
        message = _unknown_ids_message(unknown)
        if hasattr(config, "workerinput"):
            # An xdist worker cannot stop the run with a usage error (xdist reports an internal
            # error); the run fails with this message as its first test instead.
            items.insert(0, ErrorItem.from_parent(session, name="--expect", message=message))
        else:
            raise pytest.UsageError(message)


def _keep_controls(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--controls: deselect every item that is not a scenario's control row."""
    kept = [item for item in items if INFO_KEY in item.stash and is_control(item.stash[INFO_KEY].id)]
    kept_ids = {id(item) for item in kept}
    dropped = [item for item in items if id(item) not in kept_ids]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def is_control(scenario_id: str) -> bool:
    """Whether a scenario row exchanges valid messages: its variant has a `control` or `valid` part
    (`[whole-control-chunked-only]`, `[valid-htab]`), or the whole scenario is about valid input."""
    base, _, variant = scenario_id.partition("[")
    parts = variant.rstrip("]").split("-")
    return base.endswith(".valid") or "control" in parts or "valid" in parts


def _base_id(scenario_id: str) -> str:
    return scenario_id.split("[", 1)[0]


def _naming_nothing(unmatched: list[expectations.Expectation], collected_bases: set[str]) -> list[expectations.Expectation]:
    """The listed ids that name no scenario at all. An id this run did not collect (another file of
    the suite) is fine when the suite declares its scenario; a variant must match exactly when its
    scenario was collected."""
    declared = expectations.declared_scenario_ids(SUITES_DIR)
    return [e for e in unmatched
            if _base_id(e.scenario_id) in collected_bases or _base_id(e.scenario_id) not in declared]


SHOWN_UNKNOWN_IDS = 5


def _unknown_ids_message(unknown: list[expectations.Expectation]) -> str:
    shown = ", ".join(f"{e.scenario_id} ({e.source})" for e in unknown[:SHOWN_UNKNOWN_IDS])
    more = f", and {len(unknown) - SHOWN_UNKNOWN_IDS} more" if len(unknown) > SHOWN_UNKNOWN_IDS else ""
    count = f"{len(unknown)} listed ids match" if len(unknown) > 1 else "a listed id matches"
    return f"--expect: {count} no scenario of the suite: {shown}{more}"


class ErrorItem(pytest.Item):
    """A test that fails with a message: how a worker reports a run-wide configuration error."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def runtest(self) -> None:
        raise pytest.fail.Exception(self.message, pytrace=False)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


def _problems(item: pytest.Item, info: ScenarioInfo) -> list[str]:
    problems = check(info)
    fixture = PROFILE_FIXTURE.get(info.profile)
    if fixture is not None and fixture not in getattr(item, "fixturenames", ()):
        problems.append(f"profile {info.profile.value} but the test does not use the {fixture!r} fixture")
    # --strict-markers for scenarios, whatever the run's configuration: a misspelt mark
    # (pytest.mark.skipif written pytest.mark.skip_if) would otherwise be silently ignored.
    unknown = sorted({mark.name for mark in item.iter_markers()} - _registered_marks(item.config))
    if unknown:
        problems.append(f"unknown marks {unknown} (not registered in the run's `markers`)")
    return problems


def _registered_marks(config: pytest.Config) -> set[str]:
    # "name(args): help" lines, as pytest itself reads them for --strict-markers.
    return {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}


def _apply_suite_settings(item: pytest.Item) -> None:
    """The suite's own settings, on each scenario: they hold whatever the rootdir's configuration is
    (the suite run with --pyargs from elsewhere, or from a project's rootdir), not only in a checkout."""
    # Warnings are errors (ResourceWarning included: a client that leaks a socket fails). First
    # among the marks, so a scenario module's own filterwarnings marks still take precedence.
    item.add_marker(pytest.mark.filterwarnings("error"), append=False)


def _impl(item: pytest.Item) -> Implementation | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("impl") if callspec is not None else None


def _mark_unsupported(item: pytest.Item, info: ScenarioInfo, impl: Implementation | None) -> None:
    if impl is None:
        return
    if info.profile is Profile.API and not impl.has_api:
        reason = f"{impl.name} has no http.client API (wire adapter only)"
    elif info.profile is Profile.WIRE and impl.wire.unavailable:
        reason = impl.wire.unavailable
    elif info.profile is Profile.WIRE and not info.needs <= impl.wire.features:
        reason = cannot_express(impl.name, info.needs - impl.wire.features)
    elif info.profile is Profile.AGENT and (impl.wire.unavailable or not impl.wire.agent_features):
        reason = impl.wire.unavailable or f"{impl.name}: {impl.wire.no_agent_mode}"
    elif info.profile is Profile.AGENT and not info.needs <= impl.wire.agent_features | impl.wire.features:
        reason = f"{impl.name} as a user agent lacks {sorted(info.needs - impl.wire.agent_features - impl.wire.features)}"
    else:
        return
    item.add_marker(pytest.mark.skip(reason=UNSUPPORTED + reason))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    if INFO_KEY not in item.stash:
        return (yield)
    servers = item.stash.setdefault(SERVERS_KEY, [])
    leaks.boundary(item.nodeid)  # what earlier code left unclosed is not this scenario's to answer for
    try:
        # The deadline times the client's lack of progress with these servers (per example, in a property).
        with scenario_deadline(getattr(item, "obj", None), item.config.getoption("scenario_timeout"),
                               ServersWatch(servers)):
            # A client's BaseException becomes this scenario's own verdict, not the run's end;
            # what it leaves unclosed, its failure (suites/harness/leaks.py).
            with containment.client_code("running the scenario"), leaks.attributed():
                result = yield
    except Unsupported as exc:
        _close_servers(servers)
        pytest.skip(UNSUPPORTED + str(exc))
    except BaseException as exc:
        problem = _close_servers(servers)
        if (isinstance(problem, HarnessError) and not isinstance(exc, HarnessError | pytest.exit.Exception)
                and not containment.is_user_interrupt(exc)):
            raise problem from exc  # the harness broke too: what the client did cannot be judged
        if problem is not None:
            exc.add_note(str(problem))
        raise
    # The client is done: stop the servers now, so that whatever a script expected and did not
    # get fails this scenario (a client's failure), instead of erroring in teardown.
    problem = _close_servers(servers)
    if problem is not None:
        raise problem
    return result


def _close_servers(servers: list[ScriptedServer]) -> ServerError | HarnessError | None:
    """Close every server; the problems, as one ServerError (what the client did not do), or one
    HarnessError if a server broke for its own reasons (then nothing the client did can be judged)."""
    problems: list[str] = []
    harness_broke = False
    for server in servers:
        try:
            server.close()
        except (ServerError, HarnessError) as exc:
            problems.append(str(exc))
            # A server thread that got stuck, or whose own harness wait ran out (a `call` step's
            # harness_wait), is the harness failing, whatever the client did.
            harness_broke = (harness_broke or isinstance(exc, HarnessError | ServerStuck)
                             or any(isinstance(error, HarnessError) for error in server.errors))
    if not problems:
        return None
    return (HarnessError if harness_broke else ServerError)("\n".join(problems))


# Setup has no deadline: it is the harness's work (servers, certificates, mitmproxy), not the client's.


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    # Teardown closes the client's connections: a close() that hangs is a timeout too, and what
    # the close leaves unclosed is the scenario's failure (suites/harness/leaks.py).
    if INFO_KEY not in item.stash:
        return (yield)
    with deadline(item.config.getoption("scenario_timeout"),
                  ServersWatch(item.stash.setdefault(SERVERS_KEY, []), closing=True)), leaks.attributed():
        return (yield)


def pytest_sessionfinish() -> None:
    leaks.release()  # pytest's last garbage collection sees every object again


class ExpectationsWriter:
    """Collects failing scenarios from the run's reports (on the xdist controller too) and writes them."""

    def __init__(self, targets: dict[str | None, Path]) -> None:
        self.targets = targets
        self.failures: dict[str | None, dict[str, str]] = {impl: {} for impl in targets}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.failed:
            return
        properties = dict(report.user_properties)
        scenario_id, impl = properties.get("scenario"), properties.get("impl")
        if scenario_id is None:
            return
        crash = str(getattr(report.longrepr, "reprcrash", None) and report.longrepr.reprcrash.message  # type: ignore[union-attr]
                    or report.longreprtext).strip().splitlines()[0][:160]
        # A client's text: it must not break the file's UTF-8 (a lone surrogate) or its lines.
        reason = "".join(char if char.isprintable() else repr(char)[1:-1] for char in results.clean_text(crash))
        for key in (impl, None):
            if key in self.failures:
                self.failures[key].setdefault(str(scenario_id), reason)
                break

    def pytest_sessionfinish(self) -> None:
        for impl, path in self.targets.items():
            rows = sorted(self.failures[impl].items())
            width = max((len(scenario_id) for scenario_id, _ in rows), default=0)
            lines = [f"# Scenarios that failed for {impl or 'this run'}, written by --write-expect.",
                     "# Check each reason before using this file as a CI gate (--expect).", ""]
            lines += [f"{scenario_id.ljust(width)}  {reason}" for scenario_id, reason in rows]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def impl() -> Implementation:
    raise pytest.UsageError("the 'impl' fixture is only available to @scenario tests")


@pytest.fixture
def scenario_info(request: pytest.FixtureRequest) -> ScenarioInfo:
    info: ScenarioInfo = request.node.stash[INFO_KEY]
    return info


@pytest.fixture
def make_server(request: pytest.FixtureRequest) -> Iterator[Callable[..., ScriptedServer]]:
    """Factory for scripted servers (e.g. make_server("::1")); all are closed at teardown."""
    servers = request.node.stash.setdefault(SERVERS_KEY, [])
    opened: list[ScriptedServer] = []

    def make(host: str = "127.0.0.1", **kwargs: Any) -> ScriptedServer:
        with deadline_paused():  # the harness's work, even when a scenario starts a server itself
            server = ScriptedServer(host, **kwargs)
        opened.append(server)
        servers.append(server)
        return server

    yield make
    for server in opened:
        server.close()


@pytest.fixture
def server(make_server: Callable[..., ScriptedServer]) -> ScriptedServer:
    """A scripted server on 127.0.0.1."""
    return make_server()


@pytest.fixture
def client(impl: Implementation, request: pytest.FixtureRequest) -> Iterator[ApiClient]:
    """The implementation's http.client API (api profile)."""
    threads = containment.ThreadWatch(request.node.nodeid)
    api = ApiClient(impl)
    yield api
    with containment.client_code("closing its connections", closing=True):
        api.close_all()
    threads.check()


@pytest.fixture
def wire(impl: Implementation, request: pytest.FixtureRequest) -> Iterator[WireClient]:
    """The implementation's wire adapter (wire profile)."""
    threads = containment.ThreadWatch(request.node.nodeid)
    handle = WireClient(impl)
    yield handle
    with containment.client_code("closing its sessions", closing=True):
        handle.close_all()
    threads.check()
