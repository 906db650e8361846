"""
The usage ledger: one record per attempt, kept by the host, summed into reports.

What lives here: :class:`UsageRecord` (one attempt), the :class:`UsageLedger`
protocol, :class:`MemoryLedger` (the default), and the report values
(:class:`GroupBy`, :class:`ReportRow`, :class:`UsageReport`) with the one
aggregation rule every ledger follows. :mod:`modelcfg.usage._sqlite` keeps the
same records in SQLite.
"""

from __future__ import annotations

import datetime
import enum
import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Final, Protocol, runtime_checkable

import attrs

from modelcfg._core._cost import (
    Cost,
    TokenKind,
    format_usd,
    from_picodollars,
    to_picodollars,
)
from modelcfg._core._failures import FailureKind
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg._messages import Usage

__all__ = [
    "DEFAULT_RETENTION_S",
    "GroupBy",
    "MemoryLedger",
    "ReportRow",
    "UsageLedger",
    "UsageRecord",
    "UsageReport",
    "group_key",
    "summarise",
]

DEFAULT_RETENTION_S: Final = 400 * 86400.0
"""How long a ledger keeps records by default: 400 days, so a year can be compared."""

NONE_KEY: Final = "(none)"
"""The report key of records without a value for the grouping (no session, no arm)."""

TOTAL_KEY: Final = "total"
"""The key of a report's total row."""


def _check_text(name: str, value: str) -> None:
    if not (0 < len(value) <= 200 and value.isprintable()):
        raise ValueError(f"{name} must be 1 to 200 printable characters, not {value[:40]!r}")


