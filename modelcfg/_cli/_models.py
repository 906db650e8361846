"""
``modelcfg models list | resolve | search`` (and the editing commands of ``_edits``).
"""

from __future__ import annotations

import argparse

from modelcfg._catalog._curated import curated_catalog
from modelcfg._catalog._records import Modality, ModelInfo
from modelcfg._cli._catalog import add_cache_option, discovered_section
from modelcfg._cli._common import (
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    emit_json,
    render_table,
)
from modelcfg._cli._creds import auth_order, keyless, resolve, short_source
from modelcfg._cli._edits import register_edits
from modelcfg._cli._search import register_search
from modelcfg._config._plan import catalog_for
from modelcfg._config._resolve import resolve_model
from modelcfg._config._schema import Config
from modelcfg._core._values import ModelRef
from modelcfg.auth import ResolvedCredential
from modelcfg.typing import JSON, JSONObject

__all__ = ["register"]


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``models`` and its subcommands.
    """
    models = subparsers.add_parser(
        "models", parents=[common], help="list, resolve and search models"
    )
    sub = models.add_subparsers(dest="models_command", metavar="SUBCOMMAND", required=True)

    listing = sub.add_parser(
        "list", parents=[common], help="the config's models with their auth order and source"
    )
    listing.add_argument(
        "--all",
        action="store_true",
        help="also list the curated catalog's other models and the discovered ones",
    )
    add_cache_option(listing)
    add_json_flag(listing)
    listing.set_defaults(run=run_list)

    resolving = sub.add_parser("resolve", parents=[common], help="what `/model TEXT` would select")
    resolving.add_argument("text", metavar="TEXT", help="an alias or provider/model[@profile]")
    resolving.add_argument(
        "--strict", action="store_true", help="pin the @profile instead of preferring it"
    )
    add_json_flag(resolving)
    resolving.set_defaults(run=run_resolve)

    register_search(sub, common)
    register_edits(sub, common)


# --- list ----------------------------------------------------------------------------------------


def _tags(config: Config) -> dict[ModelRef, list[str]]:
    tags: dict[ModelRef, list[str]] = {}
    for label, chain in (("", config.text_chain()), ("img-", config.image_chain())):
        if chain is None:
            continue
        tags.setdefault(chain.primary, []).append("default" if not label else "image")
        for number, ref in enumerate(chain.fallbacks, start=1):
            tags.setdefault(ref, []).append(f"{label}fallback#{number}")
    for ref in config.agent.models:
        tags.setdefault(ref, []).append("configured")
    return tags


def _inputs(info: ModelInfo) -> str:
    return ",".join(m.value for m in Modality if m in info.input)


def _context(info: ModelInfo) -> str:
    return f"{info.context_window:,}" if info.context_window is not None else "?"


def _price(info: ModelInfo) -> str:
    pricing = info.pricing
    if pricing is None or (pricing.input is None and pricing.output is None):
        return "?"

    def one(value: float | None) -> str:
        return "?" if value is None else f"{value:g}"

    return f"${one(pricing.input)}/${one(pricing.output)}"


def _model_json(info: ModelInfo, alias: str | None) -> JSONObject:
    pricing = info.pricing
    return {
        "id": str(info.ref),
        "alias": alias,
        "provider": info.ref.provider,
        "name": info.name,
        "input": [m.value for m in Modality if m in info.input],
        "contextWindow": info.context_window,
        "maxOutputTokens": info.max_output_tokens,
        "pricing": None if pricing is None else {"input": pricing.input, "output": pricing.output},
        "source": info.source.value,
        "status": info.status.value,
    }


def _source_json(resolved: ResolvedCredential) -> JSONObject:
    return {
        "origin": resolved.origin.value,
        "profile": None if resolved.profile is None else str(resolved.profile),
        "envVar": resolved.env_var,
        "source": resolved.source,
        "hint": resolved.hint,
    }


def run_list(context: Context) -> int:
    """
    ``models list``: one row per model of the config.
    """
    config = context.config()
    catalog = catalog_for(config, curated=curated_catalog())
    tags = _tags(config)
    aliases = {ref: entry.alias for ref, entry in config.agent.models.items() if entry.alias}
    providers = dict.fromkeys(ref.provider for ref in tags)
    orders = {p: auth_order(context, config, p) for p in providers}
    sources = {p: resolve(context, config, p) for p in providers}
    others = (
        [info for info in curated_catalog() if info.ref not in tags] if context.args.all else []
    )
    if context.args.json:
        models: list[JSON] = []
        for ref, labels in tags.items():
            item = _model_json(catalog.info(ref), aliases.get(ref))
            item["authOrder"] = [str(p) for p in orders[ref.provider]]
            auth = _source_json(sources[ref.provider])
            auth["keyless"] = keyless(config, ref.provider)
            item["auth"] = auth
            item["tags"] = list(labels)
            models.append(item)
        data: JSONObject = {"config": context.config_source(), "models": models}
        if context.args.all:
            data["catalog"] = [_model_json(info, None) for info in others]
            data["discovered"] = discovered_section(context, {*tags, *(i.ref for i in others)})[0]
        emit_json(context.out, data)
        return Exit.OK
    rows = [
        [
            str(ref),
            aliases.get(ref, ""),
            ref.provider,
            _inputs(catalog.info(ref)),
            _context(catalog.info(ref)),
            ",".join(str(p) for p in orders[ref.provider]),
            short_source(sources[ref.provider], local=keyless(config, ref.provider)),
            ",".join(labels),
        ]
        for ref, labels in tags.items()
    ]
    headers = ("MODEL", "ALIAS", "PROVIDER", "INPUT", "CONTEXT", "AUTH ORDER", "AUTH", "TAGS")
    # PROVIDER repeats the model id's first part; the auth order is what `auth status` shows.
    context.out.table(headers, rows, droppable=[2, 5, 3, 4], shrinkable=[7, 6, 1])
    if context.args.all:
        context.out.line()
        context.out.line(f"Curated catalog ({len(others)} more models):")
        context.out.line(_catalog_table(others, context.out.width))
        context.out.line()
        context.out.line(discovered_section(context, {*tags, *(i.ref for i in others)})[1])
    return Exit.OK


def _catalog_table(infos: list[ModelInfo], width: int | None) -> str:
    rows = [[str(i.ref), i.name, _inputs(i), _context(i), _price(i), i.status.value] for i in infos]
    headers = ("MODEL", "NAME", "INPUT", "CONTEXT", "USD/M IN/OUT", "STATUS")
    return render_table(headers, rows, width=width, droppable=[1])


# --- resolve -------------------------------------------------------------------------------------


def run_resolve(context: Context) -> int:
    """
    ``models resolve TEXT``: the selection `/model TEXT` makes, or an error with suggestions.
    """
    config = context.config()
    stored = [p.profile for p in context.store().profiles()]
    selection = resolve_model(
        str(context.args.text),
        config,
        profiles=stored,
        models=[info.ref for info in curated_catalog()],
        strict=bool(context.args.strict),
    )
    alias = next(
        (e.alias for r, e in config.agent.models.items() if r == selection.model and e.alias),
        None,
    )
    if context.args.json:
        emit_json(
            context.out,
            {
                "text": str(context.args.text),
                "model": str(selection.model),
                "provider": selection.model.provider,
                "alias": alias,
                "profile": None if selection.profile is None else str(selection.profile),
                "strict": selection.strict,
            },
        )
        return Exit.OK
    out = context.out
    out.line(f"model:    {selection.model}" + (f" (alias {alias})" if alias else ""))
    if selection.profile is None:
        out.line("profile:  (none: the provider's auth order applies)")
    else:
        out.line(f"profile:  {selection.profile} (for this session only)")
    mode = "pinned" if selection.strict else "preferred"
    out.line(
        f"strict:   {'yes' if selection.strict else 'no'}"
        + (f" (the profile is {mode})" if selection.profile else "")
    )
    return Exit.OK
