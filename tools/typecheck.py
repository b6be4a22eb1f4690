"""Type-check the project as it is installed: `mypy --strict` over the h1conform.* packages.

    python tools/typecheck.py [extra mypy arguments]

In a checkout the packages sit at the repository's top (reference/, servers/, suites/, reports/)
and h1conform/__init__.py reaches them by extending its `__path__`, which mypy cannot follow: run
on those folders directly, mypy names their modules `servers.*` and cannot resolve the imports of
`h1conform.servers`. So this builds the installed layout out of symbolic links under
build/typecheck/ (h1conform/ with the four folders linked inside it) and runs mypy there, with
the settings of pyproject.toml's [tool.mypy].

Exit status: mypy's (0 clean, 1 type errors, 2 usage).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("reference", "servers", "suites", "reports")
# What is checked, as paths inside the installed layout. The scenarios (suites/test_*.py) are
# pytest modules written for reading, and are left out, as they always were.
CHECKED = ("h1conform/__init__.py", "h1conform/pytest_plugin.py", "h1conform/reference", "h1conform/servers",
           "h1conform/suites/harness", "h1conform/suites/adapters", "h1conform/suites/plugin.py", "h1conform/reports")


def build_layout(target: Path) -> Path:
    """build/typecheck/h1conform: the package's own files copied, its subpackages linked (made anew;
    mypy's cache beside it is kept)."""
    package = target / "h1conform"
    if package.exists():
        shutil.rmtree(package)
    package.mkdir(parents=True)
    for source in (ROOT / "h1conform").glob("*.py"):
        shutil.copy2(source, package / source.name)
    for name in PACKAGES:
        (package / name).symlink_to(ROOT / name, target_is_directory=True)
    return target


def main(argv: list[str]) -> int:
    layout = build_layout(ROOT / "build" / "typecheck")
    command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *argv, *CHECKED]
    return subprocess.run(command, cwd=layout).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
