"""The HTML report in a real headless browser: Debian's chromium driven by selenium through the
system chromedriver.

It loads without console errors, the filters change what is shown, a detail view opens and
closes, and a large report stays fast. A report of hostile results (tests/test_reports_hostile.py's
strategy: script, markup, Markdown and JSON-in-HTML syntax, controls, lone surrogates in every
field) shows its rows and reasons as text, runs no script, gains no element and requests nothing.

The browser is offline and leaves nothing behind: its background services are switched off, what
would still leave goes to a recording proxy on loopback, host names do not resolve, a watch on
the kernel's socket tables checks that no socket of the browser's processes leaves loopback, and
everything it writes (profile, temporary files, caches) is in one folder removed at the end.
Screenshots are written to build/artifacts/ (an artifact of the run). The browser is installed here when missing (`apt-get install chromium
chromium-driver`, as root); when that is impossible the tests are skipped with the reason, except
in CI (CI=true), where they fail: CI must run them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from test_reports_hostile import fixed_hostile_runs, hostile_runs, template, write_runs

from h1conform.reports import html
from h1conform.reports.load import load
from h1conform.reports.model import build

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "build" / "artifacts"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WAIT = 15.0  # seconds: the bound of every wait on the page
INSTALL_TIMEOUT = 600
DRIVER_ATTEMPTS = 3


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the browser tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_paths() -> tuple[str, str]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            _unavailable(f"{CHROMIUM} or {CHROMEDRIVER} is missing and this is not root on Debian "
                         "(install: apt-get install chromium chromium-driver)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]):
            done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, env=env, check=False)
            if done.returncode != 0:
                _unavailable(f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        _unavailable("apt-get did not install chromium and chromium-driver")
    return CHROMIUM, CHROMEDRIVER


# -- an offline Chromium that leaves nothing behind ---------------------------------------------------

# Chromium's own traffic (component and safe-browsing updates, sign-in, sync, metrics, domain
# reliability, default apps, network time...) switched off; whatever is left goes to the recording
# proxy on loopback, and no host name resolves (so no DNS query is made). chromedriver passes
# --disable-features=IgnoreDuplicateNavs,Prewarm itself: a second --disable-features replaces it,
# so those two are repeated here.
OFFLINE_FLAGS = (
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--no-default-browser-check", "--disable-default-apps", "--disable-domain-reliability", "--disable-breakpad",
    "--metrics-recording-only", "--disable-client-side-phishing-detection", "--password-store=basic",
    "--disable-features=IgnoreDuplicateNavs,Prewarm,NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,"
    "Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater,DnsOverHttps",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)
# What Chromium 156 (Debian) still asks for with every flag above, all of it at start-up: the
# default search engine's preconnect, the extension/component updater and the Google account
# check. It reaches only the recording proxy on loopback, which answers 502; any other host there
# (one a page asked for) fails the test.
CHROMIUM_OWN_HOSTS = frozenset({"start.duckduckgo.com", "update.googleapis.com", "accounts.google.com",
                                "clients2.google.com"})
# What the recording proxy notes for a connection that closed without asking for anything.
NO_REQUEST = "(a connection, no request)"


class RecordingProxy:
    """An HTTP proxy on loopback that forwards nothing: it records the first line of each request
    (or that a connection came and sent none) and answers 502. Chromium is told to send everything
    that is not loopback to it, so what would have left the machine is listed here instead."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.requests: list[str] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="recording-proxy", daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # the listener was shut down
                return
            thread = threading.Thread(target=self._answer, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(WAIT)
            head = b""
            try:
                while b"\r\n" not in head and len(head) < 8192:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                self.requests.append(head.split(b"\r\n", 1)[0].decode("latin-1") or NO_REQUEST)
                connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError as exc:
                self.requests.append(f"(a connection that broke: {exc})")

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self.listener.close()
        for thread in [self._accepting, *self._threads]:
            thread.join(WAIT)
            assert not thread.is_alive(), "the recording proxy did not stop"


def _address(hex_address: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """/proc/net/{tcp,udp}[6] writes "0100007F:1F90": the address in host (little-endian) 32-bit
    words, then the port."""
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[index:index + 4][::-1] for index in range(0, len(raw), 4))
    return ipaddress.ip_address(words), int(port, 16)


def _loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


TCP_LISTEN = "0A"


def leaves_loopback(kind: str, local: str, remote: str, state: str) -> bool:
    """Whether a socket of /proc/net/<kind> can carry data off loopback (or is a DNS query)."""
    local_address, _ = _address(local)
    remote_address, remote_port = _address(remote)
    if remote_port == 53:
        return True  # a DNS query, to whatever resolver: it would leave the machine next
    if kind.startswith("tcp"):
        return state != TCP_LISTEN and not remote_address.is_unspecified and not _loopback(remote_address)
    if not remote_address.is_unspecified:  # a connected UDP socket
        return not _loopback(remote_address)
    return not _loopback(local_address)  # unconnected: bound to the wildcard or a real interface


def descendants(root: int) -> set[int]:
    """The processes under `root` (not itself), from /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found: set[int] = set()
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


class LoopbackWatch:
    """Samples the kernel's socket tables (/proc/net/tcp, tcp6, udp, udp6) and keeps every socket of
    the watched processes that `leaves_loopback`. A socket that lives less than the interval between
    samples can be missed: the recording proxy and the resolver rules are what stop traffic; this
    checks that nothing got round them."""

    INTERVAL = 0.01

    def __init__(self, processes: Callable[[], set[int]]) -> None:
        self.processes = processes
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loopback-watch", daemon=True)
        self._failure: BaseException | None = None

    def sample(self) -> list[str]:
        """The watched processes' sockets that leave loopback now (and remembers them)."""
        candidates: dict[str, str] = {}  # inode -> description
        for kind in ("tcp", "tcp6", "udp", "udp6"):
            for line in Path(f"/proc/net/{kind}").read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                # No memory of inodes that belonged to other processes: the kernel reuses them.
                if inode != "0" and leaves_loopback(kind, local, remote, state):
                    address, port = _address(remote)
                    candidates[inode] = f"{kind} {_address(local)[0]} -> {address}:{port}"
        if not candidates:
            return []
        owners: dict[str, int] = {}
        for pid in self.processes():
            try:
                descriptors = os.listdir(f"/proc/{pid}/fd")
            except OSError:  # the process is gone
                continue
            for fd in descriptors:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:  # closed meanwhile: the process's other descriptors still count
                    continue
                if target.startswith("socket:["):
                    owners[target[8:-1]] = pid
        found = []
        for inode, description in candidates.items():
            if inode in owners:
                found.append(f"{description} (process {owners[inode]})")
        self.seen.extend(found)
        return found

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.INTERVAL):
                self.sample()
        except BaseException as exc:  # re-raised by stop(): a watch that broke proves nothing
            self._failure = exc

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "the loopback watch did not stop"
        if self._failure is not None:
            raise self._failure


