"""Compatibility reports from suite runs.

A run writes a results file (`pytest suites/ --results=FILE`, format in
`reports/schema/results-1.schema.json`); this package reads one or many of them and renders a
matrix (implementations x Python versions as columns, scenarios grouped by topic as rows) as
Markdown and as one self-contained HTML file, or compares two runs:

    python -m h1conform.reports render results/*.json --markdown REPORT.md --html report.html
    python -m h1conform.reports diff OLD.json NEW.json

Modules, one job each: `load` (read and validate), `model` (the matrix and its totals), `spec`
(the text behind a reference), `escape` (client text made safe for Markdown and for JSON in HTML),
`markdown`, `html`, `diff`, and `__main__` (the command line).
"""

from h1conform.reports.load import ReportError, Results, load
from h1conform.reports.model import Matrix, build

__all__ = ["Matrix", "ReportError", "Results", "build", "load"]
