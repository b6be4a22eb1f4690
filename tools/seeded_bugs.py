"""Suite strength by mutation: seed one small bug at a time into the stdlib's http/client.py.

    python tools/seeded_bugs.py [--sample 40] [--seed 1] [--jobs 2] [--xdist 0] [--mutant-timeout 240]

The running interpreter's http/client.py is parsed with `ast`. Every mutation site gives one mutant
with ONE small change:

    compare   a comparison operator flipped: == <-> !=, < <-> >=, > <-> <=, in <-> not in
    remove    a statement replaced by `pass` (not a def/class, a docstring or a `pass`)
    int       an integer constant off by one (n -> n + 1)
    boolop    `and` <-> `or`
    bool      True <-> False
    return    `return X` -> `return None`

A seeded random sample of mutants is written, each as `client.py` in its own temporary directory
(the file's name is the implementation's name, so test ids are the same for every mutant), and the
suite runs against each: `pytest suites/ --impl=<mutant> -q -p no:cacheprovider --scenario-timeout 3
--junitxml=...` (no -x: every test's outcome is needed). The stdlib already fails some scenarios
honestly, so the reference is the unmutated copy's own run: the same module unparsed by `ast` (so
that it differs from each mutant by the mutation only). A mutant is *caught* when its set of failing
tests differs from that baseline's, when the run ends without a result (e.g. the mutant does not even
import: the run stops with a usage error), or when it exceeds the per-mutant wall-clock timeout
(scenarios hanging, each of which the suite reports as a timeout failure). Otherwise it *survived*.

A mutant that does not change behaviour cannot be caught; whether a survivor is such an equivalent
mutant needs a human, so every survivor is listed (line, mutation, source) with whether the suite
runs that line at all (from a second baseline run of the original file under coverage). That second
baseline also shows tests whose outcome is unstable from run to run; they are left out of the
comparison and listed.

Time: a serial run of the suite on the stdlib takes ~30 s of wall clock but only ~9 s of CPU (most of
it waits on sockets and deadlines), while `-n 2` takes ~22 s and ~15 s of CPU. Measured on 2 cores:
two serial runs at a time give ~17 s per mutant (40 mutants: ~12 min); four at a time ~12 s per
mutant (~9 min), with no test changing outcome in the unmutated baseline. So by default mutants run
without -n, four at a time (--jobs 4); --xdist N adds -n N to each run. Because the load could in
principle make a slow test time out, one extra *control* run of the unmutated copy goes among the
mutants; tests whose outcome differs there are reported and left out of every comparison.
"""

from __future__ import annotations

import argparse
import ast
import http.client
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 90.0
TEST_HTTPLIB_FIGURE = 71.0  # CPython's own test_httplib, as the issue quotes it
MUTANT_NAME = "client.py"

FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE, ast.GtE: ast.Lt,
    ast.Gt: ast.LtE, ast.LtE: ast.Gt,
    ast.In: ast.NotIn, ast.NotIn: ast.In,
}
OP_TEXT: dict[type[ast.AST], str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.GtE: ">=", ast.Gt: ">", ast.LtE: "<=",
    ast.In: "in", ast.NotIn: "not in", ast.And: "and", ast.Or: "or",
}
KINDS = ("compare", "remove", "int", "boolop", "bool", "return")
NOT_REMOVED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)


# -- the mutation generator (pure) -------------------------------------------------------------------


@dataclass
class Mutation:
    index: int
    kind: str
    line: int
    change: str  # e.g. "== -> !=", "remove", "65536 -> 65537"
    snippet: str  # the source of the mutated node, one line
    apply: Callable[[], Callable[[], None]] = field(repr=False)  # mutate the tree; returns the undo

    def label(self) -> str:
        return f"line {self.line}: {self.kind} {self.change}: {self.snippet}"


def _snippet(source: str, node: ast.AST, width: int = 70) -> str:
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _line(source: str, node: ast.AST, width: int = 70) -> str:
    """The source line a node starts on (the node alone, e.g. a constant, says too little)."""
    lines = source.splitlines()
    lineno = getattr(node, "lineno", 0)
    text = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ast.unparse(node)
    return text if len(text) <= width else text[: width - 3] + "..."


def _is_docstring(statement: ast.stmt) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str))


