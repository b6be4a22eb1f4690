"""Hypothesis settings profiles for the property scenarios (suites/test_properties.py).

"fast" (the default) keeps a run short; HYPOTHESIS_PROFILE=thorough runs 500 examples per property
(the scenario deadline times each example on its own). Both are derandomized, so every run tries
the same examples and a failure reproduces, keep no example database, and skip the explain phase
(seconds per failure, spent on Hypothesis's own work, that keep a run long for nothing).
"""

import os

from hypothesis import Phase, settings

PHASES = [phase for phase in Phase if phase is not Phase.explain]
settings.register_profile("fast", max_examples=25, deadline=None, derandomize=True, phases=PHASES)
settings.register_profile("thorough", max_examples=500, deadline=None, derandomize=True, phases=PHASES)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
