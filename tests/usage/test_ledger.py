"""
Tests for usage records, the in-memory ledger and the report rule every ledger follows.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcfg.usage import GroupBy, MemoryLedger, ReportRow, UsageLedger, UsageRecord
from modelcfg.usage._ledger import summarise, total_of
from tests.usage.records import T0, record, records


def ledger_of(*kept: UsageRecord) -> MemoryLedger:
    ledger = MemoryLedger()
    for one in kept:
        ledger.record(one)
    return ledger


def test_a_memory_ledger_is_a_usage_ledger() -> None:
    """MemoryLedger implements the UsageLedger protocol."""

    assert isinstance(MemoryLedger(), UsageLedger)


def test_a_report_splits_paid_answers_from_paid_failures() -> None:
    """A failed attempt's billed tokens count as attempts, failures and failure cost."""
    ledger = ledger_of(
        record(request="r1", attempt=1, answered=False, input_tokens=1_000_000),
        record(request="r1", attempt=2, output_tokens=100_000),
    )

    report = ledger.report(since_at=T0, until_at=T0 + 1, by=GroupBy.PROVIDER)

    assert (
        ReportRow(
            key="openai",
            requests=1,
            attempts=2,
            failures=1,
            input_tokens=1_000_000,
            output_tokens=100_000,
            cost_usd=Decimal("2.25"),
            failure_cost_usd=Decimal("1.25"),
        ),
    ) == report.rows


def test_a_request_counts_once_in_the_group_of_its_first_attempt() -> None:
    """A request that fell back to another provider is one request, where it began."""
    ledger = ledger_of(
        record(request="r1", attempt=1, answered=False),
        record(request="r1", attempt=2, model="anthropic/claude-sonnet-4-5", profile=None),
    )

    report = ledger.report(since_at=T0, until_at=T0 + 1, by=GroupBy.PROVIDER)

    assert {"openai": 1, "anthropic": 0} == {row.key: row.requests for row in report.rows}
    assert 1 == report.total.requests


def test_unpriced_attempts_are_counted_and_mark_the_cost_as_a_lower_bound() -> None:
    """Attempts on a model without prices are counted as unpriced; the cost shows as '>='."""
    ledger = ledger_of(
        record(model="local/llama", profile=None, output_tokens=10),
        record(request="r2", output_tokens=1000),
    )

    total = ledger.report(since_at=T0, until_at=T0 + 1).total

    assert (1, ">= $0.01") == (total.unpriced, total.cost)


@pytest.mark.parametrize(
    ("by", "keys"),
    [
        (GroupBy.PROVIDER, ["openai", "anthropic"]),
        (GroupBy.MODEL, ["openai/gpt-5", "anthropic/claude-sonnet-4-5"]),
        (GroupBy.PROFILE, ["openai:work", "(none)"]),
        (GroupBy.SESSION, ["s1", "(none)"]),
        (GroupBy.API_KEY, ["team-a", "(none)"]),
        (GroupBy.ARM, ["b", "(none)"]),
        (GroupBy.DAY, ["2025-06-15", "2025-06-16"]),
        (GroupBy.HOUR, ["2025-06-15T15", "2025-06-16T15"]),
    ],
)
def test_rows_group_by_each_dimension(by: GroupBy, keys: list[str]) -> None:
    """Each grouping has one row per value, '(none)' for records without one."""
    ledger = ledger_of(
        record(session="s1", api_key="team-a", arm="b", output_tokens=2_000_000),
        record(
            T0 + 86400,
            request="r2",
            model="anthropic/claude-sonnet-4-5",
            profile=None,
            output_tokens=10,
        ),
    )

    report = ledger.report(since_at=T0, until_at=T0 + 2 * 86400, by=by)

    assert keys == [row.key for row in report.rows]


def test_the_range_includes_its_start_and_excludes_its_end() -> None:
    """Records at since_at count; records at until_at do not."""
    ledger = ledger_of(record(T0), record(T0 + 10, request="r2"))

    assert 1 == ledger.report(since_at=T0, until_at=T0 + 10).total.attempts


@settings(max_examples=30)
@given(st.lists(records(), max_size=40))
def test_rows_add_up_to_the_total(kept: list[UsageRecord]) -> None:
    """Whatever the grouping, the rows' sums are the total's."""
    for by in GroupBy:
        report = summarise(kept, since_at=T0, until_at=T0 + 5 * 86400, by=by)

        assert report.total == total_of(report.rows)


def test_old_records_leave_a_memory_ledger() -> None:
    """Records older than the retention (from the newest record) are dropped."""
    ledger = MemoryLedger(retention_s=100)
    ledger.record(record(T0))
    ledger.record(record(T0 + 50, request="r2"))
    ledger.record(record(T0 + 120, request="r3"))

    assert ["r2", "r3"] == [r.request_id for r in ledger.records()]


def test_a_memory_ledger_keeps_at_most_max_records() -> None:
    """The oldest records go first when there are more than max_records."""
    ledger = MemoryLedger(max_records=2)
    for n in range(4):
        ledger.record(record(T0 + n, request=f"r{n}"))

    assert ["r2", "r3"] == [r.request_id for r in ledger.records()]


@pytest.mark.parametrize(
    ("field", "value"),
    [("request_id", ""), ("session", "a\nb"), ("api_key", "k" * 201), ("arm", "\x00")],
)
def test_record_ids_are_short_printable_text(field: str, value: str) -> None:
    """Ids that are empty, too long or hold control characters are refused."""
    with pytest.raises(ValueError, match=f"{field} must be 1 to 200 printable characters"):
        record(**{"request" if field == "request_id" else field: value})  # type: ignore[arg-type]
