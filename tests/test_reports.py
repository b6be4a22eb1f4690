"""Tests of `reports` (python -m h1conform.reports render / diff / validate): loading and its errors, the
matrix and its totals, Markdown, the self-contained HTML page, diff, and the published results.

Most tests build small results documents by hand (`document`); one renders the results of a fresh
pytester run and checks that the report's figures are the run's.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from h1conform.reports import diff, html, markdown
from h1conform.reports.__main__ import main
from h1conform.reports.load import load
from h1conform.reports.model import build, topic_of

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "results"


def make_record(scenario_id: str, impl: str, verdict: str, *, level: str = "MUST", profile: str = "wire",
                refs: tuple[str, ...] = ("RFC9112-6.3-p2-s8",), reason: str = "", **extra: Any) -> dict[str, Any]:
    return {"id": scenario_id, "impl": impl, "verdict": verdict, "level": level, "profile": profile,
            "refs": list(refs), "duration": 0.002, "reason": reason, "nodeid": f"suites/test_x.py::t[{impl}]", **extra}


def document(records: list[dict[str, Any]], *, python: str = "3.12.1", impls: tuple[str, ...] = ("stdlib",),
             exit_status: int = 1) -> dict[str, Any]:
    return {
        "schema": "h1conform-results",
        "schema_version": 1,
        "run": {
            "suite": {"name": "h1conform", "version": "0.1.0", "commit": "0123456789abcdef"},
            "python": {"version": python, "implementation": "CPython", "full": f"{python} (main) [GCC]"},
            "platform": "Linux-test", "started": "2026-11-29T07:00:00+00:00", "finished": "2026-11-29T07:01:00+00:00",
            "duration": 60.0, "options": ["suites"], "pytest": "9.2.0", "workers": 2, "exit_status": exit_status,
            "implementations": [{"name": name, "spec": name, "version": f"{name} 1.0", "origin": f"/x/{name}.py",
                                 "api": True, "features": []} for name in impls],
        },
        "results": records,
    }


TRACE = [{"server": "127.0.0.1:1234", "connection": 0, "received": "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
          "received_length": 27, "sent": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
          "sent_length": 58, "events": ["server closed"]}]

SAMPLE = [
    make_record("response.framing.content-length.valid[whole]", "stdlib", "pass"),
    make_record("response.framing.content-length.conflicting", "stdlib", "fail",
                refs=("RFC9112-6.3-p2-s4",), reason="AssertionError: accepted </script><script>alert(1)</script>",
                trace=TRACE),
    make_record("response.status-line.reason-ignored", "stdlib", "fail-should", level="SHOULD",
                refs=("RFC9112-4-p9-s1",), reason="AssertionError: used the reason phrase", trace=[]),
    make_record("response.read.peek", "stdlib", "unsupported", level="API", profile="api",
                refs=("http.client.HTTPResponse.peek",), reason="unsupported: no http.client API"),
    make_record("request.line.method", "stdlib", "timeout", reason="ScenarioTimeout: no result within 5 s",
                trace=[]),
]


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# -- loading ------------------------------------------------------------------------------------


def test_load_valid_file(tmp_path: Path) -> None:
    results = load(write(tmp_path / "r.json", document(SAMPLE)))
    assert results.python == "3.12.1" and len(results.records) == 5


@pytest.mark.parametrize(("content", "fragment"), [
    (None, "no such file"),
    ("{not json", "not valid JSON: Expecting property name"),
    ("[1, 2]", "not an h1conform results file"),
    (json.dumps({**document([]), "schema_version": 99}), "schema_version 99 is not one this version of reports reads"),
    (json.dumps(document([make_record("x.y", "stdlib", "great")])), "invalid at results/0/verdict"),
    (json.dumps({**document([]), "run": {}}), "invalid at run"),
], ids=["missing", "bad-json", "not-results", "schema-version", "bad-verdict", "no-metadata"])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               content: str | None, fragment: str) -> None:
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    for command in (["render", str(path)], ["diff", str(path), str(path)], ["validate", str(path)]):
        assert main(command) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines


def test_command_line_bad_input_has_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text("{", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "h1conform.reports", "render", str(tmp_path / "r.json")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


# -- the matrix -----------------------------------------------------------------------------------


def test_topic_is_the_first_two_parts_of_the_id() -> None:
    assert topic_of("response.framing.content-length.valid[whole]") == "response.framing"
    assert topic_of("request.line.method[a.b]") == "request.line"


def test_matrix_columns_rows_and_totals(tmp_path: Path) -> None:
    old_stdlib = [{**r, "verdict": "pass", "reason": ""} for r in SAMPLE]
    runs = [load(write(tmp_path / "a.json", document(SAMPLE, python="3.12.1"))),
            load(write(tmp_path / "b.json", document(old_stdlib, python="3.11.7")))]
    matrix = build(runs)
    assert [c.key for c in matrix.columns] == ["stdlib@3.11", "stdlib@3.12"]  # one implementation side by side
    assert matrix.topics() == ["request.line", "response.framing", "response.read", "response.status-line"]
    totals = matrix.totals(matrix.columns[1])
    assert totals["MUST"] == {"pass": 1, "fail": 1, "timeout": 1}
    assert totals["SHOULD"] == {"fail-should": 1}
    assert totals["API"] == {"unsupported": 1}
    assert sum(totals["all"].values()) == 5
    assert matrix.totals(matrix.columns[0])["all"] == {"pass": 5}


def test_same_impl_and_python_in_two_files_get_distinct_columns(tmp_path: Path) -> None:
    runs = [load(write(tmp_path / "a.json", document(SAMPLE, python="3.12.1"))),
            load(write(tmp_path / "b.json", document(SAMPLE, python="3.12.2")))]
    assert [c.key for c in build(runs).columns] == ["stdlib@3.12.1", "stdlib@3.12.2"]
    runs = [load(write(tmp_path / "a.json", document(SAMPLE))), load(write(tmp_path / "c.json", document(SAMPLE)))]
    assert len({c.key for c in build(runs).columns}) == 2


def test_one_client_at_several_releases_gets_a_column_per_release(tmp_path: Path) -> None:
    # tools/versions.py runs urllib3 at pinned releases and at the current one, on one Python, with
    # requests beside it at one release: the urllib3 columns say their release, in release order
    # (2.10.0 after 2.8.0); requests' columns, alike but for urllib3, say their results file.
    def run(urllib3: str, verdict: str) -> Any:
        data = document([make_record("agent.redirect.x", "urllib3", verdict, profile="agent"),
                         make_record("agent.redirect.x", "requests", "pass", profile="agent")],
                        impls=("urllib3", "requests"))
        data["run"]["implementations"][0]["version"] = f"urllib3 {urllib3}"
        data["run"]["implementations"][1]["version"] = "requests 2.34.2"
        return load(write(tmp_path / f"urllib3-{urllib3}.json", data))

    old, current, newer = run("1.26.16", "fail"), run("2.8.0", "pass"), run("2.10.0", "pass")
    matrix = build([newer, old, current])
    assert [(c.key, c.heading) for c in matrix.columns] == [
        ("urllib3 1.26.16@3.12", "urllib3 1.26.16"), ("urllib3 2.8.0@3.12", "urllib3 2.8.0"),
        ("urllib3 2.10.0@3.12", "urllib3 2.10.0"), ("requests@3.12#urllib3-1.26.16", "requests · urllib3-1.26.16"),
        ("requests@3.12#urllib3-2.8.0", "requests · urllib3-2.8.0"),
        ("requests@3.12#urllib3-2.10.0", "requests · urllib3-2.10.0")]
    assert matrix.columns[0].label == "urllib3 1.26.16 · CPython 3.12.1"
    assert matrix.cell("agent.redirect.x", "urllib3 1.26.16@3.12")["verdict"] == "fail"
    assert [c["heading"] for c in html.page_data(matrix)["columns"]][:2] == ["urllib3 1.26.16", "urllib3 2.8.0"]
    assert "| `urllib3 1.26.16@3.12` | `urllib3 2.8.0@3.12` |" in markdown.render(matrix)
    # Control: one release of each alone keeps the plain key and heading.
    alone = build([old]).columns
    assert [(c.key, c.heading, c.label) for c in alone][0] == ("urllib3@3.12", "urllib3", "urllib3 · CPython 3.12.1")
    # Two runs of two releases: diff pairs the client's columns and names the flip a fix.
    changes = diff.compare(old, current)
    assert changes.compared == [("urllib3@3.12", "urllib3@3.12"), ("requests@3.12", "requests@3.12")]
    assert [(c.scenario, c.old, c.new, c.kind) for c in changes.changes] == [("agent.redirect.x", "fail", "pass", "fix")]


# -- Markdown -------------------------------------------------------------------------------------


def test_markdown_matrix(tmp_path: Path) -> None:
    text = markdown.render(build([load(write(tmp_path / "r.json", document(SAMPLE)))]), notes="A note.",
                           html_name="report.html")
    assert "## Notes on the columns\n\nA note." in text
    assert "[`report.html`](report.html)" in text
    assert "| MUST | 1/3 (1 ❌ 1 ⏱️) |" in text
    assert "| SHOULD | 0/1 (1 ⚠️) |" in text
    assert "| **all** | 1/5 (1 ❌ 1 ⚠️ 1 ➖ 1 ⏱️) |" in text
    assert text.index("### `request.line`") < text.index("### `response.framing`") < text.index(
        "### `response.status-line`")
    assert "| `response.framing.content-length.conflicting` | MUST | wire | ❌ |" in text
    # Reasons are listed per topic, as code spans (tests/test_reports_hostile.py renders them).
    assert "fail: `AssertionError: accepted \\x3c/script\\x3e\\x3cscript\\x3ealert(1)\\x3c/script\\x3e`" in text


# -- HTML -----------------------------------------------------------------------------------------


def embedded_data(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_html_is_one_self_contained_file(tmp_path: Path) -> None:
    page = html.render(build([load(write(tmp_path / "r.json", document(SAMPLE)))]), notes="note")
    # Nothing is fetched when viewing it: no external script, style sheet, font or image.
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    # A reason that contains </script> cannot end the data element early.
    assert page.count("</script>") == 2
    data = embedded_data(page)
    assert [row["id"] for row in data["rows"]][0] == "request.line.method"
    conflicting = next(row for row in data["rows"] if row["id"].endswith("conflicting"))
    cell = conflicting["cells"][0]
    assert cell["v"] == "fail" and cell["t"] == TRACE and "</script>" in cell["r"]
    valid = next(row for row in data["rows"] if row["id"].endswith("valid[whole]"))
    assert valid["cells"] == ["pass"]  # a pass is a bare verdict, expanded by the page
    # The spec sentence each cited requirement says, from the vendored table.
    assert data["refs"]["RFC9112-6.3-p2-s4"]["text"].startswith("If a message is received without")
    assert data["refs"]["http.client.HTTPResponse.peek"]["kind"] == "api"


def test_render_command_writes_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "r.json", document(SAMPLE))
    out = tmp_path / "out"
    assert main(["render", str(source), "--markdown", str(out / "REPORT.md"), "--html", str(out / "report.html")]) == 0
    assert "[`report.html`](report.html)" in (out / "REPORT.md").read_text(encoding="utf-8")
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["render", str(source)]) == 0
    assert capsys.readouterr().out.startswith("# HTTP/1.1 client conformance")


def test_render_warns_about_an_interrupted_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "r.json", document(SAMPLE, exit_status=2))
    assert main(["render", str(source), "--markdown", str(tmp_path / "R.md")]) == 0
    assert "exit status 2" in capsys.readouterr().err


# -- diff -----------------------------------------------------------------------------------------


def test_diff_lists_regressions_first_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = copy.deepcopy(SAMPLE)
    old[0]["verdict"] = "fail"  # fixed since
    new = copy.deepcopy(SAMPLE)
    new[3]["verdict"] = "fail"  # unsupported -> fail: a regression
    new.append(make_record("response.framing.new-one", "stdlib", "pass"))
    del new[4]  # removed
    old_path, new_path = write(tmp_path / "old.json", document(old)), write(tmp_path / "new.json", document(new))
    result = diff.compare(load(old_path), load(new_path))
    assert [(c.kind, c.scenario) for c in result.changes] == [
        ("regression", "response.read.peek"),
        ("fix", "response.framing.content-length.valid[whole]"),
        ("new", "response.framing.new-one"),
        ("removed", "request.line.method"),
    ]
    assert main(["diff", str(old_path), str(new_path)]) == 1
    out = capsys.readouterr().out
    assert out.index("## Regressions (1)") < out.index("## Fixes (1)") < out.index("## New scenarios (1)")
    assert main(["diff", str(old_path), str(old_path)]) == 0
    assert "0 regression(s)" in capsys.readouterr().out


def test_diff_pairs_columns_by_implementation_and_python(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", document(SAMPLE, python="3.12.1"))
    new = write(tmp_path / "new.json", document(SAMPLE, python="3.12.4"))
    assert diff.compare(load(old), load(new)).compared == [("stdlib@3.12", "stdlib@3.12")]
    other = write(tmp_path / "other.json", document([{**r, "impl": "mine"} for r in SAMPLE], impls=("mine",)))
    # One column each, different implementations: they are compared with each other.
    assert diff.compare(load(old), load(other)).compared == [("stdlib@3.12", "mine@3.12")]


# -- a fresh run: the report's figures are the run's ------------------------------------------------

FRESH_SCENARIOS = r'''
from h1conform.servers import respond
from h1conform.suites.harness import MUST, SHOULD, WIRE, expect_response, scenario

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@scenario("demo.a.pass", refs=["RFC9112-6.3-p2-s8"], level=MUST, profile=WIRE)
def test_pass(server, wire):
    server.add_connection(respond(OK))
    assert expect_response(wire.request("GET", server.url("/"))).body == b"hello"


@scenario("demo.b.conflicting-length", refs=["RFC9112-6.3-p2-s4"], level=MUST, profile=WIRE)
def test_conflicting(server, wire):
    server.add_connection(respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"))
    outcome = wire.request("GET", server.url("/"))
    assert not hasattr(outcome, "status"), "RFC 9112 6.3: conflicting Content-Length is an error"


@scenario("demo.b.should", refs=["RFC9112-4-p9-s1"], level=SHOULD, profile=WIRE)
def test_should(server, wire):
    server.add_connection(respond(OK))
    assert expect_response(wire.request("GET", server.url("/"))).reason == "OK"
'''


def test_report_figures_match_a_fresh_run(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n"
                     "    ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning\n"
                     "addopts = -p no:hypothesispytest -p no:cacheprovider\n")
    pytester.makepyfile(test_fresh=FRESH_SCENARIOS)
    result = pytester.runpytest("--impl=stdlib", "--impl=reference", "--results=r.json")
    outcomes = result.parseoutcomes()
    matrix = build([load(pytester.path / "r.json")])
    by_column = {c.impl_name: matrix.totals(c)["all"] for c in matrix.columns}
    assert by_column == {"stdlib": {"pass": 2, "fail": 1}, "reference": {"pass": 3}}
    assert sum(t["pass"] for t in by_column.values()) == outcomes["passed"]
    assert sum(t["fail"] for t in by_column.values()) == outcomes["failed"]
    text = markdown.render(matrix)
    assert "| **all** | 3/3 | 2/3 (1 ❌) |" in text or "| **all** | 2/3 (1 ❌) | 3/3 |" in text


# -- the published results ------------------------------------------------------------------------


def published() -> list[Path]:
    return sorted(PUBLISHED.glob("*.json"))


@pytest.mark.skipif(not published(), reason="no published results in results/ yet")
def test_published_results_are_valid_and_render(tmp_path: Path) -> None:
    runs = [load(path) for path in published()]  # load validates each file against the schema
    matrix = build(runs)
    assert matrix.scenarios and len(matrix.columns) >= len(runs)
    assert markdown.render(matrix).count("\n### ") == len(matrix.topics())
    page = html.render(matrix)
    assert embedded_data(page)["rows"]


def test_validate_and_directories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    write(folder / "a.json", document(SAMPLE, python="3.11.7"))
    write(folder / "b.json", document(SAMPLE, python="3.12.1"))
    assert main(["validate", str(folder)]) == 0
    assert capsys.readouterr().out.count("valid, 5 records") == 2
    assert main(["render", str(folder), "--markdown", str(tmp_path / "R.md")]) == 0
    assert "`stdlib@3.11` | `stdlib@3.12`" in (tmp_path / "R.md").read_text(encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["render", str(empty)]) == 2
    assert "no results files" in capsys.readouterr().err



def test_markdown_says_a_reason_shared_by_columns_once(tmp_path: Path) -> None:
    # The same failure on two Pythons, its message differing only by the server's port.
    runs = [load(write(tmp_path / f"{python}.json", document(
        [make_record("a.b.c", "stdlib", "fail", reason=f"AssertionError: sent Host: 127.0.0.1:{port}")], python=python)))
        for python, port in (("3.11.7", 40001), ("3.12.1", 50002))]
    text = markdown.render(build(runs))
    assert "- `a.b.c` on `stdlib@3.11`, `stdlib@3.12`, fail: `AssertionError: sent Host: 127.0.0.1:PORT`" in text


def test_markdown_folds_variants_into_one_row(tmp_path: Path) -> None:
    records = [make_record("a.b.mixed[one]", "stdlib", "pass"), make_record("a.b.mixed[two]", "stdlib", "fail",
                                                                             reason="AssertionError: two"),
               make_record("a.b.same[one]", "stdlib", "pass"), make_record("a.b.same[two]", "stdlib", "pass")]
    text = markdown.render(build([load(write(tmp_path / "r.json", document(records)))]))
    assert "| `a.b.mixed` | MUST | wire | ❌ 1/2 |" in text
    assert "| `a.b.same` | MUST | wire | ✅ 2 |" in text
    assert "- `a.b.mixed` on `stdlib@3.12`, fail: `AssertionError: two`" in text


def test_baseline_columns_come_first(tmp_path: Path) -> None:
    runs = [load(write(tmp_path / "a.json", document([make_record("a.b.c", "httpx", "pass")], impls=("httpx",)))),
            load(write(tmp_path / "b.json", document([make_record("a.b.c", "stdlib", "pass"),
                                                      make_record("a.b.c", "reference", "pass")],
                                                     impls=("stdlib", "reference"))))]
    assert [column.impl_name for column in build(runs).columns] == ["reference", "stdlib", "httpx"]


def published_versions() -> list[Path]:
    return sorted((PUBLISHED / "versions").glob("*.json"))


@pytest.mark.skipif(not published_versions(), reason="no published runs in results/versions/ yet")
def test_published_urllib3_releases_have_a_column_each() -> None:
    # tools/versions.py: one run per urllib3 release, in a file named after it; the report's urllib3
    # columns say the release, and requests' columns (one requests release) the file, i.e. urllib3's.
    runs = [load(path) for path in published_versions()]
    releases = [str(run.implementation("urllib3")["version"]) for run in runs]
    assert [path.stem for path in published_versions()] == [release.replace(" ", "-") for release in releases]
    headings = {column.heading for column in build(runs).columns}
    assert headings == {*releases, *(f"requests · {release.replace(' ', '-')}" for release in releases)}


# -- input that the JSON parser accepts but a report cannot use ---------------------------------------


def assert_bad_input(capsys: pytest.CaptureFixture[str], path: Path, fragment: str) -> None:
    """Every command refuses `path` with exit code 2 and one line that says why."""
    for command in (["render", str(path)], ["diff", str(path), str(path)], ["validate", str(path)]):
        assert main(command) == 2, command
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert captured.out == "" and len(lines) == 1 and fragment in lines[0], lines


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1" * 5000])
def test_non_finite_or_huge_numbers_are_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  number: str) -> None:
    text = json.dumps(document(SAMPLE))
    assert '"duration": 0.002' in text
    path = tmp_path / "r.json"
    path.write_text(text.replace('"duration": 0.002', f'"duration": {number}', 1), encoding="utf-8")
    assert_bad_input(capsys, path, "not a finite JSON number")
    # Control: the same document with a finite number is valid.
    path.write_text(text.replace('"duration": 0.002', '"duration": 1e3', 1), encoding="utf-8")
    assert main(["validate", str(path)]) == 0


@pytest.mark.parametrize("depth", [80, 100_000])
def test_deeply_nested_json_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], depth: int) -> None:
    # Deeper than a results file ever is: within Python's recursion limit (80), and far past it.
    text = json.dumps(document(SAMPLE)).replace('"options": [', '"options": [' + "[" * depth + "]" * depth + ",", 1)
    path = tmp_path / "r.json"
    path.write_text(text, encoding="utf-8")
    assert_bad_input(capsys, path, "nested deeper than")
    # Control: nesting a results file can have is fine (extra properties are allowed).
    path.write_text(json.dumps({**document(SAMPLE), "extra": [[[{"a": [1]}]]]}), encoding="utf-8")
    assert main(["validate", str(path)]) == 0


def test_diff_exit_code_1_means_regressions_only(tmp_path: Path) -> None:
    # Deep nesting was a RecursionError: a traceback and exit code 1, which means "regressions".
    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps(document(SAMPLE)).replace('"options": [', '"options": [' + "[" * 10**5 + "]" * 10**5
                                                         + ",", 1), encoding="utf-8")
    good = write(tmp_path / "good.json", document(SAMPLE))
    done = subprocess.run([sys.executable, "-m", "h1conform.reports", "diff", str(good), str(deep)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    # Control: the same command on good input is 0.
    done = subprocess.run([sys.executable, "-m", "h1conform.reports", "diff", str(good), str(good)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_lone_surrogate_is_shown_as_a_replacement_character(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    # json.dumps writes a lone surrogate as the escape "\udcff", which json.loads reads back as one.
    records = [make_record("a.b.c[\ud800]", "stdlib", "fail", reason="AssertionError: sent \udcff here")]
    source = tmp_path / "r.json"
    source.write_text(json.dumps(document(records)), encoding="utf-8")
    assert main(["validate", str(source)]) == 0
    assert "valid, 1 records" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["render", str(source), "--markdown", str(out / "R.md"), "--html", str(out / "r.html")]) == 0
    assert "AssertionError: sent \ufffd here" in (out / "R.md").read_text(encoding="utf-8")
    data = embedded_data((out / "r.html").read_text(encoding="utf-8"))
    assert data["rows"][0]["id"] == "a.b.c[\ufffd]"
    assert data["rows"][0]["cells"][0]["r"] == "AssertionError: sent \ufffd here"
    assert main(["diff", str(source), str(source)]) == 0


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    source = write(tmp_path / "r.json", document(SAMPLE))
    old = tmp_path / "old.md"
    old.write_text("the previous report", encoding="utf-8")
    fresh = tmp_path / "fresh.md"
    # A writer bug: text that UTF-8 cannot encode. An internal error (3), not bad input, not "regressions".
    monkeypatch.setattr(markdown, "render", lambda *args, **kwargs: "# report \ud800")
    for target in (old, fresh):
        assert main(["render", str(source), "--markdown", str(target)]) == 3
        assert "internal error" in capsys.readouterr().err
    assert old.read_text(encoding="utf-8") == "the previous report"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["old.md", "r.json"]
    monkeypatch.undo()
    # An output path that cannot be written is bad input: 2, one line.
    assert main(["render", str(source), "--markdown", str(source / "R.md")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "cannot write it" in lines[0], lines
    # Control: a good write replaces the old file.
    assert main(["render", str(source), "--markdown", str(old)]) == 0
    assert old.read_text(encoding="utf-8").startswith("# HTTP/1.1 client conformance")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["old.md", "r.json"]


@pytest.mark.parametrize("variant", ["1²1", "1" * 5000, "٣x3"], ids=["superscript-digit", "5000-digits", "arabic-digit"])
def test_scenario_variants_of_any_digits_sort_and_render(tmp_path: Path, variant: str) -> None:
    # Natural order of ids compares digit runs; "²".isdigit() is true but int("²") fails, and int()
    # refuses 5000 digits.
    records = [make_record(f"a.b.c[{variant}]", "stdlib", "fail", reason="AssertionError: x"),
               make_record("a.b.c[2]", "stdlib", "pass"), make_record("a.b.c[10]", "stdlib", "pass")]
    source = write(tmp_path / "r.json", document(records))
    assert main(["render", str(source), "--markdown", str(tmp_path / "R.md")]) == 0
    ids = [scenario.id for scenario in build([load(source)]).scenarios]
    assert ids.index("a.b.c[2]") < ids.index("a.b.c[10]")
