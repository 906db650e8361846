"""
``modelcfg models search [QUERY]``: curated, discovered and configured models, filtered and ranked.

The table fits the terminal's width, or 80 columns when the output is not a
terminal: model ids are shown whole when they can be, and the match column
gives way first. ``--json`` gives every field and the full reason of each match.
"""

from __future__ import annotations

import argparse

from modelcfg._catalog._records import CatalogSource, Modality, ModelInfo, ModelStatus
from modelcfg._catalog._search import CatalogFilter, MatchKind, SearchHit, SortOrder, words_of
from modelcfg._cli._catalog import add_cache_option, aliases_of, model_json, user_catalog
from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    ellipsis,
    emit_json,
    fit_table,
)
from modelcfg.typing import JSON

__all__ = ["register_search", "run_search"]

_INITIALS = {
    Modality.TEXT: "t",
    Modality.IMAGE: "i",
    Modality.PDF: "p",
    Modality.AUDIO: "a",
    Modality.VIDEO: "v",
}
_SOURCE_SHORT = {
    CatalogSource.CURATED: "cur",
    CatalogSource.DISCOVERED: "disc",
    CatalogSource.USER: "user",
}
LEGEND = "IN: t text, i image, p pdf, a audio, v video. USD/M: input/output, per M tokens."


def register_search(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``models search`` to the ``models`` subcommands.
    """
    search = sub.add_parser(
        "search", parents=[common], help="search curated, discovered and configured models"
    )
    search.add_argument("query", metavar="QUERY", nargs="?", default="", help="what to look for")
    search.add_argument(
        "--input",
        action="append",
        choices=[m.value for m in Modality],
        metavar="MODALITY",
        help="must accept this input (text, image, pdf, audio, video); repeatable",
    )
    search.add_argument("--image", action="store_true", help="same as --input image")
    search.add_argument("--tools", action="store_true", help="must call tools")
    search.add_argument("--streaming", action="store_true", help="must stream")
    search.add_argument(
        "--structured", action="store_true", help="must support structured output (JSON schemas)"
    )
    search.add_argument("--reasoning", action="store_true", help="must be a reasoning model")
    search.add_argument("--min-context", type=int, metavar="TOKENS", help="smallest context window")
    search.add_argument(
        "--max-input-price", type=float, metavar="USD", help="highest input price per M tokens"
    )
    search.add_argument(
        "--max-output-price", type=float, metavar="USD", help="highest output price per M tokens"
    )
    search.add_argument(
        "--free",
        action="store_true",
        help="only models known to cost nothing (unknown is not free)",
    )
    search.add_argument("--provider", help="only this provider's models")
    search.add_argument(
        "--source",
        choices=[s.value for s in CatalogSource],
        help="only curated, discovered or user (config) records",
    )
    search.add_argument(
        "--status",
        action="append",
        choices=[s.value for s in ModelStatus],
        metavar="STATUS",
        help="only models in this life-cycle stage (active, preview, deprecated, retired); "
        "repeatable (default: all but retired)",
    )
    search.add_argument("--include-retired", action="store_true", help="list retired models too")
    search.add_argument(
        "--sort",
        choices=[s.value for s in SortOrder],
        default=SortOrder.RELEVANCE.value,
        help="relevance (default), price (cheapest first), context (largest first) or newest",
    )
    search.add_argument("--limit", type=int, default=None, help="at most this many results")
    add_cache_option(search)
    add_json_flag(search)
    search.set_defaults(run=run_search)


def _filters(args: argparse.Namespace) -> CatalogFilter:
    inputs = {Modality(m) for m in args.input or ()}
    if args.image:
        inputs.add(Modality.IMAGE)
    try:
        return CatalogFilter(
            input=frozenset(inputs),
            tools=True if args.tools else None,
            streaming=True if args.streaming else None,
            structured_output=True if args.structured else None,
            reasoning=True if args.reasoning else None,
            min_context=args.min_context,
            max_input_price=args.max_input_price,
            max_output_price=args.max_output_price,
            provider=args.provider,
            source=CatalogSource(args.source) if args.source else None,
            free=bool(args.free),
            status=frozenset(args.status) if args.status else None,
            include_retired=bool(args.include_retired),
        )
    except ValueError as exc:
        raise CliError(f"bad search filter: {exc}", Exit.USAGE) from None


def _short_match(hit: SearchHit) -> str:
    if hit.kind is MatchKind.ANY:
        return "-"
    text = f"{hit.kind.value} {hit.field.value}"
    if hit.typos:
        text += " (" + ", ".join(f"{typed}~{meant}" for typed, meant in hit.typos) + ")"
    return text


def _context(info: ModelInfo) -> str:
    window = info.context_window
    if window is None:
        return "?"
    if window >= 1_000_000 and window % 1_000_000 < 50_000:
        return f"{window / 1_000_000:.1f}M".replace(".0M", "M")
    return f"{round(window / 1000)}k" if window >= 1000 else str(window)


def _price(info: ModelInfo) -> str:
    pricing = info.pricing
    if pricing is None or (pricing.input is None and pricing.output is None):
        return "?"
    if info.free:
        return "free"

    def one(value: float | None) -> str:
        return "?" if value is None else f"{value:g}"

    return f"{one(pricing.input)}/{one(pricing.output)}"


def run_search(context: Context) -> int:
    """
    ``models search QUERY``: the matching models, best first, as a table or JSON.
    """
    config = context.config()
    filters = _filters(context.args)
    if context.args.limit is not None and context.args.limit < 1:
        raise CliError("--limit must be at least 1", Exit.USAGE)
    catalog = user_catalog(context, config)
    aliases = aliases_of(config)
    query = str(context.args.query)
    hits = catalog.search(
        query,
        filters=filters,
        aliases=aliases,
        limit=context.args.limit,
        sort=SortOrder(context.args.sort),
    )
    if context.args.json:
        results: list[JSON] = []
        for hit in hits:
            item = model_json(hit.info, aliases.get(hit.info.ref))
            item["match"] = {"kind": hit.kind.value, "field": hit.field.value, "why": hit.reason}
            results.append(item)
        emit_json(context.out, {"query": query, "sort": context.args.sort, "results": results})
        return Exit.OK
    if not hits:
        context.out.line(f"No model matches {query!r} with these filters.")
        return Exit.OK
    rows = [
        [
            str(hit.info.ref),
            aliases.get(hit.info.ref, ""),
            _SOURCE_SHORT[hit.info.source],
            "".join(_INITIALS[m] for m in Modality if m in hit.info.input),
            _context(hit.info),
            _price(hit.info),
            _short_match(hit),
        ]
        for hit in hits
    ]
    headers = ["MODEL", "ALIAS", "SRC", "IN", "CTX", "USD/M", "MATCH"]
    # The match column says nothing for an empty query, the alias column nothing without aliases.
    keep = [
        c
        for c in range(len(headers))
        if not (c == 6 and not words_of(query)) and not (c == 1 and not any(r[1] for r in rows))
    ]
    headers = [headers[c] for c in keep]
    rows = [[row[c] for c in keep] for row in rows]
    match_column = len(headers) - 1 if "MATCH" in headers else None
    width = context.out.width
    text, _dropped = fit_table(
        headers,
        rows,
        width=width,
        droppable=[match_column] if match_column is not None else [],
        shrinkable=[0],
        bold=context.out.color,
    )
    context.out.line(text)
    context.out.line(LEGEND if width is None else ellipsis(LEGEND, width))
    return Exit.OK
