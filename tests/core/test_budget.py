"""
Tests for the pure budget rules: periods, who a budget applies to, and the checks.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg import ModelRef, ProfileId
from modelcfg._core._budget import (
    ROLLING_SLOTS,
    Budget,
    BudgetPeriod,
    BudgetScope,
    PeriodKind,
    Spender,
    alerts_due,
    over_limit,
)
from modelcfg._core._cost import Cost, to_picodollars

JUNE_14 = datetime.datetime(2025, 6, 14, 9, 30, tzinfo=datetime.UTC).timestamp()
SPENDER = Spender(
    model=ModelRef.parse("openai/gpt-5"),
    profile=ProfileId.parse("openai:work"),
    session="chat 42",
    api_key="team-a",
)


def budget(**fields: object) -> Budget:
    defaults: dict[str, object] = {
        "name": "daily",
        "scope": "provider",
        "match": "openai",
        "limit_usd": "20",
        "period": BudgetPeriod.parse("day"),
    }
    return Budget(**{**defaults, **fields})  # type: ignore[arg-type]


def usd(text: str) -> int:
    return to_picodollars(Decimal(text))


@pytest.mark.parametrize(
    ("text", "kind", "window_s"),
    [
        ("hour", PeriodKind.HOUR, None),
        ("Day", PeriodKind.DAY, None),
        ("month", PeriodKind.MONTH, None),
        ("90m", PeriodKind.ROLLING, 5400.0),
        ("24h", PeriodKind.ROLLING, 86400.0),
        ("7d", PeriodKind.ROLLING, 604800.0),
    ],
)
def test_periods_parse_from_their_names_and_durations(
    text: str, kind: PeriodKind, window_s: float | None
) -> None:
    """Calendar periods are named; a duration is a rolling window."""

    assert BudgetPeriod(kind=kind, window_s=window_s) == BudgetPeriod.parse(text)


@pytest.mark.parametrize("text", ["hour", "day", "month", "90m", "24h", "7d", "3600s"])
def test_a_period_round_trips_through_its_text(text: str) -> None:
    """parse(str(period)) gives the period back."""
    period = BudgetPeriod.parse(text)

    assert period == BudgetPeriod.parse(str(period))


@pytest.mark.parametrize("text", ["week", "", "10", "5x", "30s"])
def test_a_bad_period_says_what_is_accepted(text: str) -> None:
    """An unknown period, or a window under a minute, is refused with what is accepted."""
    with pytest.raises(ValueError, match=r"budget period|at least 60 seconds"):
        BudgetPeriod.parse(text)


@pytest.mark.parametrize(
    ("period", "key", "start", "end"),
    [
        ("hour", "2025-06-14T09", (2025, 6, 14, 9), (2025, 6, 14, 10)),
        ("day", "2025-06-14", (2025, 6, 14), (2025, 6, 15)),
        ("month", "2025-06", (2025, 6, 1), (2025, 7, 1)),
    ],
)
def test_calendar_periods_follow_the_utc_clock(
    period: str, key: str, start: tuple[int, ...], end: tuple[int, ...]
) -> None:
    """A calendar period's counter is named for it and spans it exactly, in UTC."""
    bucket = BudgetPeriod.parse(period).bucket(JUNE_14)

    def at(parts: tuple[int, ...]) -> float:
        return datetime.datetime(*parts, tzinfo=datetime.UTC).timestamp()  # type: ignore[arg-type,misc]

    assert (key, (), at(start), at(end)) == (
        bucket.key,
        bucket.older,
        bucket.start_at,
        bucket.end_at,
    )


def test_december_rolls_into_the_next_year() -> None:
    """The month of December ends on the first of January."""
    at = datetime.datetime(2025, 12, 31, 23, tzinfo=datetime.UTC).timestamp()

    assert datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp() == (
        BudgetPeriod.parse("month").bucket(at).end_at
    )


@given(
    st.sampled_from(["hour", "day", "month", "90m", "24h", "7d"]),
    st.floats(min_value=0, max_value=4e9),
)
def test_a_time_lies_inside_its_period(text: str, at: float) -> None:
    """Every time falls in [start, end) of its bucket, which its counter outlives."""
    bucket = BudgetPeriod.parse(text).bucket(at)

    assert bucket.start_at <= at < bucket.end_at
    assert bucket.ttl_s >= bucket.end_at - at