def _setter(obj: object, name: str, new: object) -> Callable[[], Callable[[], None]]:
    def apply() -> Callable[[], None]:
        old = getattr(obj, name)
        setattr(obj, name, new)
        return lambda: setattr(obj, name, old)
    return apply


def _list_setter(items: list[object], position: int, new: object) -> Callable[[], Callable[[], None]]:
    def apply() -> Callable[[], None]:
        old = items[position]
        items[position] = new

        def undo() -> None:
            items[position] = old
        return undo
    return apply


def _sites(tree: ast.AST, source: str) -> Iterator[tuple[str, int, str, str, Callable[[], Callable[[], None]]]]:
    for node in ast.walk(tree):
        # Statements of every body (body, orelse, finalbody, handlers' bodies...): replaced by pass.
        for _, value in ast.iter_fields(node):
            if isinstance(value, list):
                for position, statement in enumerate(value):
                    if (isinstance(statement, ast.stmt) and not isinstance(statement, NOT_REMOVED)
                            and not _is_docstring(statement)):
                        replacement = ast.copy_location(ast.Pass(), statement)
                        yield ("remove", statement.lineno, "statement -> pass", _snippet(source, statement),
                               _list_setter(value, position, replacement))
        if isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                flipped = FLIPS.get(type(op))
                if flipped is not None:
                    yield ("compare", node.lineno, f"{OP_TEXT[type(op)]} -> {OP_TEXT[flipped]}",
                           _snippet(source, node), _list_setter(node.ops, position, flipped()))
        elif isinstance(node, ast.BoolOp):
            other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            yield ("boolop", node.lineno, f"{OP_TEXT[type(node.op)]} -> {OP_TEXT[type(other)]}",
                   _snippet(source, node), _setter(node, "op", other))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            yield ("bool", node.lineno, f"{node.value} -> {not node.value}", _line(source, node),
                   _setter(node, "value", not node.value))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield ("int", node.lineno, f"{node.value} -> {node.value + 1}", _line(source, node),
                   _setter(node, "value", node.value + 1))
        elif (isinstance(node, ast.Return) and node.value is not None
              and not (isinstance(node.value, ast.Constant) and node.value.value is None)):
            yield ("return", node.lineno, "return X -> return None", _snippet(source, node),
                   _setter(node, "value", ast.copy_location(ast.Constant(None), node.value)))


class Mutator:
    """The mutation sites of one module's source; mutant(i) is the source with mutation i applied."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tree = ast.parse(source)
        self.original = ast.unparse(self.tree)  # the baseline: the same round trip as every mutant
        self.mutations = [Mutation(index, *site) for index, site in enumerate(_sites(self.tree, source))]

    def mutant(self, index: int) -> str:
        undo = self.mutations[index].apply()
        try:
            return ast.unparse(self.tree)
        finally:
            undo()


def sample(mutations: list[Mutation], size: int, seed: int) -> list[Mutation]:
    chosen = random.Random(seed).sample(mutations, min(size, len(mutations)))
    return sorted(chosen, key=lambda mutation: (mutation.line, mutation.index))


# -- outcomes (pure) ----------------------------------------------------------------------------------


def junit_outcomes(path: Path) -> dict[str, str]:
    """test id -> passed / failed / skipped, from a pytest --junitxml file (failure or error = failed)."""
    outcomes: dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            outcomes[test_id] = "failed"
        elif "skipped" in tags:
            outcomes.setdefault(test_id, "skipped")
        else:
            outcomes.setdefault(test_id, "passed")
    return outcomes


def failing(outcomes: dict[str, str]) -> set[str]:
    return {test_id for test_id, outcome in outcomes.items() if outcome == "failed"}


@dataclass
class Verdict:
    caught: bool
    reason: str  # what caught it, or "survived"
    newly_failing: list[str] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)


def classify(baseline: set[str], mutant: dict[str, str] | None, ignored: set[str] = frozenset(),  # type: ignore[assignment]
             timed_out: bool = False, status: int | None = None) -> Verdict:
    """Caught when the failing tests differ from the baseline's (ignoring unstable ones), or no result."""
    if timed_out:
        return Verdict(True, "timeout")
    if mutant is None:
        return Verdict(True, f"no result (pytest exit status {status})")
    now = failing(mutant) - ignored
    before = baseline - ignored
    new, gone = sorted(now - before), sorted(before - now)
    if new or gone:
        parts = [f"{len(new)} new failure(s)" if new else "", f"{len(gone)} baseline failure(s) pass" if gone else ""]
        return Verdict(True, ", ".join(part for part in parts if part), new, gone)
    return Verdict(False, "survived")


