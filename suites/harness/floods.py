"""Floods: a quantity a server controls, sent as long as the client reads, and the verdict on it.

A scenario describes the response around the flooded element as a `Quantity`, runs the client
inside `traced_peak()`, and hands what happened to `judge_flood()`: the client passes if it
stopped with an error before the flood's end (the flood step's progress says whether the server
got there), in bounded memory. suites/test_limits.py holds the quantities and their scenarios.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from h1conform.servers.steps import Flood, flood
from h1conform.suites.harness.wire import ErrorKind, Outcome, Response, expect_failure

MIB = 1 << 20
FLOOD_OCTETS = 64 * MIB
# A client that stopped before a flood's end held less than this (Python allocations it made
# while reading, as tracemalloc sees them): 256 times http.client's longest line.
MEMORY_BOUND = 16 * MIB


@dataclass(frozen=True)
class Quantity:
    """One flooded quantity: the response around it, the unit repeated, and what a control reads."""

    what: str  # names the flood in verdicts ("trailer fields")
    head: bytes  # the response up to the flooded element
    unit: bytes  # one repetition of it
    tail: bytes  # what ends the response after the flood (or after a control's few units)
    control_units: int  # how many units a control sends: well within any sane limit
    base_body: bytes = b"hello"  # the body a client returns for a control without units
    unit_body: bytes = b""  # what each unit adds to that body

    @property
    def flood_units(self) -> int:
        return FLOOD_OCTETS // len(self.unit)

    def step(self, units: int) -> Flood:
        return flood(self.head, self.unit, units, self.tail)

    def control_body(self) -> bytes:
        return self.base_body + self.unit_body * self.control_units


def mib(octets: int) -> str:
    """Octets in MiB, for verdicts."""
    return f"{octets / MIB:.1f} MiB"


class Peak:
    """The peak of Python allocations traced while a client ran, in octets."""

    octets = 0


@contextmanager
def traced_peak() -> Iterator[Peak]:
    """Trace Python allocations (all threads) during the block; the peak is known at its end.

    A run already tracing (python -X tracemalloc) keeps its tracing: only its peak is reset.
    """
    peak = Peak()
    already = tracemalloc.is_tracing()
    if already:
        tracemalloc.reset_peak()
    else:
        tracemalloc.start()
    try:
        yield peak
    finally:
        peak.octets = tracemalloc.get_traced_memory()[1]
        if not already:
            tracemalloc.stop()


def judge_flood(quantity: Quantity, step: Flood, stopped: BaseException | Outcome | None, peak: Peak,
                kinds: tuple[ErrorKind, ...], why: str, accepted: str = "accepted the response") -> None:
    """The verdict on a flood: the client stopped with an error (`stopped`: a wire Failure, or the
    api's exception; a Response or None if it accepted), before the flood's end, in bounded memory."""
    progress = step.progress
    total = mib(quantity.flood_units * len(quantity.unit))
    rule = (f"{why}\nRFC 9110 2.3: a recipient SHOULD parse defensively, within a reasonable buffer size; the server "
            f"sent {quantity.what} for as long as the client read ({total} in all)")
    if stopped is None or isinstance(stopped, Response):
        raise AssertionError(f"{rule}\nthe client read {total} of {quantity.what} without stopping and {accepted}: "
                             "it would have read forever")
    if progress.reached_end:
        raise AssertionError(f"{rule}\nthe client read {total} of {quantity.what} without stopping, then failed "
                             f"with {_describe(stopped)}: it would have read forever")
    if not isinstance(stopped, BaseException):
        expect_failure(stopped, *kinds)
    assert peak.octets < MEMORY_BOUND, (
        f"{rule}\nthe client stopped with {_describe(stopped)}, but held {mib(peak.octets)} of memory meanwhile "
        f"(bound {mib(MEMORY_BOUND)})")


def _describe(stopped: BaseException | Outcome) -> str:
    if isinstance(stopped, BaseException):
        return f"{type(stopped).__name__}: {stopped}"
    return str(stopped)