@dataclass
class Browser:
    driver: Any
    proxy: RecordingProxy
    watch: LoopbackWatch
    folder: Path  # TMPDIR, HOME and the profile of chromedriver and Chromium: removed afterwards

    def requests_for_pages(self) -> list[str]:
        """What reached the proxy, less Chromium's own start-up traffic (CHROMIUM_OWN_HOSTS) and the
        connections it opens ahead of time and closes unused (they asked for nothing)."""
        return [request for request in self.proxy.requests
                if request != NO_REQUEST and _requested_host(request) not in CHROMIUM_OWN_HOSTS]

    def assert_offline(self) -> None:
        """No socket left loopback, and nothing but Chromium's own services asked to."""
        self.watch.sample()
        assert self.watch.seen == [], f"sockets off loopback: {self.watch.seen}"
        assert self.requests_for_pages() == [], f"the browser tried to reach: {self.proxy.requests}"


def _requested_host(request_line: str) -> str:
    """The host of "CONNECT host:443 HTTP/1.1" or "GET http://host/path HTTP/1.1"."""
    target = request_line.split(" ")[1] if request_line.count(" ") >= 2 else ""
    return target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]


CHROMIUM_LEFTOVERS = ("org.chromium.*", ".org.chromium.*", "scoped_dir*", ".com.google.Chrome.*")


