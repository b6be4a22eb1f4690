"""The measuring commands of tools/: their pure parts, on tiny synthetic inputs (no suite run)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from tool_modules import load_tool

coverage_tool = load_tool("requirement_coverage")
seeded = load_tool("seeded_bugs")
stdlib_tool = load_tool("stdlib_coverage")


# -- requirement_coverage ---------------------------------------------------------------------------

TABLE = """\
id\tlevel\tapplies\ttestable\ttopic\ttext
RFC9112-1-p1-s1\tMUST\tclient\tyes\tt\tA client MUST do a.
RFC9112-1-p1-s2\tMUST NOT\tclient\tpartly\tt\tA client MUST NOT do "b".
RFC9112-1-p1-s3\tSHOULD\tclient\tyes\tt\tA client SHOULD do c.
RFC9112-1-p1-s4\tMAY\tclient\tno\tt\tNot testable: not counted.
RFC9112-1-p1-s5\tMUST\tno\t-\tt\tA server MUST: not counted.
RFC9110-2-p1-s1\tOPTIONAL\tclient\tyes\tt\tA client may do e.
RFC9110-2-p1-s2\tRECOMMENDED\tclient\tyes\tt\tIt is RECOMMENDED that f.
RFC9110-2-p1-s3\tSHALL NOT\tclient\tyes\tt\tA client SHALL NOT do g.
"""


@pytest.fixture
def table(tmp_path: Path) -> list:
    path = tmp_path / "requirements.tsv"
    path.write_text(TABLE, encoding="utf-8")
    return coverage_tool.load_table(path)


def test_table_loads_every_row_with_quotes_kept(table: list) -> None:
    assert len(table) == 8
    assert table[1].text == 'A client MUST NOT do "b".'
    assert table[5].rfc == "RFC9110" and table[5].group == "MAY..."
    assert table[6].group == "SHOULD..." and table[7].group == "MUST/MUST NOT"


def test_only_client_testable_rows_count(table: list) -> None:
    assert [row.id for row in coverage_tool.counted(table)] == [
        "RFC9112-1-p1-s1", "RFC9112-1-p1-s2", "RFC9112-1-p1-s3",
        "RFC9110-2-p1-s1", "RFC9110-2-p1-s2", "RFC9110-2-p1-s3"]
    assert len(coverage_tool.counted(table, rfc="RFC9112")) == 3
    assert [r.id for r in coverage_tool.counted(table, group="MUST/MUST NOT")] == [
        "RFC9112-1-p1-s1", "RFC9112-1-p1-s2", "RFC9110-2-p1-s3"]


def test_tallies_per_rfc_and_level(table: list) -> None:
    citations = {"RFC9112-1-p1-s1": {"a.b", "a.c"}, "RFC9112-1-p1-s4": {"x.y"},  # s4 is not counted
                 "RFC9110-2-p1-s2": {"d.e"}, "http.client.HTTPResponse.read": {"f.g"}}
    result = coverage_tool.measure(coverage_tool.counted(table), citations)
    assert (result.by_rfc["RFC9112"].cited, result.by_rfc["RFC9112"].total) == (1, 3)
    assert (result.by_rfc["RFC9110"].cited, result.by_rfc["RFC9110"].total) == (1, 3)
    must = result.by_rfc_level[("RFC9112", "MUST/MUST NOT")]
    assert (must.cited, must.total) == (1, 2) and must.line() == "cited: 1 of 2 (50.0%)"
    assert (result.overall.cited, result.overall.total) == (2, 6)
    assert [row.id for row in result.missing] == ["RFC9112-1-p1-s2", "RFC9112-1-p1-s3", "RFC9110-2-p1-s1",
                                                  "RFC9110-2-p1-s3"]
    assert result.cited["RFC9112-1-p1-s1"] == ["a.b", "a.c"]
    assert [ok for ok, _ in coverage_tool.targets(result, rfc9110_minimum=1)] == [False, True, False]
    assert coverage_tool.targets(result, all_levels=False) == [
        (False, "RFC 9112: every row cited or explained; cited: 1 of 3 (33.3%), explained: 0"),
        (False, "every uncited row has a reason, no cited row keeps one; 4 without a reason, 0 kept")]


def test_targets_met(table: list) -> None:
    rows = coverage_tool.counted(table)
    result = coverage_tool.measure(rows, {row.id: {"s.t"} for row in rows})
    assert all(ok for ok, _ in coverage_tool.targets(result, rfc9110_minimum=3))
    assert not coverage_tool.targets(result, rfc9110_minimum=4)[1][0], "3 of 3 RFC 9110 rows is not 4"
    assert "not cited by any scenario: 0 row(s)" in coverage_tool.render(result, 1, missing_only=False)


REASONS = """\
id\tcategory\treason
# a comment
RFC9112-1-p1-s2\tcaller\tthe caller writes "b"
RFC9110-2-p1-s1\tuser-agent\tissue 17
"""


def _reasons(tmp_path: Path, table: list, text: str) -> dict:
    path = tmp_path / "reasons.tsv"
    path.write_text(text, encoding="utf-8")
    return coverage_tool.load_reasons(path, table)


def test_uncited_rows_are_listed_with_their_reason_and_flagged_without(tmp_path: Path, table: list) -> None:
    reasons = _reasons(tmp_path, table, REASONS)
    assert reasons["RFC9112-1-p1-s2"] == coverage_tool.Reason("caller", 'the caller writes "b"')
    result = coverage_tool.measure(coverage_tool.counted(table), {"RFC9112-1-p1-s1": {"a.b"}}, reasons)
    assert [row.id for row in result.unexplained] == ["RFC9112-1-p1-s3", "RFC9110-2-p1-s2", "RFC9110-2-p1-s3"]
    assert result.by_category() == {"user-agent": 1, "caller": 1, "no reason": 3}
    assert result.explained("RFC9112") == 1 and result.stale == []
    text = coverage_tool.render(result, 1, missing_only=True)
    assert "not cited by any scenario: 5 row(s); user-agent: 1; caller: 1; no reason: 3" in text
    assert 'why (caller): the caller writes "b"' in text
    assert text.count("NO REASON") == 3
    # The control: once every uncited row has a reason, the target is met.
    explained = {row.id: coverage_tool.Reason("not-yet", "x") for row in result.missing}
    done = coverage_tool.measure(coverage_tool.counted(table), {"RFC9112-1-p1-s1": {"a.b"}}, explained)
    assert coverage_tool.targets(done, all_levels=False)[-1][0] and "NO REASON" not in coverage_tool.render(done, 1, True)


def test_a_reason_kept_for_a_cited_row_is_flagged(tmp_path: Path, table: list) -> None:
    reasons = _reasons(tmp_path, table, REASONS)
    result = coverage_tool.measure(coverage_tool.counted(table), {"RFC9112-1-p1-s2": {"a.b"}}, reasons)
    assert result.stale == ["RFC9112-1-p1-s2"]
    assert not coverage_tool.targets(result, all_levels=False)[-1][0]
    assert "still given a reason" in coverage_tool.render(result, 1, missing_only=True)


@pytest.mark.parametrize("line, message", [
    ("RFC9112-1-p1-s3\tcaller", "expected 'id <TAB> category <TAB> reason'"),
    ("RFC9112-1-p1-s3\tcaller\t ", "expected 'id <TAB> category <TAB> reason'"),
    ("RFC9112-1-p1-s3\tlater\twhy", "unknown category 'later'"),
    ("RFC9112-1-p1-s4\tcaller\tnot counted", "'RFC9112-1-p1-s4' is not a counted row"),
    ("RFC9999-1-p1-s1\tcaller\tunknown", "'RFC9999-1-p1-s1' is not a counted row"),
    ("RFC9110-2-p1-s1\tcaller\tagain", "RFC9110-2-p1-s1 has a reason already"),
])
def test_a_malformed_reasons_file_says_where(tmp_path: Path, table: list, line: str, message: str) -> None:
    with pytest.raises(coverage_tool.ReasonsError, match=r"reasons\.tsv:5: .*" + re.escape(message)):
        _reasons(tmp_path, table, REASONS + line + "\n")


def test_main_reports_a_malformed_reasons_file_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "reasons.tsv"
    bad.write_text("id\tcategory\treason\nRFC9112-3-p5-s1\tsomeday\tx\n", encoding="utf-8")
    monkeypatch.setattr(coverage_tool, "REASONS", bad)
    assert coverage_tool.main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reasons.tsv:2: unknown category 'someday'" in err


def test_option_values_are_normalised() -> None:
    assert coverage_tool.normalise_rfc("9112") == coverage_tool.normalise_rfc("rfc9112") == "RFC9112"
    assert coverage_tool.normalise_level("must") == coverage_tool.normalise_level("MUST NOT") == "MUST/MUST NOT"
    assert coverage_tool.normalise_level("should") == "SHOULD..."
    assert coverage_tool.normalise_level("OPTIONAL") == "MAY..."
    with pytest.raises(Exception, match="unknown RFC"):
        coverage_tool.normalise_rfc("7230")
    with pytest.raises(Exception, match="unknown level"):
        coverage_tool.normalise_level("CAN")


def test_the_real_table_has_the_issue_counts() -> None:
    table = coverage_tool.load_table(coverage_tool.TABLE)
    rows = coverage_tool.counted(table)
    assert len([r for r in rows if r.rfc == "RFC9112"]) == 74
    assert len([r for r in rows if r.rfc == "RFC9112" and r.group == "MUST/MUST NOT"]) == 47
    assert len([r for r in rows if r.rfc == "RFC9110"]) == 141
    # The real reasons file parses against the real table (whether its rows are uncited is the
    # tool's own report: it needs the suite collected).
    assert coverage_tool.load_reasons(coverage_tool.REASONS, table)


# -- stdlib_coverage ----------------------------------------------------------------------------------


def test_line_ranges() -> None:
    assert stdlib_tool.line_ranges([7, 3, 4, 5, 10, 11]) == [(3, 5), (7, 7), (10, 11)]
    assert stdlib_tool.line_ranges([]) == []


def test_rc_measures_one_file_with_branches(tmp_path: Path) -> None:
    text = stdlib_tool.rc_text(Path("/x/http/client.py"), tmp_path / ".coverage")
    assert "branch = True" in text and "parallel = True" in text and "include = /x/http/client.py" in text


# -- seeded_bugs: the mutation generator ---------------------------------------------------------------

SOURCE = '''\
"""Docstring: never removed."""
LIMIT = 10


def check(a, b, items):
    if a == b and a < 3:
        return True
    pass
    return a in items or False
'''


def test_mutation_sites_kinds_and_lines() -> None:
    mutator = seeded.Mutator(SOURCE)
    found = sorted((m.kind, m.line, m.change) for m in mutator.mutations)
    assert found == sorted([
        ("remove", 2, "statement -> pass"),  # LIMIT = 10
        ("remove", 6, "statement -> pass"),  # the if
        ("remove", 9, "statement -> pass"),  # return a in items ...
        ("remove", 7, "statement -> pass"),  # return True
        ("int", 2, "10 -> 11"),
        ("int", 6, "3 -> 4"),
        ("compare", 6, "== -> !="),
        ("compare", 6, "< -> >="),
        ("compare", 9, "in -> not in"),
        ("boolop", 6, "and -> or"),
        ("boolop", 9, "or -> and"),
        ("bool", 7, "True -> False"),
        ("bool", 9, "False -> True"),
        ("return", 7, "return X -> return None"),
        ("return", 9, "return X -> return None"),
    ])  # no def removed, no docstring removed, no pass replaced


def test_each_mutant_differs_by_one_change_and_the_tree_is_restored() -> None:
    mutator = seeded.Mutator(SOURCE)
    assert mutator.original == ast.unparse(ast.parse(SOURCE))
    mutants = {}
    for mutation in mutator.mutations:
        text = mutator.mutant(mutation.index)
        compile(text, "mutant.py", "exec")
        assert text != mutator.original
        mutants[(mutation.kind, mutation.change, mutation.line)] = text
        assert ast.unparse(mutator.tree) == mutator.original  # undone
    assert "if a != b and a < 3:" in mutants[("compare", "== -> !=", 6)]
    assert "if a == b and a >= 3:" in mutants[("compare", "< -> >=", 6)]
    assert "return a not in items or False" in mutants[("compare", "in -> not in", 9)]
    assert "if a == b or a < 3:" in mutants[("boolop", "and -> or", 6)]
    assert "LIMIT = 11" in mutants[("int", "10 -> 11", 2)]
    assert "return None" in mutants[("return", "return X -> return None", 9)]
    removed = mutants[("remove", "statement -> pass", 2)]
    assert "LIMIT" not in removed and removed.count("pass") == 2


def test_ast_round_trip_of_the_stdlib_module_is_stable_and_same_tree() -> None:
    import http.client

    source = Path(http.client.__file__).read_text(encoding="utf-8")
    once = ast.unparse(ast.parse(source))
    assert ast.unparse(ast.parse(once)) == once
    assert ast.dump(ast.parse(once)) == ast.dump(ast.parse(source))


def test_sample_is_seeded_and_bounded() -> None:
    mutations = seeded.Mutator(SOURCE).mutations
    first = seeded.sample(mutations, 5, seed=1)
    assert [m.index for m in first] == [m.index for m in seeded.sample(mutations, 5, seed=1)]
    assert len(first) == 5 and len({m.index for m in first}) == 5
    assert len(seeded.sample(mutations, 1000, seed=1)) == len(mutations)


# -- seeded_bugs: caught or survived ------------------------------------------------------------------------

BASELINE_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4">
<testcase classname="suites.test_a" name="test_one[whole-client]" time="0.01"/>
<testcase classname="suites.test_a" name="test_two[whole-client]" time="0.01">
  <failure message="AssertionError">boom</failure></testcase>
<testcase classname="suites.test_a" name="test_three[client]" time="0.01">
  <skipped type="pytest.skip" message="unsupported: no">x</skipped></testcase>
<testcase classname="suites.test_b" name="test_four[client]" time="0.01"/>
</testsuite></testsuites>
"""

