"""The HTML report in a real headless browser: Debian's chromium driven by selenium through the
system chromedriver.

It loads without console errors, the filters change what is shown, a detail view opens and
closes, and a large report stays fast. Screenshots are written to build/artifacts/ (an artifact
of the run). The browser is installed here when missing (`apt-get install chromium
chromium-driver`, as root); when that is impossible the tests are skipped with the reason, except
in CI (CI=true), where they fail: CI must run them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture(scope="module")
def driver(browser_paths: tuple[str, str]) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[dev]')")
    chromium, chromedriver = browser_paths
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,900", "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # chromedriver listens on a port selenium picked as free a moment before: on a busy machine it
    # can lose that race and exit at once; a bounded retry covers it.
    for attempt in range(DRIVER_ATTEMPTS):
        try:
            chrome = webdriver.Chrome(service=Service(chromedriver), options=options)
            break
        except WebDriverException:
            if attempt == DRIVER_ATTEMPTS - 1:
                raise
    chrome.set_page_load_timeout(WAIT)
    try:
        yield chrome
    finally:
        chrome.quit()


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
