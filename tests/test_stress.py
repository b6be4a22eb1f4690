"""tools/stress.py: its logic, driven on a tiny fake test command (never the real suite)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from tool_modules import load_tool

stress = load_tool("stress")

# A stand-in for pytest: it writes a JUnit XML file like pytest's, with the outcomes its state file
# says for this run (one line per run: the outcome of the test whose outcome changes), and exits 1
# when that test failed.
FAKE_PYTEST = textwrap.dedent('''
    import sys
    from pathlib import Path
    state = Path(sys.argv[1])
    junit = next(arg for arg in sys.argv if arg.startswith("--junitxml=")).removeprefix("--junitxml=")
    plan = state.read_text().split()
    done = Path(str(state) + ".done")
    number = len(done.read_text()) if done.exists() else 0
    done.write_text("x" * (number + 1))
    changing = plan[number]
    body = {"passed": "", "failed": '<failure message="boom"/>'}[changing]
    Path(junit).write_text(
        '<testsuites><testsuite>'
        '<testcase classname="suites.test_a" name="test_one[whole-reference]"/>'
        '<testcase classname="suites.test_a" name="test_one[whole-stdlib]"><skipped type="pytest.xfail" message="listed"/></testcase>'
        f'<testcase classname="suites.test_a" name="test_two[stdlib]">{body}</testcase>'
        '<testcase classname="tests.test_b" name="test_plain"/>'
        '</testsuite></testsuites>')
    sys.exit(1 if changing == "failed" else 0)
''')


def fake_command(tmp_path: Path, plan: list[str]) -> str:
    script, state = tmp_path / "fake_pytest.py", tmp_path / "plan.txt"
    script.write_text(FAKE_PYTEST)
    state.write_text("\n".join(plan))
    return f"{sys.executable} {script} {state}"


def test_a_run_whose_outcome_differs_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    command = fake_command(tmp_path, ["passed", "failed", "passed"])
    assert stress.main(["--runs", "3", "--busy", "0", "--command", command]) == 1
    out = capsys.readouterr().out
    assert "green: 2 of 3 (beside 0 busy processes)" in out
    assert "outcomes that differed between runs: 1" in out
    assert "  suites/test_a.py::test_two[stdlib]: run 1 passed, run 2 failed, run 3 passed" in out
    lines = {line.split(":")[0]: line for line in out.splitlines() if line.startswith("run ") and "items" in line}
    assert lines["run 1"].endswith("as in most runs: yes") and lines["run 3"].endswith("as in most runs: yes")
    assert lines["run 2"].startswith("run 2: exit 1, ") and lines["run 2"].endswith("as in most runs: no, 1 differ")
    assert out.count("  not green: ") == 1 and "  not green: suites/test_a.py::test_two[stdlib] (failed)\n" in out


def test_control_runs_with_the_same_outcomes_are_green(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    command = fake_command(tmp_path, ["passed", "passed"])
    assert stress.main(["--runs", "2", "--busy", "1", "--command", command, "--", "-k", "x"]) == 0
    out = capsys.readouterr().out
    assert "green: 2 of 2 (beside 1 busy process)" in out
    assert "outcomes that differed between runs: none" in out
    assert out.count("4 items; every reference and stdlib item as in most runs: yes") == 2


def test_junit_outcomes_of_each_kind(tmp_path: Path) -> None:
    junit = tmp_path / "run.xml"
    junit.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="suites.test_a" name="ok"/>'
        '<testcase classname="suites.test_a" name="bad"><failure/></testcase>'
        '<testcase classname="suites.test_a" name="broke"><failure/><error/></testcase>'
        '<testcase classname="suites.test_a" name="gone"><skipped type="pytest.skip"/></testcase>'
        '<testcase classname="suites.test_a" name="known"><skipped type="pytest.xfail"/></testcase>'
        '</testsuite></testsuites>')
    assert stress.junit_outcomes(junit) == {
        "suites/test_a.py::ok": "passed", "suites/test_a.py::bad": "failed", "suites/test_a.py::broke": "error",
        "suites/test_a.py::gone": "skipped", "suites/test_a.py::known": "xfailed"}


def test_a_run_without_a_report_is_missing_not_green(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    command = f"{sys.executable} -c 'import sys; sys.exit(3)'"
    assert stress.main(["--runs", "1", "--command", command]) == 1
    out = capsys.readouterr().out
    assert "run 1: exit 3, " in out and "as in most runs: no report" in out and "green: 0 of 1" in out


def test_only_items_of_the_reference_and_stdlib_are_watched() -> None:
    assert stress.watched("suites/test_a.py::test_one[whole-reference]")
    assert stress.watched("suites/test_a.py::test_two[stdlib]")
    assert not stress.watched("suites/test_a.py::test_one[whole-urllib3]")
    assert not stress.watched("tests/test_b.py::test_plain")


def test_busy_processes_are_killed_however_the_block_ends() -> None:
    with pytest.raises(KeyboardInterrupt):
        with stress.busy_processes(2) as processes:
            assert [process.poll() for process in processes] == [None, None], "control: they run"
            raise KeyboardInterrupt
    assert all(process.returncode is not None for process in processes)


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: --runs"),
    (["--runs", "0"], "--runs must be at least 1, not 0"),
    (["--runs", "two"], "argument --runs: invalid int value: 'two'"),
    (["--runs", "1", "--busy", "-1"], "--busy must be 0 or more, not -1"),
    (["--runs", "1", "--command", "'unclosed"], "--command: No closing quotation"),
    (["--runs", "1", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_get_one_line_and_exit_code_2(argv: list[str], message: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert stress.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"stress.py: error: {message}\n" and captured.out == ""