MUTANT_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4">
<testcase classname="suites.test_a" name="test_one[whole-client]" time="0.01"/>
<testcase classname="suites.test_a" name="test_two[whole-client]" time="0.01">
  <failure message="AssertionError">boom</failure></testcase>
<testcase classname="suites.test_a" name="test_three[client]" time="0.01">
  <skipped type="pytest.skip" message="unsupported: no">x</skipped></testcase>
<testcase classname="suites.test_b" name="test_four[client]" time="0.01">
  <error message="failed on teardown">ScenarioTimeout</error></testcase>
</testsuite></testsuites>
"""


def test_junit_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "baseline.xml"
    path.write_text(BASELINE_XML)
    assert seeded.junit_outcomes(path) == {
        "suites.test_a::test_one[whole-client]": "passed",
        "suites.test_a::test_two[whole-client]": "failed",
        "suites.test_a::test_three[client]": "skipped",
        "suites.test_b::test_four[client]": "passed",
    }


def test_classification_from_two_junit_files(tmp_path: Path) -> None:
    (tmp_path / "baseline.xml").write_text(BASELINE_XML)
    (tmp_path / "mutant.xml").write_text(MUTANT_XML)
    baseline = seeded.failing(seeded.junit_outcomes(tmp_path / "baseline.xml"))
    mutant = seeded.junit_outcomes(tmp_path / "mutant.xml")

    caught = seeded.classify(baseline, mutant)
    assert caught.caught and caught.newly_failing == ["suites.test_b::test_four[client]"]
    assert caught.reason == "1 new failure(s)"

    same = seeded.classify(baseline, seeded.junit_outcomes(tmp_path / "baseline.xml"))
    assert not same.caught and same.reason == "survived"

    # A baseline failure that passes under the mutant is a change too.
    fixed = dict(mutant, **{"suites.test_a::test_two[whole-client]": "passed",
                            "suites.test_b::test_four[client]": "passed"})
    assert seeded.classify(baseline, fixed).newly_passing == ["suites.test_a::test_two[whole-client]"]

    # Tests unstable between baseline runs are left out of the comparison.
    assert not seeded.classify(baseline, mutant, ignored={"suites.test_b::test_four[client]"}).caught


def test_runs_without_a_result_count_as_caught() -> None:
    assert seeded.classify(set(), None, timed_out=True).reason == "timeout"
    verdict = seeded.classify(set(), None, status=4)
    assert verdict.caught and verdict.reason == "no result (pytest exit status 4)"
