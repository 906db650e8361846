"""
A/B experiments: which arm a session belongs to, decided by a hash of its id.

What lives here, and nowhere else: the assignment rule. Each experiment lays its
arms out as consecutive ranges over :data:`BUCKETS` buckets, in the order the arms
are declared, each range as wide as the arm's share of the total weight (shares
are rounded to whole buckets by largest remainder, so they add up exactly). A
session's bucket is a hash (BLAKE2b) of the experiment's name and the session
id, so:

- the same session always gets the same arm while the weights stay the same;
- two experiments split sessions independently of each other;
- changing weights moves only the sessions whose bucket changes range. Moving
  weight from one arm to its neighbour moves exactly that share of sessions; in
  general the share moved is at most the sum, over the range boundaries, of how
  far each boundary moved (:meth:`Split.moved_share`). Append a new arm at the end,
  taking its weight from the last arm, to move only the new arm's share.

Pure: no I/O, no randomness; :mod:`hashlib` is a pure function.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

__all__ = ["BUCKETS", "Split", "bucket_of"]

BUCKETS: Final = 10_000
"""How finely sessions are split: an arm's share is a whole number of 0.01 % steps."""


def bucket_of(experiment: str, key: str) -> int:
    """
    The bucket, from 0 to ``BUCKETS - 1``, of session *key* in *experiment*.
    """
    digest = hashlib.blake2b(f"{experiment}\x00{key}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") * BUCKETS) >> 64


def _as_arms(value: Iterable[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    return tuple((name, weight) for name, weight in value)


def _check_arms(
    _instance: object, _attribute: attrs.Attribute[tuple[tuple[str, float], ...]], value: object
) -> None:
    if not isinstance(value, tuple) or not value:
        raise ValueError("an experiment needs at least one arm")
    names = [name for name, _ in value]
    if len(set(names)) != len(names):
        raise ValueError(f"arm names must differ: {', '.join(map(repr, names))}")
    for name, weight in value:
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValueError(f"the weight of arm {name!r} must be a number, not {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"the weight of arm {name!r} must be a number of at least 0")
    if not any(weight > 0 for _, weight in value):
        raise ValueError("at least one arm needs a weight above 0")


def _quotas(arms: Sequence[tuple[str, float]]) -> tuple[int, ...]:
    """
    Each arm's whole number of buckets: its share of :data:`BUCKETS`, rounded so
    that the sum is exact (largest remainder; ties to the earlier arm).
    """
    total = math.fsum(weight for _, weight in arms)
    exact = [weight / total * BUCKETS for _, weight in arms]
    quotas = [math.floor(share) for share in exact]
    short = BUCKETS - sum(quotas)
    order = sorted(range(len(arms)), key=lambda i: (-(exact[i] - quotas[i]), i))
    for i in order[:short]:
        quotas[i] += 1
    return tuple(quotas)


@attrs.frozen(kw_only=True)
class Split:
    """
    How one experiment splits sessions between its arms.

    Attributes:
        experiment: The experiment's name (it keys the hash).
        arms: ``(name, weight)`` pairs, in layout order.
        bounds: The end of each arm's bucket range (exclusive), derived.

    Raises:
        ValueError: No arm, a repeated name, a negative or non-finite weight, or
            no weight above 0.
    """

    experiment: str
    arms: tuple[tuple[str, float], ...] = attrs.field(converter=_as_arms, validator=_check_arms)
    bounds: tuple[int, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        ends, total = [], 0
        for quota in _quotas(self.arms):
            total += quota
            ends.append(total)
        object.__setattr__(self, "bounds", tuple(ends))

    @classmethod
    def of(cls, experiment: str, arms: Iterable[tuple[str, float]]) -> Split:
        """
        A split of *experiment* between *arms*, ``(name, weight)`` in layout order.
        """
        return cls(experiment=experiment, arms=tuple(arms))

    def arm_for(self, key: str) -> str:
        """
        The arm of session *key*: the same for the same key while the weights stay the same.
        """
        return self.arm_at(bucket_of(self.experiment, key))

    def arm_at(self, bucket: int) -> str:
        """
        The arm whose range holds *bucket*.
        """
        return self.arms[bisect.bisect_right(self.bounds, bucket)][0]

    def ranges(self) -> tuple[tuple[str, int, int], ...]:
        """
        Each arm's bucket range, ``(name, start, end)`` with *end* exclusive.
        """
        starts = (0, *self.bounds[:-1])
        return tuple(
            (name, start, end)
            for (name, _), start, end in zip(self.arms, starts, self.bounds, strict=True)
        )

    def shares(self) -> dict[str, float]:
        """
        Each arm's exact share of sessions, from 0 to 1.
        """
        return {name: (end - start) / BUCKETS for name, start, end in self.ranges()}

    def moved_share(self, other: Split) -> float:
        """
        An upper bound on the share of sessions that change arm between this split
        and *other* (the same arms in the same order): how far the range boundaries
        moved, summed. For a transfer between neighbouring arms it is exact.

        Raises:
            ValueError: The splits do not have the same arms in the same order.
        """
        if [name for name, _ in self.arms] != [name for name, _ in other.arms]:
            raise ValueError("the splits must have the same arms in the same order")
        return (
            sum(abs(a - b) for a, b in zip(self.bounds[:-1], other.bounds[:-1], strict=True))
            / BUCKETS
        )
