"""
``modelcfg catalog refresh | show | promote``, and the catalog the model commands read.

The catalog a command sees is the curated data, the discovered listings in the
catalog cache and the config's own models, merged as
:meth:`~modelcfg.ModelCatalog.combined` says (the config wins). Reading
commands never fetch: ``catalog refresh`` does, on demand.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from modelcfg._catalog._cache import FileCatalogCache, default_cache_path
from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._curated import curated_catalog
from modelcfg._catalog._json import catalog_to_json
from modelcfg._catalog._records import Modality, ModelInfo, format_date
from modelcfg._catalog._snapshot import DEFAULT_TTL_S, CatalogSnapshot
from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    config_dir,
    config_path,
    emit_json,
    nonempty_path,
    render_table,
    used_providers,
)
from modelcfg._cli._creds import keyless, resolve
from modelcfg._config._plan import catalog_for
from modelcfg._config._schema import Config
from modelcfg._core._values import ModelRef
from modelcfg.auth import Secret
from modelcfg.exceptions import ConfigError
from modelcfg.typing import JSON, JSONObject

if TYPE_CHECKING:
    from modelcfg._catalog._discovery import DiscoverySource
    from modelcfg._catalog._refresh import RefreshReport, SourceRefresh

__all__ = [
    "add_cache_option",
    "discovered_section",
    "register",
    "user_catalog",
]

_CLIENT_TIMEOUT_S = 20.0


def add_cache_option(parser: argparse.ArgumentParser) -> None:
    """
    Add ``--catalog-cache PATH``.
    """
    parser.add_argument(
        "--catalog-cache",
        metavar="PATH",
        type=nonempty_path,
        help="the catalog cache file (default: $MODELCFG_CATALOG_CACHE, else "
        "modelcfg/catalog.json in $XDG_CACHE_HOME or ~/.cache)",
    )


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``catalog`` and its subcommands.
    """
    catalog = subparsers.add_parser(
        "catalog", parents=[common], help="discover, show and promote models"
    )
    sub = catalog.add_subparsers(dest="catalog_command", metavar="SUBCOMMAND", required=True)

    refresh = sub.add_parser(
        "refresh", parents=[common], help="fetch the providers' model listings into the cache"
    )
    refresh.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        help="a listing to refresh, by provider id (openrouter, openai, anthropic, a "
        "configured provider); repeatable (default: openrouter and the config's "
        "providers that have a credential)",
    )
    refresh.add_argument(
        "--force", action="store_true", help="fetch even listings fetched less than a day ago"
    )
    add_cache_option(refresh)
    add_json_flag(refresh)
    refresh.set_defaults(run=run_refresh)

    show = sub.add_parser("show", parents=[common], help="everything known about one model")
    show.add_argument("id", metavar="ID", help="provider/model, an alias, or a model id")
    add_cache_option(show)
    add_json_flag(show)
    show.set_defaults(run=run_show)

    promoting = sub.add_parser(
        "promote", parents=[common], help="copy a catalog model into the config"
    )
    promoting.add_argument("id", metavar="ID", help="provider/model, or a model id")
    promoting.add_argument("--alias", metavar="NAME", help="an alias for the model")
    promoting.add_argument(
        "--fallback", action="store_true", help="also append it to agent.model.fallbacks"
    )
    add_cache_option(promoting)
    add_json_flag(promoting)
    promoting.set_defaults(run=run_promote)


# --- the catalog commands read ------------------------------------------------------------------


def cache_of(context: Context) -> FileCatalogCache | None:
    """
    The catalog cache: ``--catalog-cache``, else the default for the environment.
    """
    explicit = getattr(context.args, "catalog_cache", None)
    path = Path(explicit).expanduser() if explicit else default_cache_path(context.environ)
    return FileCatalogCache(path=path) if path is not None else None


def snapshot_of(context: Context) -> CatalogSnapshot:
    """
    The cache's snapshot; an unreadable cache is a warning and counts as empty.
    """
    cache = cache_of(context)
    if cache is None:
        return CatalogSnapshot()
    try:
        return cache.load()
    except (ValueError, OSError) as exc:
        context.out.warn(f"ignoring the catalog cache: {exc}; run `modelcfg catalog refresh`")
        return CatalogSnapshot()


def user_catalog(context: Context, config: Config) -> ModelCatalog:
    """
    Curated, discovered and the config's own models, merged; every config model is in it.
    """
    catalog = catalog_for(
        config, curated=curated_catalog(), discovered=snapshot_of(context).catalog()
    )
    missing = [ref for ref in config.agent.models if ref not in catalog]
    if missing:
        catalog = catalog.with_models(ModelInfo.unknown(ref) for ref in missing)
    return catalog


