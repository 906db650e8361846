"""
Usage reports for people and machines: tables, bars and sparklines, JSON, and time ranges.

Pure functions over :class:`~modelcfg.usage.UsageReport` values; the ``modelcfg usage``
command prints what they return.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from modelcfg._core._cost import format_usd
from modelcfg._table import fit_table
from modelcfg.typing import JSONObject
from modelcfg.usage._ledger import GroupBy, ReportRow, UsageReport, day_of, hour_of

__all__ = [
    "bar",
    "parse_time",
    "render_report",
    "report_to_json",
    "sparkline",
]

_SPARKS: Final = "▁▂▃▄▅▆▇█"
_MAX_SPARKS: Final = 62
_BAR: Final = "█"
_PARTIAL: Final = " ▏▎▍▌▋▊▉"
_AGO: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(m|h|d|w)\Z")
_UNIT_S: Final = {"m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_HEADERS: Final = (
    "requests",
    "attempts",
    "failed",
    "input",
    "output",
    "cached",
    "cost",
    "failed cost",
)


def parse_time(text: str, *, now: float) -> float:
    """
    A point in time from ``7d`` / ``24h`` / ``90m`` / ``2w`` (that long before *now*),
    ``2025-06-01`` (UTC midnight) or ``2025-06-01T12:30`` (UTC).

    Raises:
        ValueError: *text* is none of these, with what is accepted.
    """
    cleaned = text.strip()
    found = _AGO.match(cleaned.lower())
    if found:
        return now - float(found[1]) * _UNIT_S[found[2]]
    try:
        parsed = datetime.datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use a duration before now (90m, 24h, 7d, 2w) or a "
            "UTC date or time (2025-06-01, 2025-06-01T12:30)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def sparkline(values: Sequence[Decimal | int | float]) -> str:
    """
    One character per value, from ``▁`` (zero) to ``█`` (the most).
    """
    top = float(max(values, default=0))
    if top <= 0:
        return _SPARKS[0] * len(values)
    levels = len(_SPARKS) - 1
    return "".join(_SPARKS[round(max(float(v), 0.0) / top * levels)] for v in values)


def bar(value: Decimal | int | float, top: Decimal | int | float, width: int = 20) -> str:
    """
    A horizontal bar, *width* characters long at *top*, drawn in eighths of a character.
    """
    if top <= 0 or value <= 0:
        return ""
    eighths = max(round(float(value) / float(top) * width * 8), 1)
    full, part = divmod(eighths, 8)
    return _BAR * full + (_PARTIAL[part] if part else "")


def _tokens(count: int) -> str:
    if count < 1000:
        return str(count)
    for size, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if count >= size:
            shown = f"{count / size:.1f}".removesuffix(".0")
            return f"{shown}{suffix}"
    return str(count)  # pragma: no cover - every count above 999 matched a size


def _stamp(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M")


def _cells(row: ReportRow) -> list[str]:
    return [
        row.key,
        str(row.requests),
        str(row.attempts),
        str(row.failures),
        _tokens(row.input_tokens),
        _tokens(row.output_tokens),
        _tokens(row.cache_read_tokens + row.cache_write_tokens),
        row.cost,
        format_usd(row.failure_cost_usd),
    ]


# Columns of the report that give way to a narrow terminal, the least useful first:
# cached, attempts, input, output and failed cost; the group's key is cut last.
_DROPPABLE: Final = (6, 2, 4, 5, 8)


def render_report(
    report: UsageReport,
    *,
    series: UsageReport | None = None,
    chart: bool = False,
    top: int | None = None,
    width: int | None = None,
) -> str:
    """
    *report* as a table with a total line; with *chart*, a bar of each row's cost, and
    under the table a sparkline of the cost per period of *series* (a report by day or hour).

    Args:
        report: The report.
        series: The same range by day or hour, for the sparkline.
        chart: Whether to draw bars and the sparkline.
        top: Show only this many rows (the rest are summed into one line).
        width: The columns the table must fit in (``None``: any width); the least useful
            columns give way first.
    """
    by = report.by
    rows = list(report.rows)
    hidden: list[ReportRow] = []
    if top is not None and len(rows) > top:
        rows, hidden = rows[:top], rows[top:]
    shown = [*rows, *([_sum_rows(f"({len(hidden)} more)", hidden)] if hidden else [])]
    headers = [by.value, *_HEADERS]
    body = [_cells(row) for row in shown]
    total = _cells(report.total)
    if chart:
        most = max((row.cost_usd for row in report.rows), default=Decimal(0))
        headers.append("")
        for cells, row in zip(body, shown, strict=True):
            cells.append(bar(row.cost_usd, most))
        total.append("")
    right = set(range(1, len(_HEADERS) + 1))
    lines = [
        f"Usage from {_stamp(report.since_at)} to {_stamp(report.until_at)} UTC, by {by.value}",
        "",
        fit_table(
            headers,
            [*body, total],
            width=width,
            droppable=_DROPPABLE,
            shrinkable=[0],
            right=right,
        )[0],
    ]
    if not report.rows:
        lines.append("(no attempts recorded in this range)")
    if report.total.unpriced:
        lines.append(
            f"{report.total.unpriced} attempt(s) had no known cost (no price for the model, "
            "or no usage reported): costs marked >= are lower bounds"
        )
    if chart and series is not None:
        unit, labels, costs = _periods(series)
        lines += [
            "",
            f"cost per {unit}, {labels[0]} to {labels[-1]} (max {format_usd(max(costs))}): "
            f"{sparkline(costs)}",
        ]
    return "\n".join(lines)


def _periods(series: UsageReport) -> tuple[str, list[str], list[Decimal]]:
    """
    Every period of *series*'s range with its cost (zero where nothing was recorded),
    merged into at most :data:`_MAX_SPARKS` groups.
    """
    unit_s, label = (86400, day_of) if series.by is GroupBy.DAY else (3600, hour_of)
    costs = {row.key: row.cost_usd for row in series.rows}
    start = int(series.since_at // unit_s)
    end = max(int(-(-series.until_at // unit_s)), start + 1)
    labels = [label(n * unit_s) for n in range(start, end)]
    values = [costs.get(key, Decimal(0)) for key in labels]
    unit = "day" if unit_s == 86400 else "hour"
    if len(values) > _MAX_SPARKS:
        size = -(-len(values) // _MAX_SPARKS)
        values = [sum(values[i : i + size], Decimal(0)) for i in range(0, len(values), size)]
        unit = f"{size} {unit}s"
    return unit, labels, values


def _sum_rows(key: str, rows: Sequence[ReportRow]) -> ReportRow:
    return ReportRow(
        key=key,
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


def _plain(usd: Decimal) -> str:
    """*usd* as a plain decimal string, without trailing zeros or an exponent."""
    return f"{usd.normalize():f}" if usd else "0"


def _row_json(row: ReportRow) -> JSONObject:
    return {
        "key": row.key,
        "requests": row.requests,
        "attempts": row.attempts,
        "failures": row.failures,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cache_read_tokens": row.cache_read_tokens,
        "cache_write_tokens": row.cache_write_tokens,
        "reasoning_tokens": row.reasoning_tokens,
        "cost_usd": _plain(row.cost_usd),
        "failure_cost_usd": _plain(row.failure_cost_usd),
        "unpriced_attempts": row.unpriced,
        "cost_known": not row.unpriced,
    }


def report_to_json(report: UsageReport, *, series: UsageReport | None = None) -> JSONObject:
    """
    *report* as JSON: costs are decimal strings (``"0.0123"``) so no float rounds them.
    """
    data: JSONObject = {
        "since": _iso(report.since_at),
        "until": _iso(report.until_at),
        "by": report.by.value,
        "rows": [_row_json(row) for row in report.rows],
        "total": _row_json(report.total),
    }
    if series is not None:
        data["series"] = {
            "by": series.by.value,
            "rows": [
                {"key": row.key, "cost_usd": _plain(row.cost_usd), "attempts": row.attempts}
                for row in series.rows
            ],
        }
    return data


def _iso(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat().replace("+00:00", "Z")
