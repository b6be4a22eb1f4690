"""Hostile text through the reports: results files whose every string a client chose.

A client under test chooses its reasons and the bytes of its wire traces; whoever writes a results
file chooses its implementation names, versions and scenario variants. Each such string goes
through `validate`, `render` (Markdown and HTML) and `diff`, and must come out shown, not acting:

- the Markdown (report and diff), rendered by real Markdown renderers (markdown-it in its GFM-like
  preset with linkify, and Python-Markdown with tables), has no tag, attribute, comment, link or
  image that the input brought, and its tables keep their shape;
- the HTML page's embedded JSON parses back to exactly the page's data, and the data adds no `<`
  to the page.

A Hypothesis test draws the text from pieces of HTML, Markdown and JSON-in-HTML syntax, control
and separator characters and lone surrogates, mixed with arbitrary characters.
`hostile_runs` is also what tests/test_report_browser.py loads in a real browser.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from collections.abc import Callable
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import markdown as python_markdown
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from test_reports import SAMPLE, document, embedded_data, make_record

from h1conform.reports import diff, html
from h1conform.reports.__main__ import main
from h1conform.reports.escape import code_text
from h1conform.reports.load import load
from h1conform.reports.model import LEVELS, VERDICTS, build

# If any of these ever ran in a browser it would set window.__pwned or open an alert; the URLs are
# in TEST-NET-2 (198.51.100.0/24, RFC 5737), which no host answers.
PAYLOADS = (
    "<script>window.__pwned = 1; alert(1)</script>",
    "<img src=x onerror=\"window.__pwned = 2\">",
    "<svg onload=window.__pwned=3>",
    "\"><img src=x onerror=window.__pwned=4>",
    "'><iframe src=\"javascript:window.parent.__pwned=5\"></iframe>",
    "</script><script>window.__pwned = 6</script>",
    "<!--<script>window.__pwned = 7</script>-->",
    "![image](http://198.51.100.7/pixel.png)",
    "[link](javascript:window.__pwned=8)",
    "<http://198.51.100.7/autolink>",
    "&lt;script&gt;window.__pwned = 9&lt;/script&gt;",
    "&#60;img src=x onerror=window.__pwned=10&#62;",
)
# Syntax that changes how Markdown, HTML or JSON-in-HTML reads what follows.
PIECES = PAYLOADS + (
    "<!--", "-->", "</script>", "<script>", "<", ">", "&", "&amp;", "\"", "'", "`", "``", "```", "|", "\\|",
    "\\", "\\`", "[", "]", "(", ")", "!", "*", "_", "~~", "#", "> ", "- ", "1. ", "[^1]", "[x]: http://198.51.100.7/",
    "http://198.51.100.7/", "www.example.com", "user@example.com", "$x$", "{: onclick=x}", "|---|---|",
    "\n", "\r", "\r\n", "\t", "\x00", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u2029", "\u202e", "\ufeff",
    "\ud800", "\udcff", "\udfff", "\U0001f600", " ",
)


def hostile_text(*, min_size: int = 0, max_pieces: int = 6) -> st.SearchStrategy[str]:
    anything = st.text(st.characters(exclude_categories=()), max_size=6)  # surrogates included
    return st.lists(st.one_of(st.sampled_from(PIECES), anything), min_size=min_size, max_size=max_pieces).map(
        "".join).filter(lambda text: len(text) >= min_size)


KNOWN_REFS = ("RFC9112-6.3-p2-s4", "RFC9112-4-p9-s1", "http.client.HTTPResponse.read")
BASES = ("response.framing.length", "response.status-line.reason", "request.line.method")


@st.composite
def hostile_runs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two results documents (old, new) of the same columns, every free string hostile."""
    impls = draw(st.lists(hostile_text(min_size=1), min_size=1, max_size=3, unique=True))
    python = f"3.{draw(st.integers(0, 20))}{draw(hostile_text(max_pieces=2))}"

    def trace() -> list[dict[str, Any]]:
        return [{"server": draw(hostile_text()), "connection": number, "received": draw(hostile_text()),
                 "received_length": draw(st.integers(0, 10**6)), "sent": draw(hostile_text()),
                 "sent_length": draw(st.integers(0, 10**6)), "events": draw(st.lists(hostile_text(), max_size=2))}
                for number in range(draw(st.integers(0, 2)))]

    def records() -> list[dict[str, Any]]:
        made = []
        for base in BASES:
            variant = draw(hostile_text(max_pieces=3)).replace("]", "")
            for impl in impls:
                verdict = draw(st.sampled_from(VERDICTS))
                record = {"id": f"{base}[{variant}]", "impl": impl, "verdict": verdict,
                          "level": draw(st.sampled_from(LEVELS)), "profile": draw(st.sampled_from(("api", "wire"))),
                          "refs": [draw(st.sampled_from(KNOWN_REFS)), *draw(st.lists(hostile_text(), max_size=1))],
                          "duration": draw(st.floats(0, 1e6)), "reason": draw(hostile_text(max_pieces=12))[:600],
                          "nodeid": draw(hostile_text())}
                if draw(st.booleans()):
                    record["expectation"] = draw(hostile_text())
                if verdict != "pass":
                    record["trace"] = trace()
                made.append(record)
        return made

    def run_document() -> dict[str, Any]:
        return {
            "schema": "h1conform-results", "schema_version": 1,
            "run": {"suite": {"name": draw(hostile_text()), "version": draw(hostile_text()),
                              "commit": draw(st.one_of(st.none(), hostile_text()))},
                    "python": {"version": python, "implementation": draw(hostile_text()), "full": draw(hostile_text())},
                    "platform": draw(hostile_text()), "started": draw(hostile_text()), "finished": draw(hostile_text()),
                    "duration": 1.0, "options": draw(st.lists(hostile_text(), max_size=2)), "exit_status": 1,
                    "implementations": [{"name": impl, "spec": draw(hostile_text()), "version": draw(hostile_text()),
                                         "origin": draw(hostile_text()), "api": draw(st.booleans()),
                                         "features": draw(st.lists(hostile_text(), max_size=1))} for impl in impls]},
            "results": records(),
        }

    return run_document(), run_document()


