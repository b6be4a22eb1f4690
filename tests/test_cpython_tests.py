"""tools/cpython_tests.py: CHOICES.md parsing, excuses, the report, exit codes, and one child run on a
tiny test module (never CPython's whole test_httplib, which CI runs through the tool itself)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from tool_modules import load_tool

ROOT = Path(__file__).resolve().parents[1]


tool = load_tool("cpython_tests")

CHOICES = textwrap.dedent("""\
    # Choices

    | # | requirement | stdlib | reference |
    |---|---|---|---|
    | 3 | RFC9110-2.2-p5-s1 | a | b |
    | R1 | RFC9112-6.3-p2-s4 | a | b |

    | # | requirement | stdlib | reference |
    |---|---|---|---|
    | T1 | RFC9112-9.8-p8-s1 | a | b |

    ## CPython's test_httplib

    | test | rows | why |
    |---|---|---|
    | `BasicTest.test_one` | R1 | x |
    | `HeaderTests.test_two` | 3, T1 | x |
    | `HeaderTests.test_misspelt` | R99 | a row that does not exist excuses nothing |
    | 7 | R1 | not a test name: ignored |

    ## Later

    | `BasicTest.test_after` | R1 | outside the section: ignored |
    | R2 | a row after the section is no choice |
""")


def result(*problems: tuple[str, str]) -> object:
    counts = {"passed": 10, "failed": 0, "errors": 0, "skipped": 2}
    for _, outcome in problems:
        counts[outcome] += 1
    return tool.RunResult("3.12.1", "/usr/bin/python3", counts,
                          [tool.Problem(test, outcome, "AssertionError: x") for test, outcome in problems])


# -- CHOICES.md ---------------------------------------------------------------------------------


def test_choice_rows_are_those_before_the_section() -> None:
    assert tool.choice_rows(CHOICES) == {"3", "R1", "T1"}


def test_excuses_cite_existing_rows_only() -> None:
    assert tool.excuses(CHOICES) == {
        "BasicTest.test_one": ["R1"],
        "HeaderTests.test_two": ["3", "T1"],
        "HeaderTests.test_misspelt": [],
    }


def test_every_excuse_in_the_real_choices_cites_a_real_row() -> None:
    text = tool.CHOICES.read_text(encoding="utf-8")
    table = tool.excuses(text)
    assert table, "CHOICES.md has the test_httplib section"
    assert all(table.values()), f"each listed test cites an existing row: {table}"


# -- outcomes, excuses, exit status -------------------------------------------------------------


def test_reference_failures_all_excused_exit_0() -> None:
    run = result(("BasicTest.test_one", "errors"), ("HeaderTests.test_two", "failed"))
    tool.attach_excuses(run, "reference", tool.excuses(CHOICES))
    assert [problem.rows for problem in run.problems] == [["R1"], ["3", "T1"]]
    assert tool.exit_status([run]) == 0


@pytest.mark.parametrize("test", ["BasicTest.test_new", "HeaderTests.test_misspelt", "BasicTest.test_after"])
def test_unexcused_reference_failure_exit_1(test: str) -> None:
    run = result(("BasicTest.test_one", "errors"), (test, "failed"))
    tool.attach_excuses(run, "reference", tool.excuses(CHOICES))
    assert [problem.test for problem in run.unexcused] == [test]
    assert tool.exit_status([result(), run]) == 1
    assert any("NO CHOICES.md ROW" in line and test in line for line in tool.report_lines(run, "reference"))


def test_stdlib_is_never_excused() -> None:
    run = result(("BasicTest.test_one", "errors"))
    tool.attach_excuses(run, "stdlib", tool.excuses(CHOICES))
    assert tool.exit_status([run]) == 1
    assert "the stdlib must pass every test" in tool.report_lines(run, "stdlib")[1]
    clean = result()
    tool.attach_excuses(clean, "stdlib", tool.excuses(CHOICES))
    assert tool.exit_status([clean]) == 0


def test_report_counts_and_share() -> None:
    run = result(("BasicTest.test_one", "errors"), ("HeaderTests.test_two", "failed"))
    tool.attach_excuses(run, "reference", tool.excuses(CHOICES))
    lines = tool.report_lines(run, "reference")
    assert lines[0] == ("Python 3.12.1 (/usr/bin/python3), reference: 10 passed, 1 failed, 1 errors, 2 skipped; "
                        "10 of the 12 that ran pass (83.3%, target 95%)")
    assert lines[1] == "  error: BasicTest.test_one [CHOICES.md row R1]: AssertionError: x"
    assert lines[2] == "  failure: HeaderTests.test_two [CHOICES.md row 3, T1]: AssertionError: x"


@pytest.mark.parametrize("data", [
    [], {"python": "3.12"}, {"python": "3", "executable": "p", "counts": {"passed": "x"}, "problems": []},
    {"python": "3", "executable": "p", "counts": dict.fromkeys(tool.OUTCOMES, 0), "problems": [{"test": "t"}]},
])
def test_malformed_child_report_is_a_usage_error(data: object) -> None:
    with pytest.raises(tool.UsageError):
        tool.parse_child_output(data)
    good = {"python": "3", "executable": "p", "counts": dict.fromkeys(tool.OUTCOMES, 1),
            "problems": [{"test": "t", "outcome": "failed", "message": "m"}]}
    assert tool.parse_child_output(good).problems[0].test == "t"  # the control


# -- the command --------------------------------------------------------------------------------


def test_main_runs_each_python_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    seen = []

    def runner(python: str, impl: str, module: str) -> object:
        seen.append((python, impl, module))
        return result(("OfflineTest.test_not_listed", "failed")) if python == "/b" else result()

    assert tool.main(["--python", "/a", "--python", "/b"], runner=runner) == 1
    assert seen == [("/a", "reference", tool.DEFAULT_MODULE), ("/b", "reference", tool.DEFAULT_MODULE)]
    out, err = capsys.readouterr()
    assert out.count("Python 3.12.1") == 2 and "OfflineTest.test_not_listed [NO CHOICES.md ROW]" in out
    assert err.strip() == "FAILED: a test fails with no CHOICES.md row excusing it"
    assert tool.main(["--python", "/a", "--impl", "stdlib"], runner=runner) == 0  # the control


def test_missing_interpreter_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main(["--python", str(tmp_path / "no-python")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"cpython_tests: no such interpreter: {tmp_path / 'no-python'}\n"


def test_unimportable_module_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main(["--module", "no_such_module_h1conform"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cpython_tests: ") and "No module named 'no_such_module_h1conform'" in err
    assert err.count("\n") == 1


FIXTURE_MODULE = '''
import http
import unittest
from http import client


class Fixture(unittest.TestCase):
    def test_passes(self):
        self.assertIs(http.client, client)

    def test_is_the_reference(self):
        self.assertEqual(client.__name__, "h1conform.reference")

    def test_fails(self):
        self.assertEqual(1, 2)

    def test_errors(self):
        raise ValueError("boom\\nsecond line")

    @unittest.skip("not here")
    def test_skipped(self):
        pass

    def test_subtest_fails(self):
        for n in (1, 2):
            with self.subTest(n=n):
                self.assertEqual(n, 1)
'''


def test_child_run_of_a_tiny_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "h1c_fixture_tests.py").write_text(FIXTURE_MODULE, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    run = tool.run_child(sys.executable, "reference", "h1c_fixture_tests")
    assert run.counts == {"passed": 2, "failed": 2, "errors": 1, "skipped": 1}
    problems = {problem.test: (problem.outcome, problem.message) for problem in run.problems}
    assert problems == {
        "Fixture.test_fails": ("failed", "AssertionError: 1 != 2"),
        "Fixture.test_errors": ("errors", "ValueError: boom | second line"),
        "Fixture.test_subtest_fails": ("failed", "AssertionError: 2 != 1"),
    }
    # The control: with the stdlib in place, the one test that checks for the reference fails.
    stdlib = tool.run_child(sys.executable, "stdlib", "h1c_fixture_tests")
    assert "Fixture.test_is_the_reference" in {problem.test for problem in stdlib.problems}
    assert stdlib.counts["passed"] == 1
