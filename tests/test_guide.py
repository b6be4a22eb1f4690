"""The guide and the defaults a newcomer meets: what they say must hold.

docs/validate-your-client.md names every feature flag an adapter can declare (an adapter written
from it alone once missed FEATURE_PERSISTENT, and 23 scenarios were reported unsupported), its code
imports what exists, every install instruction works without a package index (h1conform is on
none), and tox fails, not skips, on a missing interpreter.
"""

from __future__ import annotations

import ast
import configparser
import re
from pathlib import Path

import pytest

from h1conform.suites.harness import wire
from h1conform.suites.harness.impls import CLIENTS_EXTRA_HINT

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "validate-your-client.md"
# Where a newcomer reads how to install the suite.
INSTALL_DOCS = [ROOT / "README.md", GUIDE, ROOT / "docs" / "ci-example.md", ROOT / "suites" / "adapters" / "__init__.py",
                ROOT / "examples" / "h1conform-example-adapter" / "README.md"]


def feature_flags() -> dict[str, str]:
    return {name: value for name, value in vars(wire).items() if name.startswith("FEATURE_")}


def test_there_are_feature_flags_to_check() -> None:
    assert {"FEATURE_PERSISTENT", "FEATURE_TLS", "FEATURE_REASON"} <= feature_flags().keys()


@pytest.mark.parametrize("flag", sorted(feature_flags()))
def test_the_guide_says_what_each_feature_flag_unlocks(flag: str) -> None:
    # A row of the guide's features table: | `FEATURE_X` | declare it if ... | it unlocks ... |
    rows = [line for line in GUIDE.read_text(encoding="utf-8").splitlines() if line.strip().startswith(f"| `{flag}` |")]
    assert len(rows) == 1, f"docs/validate-your-client.md has no row for {flag} in its features table"
    cells = [cell.strip() for cell in rows[0].strip().strip("|").split("|")]
    assert len(cells) == 3 and all(cells), rows[0]


def test_the_guide_s_adapter_code_imports_what_exists() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    imports = [node for block in blocks for node in ast.parse(block).body if isinstance(node, ast.ImportFrom)]
    assert imports, "the guide has an adapter example"
    for node in imports:
        exec(compile(ast.Module(body=[node], type_ignores=[]), str(GUIDE), "exec"), {})  # raises if it does not exist


def install_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines()
            if "pip install" in line and "h1conform" in line and "example-adapter" not in line]


@pytest.mark.parametrize("path", INSTALL_DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_install_instructions_need_no_package_index(path: Path) -> None:
    for line in install_lines(path):
        # From a checkout (-e .) or a git URL; `pip install h1conform` would ask an index.
        assert "-e " in line or "git+" in line, f"{path.name}: {line.strip()}"


def test_the_guide_and_the_missing_client_message_show_both_ways() -> None:
    for text in (GUIDE.read_text(encoding="utf-8"), CLIENTS_EXTRA_HINT):
        assert "pip install -e '.[clients]'" in text and "'h1conform[clients] @ git+https://" in text, text


def test_tox_fails_on_a_missing_interpreter_and_says_how_to_provide_one() -> None:
    # With skip_missing_interpreters = true, a plain `tox` prints "py313: SKIP ... congratulations :)"
    # and exits 0 on a machine without Python 3.13.
    text = (ROOT / "tox.ini").read_text(encoding="utf-8")
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(text)
    assert config["tox"]["skip_missing_interpreters"] == "false"
    comment = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for where in (comment, readme):
        assert "pyenv install" in where and "skip" in where.lower()
