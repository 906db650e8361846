"""
``modelcfg params explain | presets`` and ``modelcfg experiments show | assign``.

``params explain MODEL`` prints the parameters a request to MODEL would send:
each value with the layer it came from, what was dropped (or refused, or passed)
and why, what was translated for the provider's API, and the fields sent. It is
offline: the configuration and the catalog say everything. Exit 1 when
``paramsPolicy`` is ``error`` and the request would be refused.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._curated import curated_catalog
from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    emit_json,
    render_table,
)
from modelcfg._config._param_plan import (
    ParamResolver,
    active_experiment,
    resolve_choice,
)
from modelcfg._config._plan import catalog_for
from modelcfg._core._experiments import BUCKETS
from modelcfg._executor._tally import ArmStats, ExperimentTally, merged
from modelcfg.typing import JSON, JSONObject

__all__ = ["register", "register_experiments"]


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``params`` and its subcommands.
    """
    params = subparsers.add_parser(
        "params", parents=[common], help="explain request parameters; list presets"
    )
    sub = params.add_subparsers(dest="params_command", metavar="SUBCOMMAND", required=True)

    explain = sub.add_parser(
        "explain",
        parents=[common],
        help="the parameters a request to MODEL sends, with the layer each came from",
    )
    explain.add_argument(
        "model", metavar="MODEL", help="an alias or provider/model, optionally +PRESET (Opus+deep)"
    )
    explain.add_argument("--preset", metavar="NAME", help="the preset in force")
    explain.add_argument(
        "--session",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a session parameter (repeatable; VALUE is JSON, else text; null removes)",
    )
    explain.add_argument(
        "--param",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a request parameter (repeatable; VALUE is JSON, else text; null removes)",
    )
    add_json_flag(explain)
    explain.set_defaults(run=run_explain)

    presets = sub.add_parser(
        "presets", parents=[common], help="the built-in and configured presets"
    )
    add_json_flag(presets)
    presets.set_defaults(run=run_presets)