def chromium_leftovers() -> set[Path]:
    """What Chromium or chromedriver leave in the system's temporary folder when not contained."""
    folder = Path(tempfile.gettempdir())
    return {path for pattern in CHROMIUM_LEFTOVERS for path in folder.glob(pattern)}


@contextlib.contextmanager
def offline_chromium(paths: tuple[str, str]) -> Iterator[Browser]:
    """Chromium through chromedriver, offline: its traffic switched off or sent to a recording proxy
    on loopback, watched for sockets off loopback, and everything it writes (profile, temporary
    files, caches, crash reports) kept in one folder that is removed when it ends."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[dev]')")
    chromium, chromedriver = paths
    folder = Path(tempfile.mkdtemp(prefix="h1conform-chromium-"))
    proxy = RecordingProxy()
    # The processes under this one are chromedriver and the browser: known from the start, before
    # chromedriver has a pid to give.
    watch = LoopbackWatch(lambda: descendants(os.getpid()))
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,900", "--disable-extensions", *OFFLINE_FLAGS,
                     f"--proxy-server=http://127.0.0.1:{proxy.port}", f"--user-data-dir={folder / 'profile'}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    environment = {**os.environ, "TMPDIR": str(folder), "HOME": str(folder / "home"),
                   "XDG_CONFIG_HOME": str(folder / "config"), "XDG_CACHE_HOME": str(folder / "cache")}
    chrome = None
    try:
        watch.start()
        # chromedriver listens on a port selenium picked as free a moment before: on a busy machine it
        # can lose that race and exit at once; a bounded retry covers it.
        for attempt in range(DRIVER_ATTEMPTS):
            try:
                chrome = webdriver.Chrome(service=Service(chromedriver, env=environment), options=options)
                break
            except WebDriverException:
                if attempt == DRIVER_ATTEMPTS - 1:
                    raise
        assert chrome is not None
        chrome.set_page_load_timeout(WAIT)
        yield Browser(chrome, proxy, watch, folder)
    finally:
        try:
            if chrome is not None:
                chrome.quit()
        finally:
            watch.stop()
            proxy.close()
            shutil.rmtree(folder)


@pytest.fixture(scope="module")
def browser(browser_paths: tuple[str, str]) -> Iterator[Browser]:
    with offline_chromium(browser_paths) as started:
        yield started


@pytest.fixture
def driver(browser: Browser) -> Iterator[Any]:
    """The module's browser, for one test, which must not have sent anything off loopback."""
    yield browser.driver
    browser.assert_offline()


def record(scenario_id: str, impl: str, verdict: str, level: str = "MUST", trace: Any = None) -> dict[str, Any]:
    refs = {"MUST": ["RFC9112-6.3-p2-s4"], "SHOULD": ["RFC9112-4-p9-s1"], "API": ["http.client.HTTPResponse.read"]}
    return {"id": scenario_id, "impl": impl, "verdict": verdict, "level": level,
            "profile": "api" if level == "API" else "wire", "refs": refs[level], "duration": 0.001,
            "reason": "" if verdict == "pass" else f"AssertionError: {scenario_id} broke",
            **({"trace": trace} if trace is not None else {})}