def aliases_of(config: Config) -> dict[ModelRef, str]:
    """
    Model -> alias, from the config.
    """
    return {ref: entry.alias for ref, entry in config.agent.models.items() if entry.alias}


def find(catalog: ModelCatalog, config: Config, text: str) -> ModelInfo:
    """
    The record *text* names: a ``provider/model`` ref, an alias, or a model id one
    provider serves.

    Raises:
        CliError: Nothing matches (exit 4), or a model id several providers serve.
    """
    text = text.strip()
    ref = config.aliases().get(text.casefold())
    if ref is not None:
        return catalog.info(ref)
    found = catalog.get(text) if "/" in text else None
    if found is not None:
        return found
    same_id = [info for info in catalog if info.ref.model == text]
    if len(same_id) == 1:
        return same_id[0]
    if same_id:
        refs = ", ".join(str(info.ref) for info in same_id)
        raise CliError(f"{text!r} is served by several providers: {refs}; name one", Exit.USAGE)
    hits = catalog.search(text, limit=3)
    hint = f" Did you mean {', '.join(repr(str(h.info.ref)) for h in hits)}?" if hits else ""
    raise CliError(
        f"{text!r} is not in the catalog (curated, discovered or configured).{hint}",
        Exit.NOT_FOUND,
    )


# --- formatting ----------------------------------------------------------------------------------


def inputs_text(info: ModelInfo) -> str:
    """
    ``text,image,pdf``.
    """
    return ",".join(m.value for m in Modality if m in info.input)


def context_text(info: ModelInfo) -> str:
    """
    ``200,000`` or ``?``.
    """
    return f"{info.context_window:,}" if info.context_window is not None else "?"


def price_text(info: ModelInfo) -> str:
    """
    ``$3/$15`` (input/output, USD per million tokens), ``free``, or ``?`` when unknown.
    """
    pricing = info.pricing
    if pricing is None or (pricing.input is None and pricing.output is None):
        return "?"
    if info.free:
        return "free"

    def one(value: float | None) -> str:
        return "?" if value is None else f"{value:g}"

    return f"${one(pricing.input)}/${one(pricing.output)}"


def model_json(info: ModelInfo, alias: str | None) -> JSONObject:
    """
    A record as the CLI's JSON shows it.
    """
    pricing = info.pricing
    return {
        "id": str(info.ref),
        "alias": alias,
        "provider": info.ref.provider,
        "name": info.name,
        "input": [m.value for m in Modality if m in info.input],
        "output": [m.value for m in Modality if m in info.output],
        "tools": info.tools,
        "structuredOutput": info.structured_output,
        "reasoning": info.reasoning,
        "contextWindow": info.context_window,
        "maxOutputTokens": info.max_output_tokens,
        "pricing": None
        if pricing is None
        else {
            "input": pricing.input,
            "output": pricing.output,
            "cacheRead": pricing.cache_read,
            "cacheWrite": pricing.cache_write,
        },
        "free": info.free,
        "source": info.source.value,
        "provenance": str(info.provenance),
        "pricingFrom": None if info.pricing_from is None else str(info.pricing_from),
        "status": info.status.value,
        "createdAt": info.created_at,
    }


def discovered_section(context: Context, exclude: set[ModelRef]) -> tuple[list[JSON], str]:
    """
    ``models list --all``'s discovered section: its JSON and its text (a title and a table).
    """
    snapshot = snapshot_of(context)
    infos = [info for info in snapshot.catalog() if info.ref not in exclude]
    rows = [
        [str(i.ref), inputs_text(i), context_text(i), price_text(i), i.status.value] for i in infos
    ]
    headers = ("MODEL", "INPUT", "CONTEXT", "USD/M IN/OUT", "STATUS")
    ages = [
        f"{name} {format_date(snap.fetched_at)}"
        for name, snap in snapshot.sources.items()
        if snap.fetched_at is not None
    ]
    fetched = f"; fetched: {', '.join(ages)}" if ages else ""
    title = f"Discovered models ({len(infos)} more, from the catalog cache{fetched}):"
    if not snapshot.sources:
        title = "Discovered models: none cached yet; run `modelcfg catalog refresh`."
        return [], title
    return [model_json(info, None) for info in infos], title + "\n" + render_table(
        headers, rows, width=context.out.width, droppable=[1]
    )


# --- refresh -------------------------------------------------------------------------------------