# -- running the suite ---------------------------------------------------------------------------------


@dataclass
class Run:
    outcomes: dict[str, str] | None
    status: int | None
    seconds: float
    timed_out: bool


def run_suite(impl: Path, workdir: Path, timeout: float, xdist: int, coverage_rc: Path | None = None) -> Run:
    junit = workdir / "junit.xml"
    pytest_args = ["-m", "pytest", "suites/", f"--impl={impl}", "-q", "--tb=no", "--no-header",
                   "-p", "no:cacheprovider", "--scenario-timeout", "3", f"--junitxml={junit}"]
    if xdist:
        pytest_args += ["-n", str(xdist)]
    command = [sys.executable]
    if coverage_rc is not None:
        command += ["-m", "coverage", "run", f"--rcfile={coverage_rc}"]  # then: -m pytest ...
    command += pytest_args
    env = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    started = time.monotonic()
    with (workdir / "pytest.out").open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            status = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the run and its xdist workers: our own group
            process.wait()
            return Run(None, None, time.monotonic() - started, True)
        except BaseException:  # e.g. Ctrl-C: do not leave the run behind in its own session
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
    seconds = time.monotonic() - started
    outcomes = junit_outcomes(junit) if junit.is_file() and status in (0, 1) else None
    return Run(outcomes, status, seconds, False)


def executed_lines(data_file: Path, measured: Path) -> set[int]:
    import coverage

    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    return set(data.lines(str(measured)) or ())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=40, help="mutants to run (default 40)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the sample (default 1)")
    parser.add_argument("--jobs", type=int, default=4, help="mutants run at the same time (default 4)")
    parser.add_argument("--xdist", type=int, default=0, metavar="N", help="add -n N to each run (default: none)")
    parser.add_argument("--mutant-timeout", type=float, default=240.0, metavar="SECONDS",
                        help="wall-clock limit of one mutant's run (default 240)")
    parser.add_argument("--source", type=Path, default=Path(http.client.__file__).resolve(),
                        help="the module to mutate (default: this interpreter's http/client.py)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep mutants and their outputs in DIR")
    args = parser.parse_args(argv)

    source = args.source.read_text(encoding="utf-8")
    mutator = Mutator(source)
    kinds = {kind: sum(1 for m in mutator.mutations if m.kind == kind) for kind in KINDS}
    chosen = sample(mutator.mutations, args.sample, args.seed)
    print(f"seeded bugs in {args.source} (Python {sys.version.split()[0]})")
    print(f"{len(mutator.mutations)} mutation sites: " + ", ".join(f"{kind} {count}" for kind, count in kinds.items()))
    print(f"sample {len(chosen)}, seed {args.seed}; {args.jobs} at a time, "
          f"{'-n ' + str(args.xdist) if args.xdist else 'no -n'}, {args.mutant_timeout:g} s limit each", flush=True)

    holder = tempfile.TemporaryDirectory(prefix="seeded-bugs-") if args.keep is None else None
    work = Path(holder.name) if holder is not None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        return _run(args, mutator, chosen, work)
    finally:
        if holder is not None:
            holder.cleanup()


def _write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MUTANT_NAME
    path.write_text(text, encoding="utf-8")
    return path