def fixed_hostile_runs() -> tuple[dict[str, Any], dict[str, Any]]:
    """Every payload in every kind of field, deterministically: a pass that became a hostile failure."""
    everything = " ".join(PAYLOADS)
    impl = "impl " + PAYLOADS[1]
    old_records = [make_record(f"response.framing.hostile-{index}[{payload.replace(']', '')}]", impl, "pass")
                   for index, payload in enumerate(PAYLOADS)]
    new_records = [make_record(record["id"], impl, "fail", reason=f"AssertionError: {payload}", expectation=payload,
                               trace=[{"server": payload, "connection": 0, "received": payload, "received_length": 1,
                                       "sent": everything, "sent_length": 2, "events": [payload]}])
                   for record, payload in zip(old_records, PAYLOADS, strict=True)]
    runs = []
    for records in (old_records, new_records):
        run = document(records, impls=(impl,))
        run["run"]["implementations"][0].update(spec=everything, version=PAYLOADS[0], origin=everything)
        run["run"].update(platform=everything, started=PAYLOADS[6])
        runs.append(run)
    return runs[0], runs[1]


# -- reading rendered Markdown ---------------------------------------------------------------------

RENDERERS: dict[str, Callable[[str], str]] = {
    "markdown-it gfm-like": MarkdownIt("gfm-like").render,  # raw HTML on, tables, linkify
    "Python-Markdown tables": lambda text: python_markdown.markdown(text, extensions=["tables"]),
    "Python-Markdown": python_markdown.markdown,  # its defaults: tables are paragraphs
}
# What our own Markdown makes: headings, paragraphs, lists, tables, code spans, bold.
OUR_TAGS = frozenset({"h1", "h2", "h3", "p", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "code", "strong"})