def _sources(context: Context, config: Config) -> list[tuple[DiscoverySource, Secret | None]]:
    """
    The listings to refresh, each with its credential (``None`` when it needs none or has none).
    """
    from modelcfg._catalog._discovery import DiscoverySource  # refreshing only

    named: Sequence[str] | None = context.args.source
    explicit = named is not None
    names = (
        list(dict.fromkeys(n.strip().lower() for n in named))
        if named is not None
        else ["openrouter", *(p for p in (*used_providers(config), *config.providers))]
    )
    chosen: list[tuple[DiscoverySource, Secret | None]] = []
    for name in dict.fromkeys(names):
        settings = config.provider(name)
        if settings is None:
            if explicit:
                raise CliError(
                    f"{name!r} is neither a built-in provider nor configured under providers",
                    Exit.NOT_FOUND,
                )
            continue
        try:
            source = DiscoverySource.for_provider(name, settings)
        except ValueError as exc:
            raise CliError(f"{name}: {exc}", Exit.CONFIG) from None
        if source is None:
            if explicit:
                raise CliError(
                    f"{name} speaks {settings.api.value}: it has no models listing", Exit.USAGE
                )
            continue
        local = keyless(config, name)
        if local:
            source = attrs.evolve(source, needs_key=False)
        secret = None
        if source.needs_key:
            resolved = resolve(context, config, name)
            secret = resolved.secret
            if secret is None and not explicit:
                continue  # by default, only the listings we can read
        elif local and not explicit:
            continue  # a local server is refreshed when named, not on every refresh
        chosen.append((source, secret))
    return chosen


async def _refresh(
    context: Context,
    sources: list[tuple[DiscoverySource, Secret | None]],
    cache: FileCatalogCache,
) -> RefreshReport:
    import httpx  # only refreshing needs the network stack

    from modelcfg._catalog._refresh import refresh_catalog

    json_output = bool(context.args.json)

    def progress(outcome: SourceRefresh) -> None:
        if not json_output:
            context.out.line(outcome.line())

    async with httpx.AsyncClient(timeout=_CLIENT_TIMEOUT_S) as client:
        return await refresh_catalog(
            client,
            [source for source, _ in sources],
            cache,
            now=context.now(),
            keys={source.name: secret for source, secret in sources if secret is not None},
            ttl_s=DEFAULT_TTL_S,
            force=bool(context.args.force),
            on_progress=progress,
        )


def _refs(refs: Sequence[ModelRef]) -> list[JSON]:
    return [str(ref) for ref in refs]


def run_refresh(context: Context) -> int:
    """
    ``catalog refresh``: a line per listing, then the summary; exit 1 when one failed.
    """
    config = context.config()
    cache = cache_of(context)
    if cache is None:
        raise CliError(
            "no place for the catalog cache: set HOME, XDG_CACHE_HOME or "
            "MODELCFG_CATALOG_CACHE, or pass --catalog-cache",
            Exit.USAGE,
        )
    sources = _sources(context, config)
    import anyio

    report = anyio.run(_refresh, context, sources, cache)
    if context.args.json:
        emit_json(
            context.out,
            {
                "cache": str(cache.path),
                "sources": [
                    {
                        "source": s.source,
                        "url": s.url,
                        "outcome": s.outcome.value,
                        "models": s.models,
                        "added": _refs(s.diff.added),
                        "changed": _refs(s.diff.changed),
                        "removed": _refs(s.diff.removed),
                        "unchanged": s.diff.unchanged,
                        "skippedEntries": list[JSON](s.skipped),
                        "error": s.error,
                        "ageSeconds": s.age_s,
                        "fetchedAt": s.fetched_at,
                    }
                    for s in report.sources
                ],
                "summary": report.summary(),
                "ok": report.ok,
            },
        )
    else:
        if not report.sources:
            context.out.line("No listing to refresh.")
        context.out.line(report.summary())
        context.out.line(f"Cache: {cache.path}")
    return Exit.OK if report.ok else Exit.FAILURE


# --- show ----------------------------------------------------------------------------------------