def _run(args: argparse.Namespace, mutator: Mutator, chosen: list[Mutation], work: Path) -> int:
    started = time.monotonic()
    # Two baselines side by side: the round-tripped copy (the reference every mutant is compared
    # with), and the original file under coverage (which lines the suite runs; and a second run, to
    # spot tests whose outcome changes from run to run).
    baseline_impl = _write(work / "baseline", mutator.original)
    original_impl = _write(work / "original", mutator.source)
    rc = work / "original" / "coveragerc"
    rc.write_text(f"[run]\ninclude = {original_impl}\ndata_file = {work / 'original' / '.coverage'}\n")
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(run_suite, baseline_impl, baseline_impl.parent, args.mutant_timeout, args.xdist)
        second = pool.submit(run_suite, original_impl, original_impl.parent, args.mutant_timeout * 2, 0, rc)
        baseline, original = first.result(), second.result()
    if baseline.outcomes is None or original.outcomes is None:
        print("seeded_bugs: the unmutated copy's run gave no result; see", work / "baseline" / "pytest.out",
              file=sys.stderr)
        return 2
    base_failing = failing(baseline.outcomes)
    unstable = base_failing ^ failing(original.outcomes)
    reached = executed_lines(work / "original" / ".coverage", original_impl)
    print(f"baseline (unmutated copy): {len(base_failing)} of {len(baseline.outcomes)} tests fail "
          f"({baseline.seconds:.0f} s); unstable between two baseline runs: {len(unstable)}")
    for test_id in sorted(unstable):
        print(f"  unstable, ignored: {test_id}")
    print(flush=True)

    def one(mutation: Mutation | None) -> tuple[Mutation | None, Run | None, str]:
        # None is the control: the unmutated copy once more, under the same load as the mutants.
        text = mutator.original if mutation is None else mutator.mutant(mutation.index)
        try:
            compile(text, MUTANT_NAME, "exec")
        except SyntaxError as exc:
            return mutation, None, f"invalid: {exc}"
        directory = work / ("control" if mutation is None else f"m{mutation.index:05d}")
        return mutation, run_suite(_write(directory, text), directory, args.mutant_timeout, args.xdist), ""

    runs: list[tuple[Mutation, Run | None, str]] = []
    control: Run | None = None
    jobs: list[Mutation | None] = list(chosen)
    jobs.insert(len(jobs) // 2, None)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        number = 0
        for mutation, run, invalid in pool.map(one, jobs):
            if mutation is None:
                control = run
                continue
            number += 1
            runs.append((mutation, run, invalid))
            verdict = (Verdict(False, invalid) if run is None else
                       classify(base_failing, run.outcomes, unstable, run.timed_out, run.status))
            seconds = f"{run.seconds:4.0f}s" if run is not None else "    -"
            status = "CAUGHT" if verdict.caught else verdict.reason.split(":")[0].upper()
            detail = f"  ({verdict.reason})" if verdict.caught else ""
            print(f"[{number:2}/{len(chosen)}] {seconds}  {status:<8} {mutation.label()}{detail}", flush=True)

    # The control ran beside the mutants: a test whose outcome differs there is unstable under load.
    if control is None or control.outcomes is None:
        print("\nwarning: the control run (unmutated, under load) gave no result: load may cause false catches")
    else:
        flaky = (failing(control.outcomes) ^ base_failing) - unstable
        print(f"\ncontrol (unmutated copy, run among the mutants): {len(flaky)} test(s) differ from the baseline")
        for test_id in sorted(flaky):
            print(f"  unstable under load, ignored: {test_id}")
        unstable |= flaky
    results = [(mutation, Verdict(False, invalid) if run is None else
                classify(base_failing, run.outcomes, unstable, run.timed_out, run.status))
               for mutation, run, invalid in runs]

    valid = [(m, v) for m, v in results if not v.reason.startswith("invalid")]
    caught = [(m, v) for m, v in valid if v.caught]
    survived = [(m, v) for m, v in valid if not v.caught]
    percent = 100.0 * len(caught) / len(valid) if valid else 0.0
    print()
    print(f"sampled: {len(results)} (seed {args.seed}; {len(results) - len(valid)} invalid, not counted)")
    print(f"caught: {len(caught)}  (by timeout: {sum(v.reason == 'timeout' for _, v in caught)}, "
          f"by a run without result: {sum(v.reason.startswith('no result') for _, v in caught)})")
    print(f"survived: {len(survived)}")
    print(f"caught %: {percent:.1f}% of the sampled mutants")
    print(f"target: >= {TARGET:.0f}% of behaviour-changing mutants: ", end="")
    if percent >= TARGET:
        print("ok (even counting every survivor as behaviour-changing)")
    else:
        needed = len(valid) - len(caught) / (TARGET / 100.0)
        print(f"MISS unless at least {max(0, int(-(-needed // 1)))} of the {len(survived)} survivors are "
              "equivalent (judge them below)")
    print(f"context: CPython's test_httplib catches about {TEST_HTTPLIB_FIGURE:.0f}% (the issue's figure); "
          f"this suite: {percent:.1f}%")
    if survived:
        print()
        print("survivors (judge whether each changes behaviour; 'not run' = the suite never executes the line):")
        for mutation, _ in survived:
            where = "run    " if mutation.line in reached else "not run"
            print(f"  {where}  {mutation.label()}")
    print(f"\n(total {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
