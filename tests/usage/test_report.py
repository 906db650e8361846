"""
Tests for the report helpers: time ranges, sparklines, bars and JSON.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from modelcfg.usage import GroupBy
from modelcfg.usage._ledger import summarise
from modelcfg.usage._report import bar, parse_time, render_report, report_to_json, sparkline
from tests.usage.records import T0, record

NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", NOW - 5400),
        ("24h", NOW - 86400),
        ("7d", NOW - 7 * 86400),
        ("2w", NOW - 14 * 86400),
        ("2025-06-01", 1_748_736_000.0),
        ("2025-06-01T12:30", 1_748_781_000.0),
        ("2025-06-01T12:30+02:00", 1_748_773_800.0),
    ],
)
def test_times_are_durations_before_now_or_utc_dates(text: str, expected: float) -> None:
    """A duration counts back from now; a date or time without a zone is UTC."""

    assert expected == parse_time(text, now=NOW)


def test_a_time_that_cannot_be_read_says_what_is_accepted() -> None:
    """Anything else is refused with the accepted forms."""
    with pytest.raises(ValueError, match=r"use a duration before now \(90m, 24h, 7d, 2w\)"):
        parse_time("yesterday", now=NOW)


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], ""), ([0, 0], "▁▁"), ([0, 1, 2, 3, 4, 5, 6, 7], "▁▂▃▄▅▆▇█"), ([5, 10], "▅█")],
)
def test_a_sparkline_scales_to_its_largest_value(values: list[int], expected: str) -> None:
    """Zero is the lowest block and the largest value the highest."""

    assert expected == sparkline(values)


@pytest.mark.parametrize(
    ("value", "top", "expected"),
    [(10, 10, "█" * 20), (5, 10, "█" * 10), (1, 80, "▎"), (0, 10, ""), (3, 0, "")],
)
def test_a_bar_is_drawn_in_eighths(value: int, top: int, expected: str) -> None:
    """A bar is 20 characters at the top value, in eighths; a positive value shows at least one."""

    assert expected == bar(Decimal(value), Decimal(top))


def test_json_keeps_costs_exact() -> None:
    """Costs come out as plain decimal strings, never floats or exponents."""
    report = summarise(
        [record(output_tokens=7), record(request="r2", input_tokens=3)],
        since_at=T0,
        until_at=T0 + 1,
        by=GroupBy.MODEL,
    )

    assert ("0.00007375", "0") == (
        report_to_json(report)["total"]["cost_usd"],  # type: ignore[call-overload,index]
        report_to_json(report)["total"]["failure_cost_usd"],  # type: ignore[call-overload,index]
    )


def test_an_empty_range_says_so() -> None:
    """A report with no attempts prints its header, a zero total and a line saying so."""
    text = render_report(summarise([], since_at=T0, until_at=T0 + 60, by=GroupBy.DAY))

    assert "(no attempts recorded in this range)" == text.splitlines()[-1]


def test_a_narrow_width_leaves_out_the_least_useful_columns_and_cuts_the_key() -> None:
    """In 40 columns the table keeps requests, failed and cost, and cuts a long session id with …."""
    session = "chat-0123456789-abcdefghij-klmnopqrstuvwxyz"
    report = summarise(
        [record(session=session, input_tokens=1000, output_tokens=7)],
        since_at=T0,
        until_at=T0 + 60,
        by=GroupBy.SESSION,
    )
    wide = render_report(report).splitlines()[2:]
    narrow = render_report(report, width=40).splitlines()[2:]

    assert ["session", "requests", "attempts", "failed", "input", "output", "cached"] == wide[
        0
    ].split()[:7]
    assert ["session", "requests", "failed", "cost"] == narrow[0].split()[:4]
    assert narrow[2].startswith("chat-0123")
    assert "…" in narrow[2].split()[0]
    assert [] == [line for line in narrow[:4] if len(line) > 40]
