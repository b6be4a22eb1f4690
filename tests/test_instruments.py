"""A scenario that observes a client through an instrument (an audit event, debug output) reports an
implementation without it as unsupported, with the reason, never as failed (issue 15, item 4).

The implementations: this Python's http.client run from its own source in a module of its own,
once with `sys.audit` and `print` replaced by functions that do nothing (no audit event, no debug
output: an http.client older than 3.10, or a replacement, as far as the scenarios can see), and
once untouched (the control for the copy itself), beside the stdlib (the control named by the issue).
"""

from __future__ import annotations

from pathlib import Path

from suite_runs import verdicts

COPY_OF_HTTP_CLIENT = '''
"""This Python's http.client, run from its source here{without}."""
import http.client as _stdlib
import types as _types

with open(_stdlib.__file__, encoding="utf-8") as _file:
    exec(compile(_file.read(), _stdlib.__file__, "exec"), globals())
'''
WITHOUT_INSTRUMENTS = '''
# http.client's code finds these in its module's globals: no audit event, no debug output.
sys = _types.SimpleNamespace(audit=lambda *args: None)


def print(*args, **kwargs):
    pass
'''

# Every scenario that observes the client through an audit event or its debug output.
SELECTION = "test_send_blocksize or test_audit_connect_and_send or test_debug_output or test_body_debug_output " \
            "or test_continue_debug_output"
FILES = ["suites/test_request_send.py", "suites/test_debug_and_audit.py", "suites/test_expect_continue.py"]
# The rows that observe nothing: a connection that sends nothing raises no audit event.
NO_INSTRUMENT = {"api.audit.connect-and-send[no-request]"}


def _verdicts(tmp_path: Path) -> dict[str, dict[str, tuple[str, str]]]:
    """(verdict, reason) of each selected scenario, by implementation name then scenario id."""
    (tmp_path / "no_instruments.py").write_text(
        COPY_OF_HTTP_CLIENT.format(without=", without audit events or debug output") + WITHOUT_INSTRUMENTS)
    (tmp_path / "full_copy.py").write_text(COPY_OF_HTTP_CLIENT.format(without=""))
    return verdicts(tmp_path, *FILES, "-k", SELECTION, f"--impl={tmp_path / 'no_instruments.py'}",
                    f"--impl={tmp_path / 'full_copy.py'}", "--impl=stdlib")


def test_missing_instrument_is_unsupported_not_fail(tmp_path: Path) -> None:
    by_impl = _verdicts(tmp_path)
    assert sorted(by_impl) == ["full_copy", "no_instruments", "stdlib"]
    scenarios = sorted(by_impl["stdlib"])
    assert len(scenarios) == 22, scenarios  # blocksize 12, audit 2, debug output 2 + 5, continue 1
    assert all(sorted(by_id) == scenarios for by_id in by_impl.values())
    # The controls: the stdlib, and the same code run from the copy, pass every row.
    for impl in ("stdlib", "full_copy"):
        assert {verdict for verdict, _ in by_impl[impl].values()} == {"pass"}, (impl, by_impl[impl])
    for scenario, (verdict, reason) in by_impl["no_instruments"].items():
        if scenario in NO_INSTRUMENT:
            assert verdict == "pass", (scenario, reason)
            continue
        assert verdict == "unsupported", (scenario, verdict, reason)
        instrument = "audit event" if scenario.startswith(("request.send.", "api.audit.")) else "debug output"
        assert reason.startswith("unsupported: no_instruments raises no http.client." if instrument == "audit event"
                                 else "unsupported: no_instruments prints no debug output"), (scenario, reason)
        assert "observes the client through it" in reason, (scenario, reason)
