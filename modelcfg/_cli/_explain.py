"""
``modelcfg explain SCRIPT``: replay a scripted failure sequence through the decision core.

Offline: the script says what each call returns (see ``docs/explain.md``).
Exit 0 when the request succeeds (or the script runs out of events while a
call is pending), 6 when the core gives up, 2 for a bad script, 3 for a bad config.
"""

from __future__ import annotations

import argparse
import json
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path

import attrs

from modelcfg._catalog._curated import curated_catalog
from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    emit_json,
    used_providers,
)
from modelcfg._config._param_plan import ParamResolver, routed_models
from modelcfg._config._plan import build_routes, catalog_for
from modelcfg._config._resolve import resolve_model
from modelcfg._config._wire_params import ParamPlan
from modelcfg._core._actions import GiveUp
from modelcfg._core._replay import ReplayScript, parse_script, render_steps, replay, steps_to_json
from modelcfg._core._values import ModelRef, Selection
from modelcfg.exceptions import UnknownModelError
from modelcfg.typing import JSON

__all__ = ["register"]


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``explain``.
    """
    explain = subparsers.add_parser(
        "explain",
        aliases=["simulate"],
        parents=[common],
        help="replay a scripted failure sequence and print every decision",
    )
    explain.add_argument(
        "script", metavar="SCRIPT", help="a JSON or TOML script file ('-' reads JSON from stdin)"
    )
    add_json_flag(explain)
    explain.set_defaults(run=run_explain)


def _read_script(context: Context, name: str) -> dict[str, object]:
    if name == "-":
        text, where, is_toml = context.stdin.read(), "stdin", False
    else:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CliError(f"cannot read the script {path}: {reason}", Exit.USAGE) from None
        where, is_toml = str(path), path.suffix.lower() == ".toml"
    try:
        data: object = tomllib.loads(text) if is_toml else json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"the script {where} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}",
            Exit.USAGE,
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"the script {where} is not valid TOML: {exc}", Exit.USAGE) from None
    except RecursionError:
        raise CliError(
            f"the script {where} is nested too deeply to be read; a script is a flat object "
            "with a list of steps",
            Exit.USAGE,
        ) from None
    except ValueError:  # a whole number longer than Python reads
        raise CliError(f"the script {where} holds a number too long to read", Exit.USAGE) from None
    if not isinstance(data, dict):
        raise CliError(f"the script {where} must hold an object", Exit.USAGE)
    return data


def run_explain(context: Context) -> int:
    """
    ``explain SCRIPT``: print each decision; exit 6 if the request gave up.
    """
    name = str(context.args.script)
    script = _read_script(context, name)
    config = context.config()
    catalog = catalog_for(config, curated=curated_catalog())
    routes = build_routes(
        config,
        catalog,
        order_overrides=context.order_overrides(used_providers(config)),
        stored_profiles=context.stored_profiles(used_providers(config)),
        also=routed_models(config),
    )
    known = frozenset(p for order in routes.auth_order.values() for p in order)
    params = ParamResolver(config, catalog)

    def select(text: str, strict: bool) -> Selection:
        return resolve_model(text, config, profiles=known, strict=strict)

    def describe(model: ModelRef, parsed: ReplayScript) -> ParamPlan:
        preset = parsed.preset or parsed.session.preset
        return params.plan(
            model,
            preset=params.preset(preset) if preset is not None else None,
            # Both were checked to hold JSON values when the script was read.
            session=typing.cast("Mapping[str, JSON]", parsed.session.params),
            request=typing.cast("Mapping[str, JSON]", parsed.params),
        )

    try:
        parsed = parse_script(script, select=select)
        preset = parsed.preset or parsed.session.preset
        if preset is not None:
            try:
                chain = params.route(params.preset(preset)).over(routes.chain)
            except UnknownModelError as exc:
                where = "$.request.preset" if parsed.preset is not None else "$.session.preset"
                raise ValueError(f"{where}: {exc}") from None
            routes = attrs.evolve(routes, chain=chain)
        steps = replay(script, routes, select=select, describe=describe)
    except ValueError as exc:
        raise CliError(f"the script {name}: {exc}", Exit.USAGE) from None
    if context.args.json:
        emit_json(context.out, {"script": name, "steps": steps_to_json(steps)})
    else:
        context.out.stdout.write(render_steps(steps))
    gave_up = bool(steps) and isinstance(steps[-1].action, GiveUp)
    return Exit.GAVE_UP if gave_up else Exit.OK
