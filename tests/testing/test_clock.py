"""
Tests for FakeClock: time that moves only when told to, and sleeps that never wait.
"""

from __future__ import annotations

import math

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as hst

from modelcfg.testing import FakeClock

pytestmark = pytest.mark.anyio

DELAYS = hst.floats(min_value=0, max_value=1e6, allow_nan=False)


async def test_a_sleep_is_recorded_and_moves_the_time_on() -> None:
    """Sleeping records the delay and moves the clock by it, without waiting."""
    clock = FakeClock(now=100.0)

    with anyio.fail_after(1):
        await clock.sleep(3600)
        await clock.sleep(0.5)

    assert (100.0 + 3600.5, [3600, 0.5]) == (clock(), clock.sleeps)


def test_the_time_stands_still_between_sleeps_unless_it_ticks() -> None:
    """Readings repeat without tick_s, and move on by tick_s each with it."""
    still = FakeClock(now=10.0)
    ticking = FakeClock(now=10.0, tick_s=0.25)

    assert [10.0, 10.0, 10.0] == [still() for _ in range(3)]
    assert [10.0, 10.25, 10.5] == [ticking() for _ in range(3)]


def test_advance_moves_the_time_without_a_sleep() -> None:
    """advance() moves the time on and records no sleep."""
    clock = FakeClock(now=0.0)

    clock.advance(30)

    assert (30.0, []) == (clock(), clock.sleeps)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
async def test_an_impossible_delay_is_refused(bad: float) -> None:
    """A negative, NaN or infinite sleep is an error, as no real sleep would return."""
    clock = FakeClock()

    with pytest.raises(ValueError, match="finite, non-negative"):
        await clock.sleep(bad)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(bad)
    assert [] == clock.sleeps


@given(hst.lists(DELAYS, max_size=20))
def test_the_time_is_the_start_plus_what_was_slept(delays: list[float]) -> None:
    """After any sleeps, the time is the start plus their sum, and every delay is recorded."""
    clock = FakeClock(now=1_000.0)

    async def sleep_all() -> None:
        for delay in delays:
            await clock.sleep(delay)

    anyio.run(sleep_all)

    assert delays == clock.sleeps
    assert math.isclose(1_000.0 + math.fsum(delays), clock(), rel_tol=1e-9)
