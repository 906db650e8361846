"""
A fake clock and sleep for the executor: time moves only when told to, or by what is slept.
"""

from __future__ import annotations

import math

import attrs

__all__ = ["FakeClock"]


@attrs.define(kw_only=True)
class FakeClock:
    """
    A clock and a sleep that never wait, for tests of code that takes both.

    Pass the clock itself as the clock and :meth:`sleep` as the sleep::

        clock = FakeClock()
        executor = Executor.from_config(config, client=client, clock=clock, sleep=clock.sleep)
        ...
        assert [2.0] == clock.sleeps

    Attributes:
        now: The time, in seconds since the epoch.
        tick_s: How far each reading moves the time on (``0``: it stands still
            between sleeps).
        sleeps: Every delay slept, in order.

    .. versionadded:: 0.1.0
    """

    now: float = 1_800_000_000.0
    tick_s: float = 0.0
    sleeps: list[float] = attrs.field(factory=list)

    def __call__(self) -> float:
        """
        The time now; it then moves on by :attr:`tick_s`.
        """
        at = self.now
        self.now += self.tick_s
        return at

    async def sleep(self, delay_s: float) -> None:
        """
        Record *delay_s* and move the time on by it, at once.

        Raises:
            ValueError: *delay_s* is negative or not a finite number (a real sleep
                would never return, or fail).
        """
        if not (math.isfinite(delay_s) and delay_s >= 0):
            raise ValueError(f"a sleep must be a finite, non-negative delay, not {delay_s!r}")
        self.sleeps.append(delay_s)
        self.now += delay_s

    def advance(self, seconds: float) -> None:
        """
        Move the time on by *seconds* without recording a sleep.

        Raises:
            ValueError: *seconds* is negative or not finite (time never runs backwards).
        """
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"time only moves forward, by a finite amount, not {seconds!r}")
        self.now += seconds