def results_document(impls: list[str], records: list[dict[str, Any]], python: str = "3.12.1") -> dict[str, Any]:
    return {
        "schema": "h1conform-results", "schema_version": 1,
        "run": {"suite": {"name": "h1conform", "version": "0.1.0", "commit": None},
                "python": {"version": python, "implementation": "CPython", "full": python},
                "platform": "Linux", "started": "2026-11-29T07:00:00+00:00", "finished": "2026-11-29T07:00:01+00:00",
                "duration": 1.0, "options": [], "exit_status": 1,
                "implementations": [{"name": name, "spec": name, "version": "1", "origin": name, "api": True}
                                    for name in impls]},
        "results": records,
    }


TRACE = [{"server": "127.0.0.1:5000", "connection": 0, "received": "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
          "received_length": 35, "sent": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello\x00",
          "sent_length": 59, "events": ["server closed"]}]


def small_report(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    records = []
    for impl in ("stdlib", "reference"):
        records += [
            record("response.framing.length.valid", impl, "pass"),
            record("response.framing.length.conflicting", impl, "fail" if impl == "stdlib" else "pass",
                   trace=TRACE if impl == "stdlib" else None),
            record("response.status-line.reason", impl, "fail-should" if impl == "stdlib" else "pass", level="SHOULD"),
            record("response.read.amt", impl, "pass", level="API"),
            record("request.line.method", impl, "pass"),
        ]
    source = tmp_path / "r.json"
    source.write_text(json.dumps(results_document(["stdlib", "reference"], records)), encoding="utf-8")
    page = tmp_path / "report.html"
    page.write_text(html.render(build([load(source)]), notes="Notes for the test."), encoding="utf-8")
    return page, records


def wait_until(driver: Any, condition: Any, message: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, WAIT).until(condition, message)


def open_page(driver: Any, page: Path) -> None:
    driver.get(page.as_uri())
    wait_until(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true",
               "the report's script did not finish")


def rows_shown(driver: Any) -> list[str]:
    """The scenario ids the filters show (the page keeps only the rows near the view in the DOM)."""
    return list(driver.execute_script("return window.h1report.shown"))


def rows_in_dom(driver: Any) -> list[str]:
    return list(driver.execute_script(
        "return [...document.querySelectorAll('#matrix tr[data-row] td.sid')].map(e => e.textContent)"))


def choose(driver: Any, select_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select
    Select(driver.find_element("id", select_id)).select_by_value(value)


def console_errors(driver: Any) -> list[dict[str, Any]]:
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    assert path.stat().st_size > 1000
    return path


def test_report_loads_filters_and_opens_details(driver: Any, tmp_path: Path) -> None:
    page, _ = small_report(tmp_path)
    driver.get_log("browser")  # drop whatever an earlier page logged
    open_page(driver, page)
    assert console_errors(driver) == []
    everything = rows_shown(driver)
    assert len(everything) == 5 and rows_in_dom(driver) == everything
    assert driver.find_element("id", "shown-count").text == "5 of 5 scenarios shown"
    screenshot(driver, "report-browser.png")

    # Filters: each one changes what is shown.
    choose(driver, "f-verdict", "fail")
    assert rows_shown(driver) == ["response.framing.length.conflicting"]
    assert rows_in_dom(driver) == ["response.framing.length.conflicting"]
    choose(driver, "f-verdict", "!pass")
    assert rows_shown(driver) == ["response.framing.length.conflicting", "response.status-line.reason"]
    choose(driver, "f-verdict", "~differs")  # rows whose columns disagree
    assert rows_shown(driver) == ["response.framing.length.conflicting", "response.status-line.reason"]
    choose(driver, "f-verdict", "")
    choose(driver, "f-level", "SHOULD")
    assert rows_shown(driver) == ["response.status-line.reason"]
    choose(driver, "f-level", "")
    choose(driver, "f-topic", str(json.loads(driver.execute_script(
        "return JSON.stringify(JSON.parse(document.getElementById('report-data').textContent).topics)"))
        .index("request.line")))
    assert rows_shown(driver) == ["request.line.method"]
    choose(driver, "f-topic", "")
    headers = driver.execute_script("return [...document.querySelectorAll('#matrix thead th')].length")
    choose(driver, "f-impl", "reference")
    assert driver.execute_script("return [...document.querySelectorAll('#matrix thead th')].length") == headers - 1
    assert driver.execute_script("return document.querySelectorAll('#matrix td.cell.v-fail').length") == 0
    choose(driver, "f-impl", "")
    search = driver.find_element("id", "f-search")
    search.send_keys("status-line")
    wait_until(driver, lambda d: rows_shown(d) == ["response.status-line.reason"], "the search box does not filter")
    search.clear()
    search.send_keys(" ")  # an input event with an empty query
    wait_until(driver, lambda d: len(rows_shown(d)) == 5, "clearing the search does not show every row")

    # The detail view of a failing cell: reason, requirement text, wire trace.
    driver.find_element("css selector", "#matrix td.cell.v-fail").click()
    detail = driver.find_element("id", "detail")
    wait_until(driver, lambda d: detail.is_displayed(), "the detail view did not open")
    text = detail.text
    assert "response.framing.length.conflicting" in text
    assert "AssertionError: response.framing.length.conflicting broke" in text
    assert "If a message is received without Transfer-Encoding" in text or "Content-Length" in text
    assert "RFC9112-6.3-p2-s4" in text
    assert "Content-Length: 6\\r\\n" in text and "hello\\x00" in text  # bytes shown escaped, CRLF visible
    screenshot(driver, "report-browser-detail.png")
    from selenium.webdriver.common.keys import Keys
    driver.find_element("tag name", "body").send_keys(Keys.ESCAPE)
    wait_until(driver, lambda d: not detail.is_displayed(), "Escape does not close the detail view")
    assert console_errors(driver) == []


def test_large_report_renders_fast(driver: Any, tmp_path: Path) -> None:
    # About the published size: 2,000 scenarios x 6 columns, a tenth of them failing with a trace.
    impls = ["reference", "stdlib", "other"]
    records = []
    for number in range(2000):
        scenario_id = f"topic{number % 25}.area.case-{number}"
        for impl in impls:
            failing = impl != "reference" and number % 10 == 0
            records.append(record(scenario_id, impl, "fail" if failing else "pass", trace=TRACE if failing else None))
    sources = []
    for python in ("3.11.7", "3.12.1"):
        source = tmp_path / f"r{python}.json"
        source.write_text(json.dumps(results_document(impls, records, python)), encoding="utf-8")
        sources.append(load(source))
    page = tmp_path / "large.html"
    page.write_text(html.render(build(sources)), encoding="utf-8")
    started = time.monotonic()
    open_page(driver, page)
    loaded = time.monotonic() - started
    assert len(rows_shown(driver)) == 2000
    assert 0 < len(rows_in_dom(driver)) < 200  # only the rows near the view are drawn
    # Scrolled to the end, the last rows are drawn.
    driver.execute_script("const w = document.getElementById('matrix-wrap'); w.scrollTop = w.scrollHeight;")
    last = rows_shown(driver)[-1]
    wait_until(driver, lambda d: last in rows_in_dom(d), "scrolling to the end does not draw the last rows")
    started = time.monotonic()
    choose(driver, "f-verdict", "fail")
    assert len(rows_shown(driver)) == 200
    filtered = time.monotonic() - started
    assert console_errors(driver) == []
    print(f"large report: {page.stat().st_size} bytes, loaded in {loaded:.2f} s, filtered in {filtered:.2f} s")
    assert loaded < WAIT and filtered < 5.0


# -- offline: the controls, and a fresh browser from start to end ---------------------------------------

BLACKHOLE = "198.51.100.7"  # TEST-NET-2 (RFC 5737): no packet is ever sent to it here


def seen_within_samples(watch: LoopbackWatch, samples: int = 20) -> list[str]:
    """What the watch finds in the first of `samples` samples that finds anything. A socket that
    exists all along can be missing from one read of /proc/net/*: the kernel prints those tables a
    page at a time, and sockets other processes open or close meanwhile shift what the next page
    starts with (seen on a loaded machine)."""
    for _ in range(samples):
        if found := watch.sample():
            return found
    return []


def test_the_loopback_watch_sees_sockets_that_would_leave() -> None:
    # Control for LoopbackWatch: sockets of this process, none of which sends a packet (connect()
    # on UDP only picks the peer; bind() only the address).
    watch = LoopbackWatch(lambda: {os.getpid()})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.create_server(("127.0.0.1", 0)) as server:
        udp.connect(("127.0.0.1", 9))
        with socket.create_connection(server.getsockname()):
            assert watch.sample() == []  # loopback only: nothing leaves
    for peer, family in (((BLACKHOLE, 9), socket.AF_INET), (("127.0.0.1", 53), socket.AF_INET),
                         (("2001:db8::7", 9), socket.AF_INET6)):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            try:
                udp.connect(peer)
            except OSError as exc:  # no route for that family: nothing to show with it
                assert peer[0] == "2001:db8::7", exc
                continue
            found = seen_within_samples(watch)
            assert len(found) == 1 and f"{peer[0]}:{peer[1]}" in found[0] and str(os.getpid()) in found[0], found
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as wildcard:
        wildcard.bind(("0.0.0.0", 0))  # can send anywhere with sendto()
        assert len(seen_within_samples(watch)) == 1
    # Other processes' sockets are not watched.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.connect((BLACKHOLE, 9))
        assert LoopbackWatch(set).sample() == []


def test_chromium_stays_offline_and_leaves_nothing(browser_paths: tuple[str, str], tmp_path: Path) -> None:
    page, _ = small_report(tmp_path)
    before = chromium_leftovers()
    with offline_chromium(browser_paths) as fresh:
        folder = fresh.folder
        assert (folder / "profile").is_dir()  # Chromium's profile is the one we gave it
        open_page(fresh.driver, page)
        fresh.assert_offline()
        # Control: a page off loopback goes to the recording proxy (on loopback), not out.
        with contextlib.suppress(Exception):  # the proxy's 502 may be an error page or an exception
            fresh.driver.get(f"http://{BLACKHOLE}/control")
        requests = fresh.requests_for_pages()
        assert requests[:1] == [f"GET http://{BLACKHOLE}/control HTTP/1.1"], fresh.proxy.requests
        assert all(BLACKHOLE in request for request in requests), requests
        print(f"Chromium's own requests, all ended at the recording proxy: {fresh.proxy.requests}")
        fresh.watch.sample()
        assert fresh.watch.seen == []
    assert not folder.exists()
    assert chromium_leftovers() - before == set()


# -- hostile reports ----------------------------------------------------------------------------------

# Elements a payload would add to run script, fetch or frame something: the page has only the
# template's own (its two scripts, style, metas and the search box), never more.
WATCHED_TAGS = ("script", "img", "iframe", "frame", "object", "embed", "svg", "math", "link", "base", "form",
                "input", "textarea", "video", "audio", "source", "style", "meta", "template", "noscript")


def template_tag_counts() -> dict[str, int]:
    class Counter(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.counts = dict.fromkeys(WATCHED_TAGS, 0)

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in self.counts:
                self.counts[tag] += 1

    counter = Counter()
    counter.feed(template())
    return counter.counts


INTRUSIONS = """
const problems = [];
if (window.__pwned !== undefined) problems.push("a payload ran: window.__pwned = " + window.__pwned);
const expected = arguments[0];
for (const tag of Object.keys(expected)) {
  const count = document.getElementsByTagName(tag).length;
  if (count !== expected[tag]) problems.push(`${count} <${tag}> elements, the template has ${expected[tag]}`);
}
for (const element of document.querySelectorAll("*")) {
  for (const attribute of element.attributes) {
    if (attribute.name.startsWith("on")) problems.push(`<${element.tagName}> has ${attribute.name}`);
  }
}
for (const link of document.querySelectorAll("[href], [src], [action], [formaction], [srcdoc]")) {
  const target = link.getAttribute("href") || link.getAttribute("src") || "";
  if (!/^https:\\/\\/(www\\.rfc-editor\\.org|docs\\.python\\.org)\\//.test(target)) problems.push(`<${link.tagName}> to ${target}`);
}
for (const entry of performance.getEntriesByType("resource")) problems.push("a request: " + entry.name);
return problems;
"""


def intrusions(driver: Any) -> list[str]:
    """What on the loaded page came from its data rather than the template: script that ran,
    elements, event handlers, links or requests. An open alert() fails the call itself."""
    from selenium.common.exceptions import NoAlertPresentException

    with contextlib.suppress(NoAlertPresentException):
        alert = driver.switch_to.alert
        text = alert.text
        alert.dismiss()
        return [f"an alert is open: {text!r}"]
    return list(driver.execute_script(INTRUSIONS, template_tag_counts()))


OPEN_EVERY_DETAIL = """
const shown = [];
for (const cell of document.querySelectorAll("#matrix td.cell:not(.v-none)")) {
  cell.click();
  const reason = document.getElementById("detail-reason");
  shown.push([Number(cell.parentElement.dataset.row), Number(cell.dataset.col), reason ? reason.textContent : null,
              document.getElementById("detail").textContent]);
}
return shown;
"""


def test_the_intrusion_check_sees_injected_script_elements_and_requests(driver: Any, tmp_path: Path) -> None:
    # Control for intrusions(): markup injected into a loaded report, the way a payload would be.
    page, _ = small_report(tmp_path)
    open_page(driver, page)
    assert intrusions(driver) == []
    with socket.socket() as closed:  # a loopback port that nothing listens on: the request fails there
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/pixel.png"
        driver.execute_script("document.body.insertAdjacentHTML('beforeend', arguments[0])",
                              f'<img src="{url}" onerror="window.__pwned = 1">')
        wait_until(driver, lambda d: d.execute_script("return window.__pwned") == 1, "the injected handler did not run")
    found = intrusions(driver)
    assert "a payload ran: window.__pwned = 1" in found
    assert "1 <img> elements, the template has 0" in found and "<IMG> has onerror" in found
    assert f"<IMG> to {url}" in found and f"a request: {url}" in found
    driver.execute_script("alert('control')")
    assert intrusions(driver) == ["an alert is open: 'control'"]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                 HealthCheck.function_scoped_fixture])
@given(runs=hostile_runs())
@example(runs=fixed_hostile_runs())
def test_hostile_report_shows_its_rows_and_runs_nothing(browser: Browser,
                                                        runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    driver = browser.driver
    with tempfile.TemporaryDirectory() as name:
        old, new = write_runs(Path(name), runs)
        matrix = build([load(old), load(new)])
        page = Path(name) / "report.html"
        page.write_text(html.render(matrix), encoding="utf-8")
        driver.get_log("browser")  # drop what an earlier page logged
        open_page(driver, page)
    ids = [scenario.id for scenario in matrix.scenarios]
    assert rows_shown(driver) == ids
    assert rows_in_dom(driver) == ids  # drawn, as text (a handful of rows: all near the view)
    cells = [row["cells"] for row in html.page_data(matrix)["rows"]]
    opened = driver.execute_script(OPEN_EVERY_DETAIL)
    assert len(opened) == sum(cell is not None for row in cells for cell in row)
    for row, column, reason, detail in opened:
        cell = cells[row][column]
        assert reason == (cell.get("r") if isinstance(cell, dict) else None)  # the reason, exactly, as text
        assert ids[row] in detail and matrix.columns[column].label in detail
    assert intrusions(driver) == []
    assert console_errors(driver) == []
    browser.assert_offline()
