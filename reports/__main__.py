"""Command line: `python -m h1conform.reports render|diff|validate ...`.

Exit codes: 0 done; 1 `diff` found regressions, and nothing else; 2 bad input or usage (a missing
file, invalid JSON, a schema version this version cannot read, an invalid record, an output that
cannot be written), said in one line on stderr; 3 an internal error (a bug of this package: its
traceback, then one line).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from h1conform.reports import diff, html, markdown
from h1conform.reports.escape import visible
from h1conform.reports.load import ReportError, load
from h1conform.reports.model import build

OK, REGRESSIONS, BAD_INPUT, INTERNAL_ERROR = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m h1conform.reports", description=(
        "Compatibility reports from h1conform results files (pytest suites/ --results=FILE)."))
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="render results files as a Markdown matrix and/or one HTML page")
    render.add_argument("results", nargs="+", type=Path, metavar="RESULTS",
                        help="results files (JSON); a directory stands for every *.json in it")
    render.add_argument("--markdown", type=Path, metavar="OUT.md", help="write the Markdown report here")
    render.add_argument("--html", type=Path, metavar="OUT.html", help="write the HTML report here")
    render.add_argument("--notes", type=Path, metavar="FILE",
                        help="a text (Markdown) file of notes on the columns, shown in both reports")
    compare = commands.add_parser("diff", help="what changed between two runs, regressions first "
                                               "(exit code 1 when there are regressions)")
    compare.add_argument("old", type=Path, metavar="OLD")
    compare.add_argument("new", type=Path, metavar="NEW")
    compare.add_argument("--output", type=Path, metavar="FILE", help="write the Markdown here instead of stdout")
    validate = commands.add_parser("validate", help="check results files against the schema")
    validate.add_argument("results", nargs="+", type=Path, metavar="RESULTS",
                          help="results files (JSON); a directory stands for every *.json in it")
    return parser


def _write(path: Path, text: str) -> None:
    """Write `text` whole or not at all: a temporary file beside `path`, renamed over it when complete."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ReportError(f"{path}: cannot write it: {exc.strerror or exc}") from None
    try:
        with open(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException as exc:
        os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ReportError(f"{path}: cannot write it: {exc.strerror or exc}") from None
        raise


def _print(text: str) -> None:
    """`text` on stdout; characters its encoding lacks (or lone surrogates of a file name) as escapes."""
    encoding = sys.stdout.encoding or "utf-8"
    sys.stdout.write(text.encode(encoding, "backslashreplace").decode(encoding))


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for the *.json files in it (sorted)."""
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if not found:
                raise ReportError(f"{path}: a directory with no results files (*.json)")
            expanded.extend(found)
        else:
            expanded.append(path)
    return expanded


def _render(args: argparse.Namespace) -> int:
    runs = [load(path) for path in _expand(args.results)]
    for run in runs:
        status = run.run["exit_status"]
        if status not in (0, 1):
            print(f"warning: {run.path}: the run ended with pytest exit status {status} "
                  "(interrupted, or a usage or internal error): its results may be incomplete", file=sys.stderr)
    notes = ""
    if args.notes is not None:
        try:
            notes = args.notes.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ReportError(f"{args.notes}: cannot read the notes: {exc}") from None
    matrix = build(runs)
    html_name = None
    if args.html is not None:
        _write(args.html, html.render(matrix, notes=notes))
        if args.markdown is not None:
            try:
                html_name = str(args.html.resolve().relative_to(args.markdown.resolve().parent))
            except ValueError:
                html_name = str(args.html)
    text = markdown.render(matrix, notes=notes, html_name=html_name)
    if args.markdown is not None:
        _write(args.markdown, text)
    elif args.html is None:
        _print(text + "\n")
    return OK


def _diff(args: argparse.Namespace) -> int:
    old, new = load(args.old), load(args.new)
    result = diff.compare(old, new)
    text = diff.render(result, str(args.old), str(args.new))
    if args.output is not None:
        _write(args.output, text)
    else:
        _print(text)
    return REGRESSIONS if result.regressions else OK


def _validate(args: argparse.Namespace) -> int:
    for path in _expand(args.results):
        results = load(path)
        _print(f"{path}: valid, {len(results.records)} records\n")
    return OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"render": _render, "diff": _diff, "validate": _validate}[args.command](args)
    except ReportError as exc:
        print(f"error: {visible(str(exc))}", file=sys.stderr)  # one line, whatever a file name holds
        return BAD_INPUT
    except Exception as exc:  # a bug: say so, and never exit 1, which means "regressions"
        traceback.print_exc()
        print(f"internal error (a bug of h1conform.reports, please report it): {type(exc).__name__}: "
              f"{visible(str(exc))}", file=sys.stderr)
        return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
