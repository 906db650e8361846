"""
``modelcfg usage``: what requests used and cost, from the usage ledger.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    data_file,
    emit_json,
    nonempty_path,
)

__all__ = ["default_ledger_path", "register"]

LEDGER_NAME = "usage.db"


def default_ledger_path(environ: Mapping[str, str]) -> Path | None:
    """
    The usage ledger's file: ``$MODELCFG_LEDGER``, else ``usage.db`` in modelcfg's directory.
    """
    return data_file(environ, "MODELCFG_LEDGER", LEDGER_NAME)


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``usage``.
    """
    from modelcfg.usage._ledger import GroupBy

    usage = subparsers.add_parser(
        "usage",
        parents=[common],
        help="report what requests used and cost, from the usage ledger",
        description=(
            "Sums the usage ledger over a time range: requests, attempts, failed attempts, "
            "tokens, cost and the cost of failed attempts, one row per provider, model, "
            "profile, session, API key, experiment arm, day or hour. Costs marked >= had "
            "tokens without a known price."
        ),
    )
    usage.add_argument(
        "--ledger",
        metavar="PATH",
        type=nonempty_path,
        help="the SQLite usage ledger (default: $MODELCFG_LEDGER, else usage.db in "
        "$MODELCFG_HOME, $XDG_CONFIG_HOME/modelcfg or ~/.config/modelcfg)",
    )
    usage.add_argument(
        "--since",
        metavar="WHEN",
        default="7d",
        help="the start: a duration before now (90m, 24h, 7d, 2w) or a UTC date or time "
        "(2025-06-01, 2025-06-01T12:30); default 7d",
    )
    usage.add_argument("--until", metavar="WHEN", help="the end, in the same forms; default now")
    usage.add_argument(
        "--by",
        choices=[g.value for g in GroupBy],
        default=GroupBy.PROVIDER.value,
        help="one row per this (default: provider)",
    )
    usage.add_argument(
        "--top", metavar="N", type=_positive_int, help="show the N costliest rows, sum the rest"
    )
    usage.add_argument(
        "--chart",
        action="store_true",
        help="draw a bar of each row's cost and a sparkline of the cost per day (or hour)",
    )
    add_json_flag(usage)
    usage.set_defaults(run=run_usage)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not at least 1")
    return value


def _when(text: str, option: str, now: float) -> float:
    from modelcfg.usage._report import parse_time

    try:
        return parse_time(text, now=now)
    except (ValueError, OverflowError, OSError) as exc:
        raise CliError(f"{option}: {exc}", Exit.USAGE) from None


def run_usage(context: Context) -> int:
    """
    ``usage``: print the report (or its JSON with ``--json``).
    """
    from modelcfg.usage._ledger import GroupBy, UsageReport, summarise
    from modelcfg.usage._report import render_report, report_to_json
    from modelcfg.usage._sqlite import SQLiteLedger

    args = context.args
    now = context.now()
    since = _when(args.since, "--since", now)
    until = now if args.until is None else _when(args.until, "--until", now)
    if since >= until:
        raise CliError(
            f"--since ({args.since}) must come before --until ({args.until or 'now'})", Exit.USAGE
        )
    path = Path(args.ledger).expanduser() if args.ledger else default_ledger_path(context.environ)
    by = GroupBy(args.by)
    series_by = GroupBy.DAY if until - since > 2 * 86400 else GroupBy.HOUR
    report: UsageReport
    series: UsageReport
    if path is None or not path.exists():
        where = "" if path is None else f" at {path}"
        context.out.note(
            f"no usage ledger{where} yet: hosts write one with "
            "modelcfg.usage.SQLiteLedger (see docs/usage.md)"
        )
        report = summarise((), since_at=since, until_at=until, by=by)
        series = summarise((), since_at=since, until_at=until, by=series_by)
    else:
        ledger = SQLiteLedger(path, retention_s=None)
        report = ledger.report(since_at=since, until_at=until, by=by)
        series = ledger.report(since_at=since, until_at=until, by=series_by)
    if args.json:
        emit_json(context.out, report_to_json(report, series=series if args.chart else None))
    else:
        context.out.line(
            render_report(
                report, series=series, chart=args.chart, top=args.top, width=context.out.width
            )
        )
    return Exit.OK
