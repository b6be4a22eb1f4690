"""h1conform: a conformance suite for HTTP/1.1 clients, with a reference client.

Everything is installed under this one name, so that nothing of ours collides with a project's own
top-level packages: `h1conform.reference` (the reference client), `h1conform.suites` (the
scenarios and their pytest plugin), `h1conform.servers` (the fake servers) and `h1conform.reports`.

In a wheel those folders sit inside this package. In a checkout they sit at the repository's top
(`reference/`, `suites/`...), beside this folder, and this package's path reaches them there.
"""

from pathlib import Path

_checkout = Path(__file__).resolve().parent.parent
# A checkout: the subpackages are beside this folder, not inside it (pyproject.toml maps them in
# the wheel). Checked by files that only this repository has together.
if (_checkout / "pyproject.toml").is_file() and (_checkout / "suites" / "plugin.py").is_file():
    __path__.append(str(_checkout))
