"""
Experiment assignment: sticky by session id, split as weighted, and stable when weights move.
"""

from __future__ import annotations

import bisect
import collections
import functools
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg._core._experiments import BUCKETS, Split, bucket_of

SAMPLE = 100_000
"""Session ids the split is measured over."""

TOLERANCE = 0.01
"""How far a measured share may be from its weight: about six standard deviations over
100,000 ids, so no seed fails it by chance."""


@functools.cache
def sample_buckets(experiment: str) -> list[int]:
    """The sorted buckets of the sample ids in *experiment*: hashed once, counted many times."""
    return sorted(bucket_of(experiment, f"session-{i}") for i in range(SAMPLE))


def measured(split: Split) -> dict[str, float]:
    """Each arm's share of the sample ids, counted from the sorted buckets."""
    buckets = sample_buckets(split.experiment)
    return {
        name: (bisect.bisect_left(buckets, end) - bisect.bisect_left(buckets, start)) / SAMPLE
        for name, start, end in split.ranges()
    }


weights = st.lists(st.integers(0, 100), min_size=1, max_size=6).filter(any)
arm_splits = weights.map(lambda ws: Split.of("tone", ((f"arm{i}", w) for i, w in enumerate(ws))))


def test_the_split_matches_the_weights_over_100000_ids() -> None:
    """Assigning 100,000 session ids one by one gives each arm its weight's share, within 1 %."""
    split = Split.of("tone", [("control", 50), ("precise", 30), ("opus", 20)])
    counts = collections.Counter(split.arm_for(f"session-{i}") for i in range(SAMPLE))

    for arm, share in {"control": 0.5, "precise": 0.3, "opus": 0.2}.items():
        assert abs(share - counts[arm] / SAMPLE) <= TOLERANCE


@given(arm_splits)
def test_every_split_matches_its_weights_within_tolerance(split: Split) -> None:
    """Whatever the weights, the shares of 100,000 ids are each arm's weight share, within 1 %."""
    total = sum(weight for _, weight in split.arms)
    shares = measured(split)

    for name, weight in split.arms:
        assert abs(weight / total - shares[name]) <= TOLERANCE


@given(arm_splits, st.text(max_size=20))
def test_assignment_is_stable(split: Split, session: str) -> None:
    """The same session id gets the same arm every time, and the arm whose range holds its bucket."""
    again = Split.of(split.experiment, split.arms)
    bucket = bucket_of(split.experiment, session)

    assert split.arm_for(session) == again.arm_for(session) == split.arm_at(bucket)


@given(arm_splits)
def test_ranges_cover_every_bucket_once(split: Split) -> None:
    """The arms' ranges are consecutive, start at 0, end at BUCKETS, and a zero weight gets none."""
    ranges = split.ranges()

    assert 0 == ranges[0][1]
    assert BUCKETS == ranges[-1][2]
    assert all(a[2] == b[1] for a, b in itertools.pairwise(ranges))
    assert all(
        end == start
        for (name, start, end), (_, w) in zip(ranges, split.arms, strict=True)
        if w == 0
    )


weight_pairs = st.integers(1, 6).flatmap(
    lambda n: st.tuples(*[st.lists(st.integers(0, 100), min_size=n, max_size=n).filter(any)] * 2)
)


@given(weight_pairs, st.data())
def test_changing_weights_moves_at_most_the_moved_share(
    pair: tuple[list[int], list[int]], data: st.DataObject
) -> None:
    """The share of ids that change arm never exceeds how far the range boundaries moved."""
    old, new = (Split.of("tone", ((f"arm{i}", w) for i, w in enumerate(ws))) for ws in pair)
    kept = sum(
        max(0, min(a_end, b_end) - max(a_start, b_start))
        for (_, a_start, a_end), (_, b_start, b_end) in zip(old.ranges(), new.ranges(), strict=True)
    )
    buckets = data.draw(st.lists(st.integers(0, BUCKETS - 1), min_size=1, max_size=200))

    assert (BUCKETS - kept) / BUCKETS <= old.moved_share(new) + 1e-12
    assert all(old.arm_at(b) == new.arm_at(b) or _in_moved_range(b, old, new) for b in buckets)


def _in_moved_range(bucket: int, old: Split, new: Split) -> bool:
    """Whether *bucket* lies between an old and a new position of some boundary."""
    return any(
        min(a, b) <= bucket < max(a, b)
        for a, b in zip(old.bounds[:-1], new.bounds[:-1], strict=True)
    )


@pytest.mark.parametrize(("before", "after"), [((50, 50), (60, 40)), ((20, 30, 50), (20, 45, 35))])
def test_moving_weight_to_a_neighbour_moves_exactly_that_share(
    before: tuple[int, ...], after: tuple[int, ...]
) -> None:
    """Moving 10 or 15 points between neighbouring arms reassigns exactly that share of ids."""
    old = Split.of("tone", ((f"arm{i}", w) for i, w in enumerate(before)))
    new = Split.of("tone", ((f"arm{i}", w) for i, w in enumerate(after)))
    ids = [f"session-{i}" for i in range(20_000)]
    moved = sum(old.arm_for(s) != new.arm_for(s) for s in ids) / len(ids)
    expected = sum(abs(a - b) for a, b in zip(before, after, strict=True)) / 2 / 100

    assert expected == old.moved_share(new)
    assert abs(expected - moved) <= TOLERANCE


def test_experiments_split_independently() -> None:
    """The same sessions split into two experiments' halves independently: each quarter holds about a quarter."""
    first = Split.of("tone", [("a", 1), ("b", 1)])
    second = Split.of("length", [("a", 1), ("b", 1)])
    pairs = collections.Counter(
        (first.arm_for(f"s{i}"), second.arm_for(f"s{i}")) for i in range(20_000)
    )

    assert all(abs(0.25 - count / 20_000) <= 0.02 for count in pairs.values())


@pytest.mark.parametrize(
    ("arms", "message"),
    [
        ([], "at least one arm"),
        ([("a", 1), ("a", 2)], "arm names must differ"),
        ([("a", -1), ("b", 1)], "at least 0"),
        ([("a", float("nan"))], "at least 0"),
        ([("a", 0)], "a weight above 0"),
    ],
)
def test_bad_splits_are_refused(arms: list[tuple[str, float]], message: str) -> None:
    """A split needs arms with distinct names and finite, non-negative weights, one above 0."""
    with pytest.raises(ValueError, match=message):
        Split.of("tone", arms)
