"""
``/model`` text -> :class:`~modelcfg.Selection`, as a pure function over the config.

Accepted forms:

- ``Opus`` -- an alias (case-insensitive);
- ``anthropic/claude-opus-4-5`` -- an explicit model;
- ``Opus@anthropic:work`` or ``Opus@work`` -- a model plus a profile override for
  this session only.

Model ids may contain ``@`` themselves (``x@20251001``, ``llama@q8_0``): a suffix
counts as a profile only when it names a known profile of the model's provider.
A suffix that reads as a profile but names none known (``Opus@anthropic:wrok``,
``anthropic/claude-opus-4-5@anthropic:wrok``) is an error that suggests the
closest known profile, never part of a model id; so is a suffix that leaves the
profile's name out (``anthropic/claude-opus-4-5@anthropic:``).

Provider ids are normalised as :class:`~modelcfg.ModelRef` does (``Z.ai`` and
``z-ai`` are ``zai``). Names that cannot be meant as they are written get a "did
you mean" (*models* adds the catalog's ids to the known ones):

- an explicit id one typo away from a known model of the same provider
  (``anthropic/claud-opus-4-5``), unless it reads as another version of a known
  model (``anthropic/claude-opus-4-6``: new models stay selectable);
- a bare model id (``gpt-4o``) suggests the known models with that id
  (``openai/gpt-4o``; the one suggestion when it is unique);
- an unknown provider close to a known one (``antropic/...``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Final

from modelcfg._config._providers import BUILTIN_PROVIDERS
from modelcfg._config._schema import Config
from modelcfg._core._values import ModelRef, ProfileId, Selection
from modelcfg.exceptions import UnknownModelError

__all__ = ["known_profiles", "resolve_model"]


def known_profiles(config: Config) -> frozenset[ProfileId]:
    """
    Every profile the config names: declared in ``auth.profiles`` or listed in ``auth.order``.
    """
    ordered = (p for order in config.auth.order.values() for p in order)
    return frozenset((*config.auth.profiles, *ordered))


def resolve_model(
    text: str,
    config: Config,
    *,
    profiles: Iterable[ProfileId] = (),
    models: Iterable[ModelRef] = (),
    strict: bool = False,
) -> Selection:
    """
    Resolve what a user typed after ``/model``.

    Args:
        text: ``Alias``, ``provider/model``, either followed by ``@provider:name``
            or ``@name``.
        config: The configuration that defines aliases, profiles and the allowlist.
        profiles: Profiles known besides the config's (for example those in the
            auth store).
        models: Model ids known besides the config's (for example the catalog's),
            used only to suggest close matches.
        strict: Whether a profile override pins the profile (rather than preferring it).

    Returns:
        The selection: the model and the explicit profile, if any.

    Raises:
        UnknownModelError: Nothing matches; the message suggests the closest aliases
            and model ids.
    """
    text = text.strip()
    if not text:
        raise UnknownModelError(
            "An empty model name cannot be resolved: give an alias or 'provider/model'.",
            text=text,
        )
    known = known_profiles(config) | frozenset(profiles)
    for head, tail in _at_splits(text):
        ref = _lookup(head, config)
        profile = _profile_named(tail, ref, known) if ref is not None else None
        if ref is None or profile is None:
            continue
        if profile.provider != ref.provider:
            raise UnknownModelError(
                f"Profile {profile} belongs to provider {profile.provider!r}, but {head!r} "
                f"is {ref} on {ref.provider!r}: pick a profile of {ref.provider!r}.",
                text=text,
            )
        if "/" in head:
            _check_spelling(text, ref, config, models)
        return Selection(model=_allowed(ref, config, text), profile=profile, strict=strict)
    # An alias spelled with '@' is just an alias, and a configured model id is that model.
    if text.casefold() not in config.aliases() and not _configured(text, config):
        for head, tail in _at_splits(text):
            ref = _lookup(head, config)
            if ref is not None and _names_no_profile(head, tail, ref):
                raise _empty_profile(text, tail, known)
            wanted = _profile_meant(head, tail, ref) if ref is not None else None
            if wanted is not None:
                raise _unknown_profile(wanted, text, known)
    ref = _lookup(text, config)
    if ref is None:
        raise _unknown(text, config, models)
    if "/" in text and text.casefold() not in config.aliases():
        _check_spelling(text, ref, config, models)
    return Selection(model=_allowed(ref, config, text), strict=strict)


def _at_splits(text: str) -> list[tuple[str, str]]:
    """
    Every ``(head, tail)`` split of *text* at an ``@``, leftmost first.
    """
    return [
        (text[:at], text[at + 1 :])
        for at in range(len(text))
        if text[at] == "@" and 0 < at < len(text) - 1
    ]


def _profile_named(tail: str, ref: ModelRef, known: frozenset[ProfileId]) -> ProfileId | None:
    """
    The known profile *tail* names for a model *ref*, or ``None``.

    ``provider:name`` must be known (it may belong to another provider: the caller
    says so); a bare ``name`` must be a known profile of the model's provider.
    """
    provider, sep, name = tail.partition(":")
    try:
        candidate = (
            ProfileId(provider=provider, name=name)
            if sep
            else ProfileId(provider=ref.provider, name=tail)
        )
    except ValueError:
        return None
    return candidate if candidate in known else None


def _profile_meant(head: str, tail: str, ref: ModelRef) -> ProfileId | None:
    """
    The profile *tail* was meant to name after *head* (which resolved to *ref*), or ``None``.

    Called once *tail* names no known profile. After an explicit ``provider/model``
    id, only a ``provider:name`` of the model's own provider reads as a profile
    (``x@20251001`` and ``llama@q8_0`` stay model ids). After an alias, which holds
    no ``@`` of its own, any ``provider:name`` or bare ``name`` does.
    """
    provider, sep, name = tail.partition(":")
    try:
        if sep:
            meant = ProfileId(provider=provider, name=name)
        elif "/" not in head:
            meant = ProfileId(provider=ref.provider, name=tail)
        else:
            return None
    except ValueError:
        return None
    if "/" in head and meant.provider != ref.provider:
        return None
    return meant


def _names_no_profile(head: str, tail: str, ref: ModelRef) -> bool:
    """
    Whether *tail* is ``provider:`` with the name left out, after *head* (which
    resolved to *ref*): the model's own provider after an explicit id, any provider
    after an alias.
    """
    provider, sep, name = tail.partition(":")
    if not sep or name.strip():
        return False
    provider = provider.strip().lower()
    return provider == ref.provider if "/" in head else bool(provider)


def _empty_profile(text: str, tail: str, known: frozenset[ProfileId]) -> UnknownModelError:
    provider = tail.partition(":")[0].strip().lower()
    same = sorted(str(p) for p in known if p.provider == provider)
    example = same[0] if same else f"{provider}:default"
    return UnknownModelError(
        f"{text!r} ends in '@{tail}', which names no profile: write the profile's name after "
        f"the ':' (such as {example!r}), or leave out '@{tail}'.",
        text=text,
    )


def _unknown_profile(
    profile: ProfileId, text: str, known: frozenset[ProfileId]
) -> UnknownModelError:
    same = sorted(str(p) for p in known if p.provider == profile.provider)
    suggestions = tuple(difflib.get_close_matches(str(profile), same, n=3, cutoff=0.6))
    if suggestions:
        hint = f" (did you mean {' or '.join(map(repr, suggestions))}?)"
    elif same:
        hint = f" (known profiles of {profile.provider!r}: {', '.join(same)})"
    else:
        hint = f" (no profile of {profile.provider!r} is known: log in first)"
    return UnknownModelError(
        f"{text!r} names unknown profile {str(profile)!r}{hint}.",
        text=text,
        suggestions=suggestions,
    )


def _unknown(text: str, config: Config, models: Iterable[ModelRef]) -> UnknownModelError:
    head = text.partition("@")[0]
    try:
        ref = ModelRef.parse(head)
    except ValueError:
        ref = None
    if ref is not None and config.provider(ref.provider) is None:
        providers = sorted({*BUILTIN_PROVIDERS, *config.providers})
        close = difflib.get_close_matches(ref.provider, providers, n=3, cutoff=0.75)
        suggestions = tuple(f"{provider}/{ref.model}" for provider in close)
        return UnknownModelError(
            f"{text!r} uses provider {ref.provider!r}, which is neither built in nor "
            f"configured under $.providers.{_did_you_mean(suggestions)}",
            text=text,
            suggestions=suggestions,
        )
    same_id = _same_id(head, _known_models(config, models)) if ref is None else ()
    if same_id:
        return UnknownModelError(
            f"{text!r} is not a known alias or 'provider/model' id; a model id needs its "
            f"provider.{_did_you_mean(same_id)}",
            text=text,
            suggestions=same_id,
        )
    suggestions = _suggest(head, config, models)
    hint = f" Did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else ""
    return UnknownModelError(
        f"{text!r} is not a known alias or 'provider/model' id.{hint}",
        text=text,
        suggestions=suggestions,
    )


def _configured(text: str, config: Config) -> bool:
    """
    Whether *text* is, whole, the id of a model the config lists (``agent.models``).
    """
    try:
        return ModelRef.parse(text) in config.agent.models
    except ValueError:
        return False


def _lookup(text: str, config: Config) -> ModelRef | None:
    ref = config.lookup(text)
    if ref is None:
        return None
    if "/" in text and config.provider(ref.provider) is None:
        return None
    return ref


def _allowed(ref: ModelRef, config: Config, text: str) -> ModelRef:
    allowlist = config.agent.allowlist
    if allowlist is not None and ref not in {config.lookup(t) for t in allowlist}:
        raise UnknownModelError(
            f"{ref} is not in the allowlist ($.agent.allowlist), so {text!r} cannot be selected.",
            text=text,
        )
    return ref


def _suggest(text: str, config: Config, models: Iterable[ModelRef]) -> tuple[str, ...]:
    aliases = [*config.aliases(), *(e.alias for e in config.agent.models.values() if e.alias)]
    ids = [str(r) for r in config.agent.models] + [str(r) for r in models]
    pool = {name.casefold(): name for name in (*aliases, *ids)}
    # Also match against the model part alone, so "gpt52" finds "openai/gpt-5.2".
    short = {str(r.model).casefold(): str(r) for r in (*config.agent.models, *models)}
    wanted = text.casefold()
    found = difflib.get_close_matches(wanted, list(pool), n=3, cutoff=0.6)
    found += [
        short[m]
        for m in difflib.get_close_matches(wanted, list(short), n=3, cutoff=0.6)
        if short[m].casefold() not in found
    ]
    return tuple(dict.fromkeys(pool.get(m, m) for m in found))[:3]


def _did_you_mean(suggestions: tuple[str, ...]) -> str:
    return f" Did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else ""


def _known_models(config: Config, models: Iterable[ModelRef]) -> tuple[ModelRef, ...]:
    """
    Every model the config lists (``agent.models``, the chains, the allowlist), then *models*.
    """
    chains = (config.text_chain(), config.image_chain())
    listed = [ref for chain in chains if chain is not None for ref in chain.models]
    allowed = [config.lookup(t) for t in config.agent.allowlist or ()]
    return tuple(
        dict.fromkeys(
            (*config.agent.models, *listed, *(r for r in allowed if r is not None), *models)
        )
    )


def _same_id(text: str, known: tuple[ModelRef, ...]) -> tuple[str, ...]:
    """
    The known models whose id is *text* (or ends in ``/text``, as OpenRouter's
    ``openai/gpt-4o`` does), the exact ones first.
    """
    wanted = text.strip().casefold()
    if not wanted or "/" in wanted:
        return ()
    exact = [str(r) for r in known if r.model.casefold() == wanted]
    nested = [str(r) for r in known if r.model.casefold().rsplit("/", 1)[-1] == wanted]
    return tuple(dict.fromkeys((*exact, *nested)))[:3]


_SEPARATORS: Final = re.compile(r"[\s._:/@-]+")
_NOT_LETTERS: Final = re.compile(r"[^a-z]+")
_MAX_TYPOS: Final = 2
"""How many edits (a missing, extra, wrong or swapped character) a typo may hold."""


def _check_spelling(text: str, ref: ModelRef, config: Config, models: Iterable[ModelRef]) -> None:
    """
    Refuse an explicit id that is a typo of a known model of its provider.

    Raises:
        UnknownModelError: *ref* is unknown, and a known model of its provider is at
            most :data:`_MAX_TYPOS` edits away (or the same but for case and
            separators), while none reads as another version of it.
    """
    known = _known_models(config, models)
    if ref in known:
        return
    same_provider = [r for r in known if r.provider == ref.provider]
    wanted = ref.model.casefold()
    squashed = _SEPARATORS.sub("", wanted)
    scored = [
        (0, str(r)) for r in same_provider if _SEPARATORS.sub("", r.model.casefold()) == squashed
    ]
    if not scored:
        letters = _NOT_LETTERS.sub("", wanted)
        if any(_NOT_LETTERS.sub("", r.model.casefold()) == letters for r in same_provider):
            return  # another version of a known model (claude-opus-4-6): new, and selectable
        scored = sorted(
            (distance, str(r))
            for r in same_provider
            if (distance := _edits(wanted, r.model.casefold(), _MAX_TYPOS)) <= _MAX_TYPOS
        )
    if not scored:
        return
    suggestions = tuple(name for _distance, name in scored)[:3]
    raise UnknownModelError(
        f"{text!r} names no model modelcfg knows.{_did_you_mean(suggestions)} "
        "To use a model the catalog does not list yet, add it under $.agent.models.",
        text=text,
        suggestions=suggestions,
    )


def _edits(a: str, b: str, limit: int) -> int:
    """
    The edit distance of *a* and *b* (insertions, deletions, substitutions and swaps
    of neighbours), or ``limit + 1`` once it is known to exceed *limit*.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit and min(previous) > limit:  # a swap reaches two rows back
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)