def _check_id(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    _check_text(attribute.name, value)


def _check_optional_id(
    _instance: object, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None:
        _check_text(attribute.name, value)


@attrs.frozen(kw_only=True)
class UsageRecord:
    """
    One attempt, as the ledger keeps it.

    Attributes:
        at: When the attempt ended, in seconds since the epoch.
        request_id: The request the attempt belonged to; attempts of one request share it.
        attempt: 1 for the request's first attempt, then 2, 3, ...
        model: The model called.
        profile: The credential profile used.
        session: The host's session id, when it gave one.
        api_key: The host's id for its caller's API key (never the secret).
        arm: The experiment arm that chose this attempt, when any.
        usage: The tokens the provider reported (partial for a failed attempt).
        cost: What those tokens cost at the catalog's prices.
        answered: Whether this attempt gave the request its answer; a failed or
            interrupted attempt that was billed is recorded with ``False``.
        failure: How the attempt failed, when it did.
        latency_s: How long the attempt took.

    .. versionadded:: 0.2.0
    """

    at: float
    request_id: str = attrs.field(validator=_check_id)
    attempt: int = 1
    model: ModelRef
    profile: ProfileId | None = None
    session: str | None = attrs.field(default=None, validator=_check_optional_id)
    api_key: str | None = attrs.field(default=None, validator=_check_optional_id)
    arm: str | None = attrs.field(default=None, validator=_check_optional_id)
    usage: Usage = attrs.field(factory=Usage)
    cost: Cost = attrs.field(factory=Cost)
    answered: bool = True
    failure: FailureKind | None = None
    latency_s: float | None = None

    @property
    def provider(self) -> str:
        """
        The provider called.
        """
        return self.model.provider


class GroupBy(enum.StrEnum):
    """
    What a usage report has one row for.
    """

    PROVIDER = "provider"
    MODEL = "model"
    PROFILE = "profile"
    SESSION = "session"
    API_KEY = "api_key"
    ARM = "arm"
    DAY = "day"
    HOUR = "hour"


def day_of(at: float) -> str:
    """
    The UTC day *at* falls on, ``2025-06-14``.
    """
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d")


def hour_of(at: float) -> str:
    """
    The UTC hour *at* falls in, ``2025-06-14T09``.
    """
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%dT%H")


def group_key(record: UsageRecord, by: GroupBy) -> str:
    """
    The report row *record* is counted in.
    """
    match by:
        case GroupBy.PROVIDER:
            return record.model.provider
        case GroupBy.MODEL:
            return str(record.model)
        case GroupBy.PROFILE:
            return NONE_KEY if record.profile is None else str(record.profile)
        case GroupBy.SESSION:
            return record.session or NONE_KEY
        case GroupBy.API_KEY:
            return record.api_key or NONE_KEY
        case GroupBy.ARM:
            return record.arm or NONE_KEY
        case GroupBy.DAY:
            return day_of(record.at)
        case GroupBy.HOUR:
            return hour_of(record.at)


# Not slotted: a frozen slotted class sets each field through object.__setattr__, and a
# month's report by session builds tens of thousands of rows at once.
@attrs.frozen(kw_only=True, slots=False)
class ReportRow:
    """
    What one group of attempts used and cost.

    Attributes:
        key: The group (a provider, a model, a day, ...).
        requests: How many requests began in the group (had their first attempt
            in it): each request counts once, so rows add up to the total.
        attempts: How many attempts.
        failures: How many attempts gave no answer (failed or interrupted).
        input_tokens: Uncached input tokens.
        output_tokens: Output tokens, reasoning included.
        cache_read_tokens: Input tokens read from a cache.
        cache_write_tokens: Input tokens written to a cache.
        reasoning_tokens: Output tokens spent thinking.
        cost_usd: What the priced tokens cost, answered or not.
        failure_cost_usd: The part of *cost_usd* spent on attempts that gave no answer.
        unpriced: How many attempts had tokens without a known price: when any,
            the true cost is more than *cost_usd*.
    """

    key: str
    requests: int = 0
    attempts: int = 0
    failures: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    failure_cost_usd: Decimal = Decimal(0)
    unpriced: int = 0

    @property
    def tokens(self) -> int:
        """
        Every token, input and output.
        """
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )

    @property
    def cost(self) -> str:
        """
        The cost as people read it, marked as a lower bound when some tokens had no price.
        """
        shown = format_usd(self.cost_usd)
        return f">= {shown}" if self.unpriced else shown


@attrs.frozen(kw_only=True)
class UsageReport:
    """
    Usage and cost over a time range, one row per group, largest cost first
    (by time for ``day`` and ``hour``).

    Attributes:
        by: What each row groups.
        since_at: The start of the range (inclusive), seconds since the epoch.
        until_at: Its end (exclusive).
        rows: One row per group.
        total: Every attempt of the range together.
    """

    by: GroupBy
    since_at: float
    until_at: float
    rows: tuple[ReportRow, ...]
    total: ReportRow


@runtime_checkable
class UsageLedger(Protocol):
    """
    Where a host keeps one record per attempt, and sums them up.

    ``record()`` is called on the request path: it must not block on I/O (batch
    the writes). ``report()`` and ``flush()`` may block; ``close()`` writes what is
    pending and releases the ledger.

    .. versionadded:: 0.2.0
    """

    def record(self, record: UsageRecord) -> None: ...

    def flush(self) -> None: ...

    def report(
        self, *, since_at: float, until_at: float, by: GroupBy = GroupBy.PROVIDER
    ) -> UsageReport: ...

    def close(self) -> None: ...


class _Tally:
    """
    A report row being summed: integers only (picodollars), so sums are exact.
    """

    __slots__ = (
        "attempts",
        "cache_read",
        "cache_write",
        "cost",
        "failure_cost",
        "failures",
        "input",
        "output",
        "reasoning",
        "requests",
        "unpriced",
    )

    def __init__(self) -> None:
        self.requests = self.attempts = self.failures = self.unpriced = 0
        self.input = self.output = self.cache_read = self.cache_write = self.reasoning = 0
        self.cost = self.failure_cost = 0

    def add(self, record: UsageRecord) -> None:
        usage = record.usage
        pico = to_picodollars(record.cost.usd)
        self.requests += record.attempt == 1
        self.attempts += 1
        self.input += usage.input_tokens
        self.output += usage.output_tokens
        self.cache_read += usage.cache_read_tokens
        self.cache_write += usage.cache_write_tokens
        self.reasoning += usage.reasoning_tokens
        self.cost += pico
        self.unpriced += not record.cost.known
        if not record.answered:
            self.failures += 1
            self.failure_cost += pico

    def row(self, key: str) -> ReportRow:
        return ReportRow(
            key=key,
            requests=self.requests,
            attempts=self.attempts,
            failures=self.failures,
            input_tokens=self.input,
            output_tokens=self.output,
            cache_read_tokens=self.cache_read,
            cache_write_tokens=self.cache_write,
            reasoning_tokens=self.reasoning,
            cost_usd=from_picodollars(self.cost),
            failure_cost_usd=from_picodollars(self.failure_cost),
            unpriced=self.unpriced,
        )


def order_rows(rows: Iterable[ReportRow], by: GroupBy) -> tuple[ReportRow, ...]:
    """
    Rows in report order: by time for ``day`` and ``hour``, else largest cost first,
    then most attempts, then the row without a value, then by value.
    """
    if by in (GroupBy.DAY, GroupBy.HOUR):
        return tuple(sorted(rows, key=lambda r: r.key))
    return tuple(sorted(rows, key=lambda r: (-r.cost_usd, -r.attempts, r.key != NONE_KEY, r.key)))


def summarise(
    records: Iterable[UsageRecord], *, since_at: float, until_at: float, by: GroupBy
) -> UsageReport:
    """
    The report of the *records* in [*since_at*, *until_at*), grouped *by*.

    This is the rule every ledger follows; the SQLite ledger computes the same in SQL.
    """
    groups: dict[str, _Tally] = {}
    total = _Tally()
    for record in records:
        if not since_at <= record.at < until_at:
            continue
        key = group_key(record, by)
        tally = groups.get(key)
        if tally is None:
            tally = groups[key] = _Tally()
        tally.add(record)
        total.add(record)
    return UsageReport(
        by=by,
        since_at=since_at,
        until_at=until_at,
        rows=order_rows((t.row(k) for k, t in groups.items()), by),
        total=total.row(TOTAL_KEY),
    )


def total_of(rows: Iterable[ReportRow]) -> ReportRow:
    """
    The sum of report rows: each attempt belongs to one row, each request to the
    row of its first attempt, so the rows add up to the total.
    """
    rows = tuple(rows)
    return ReportRow(
        key=TOTAL_KEY,
        requests=sum(r.requests for r in rows),
        attempts=sum(r.attempts for r in rows),
        failures=sum(r.failures for r in rows),
        input_tokens=sum(r.input_tokens for r in rows),
        output_tokens=sum(r.output_tokens for r in rows),
        cache_read_tokens=sum(r.cache_read_tokens for r in rows),
        cache_write_tokens=sum(r.cache_write_tokens for r in rows),
        reasoning_tokens=sum(r.reasoning_tokens for r in rows),
        cost_usd=sum((r.cost_usd for r in rows), Decimal(0)),
        failure_cost_usd=sum((r.failure_cost_usd for r in rows), Decimal(0)),
        unpriced=sum(r.unpriced for r in rows),
    )


class MemoryLedger:
    """
    A ledger held in memory: for tests, short scripts, and hosts that export records themselves.

    Records older than *retention_s* (measured from the newest record) are dropped
    as new ones arrive, and at most *max_records* are kept, so memory stays bounded.

    Args:
        retention_s: How long records are kept.
        max_records: The most records kept; the oldest go first.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self, *, retention_s: float = DEFAULT_RETENTION_S, max_records: int = 1_000_000
    ) -> None:
        if not retention_s > 0:
            raise ValueError(f"retention_s must be positive, not {retention_s!r}")
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records!r}")
        self.retention_s = retention_s
        self.max_records = max_records
        self._records: list[UsageRecord] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryLedger(<{len(self._records)} records>)"

    def record(self, record: UsageRecord) -> None:
        """
        Keep *record*.
        """
        with self._lock:
            records = self._records
            records.append(record)
            if len(records) > self.max_records or records[0].at < record.at - self.retention_s:
                horizon = record.at - self.retention_s
                keep = [r for r in records if r.at >= horizon][-self.max_records :]
                self._records = keep

    def records(self) -> tuple[UsageRecord, ...]:
        """
        Every record kept, oldest first.
        """
        return tuple(self._records)

    def flush(self) -> None:
        """
        Nothing to write: records are kept as they arrive.
        """

    def report(
        self, *, since_at: float, until_at: float, by: GroupBy = GroupBy.PROVIDER
    ) -> UsageReport:
        """
        Usage and cost in [*since_at*, *until_at*), one row per *by*.
        """
        return summarise(self.records(), since_at=since_at, until_at=until_at, by=by)

    def close(self) -> None:
        """
        Nothing to release.
        """


def unpriced_text(cost: Cost) -> str:
    """
    The kinds of tokens *cost* could not price, as stored: ``cache_write,output`` (empty if none).
    """
    return ",".join(sorted(k.value for k in cost.unpriced))


def cost_from(pico: int, unpriced: str) -> Cost:
    """
    A stored cost back as a :class:`Cost`.
    """
    return Cost(
        usd=from_picodollars(pico),
        unpriced=frozenset(TokenKind(k) for k in unpriced.split(",") if k),
    )