def _flag(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def _config_row(config: Config, ref: ModelRef) -> list[tuple[str, str]]:
    """
    The row naming the facts the config's own entry sets for *ref* (they win), if any.
    """
    entry = config.agent.models.get(ref)
    fields = [] if entry is None else list(entry.catalog_overrides())
    if not fields:
        return []
    return [("config sets", ", ".join(name.replace("_", " ") for name in fields) + " (it wins)")]


def run_show(context: Context) -> int:
    """
    ``catalog show ID``: one model's record, where each fact came from, and its other providers.
    """
    config = context.config()
    catalog = user_catalog(context, config)
    info = find(catalog, config, str(context.args.id))
    alias = aliases_of(config).get(info.ref)
    others = [other for other in catalog.serving(info.ref) if other.ref != info.ref]
    if context.args.json:
        data = model_json(info, alias)
        record = catalog_to_json(ModelCatalog(records=[info]))["models"]
        data["record"] = record[0] if isinstance(record, list) else None
        data["servedAs"] = [str(other.ref) for other in others]
        emit_json(context.out, data)
        return Exit.OK
    pricing = info.pricing
    rows: list[tuple[str, str]] = [
        ("name", info.name),
        ("alias", alias or "-"),
        ("source", str(info.provenance)),
        *_config_row(config, info.ref),
        ("input", inputs_text(info)),
        ("output", ",".join(m.value for m in Modality if m in info.output)),
        ("context", f"{context_text(info)} tokens"),
        (
            "max output",
            "?" if info.max_output_tokens is None else f"{info.max_output_tokens:,} tokens",
        ),
    ]
    if pricing is None or pricing.is_unknown:
        rows.append(("pricing", "unknown"))
    else:
        parts = [
            f"{label} {'?' if value is None else f'${value:g}'}"
            for label, value in (
                ("input", pricing.input),
                ("output", pricing.output),
                ("cache read", pricing.cache_read),
                ("cache write", pricing.cache_write),
            )
        ]
        rows.append(("pricing", "USD/M " + ", ".join(parts)))
        if info.pricing_from is not None:
            rows.append(("priced by", str(info.pricing_from)))
    rows.append(
        (
            "supports",
            f"tools {_flag(info.tools)}, structured output {_flag(info.structured_output)}, "
            f"reasoning {_flag(info.reasoning)}, temperature {_flag(info.temperature)}, "
            f"streaming {_flag(info.streaming)}",
        )
    )
    status = info.status.value
    if info.retires_at is not None:
        status += f" (may be removed after {format_date(info.retires_at, with_time=False)})"
    if info.status_from is not None:
        status += f", per {info.status_from}"
    rows.append(("status", status))
    if info.knowledge_cutoff:
        rows.append(("knowledge", f"up to {info.knowledge_cutoff}"))
    if info.created_at is not None:
        rows.append(("published", format_date(info.created_at, with_time=False)))
    if info.canonical_id:
        rows.append(("canonical", info.canonical_id))
    if others:
        rows.append(("also served", ", ".join(f"{o.ref} ({o.source.value})" for o in others)))
    width = max(len(label) for label, _ in rows) + 1
    context.out.line(str(info.ref))
    for label, value in rows:
        context.out.line(f"  {(label + ':').ljust(width)} {value}")
    return Exit.OK


# --- promote -------------------------------------------------------------------------------------


def run_promote(context: Context) -> int:
    """
    ``catalog promote ID``: add a catalog model to the config file, validated and atomically.
    """
    from modelcfg._catalog._promote import PromotionError, promote
    from modelcfg._config._edit import edit_config_file

    config = context.config()
    catalog = user_catalog(context, config)
    info = find(catalog, config, str(context.args.id))
    path = config_path(context.args, context.environ)
    if path is None:
        base = config_dir(context.environ)
        if base is None:
            raise CliError("no config file to edit: pass --config PATH", Exit.CONFIG)
        path = base / "config.json"
    alias = context.args.alias
    changes: list[str] = []

    def edit(data: dict[str, object]) -> dict[str, object]:
        try:
            edited, promotion = promote(
                data, info, alias=alias, fallback=bool(context.args.fallback)
            )
        except PromotionError as exc:
            raise CliError(str(exc), Exit.USAGE) from None
        changes[:] = promotion.changes
        return edited

    try:
        result = edit_config_file(path, edit)
    except ConfigError:
        raise  # every problem of the edited config, at its path; nothing was written
    except ValueError as exc:  # the edited data cannot be written in the file's format
        raise CliError(f"cannot write {path}: {exc}", Exit.CONFIG) from None
    if context.args.json:
        emit_json(
            context.out,
            {
                "model": str(info.ref),
                "config": str(path),
                "written": None if result.written is None else str(result.written),
                "created": result.created,
                "beside": result.beside,
                "changes": list[JSON](changes),
            },
        )
    elif not result.changed:
        context.out.line(f"{info.ref} is already in {path} as asked; nothing changed.")
    else:
        verb = "Created" if result.created else "Updated"
        target = result.written if result.beside else path
        context.out.line(f"{verb} {target}:")
        for change in changes:
            context.out.line(f"  {change}")
        if result.beside:
            context.out.line(
                f"{path} has comments, which rewriting it would lose: the promoted config "
                f"is in {result.written}; merge it by hand (or remove the comments and run "
                "this again)."
            )
    return Exit.FAILURE if result.beside else Exit.OK
