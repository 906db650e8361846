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
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

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
        return UnknownModelError(
            f"{text!r} uses provider {ref.provider!r}, which is neither built in nor "
            "configured under $.providers.",
            text=text,
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
    aliases = [e.alias for e in config.agent.models.values() if e.alias]
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
