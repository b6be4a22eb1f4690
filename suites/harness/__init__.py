"""What scenario modules import: metadata declarations, levels, profiles and wire outcomes."""

import pytest

from h1conform.servers import BYTEWISE, WHOLE
from h1conform.suites.harness.scenario import (
    AGENT,
    API,
    API_LEVEL,
    MAY,
    MUST,
    SHOULD,
    WIRE,
    Level,
    Profile,
    ScenarioInfo,
    scenario,
    variant,
)
from h1conform.suites.harness.wire import (
    ErrorKind,
    Expected,
    Failure,
    Outcome,
    Response,
    TLSConfig,
    Unsupported,
    body,
    check,
    expect_failure,
    expect_response,
    fails,
)

# Response scenarios run with the response delivered whole and one byte per segment: a client's
# result must not depend on how the bytes arrive.
each_delivery = pytest.mark.parametrize("delivery", [WHOLE, BYTEWISE], ids=str)

__all__ = [
    "AGENT", "API", "API_LEVEL", "MAY", "MUST", "SHOULD", "WIRE", "ErrorKind", "Expected", "Failure", "Level",
    "Outcome", "Profile", "Response", "ScenarioInfo", "TLSConfig", "Unsupported", "body", "check", "each_delivery", "expect_failure",
    "expect_response", "fails", "scenario", "variant",
]