class _Structure(HTMLParser):
    """Tags, attributes and comments of rendered HTML, its text, and the text of each table cell."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []
        self.tables: list[list[list[str]]] = []  # table -> row -> cell text
        self.text: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and [name for name, _ in attrs] == ["href"]:
            self.links.append(attrs[0][1] or "")
        elif tag not in OUR_TAGS:
            self.problems.append(f"tag <{tag}> {attrs}")
        elif attrs:
            self.problems.append(f"attributes on <{tag}>: {attrs}")
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.tables[-1][-1].append("")
            self._in_cell = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"comment <!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"declaration <!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction <?{data}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_cell:
            self.tables[-1][-1][-1] += data


def read_rendered(text: str, renderer: str) -> _Structure:
    parser = _Structure()
    parser.feed(RENDERERS[renderer](text))
    parser.close()
    return parser


def markdown_problems(text: str, allowed_links: tuple[str, ...] = ()) -> list[str]:
    """What each renderer made of `text` beyond our own structure: foreign tags, attributes,
    comments, and links other than `allowed_links`."""
    problems = []
    for renderer in RENDERERS:
        read = read_rendered(text, renderer)
        problems += [f"{renderer}: {problem}" for problem in read.problems]
        problems += [f"{renderer}: link to {link!r}" for link in read.links if link not in allowed_links]
    return problems


def tables(text: str) -> list[list[list[str]]]:
    """The text of each table cell as GFM reads it (markdown-it; renderers pad or cut a row that has
    too many or too few cells, so a broken row shows as cells whose text is wrong)."""
    return read_rendered(text, "markdown-it gfm-like").tables


def test_the_markdown_checks_find_html_links_images_and_broken_tables() -> None:
    # Controls for markdown_problems and tables: each of these, written raw, is caught.
    for raw in ("a <img src=x onerror=alert(1)> b", "a ![i](http://198.51.100.7/i.png)", "[l](http://198.51.100.7/)",
                "x <http://198.51.100.7/>", "x <!-- y -->"):
        problems = markdown_problems(raw)
        assert {problem.split(":")[0] for problem in problems} == set(RENDERERS), (raw, problems)
    assert any("link" in problem for problem in markdown_problems("see http://198.51.100.7/ and www.example.com"))
    assert tables("| a | b |\n|---|---|\n| c | d|e |\n| f\ng |") != [[["a", "b"], ["c", "d|e"], ["f\ng", ""]]]
    good = "| a | b |\n|---|---|\n| `c` | `d\\|e` |\n\n- **x** `y`"
    assert markdown_problems(good) == [] and tables(good) == [[["a", "b"], ["c", "d|e"]]]


# -- the findings of issue 13, one by one -----------------------------------------------------------


def write_runs(folder: Path, runs: tuple[dict[str, Any], dict[str, Any]]) -> tuple[Path, Path]:
    paths = (folder / "old.json", folder / "new.json")
    for path, run in zip(paths, runs, strict=True):
        path.write_text(json.dumps(run), encoding="utf-8")  # lone surrogates as "\udXXX" escapes
    return paths


def test_diff_markdown_shows_hostile_reasons_inert(tmp_path: Path) -> None:
    # Was: reasons written raw, so <script> and onerror ran once the Markdown was rendered.
    old, new = write_runs(tmp_path, fixed_hostile_runs())
    assert main(["diff", str(old), str(new), "--output", str(tmp_path / "diff.md")]) == 1  # pass -> fail
    text = (tmp_path / "diff.md").read_text(encoding="utf-8")
    assert f"## Regressions ({len(PAYLOADS)})" in text
    assert markdown_problems(text) == []
    shown = "".join(read_rendered(text, "markdown-it gfm-like").text)
    for payload in PAYLOADS:
        assert code_text(f"AssertionError: {payload}") in shown  # shown as text, whole


def test_report_markdown_shows_hostile_text_inert(tmp_path: Path) -> None:
    # Was: image syntax in a reason made the rendered REPORT.md fetch a URL the client chose.
    _, new = write_runs(tmp_path, fixed_hostile_runs())
    report = tmp_path / "out" / "REPORT.md"
    assert main(["render", str(new), "--markdown", str(report), "--html", str(tmp_path / "out" / "r (1).html")]) == 0
    text = report.read_text(encoding="utf-8")
    assert markdown_problems(text, allowed_links=("r%20%281%29.html",)) == []
    shown = "".join(read_rendered(text, "markdown-it gfm-like").text)
    assert "AssertionError: ![image](http://198.51.100.7/pixel.png)" in shown
    assert code_text(f"impl {PAYLOADS[1]}") in shown and code_text(PAYLOADS[6], table=True) in shown


def test_html_data_survives_comment_and_script_markers(tmp_path: Path) -> None:
    # Was: "<!--" became "<\!--" in the embedded JSON, an invalid escape that blanked the page.
    records = [make_record("a.b.c[<!--x]", "stdlib", "fail", reason="AssertionError: <!-- </script> \u2028 \u2029 &")]
    matrix = build([load(write_runs(tmp_path, (document(records), document(records)))[0])])
    page = html.render(matrix)
    assert embedded_data(page) == json.loads(json.dumps(html.page_data(matrix)))
    assert page.count("<") == template().count("<")


def template() -> str:
    return resources.files("h1conform.reports").joinpath("static", "report.html").read_text("utf-8")


# -- arbitrary hostile text -------------------------------------------------------------------------


def run_quietly(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_runs())
@example(fixed_hostile_runs())
def test_hostile_text_is_shown_never_acts(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        old, new = write_runs(folder, runs)
        assert run_quietly(["validate", str(old), str(new)]) == 0
        out = folder / "out"
        assert run_quietly(["render", str(old), str(new), "--markdown", str(out / "REPORT.md"),
                            "--html", str(out / "report.html")]) == 0
        regressions = diff.compare(load(old), load(new)).regressions
        assert run_quietly(["diff", str(old), str(new), "--output", str(out / "diff.md")]) == (1 if regressions else 0)
        assert sorted(path.name for path in out.iterdir()) == ["REPORT.md", "diff.md", "report.html"]

        report = (out / "REPORT.md").read_text(encoding="utf-8")
        assert markdown_problems(report, ("report.html",)) == []
        matrix = build([load(old), load(new)])
        keys = [code_text(column.key, table=True) for column in matrix.columns]
        columns, totals, *topics = tables(report)
        assert [row[0] for row in columns[1:]] == keys and all(len(row) == 7 for row in columns)
        assert totals[0] == ["level", *keys]
        for table in topics:  # each cell where it belongs: no | or line break moved or cut one
            assert table[0] == ["scenario", "level", "profile", *keys]
            assert all(len(row) == len(table[0]) and set(row[1].split("/")) <= set(LEVELS) for row in table[1:])
        shown_bases = [row[0] for table in topics for row in table[1:]]
        assert shown_bases == [code_text(base, table=True) for base in dict.fromkeys(s.id.partition("[")[0] for s in matrix.scenarios)]
        diff_text = (out / "diff.md").read_text(encoding="utf-8")
        assert markdown_problems(diff_text) == []
        for change in regressions:
            assert code_text(change.reason) in diff_text  # each regression's reason is in it, on one line

        page = (out / "report.html").read_text(encoding="utf-8")
        assert embedded_data(page) == json.loads(json.dumps(html.page_data(matrix)))
        assert page.count("<") == template().count("<")  # the data adds no markup


@pytest.mark.parametrize("field", ["reason", "impl"])
def test_lone_surrogates_in_any_field_render(tmp_path: Path, field: str) -> None:
    record = copy.deepcopy(SAMPLE[1])
    record[field] = "x\ud800y"
    run = document([record], impls=(record["impl"],))
    old, _ = write_runs(tmp_path, (run, run))
    assert main(["render", str(old), "--markdown", str(tmp_path / "R.md"), "--html", str(tmp_path / "r.html")]) == 0
    assert "x\ufffdy" in (tmp_path / "R.md").read_text(encoding="utf-8")


def test_the_page_script_never_parses_a_string_as_html() -> None:
    # The page builds its DOM with createElement, setAttribute and text nodes only: no string from
    # the data can become markup. (tests/test_report_browser.py loads hostile pages in a browser.)
    script = template().split('<script>\n"use strict";', 1)[1]
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(",
                 "setTimeout(\"", "createContextualFragment", "DOMParser", "srcdoc"):
        assert sink not in script, sink
    assert "createElement" in script and "setAttribute" in script
