"""The scenario deadline: it interrupts a block that runs too long, and can be paused."""

from __future__ import annotations

import threading

import pytest

from h1conform.suites.harness.deadline import ScenarioTimeout, deadline, deadline_paused


def test_deadline_interrupts_a_block_that_runs_too_long() -> None:
    with pytest.raises(ScenarioTimeout):
        with deadline(0.05):
            threading.Event().wait(2.0)


def test_a_paused_deadline_does_not_fire() -> None:
    # The paused block outlasts the deadline; the block then finishes within the time left.
    with deadline(0.1):
        with deadline_paused():
            threading.Event().wait(0.3)