def register_experiments(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``experiments`` and its subcommands.
    """
    experiments = subparsers.add_parser(
        "experiments", parents=[common], help="show A/B experiments and session assignments"
    )
    sub = experiments.add_subparsers(
        dest="experiments_command", metavar="SUBCOMMAND", required=True
    )
    show = sub.add_parser("show", parents=[common], help="each experiment, its arms and shares")
    add_json_flag(show)
    show.set_defaults(run=run_show)
    assign = sub.add_parser(
        "assign", parents=[common], help="the arm the enabled experiment gives each SESSION"
    )
    assign.add_argument("sessions", metavar="SESSION", nargs="+", help="session ids")
    add_json_flag(assign)
    assign.set_defaults(run=run_assign)
    report = sub.add_parser(
        "report",
        parents=[common],
        help="outcomes per arm from ExperimentTally files (one per process), side by side",
    )
    report.add_argument("files", metavar="FILE", nargs="+", help="ExperimentTally.to_json() files")
    add_json_flag(report)
    report.set_defaults(run=run_report)


# --- params explain -------------------------------------------------------------------------------


def _assignments(pairs: list[str], option: str) -> dict[str, JSON]:
    values: dict[str, JSON] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not name.strip():
            raise CliError(f"{option} takes KEY=VALUE, not {pair!r}", Exit.USAGE)
        try:
            value: JSON = json.loads(text)
        except ValueError:
            value = text
        values[name.strip()] = value
    return values


def _resolver(context: Context) -> ParamResolver:
    config = context.config()
    return ParamResolver(config, catalog_for(config, curated=curated_catalog()))


def run_explain(context: Context) -> int:
    """
    ``params explain MODEL``: the plan of one attempt; exit 1 when it would be refused.
    """
    args = context.args
    config = context.config()
    params = _resolver(context)
    choice = resolve_choice(args.model, config)
    if choice.selection is None:
        raise CliError(f"{args.model!r} names no model: write MODEL or MODEL+PRESET", Exit.USAGE)
    if args.preset is not None and choice.preset is not None:
        raise CliError(
            f"{args.model!r} names preset {choice.preset!r} already; leave out --preset",
            Exit.USAGE,
        )
    name = args.preset if args.preset is not None else choice.preset
    preset = params.preset(name) if name is not None else None
    plan = params.plan(
        choice.selection.model,
        preset=preset,
        session=_assignments(args.session, "--session"),
        request=_assignments(args.param, "--param"),
    )
    if args.json:
        data = plan.to_json()
        data["preset"] = preset.name if preset is not None else None
        data["refused"] = bool(plan.refused)
        emit_json(context.out, data)
    else:
        for line in plan.lines():
            context.out.line(line)
        if plan.refused:
            context.out.line(
                f"A request to {plan.model} would be refused before the call "
                "(paramsPolicy is error)."
            )
    return Exit.FAILURE if plan.refused else Exit.OK


def run_presets(context: Context) -> int:
    """
    ``params presets``: every preset, what it sets and where it sends requests.
    """
    params = _resolver(context)
    presets = sorted(params.presets.values(), key=lambda p: p.name.casefold())
    if context.args.json:
        emit_json(
            context.out,
            {
                "presets": [
                    {
                        "name": p.name,
                        "builtin": p.builtin,
                        "params": dict(p.params),
                        "model": p.model,
                        "fallbacks": list(p.fallbacks) if p.fallbacks is not None else None,
                        "description": p.description,
                    }
                    for p in presets
                ]
            },
        )
        return Exit.OK
    rows = []
    for p in presets:
        route = p.model or "-"
        if p.fallbacks:
            route += " -> " + " -> ".join(p.fallbacks)
        sets = ", ".join(f"{k}={json.dumps(v)}" for k, v in p.params.items()) or "-"
        rows.append([p.name, "built-in" if p.builtin else "config", sets, route, p.description])
    context.out.table(["PRESET", "FROM", "SETS", "MODEL", "DESCRIPTION"], rows, droppable=[4])
    return Exit.OK


# --- experiments ----------------------------------------------------------------------------------


def _percent(width: int) -> str:
    return f"{width / BUCKETS:.2%}"


def run_show(context: Context) -> int:
    """
    ``experiments show``: each experiment, its arms, their weights, shares and bucket ranges.
    """
    config = context.config()
    active = active_experiment(config)
    found: list[JSON] = []
    lines: list[str] = []
    for name, entry in config.experiments.items():
        state = "enabled" if entry.enabled else "disabled"
        ranges = (
            {arm: (start, end) for arm, start, end in active.split.ranges()}
            if active is not None and active.name == name
            else None
        )
        total = sum(arm.weight for arm in entry.arms.values())
        arms: list[JSON] = []
        rows = []
        for arm_name, arm in entry.arms.items():
            span = ranges.get(arm_name) if ranges is not None else None
            share = _percent(span[1] - span[0]) if span else f"{arm.weight / total:.2%}"
            item: JSONObject = {
                "name": arm_name,
                "weight": arm.weight,
                "share": (span[1] - span[0]) / BUCKETS if span else arm.weight / total,
                "preset": arm.preset,
                "model": arm.model,
                "buckets": list(span) if span else None,
            }
            arms.append(item)
            rows.append(
                [
                    arm_name,
                    f"{arm.weight:g}",
                    share,
                    arm.preset or "-",
                    arm.model or "-",
                    f"{span[0]}-{span[1] - 1}" if span and span[1] > span[0] else "-",
                ]
            )
        found.append({"name": name, "enabled": entry.enabled, "arms": arms})
        lines.append(f"{name} ({state}){': ' + entry.description if entry.description else ''}")
        table = render_table(
            ["ARM", "WEIGHT", "SHARE", "PRESET", "MODEL", "BUCKETS"],
            rows,
            width=None if context.out.width is None else context.out.width - 2,
        )
        lines += ["  " + line for line in table.splitlines()]
    if context.args.json:
        emit_json(context.out, {"experiments": found, "buckets": BUCKETS})
    elif not lines:
        context.out.line("No experiments are configured (see `experiments` in docs/params.md).")
    else:
        for line in lines:
            context.out.line(line)
    return Exit.OK


def run_assign(context: Context) -> int:
    """
    ``experiments assign SESSION...``: the arm each session id gets; exit 1 with none enabled.
    """
    active = active_experiment(context.config())
    if active is None:
        raise CliError("no experiment is enabled, so sessions are not assigned", Exit.FAILURE)
    arms = [(session, active.assign(session)) for session in context.args.sessions]
    if context.args.json:
        emit_json(
            context.out,
            {
                "experiment": active.name,
                "assignments": [
                    {
                        "session": s,
                        "arm": arm.name,
                        "preset": arm.preset,
                        "model": str(arm.model) if arm.model else None,
                    }
                    for s, arm in arms
                ],
            },
        )
        return Exit.OK
    rows = [
        [s, arm.name, arm.preset or "-", str(arm.model) if arm.model else "-"] for s, arm in arms
    ]
    context.out.line(f"experiment {active.name}")
    context.out.table(["SESSION", "ARM", "PRESET", "MODEL"], rows)
    return Exit.OK


# --- experiments report ---------------------------------------------------------------------------


def _cost(stats: ArmStats, catalog: ModelCatalog) -> Decimal | None:
    """
    What an arm's answering attempts cost, in USD, from the catalog's prices;
    ``None`` when a model with tokens has a price the catalog does not know.
    """
    total = Decimal(0)
    for model, usage in stats.usage.items():
        info = catalog.get(model)
        pricing = info.pricing if info is not None else None
        parts = (
            (usage.input_tokens, pricing.input if pricing else None),
            (usage.output_tokens, pricing.output if pricing else None),
            (usage.cache_read_tokens, pricing.cache_read if pricing else None),
            (usage.cache_write_tokens, pricing.cache_write if pricing else None),
        )
        for tokens, price in parts:
            if not tokens:
                continue
            if price is None:
                return None
            total += Decimal(tokens) * Decimal(str(price)) / 1_000_000
    return total


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


def run_report(context: Context) -> int:
    """
    ``experiments report FILE...``: each arm's requests, success rate, latency, tokens and cost.
    """
    found: list[ArmStats] = []
    for name in context.args.files:
        path = Path(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}", Exit.USAGE) from None
        except ValueError as exc:
            raise CliError(f"{path} is not JSON: {exc}", Exit.USAGE) from None
        try:
            found += ExperimentTally.from_json(data)
        except ValueError as exc:
            raise CliError(f"{path}: {exc}", Exit.USAGE) from None
    config = context.config()
    catalog = catalog_for(config, curated=curated_catalog())
    arms = merged(found)
    if context.args.json:
        items: list[JSON] = []
        for stats in arms:
            cost = _cost(stats, catalog)
            tokens = stats.tokens
            items.append(
                {
                    "arm": stats.arm,
                    "requests": stats.requests,
                    "answered": stats.answered,
                    "successRate": stats.success_rate,
                    "attempts": stats.attempts,
                    "failures": dict(stats.failures),
                    "meanLatencySeconds": stats.mean_latency_s,
                    "meanFirstTokenSeconds": _mean(*stats.first_token_s),
                    "inputTokens": tokens.total_input_tokens,
                    "outputTokens": tokens.output_tokens,
                    "costUsd": None if cost is None else str(cost),
                }
            )
        emit_json(context.out, {"arms": items})
        return Exit.OK
    rows = []
    for stats in arms:
        cost = _cost(stats, catalog)
        rate = stats.success_rate
        latency = stats.mean_latency_s
        first = _mean(*stats.first_token_s)
        tokens = stats.tokens
        rows.append(
            [
                stats.arm,
                str(stats.requests),
                "-" if rate is None else f"{rate:.1%}",
                str(stats.attempts),
                str(sum(stats.failures.values())),
                "-" if latency is None else f"{latency:.2f} s",
                "-" if first is None else f"{first:.2f} s",
                f"{tokens.total_input_tokens:,}/{tokens.output_tokens:,}",
                "?" if cost is None else f"${cost:.4f}",
            ]
        )
    headers = ["ARM", "REQUESTS", "SUCCESS", "ATTEMPTS", "FAILED", "LATENCY", "FIRST TOKEN"]
    headers += ["TOKENS IN/OUT", "COST"]
    context.out.table(headers, rows, droppable=[6, 3, 4])
    return Exit.OK