def test_a_rolling_window_counts_its_slots() -> None:
    """A rolling window reads the current slot and the slots before it that it covers."""
    bucket = BudgetPeriod.parse("10h").bucket(JUNE_14)

    assert (ROLLING_SLOTS - 1, 36_000.0) == (
        len(bucket.older),
        bucket.end_at - bucket.start_at,
    )


@pytest.mark.parametrize(
    ("scope", "match", "expected"),
    [
        ("total", None, "*"),
        ("provider", "openai", "openai"),
        ("provider", "anthropic", None),
        ("provider", None, "openai"),
        ("model", "openai/gpt-5", "openai/gpt-5"),
        ("model", "openai/gpt-5-mini", None),
        ("profile", "openai:work", "openai:work"),
        ("session", None, "chat 42"),
        ("api_key", "team-a", "team-a"),
        ("api_key", "team-b", None),
    ],
)
def test_a_budget_applies_to_its_match_or_to_each_subject(
    scope: str, match: str | None, expected: str | None
) -> None:
    """A budget with a match charges only that subject; without one, each subject apart."""

    assert expected == budget(scope=scope, match=match).subject(SPENDER)


def test_a_spender_without_a_session_escapes_session_budgets() -> None:
    """A request with no session id is not charged to any session budget."""
    anonymous = Spender(model=ModelRef.parse("openai/gpt-5"))

    assert None is budget(scope="session", match=None).subject(anonymous)


def test_counter_keys_keep_odd_subjects_on_one_safe_line() -> None:
    """A subject's spaces and control characters never reach a store's key."""
    key = budget(scope="session", match=None).counter_key("chat 42\n", "2025-06-14")

    assert "budget:daily:chat_42_:2025-06-14" == key


def test_a_request_within_the_limit_goes_out() -> None:
    """Spent plus the estimate up to the limit itself is allowed."""

    assert None is over_limit(budget(), usd("19.90"), Cost(usd=Decimal("0.10")))


def test_a_request_that_would_cross_the_limit_is_refused_with_the_figures() -> None:
    """A hard budget refuses a request whose estimate would take it past the limit."""
    reason = over_limit(budget(), usd("19.95"), Cost(usd=Decimal("0.10")))

    assert "$19.95 of $20.00 is spent or reserved, and this request is estimated at $0.10" == (
        reason
    )


def test_a_soft_budget_never_refuses() -> None:
    """A soft budget lets every request through; it only alerts."""

    assert None is over_limit(budget(hard=False), usd("25"), Cost(usd=Decimal("1")))


def test_an_unknown_estimate_is_refused_unless_allowed() -> None:
    """A request whose cost cannot be estimated is refused by a hard budget, unless it allows those."""
    unknown = Cost.unknown()

    assert ("its cost cannot be estimated (unknown)", None) == (
        over_limit(budget(), 0, unknown),
        over_limit(budget(allow_unpriced=True), 0, unknown),
    )


@pytest.mark.parametrize(
    ("spent", "expected"),
    [
        ("9.99", ()),
        ("10", (Decimal("0.5"),)),
        ("19", (Decimal("0.5"), Decimal("0.8"))),
        ("21", (Decimal("0.5"), Decimal("0.8"), Decimal("1"))),
    ],
)
def test_alerts_are_due_at_their_fractions_of_the_limit(
    spent: str, expected: tuple[Decimal, ...]
) -> None:
    """By default alerts fire at 50%, 80% and 100% of the limit."""

    assert expected == alerts_due(budget(), usd(spent))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "has space"}, "budget name"),
        ({"scope": "total", "match": "x"}, "total budget matches everything"),
        ({"scope": "model", "match": "no-slash"}, "the match of a model budget is not one"),
        ({"scope": "nope"}, "'nope' is not a valid BudgetScope"),
        ({"limit_usd": "-1"}, "budget limit"),
        ({"alerts": [0]}, "above 0"),
    ],
)
def test_a_bad_budget_is_refused_with_a_clear_message(
    fields: dict[str, object], message: str
) -> None:
    """Budgets validate their name, scope, match, limit and alerts."""
    with pytest.raises(ValueError, match=message):
        budget(**fields)


def test_a_budget_describes_itself() -> None:
    """A budget names itself, whom it limits, and how much per period."""

    assert "budget 'daily' (provider openai, $20.00 per day)" == budget().describe("openai")
    assert BudgetScope.TOTAL == budget(scope="total", match=None).scope
