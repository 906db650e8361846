"""
Built-in short aliases (``opus``, ``sonnet``, ``gpt``, ...) for the models a config lists.

Pure: a table of model families, and one function from the listed models to the
aliases they get. A family's alias names the first listed model of that family,
in the order the config lists models: the text chain (primary, then fallbacks),
the image chain, then ``agent.models``. An alias the user gives any model wins
over a built-in one of the same name, and a model whose entry says ``alias: ""``
takes no built-in alias (the next listed model of its family does).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from modelcfg._core._values import ModelRef

__all__ = ["BUILTIN_ALIASES", "builtin_aliases"]

BUILTIN_ALIASES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (alias, re.compile(pattern, re.IGNORECASE))
    for alias, pattern in (
        # Matched against the model id's last part, so that a model served through
        # OpenRouter (openrouter/anthropic/claude-opus-4.5) belongs to its family too.
        ("opus", r"claude-(.+-)?opus(-.+)?"),
        ("sonnet", r"claude-(.+-)?sonnet(-.+)?"),
        ("haiku", r"claude-(.+-)?haiku(-.+)?"),
        ("gpt", r"gpt-\d[\w.]*"),  # gpt-5.2, gpt-4o; not the mini, nano or codex variants
        ("gpt-mini", r"gpt-\d[\w.]*-mini"),
        ("gemini", r"gemini-\d[\w.]*-pro(-.+)?"),
        ("gemini-flash", r"gemini-\d[\w.]*-flash(-.+)?"),
        ("grok", r"grok-.+"),
    )
)
"""Each built-in alias and the model ids (their last part) of its family."""


def builtin_aliases(
    listed: Iterable[ModelRef], opted_out: Iterable[ModelRef], taken: Iterable[str]
) -> dict[str, ModelRef]:
    """
    The built-in aliases the *listed* models get, lower case.

    Args:
        listed: The models the config lists, in its order (chains first).
        opted_out: Models whose entry says ``alias: ""``: they take no built-in alias.
        taken: Aliases the user gave (any case): a built-in alias of the same name
            is not made.

    Returns:
        Alias -> the first listed model of its family that did not opt out.
    """
    skip = frozenset(opted_out)
    used = {name.casefold() for name in taken}
    found: dict[str, ModelRef] = {}
    models = [ref for ref in dict.fromkeys(listed) if ref not in skip]
    for alias, family in BUILTIN_ALIASES:
        if alias in used:
            continue
        for ref in models:
            if family.fullmatch(ref.model.rsplit("/", 1)[-1]):
                found[alias] = ref
                break
    return found


def listed_models(
    chains: Iterable[Iterable[str]], models: Mapping[ModelRef, object]
) -> tuple[ModelRef, ...]:
    """
    The models a config lists, in order: the explicit ids of its chains, then ``agent.models``.
    """
    refs: list[ModelRef] = []
    for chain in chains:
        for text in chain:
            try:
                refs.append(ModelRef.parse(text))
            except ValueError:  # an alias, not an id
                continue
    return tuple(dict.fromkeys((*refs, *models)))
