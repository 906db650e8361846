"""
Legacy configuration -> current configuration, as pure functions.

:func:`migrate_config` turns the legacy ``agent`` keys (``model`` as a string,
``modelFallbacks``, ``imageModel`` as a string, ``imageModelFallbacks``,
``allowedModels`` and ``modelAliases``) into the current shape and reports every
change it made as a :class:`Change`. It never reads or writes files and never
mutates its input; the ``doctor`` command does the file work around it.

The rules, in short (``docs/migration.md`` has the long form):

- Keys already in the current shape win; a legacy value that differs from one is
  dropped and reported as ``kept-existing``.
- A model text without a provider gets one only from a small, documented prefix
  table (:data:`PROVIDER_PREFIXES`) or from an alias the config defines; anything
  else is kept as written and reported as ``unresolved``.
- A value of the wrong type (a number where a model id belongs, ...) has no place
  in the new shape: it is dropped and reported as ``invalid``, with the value.
- Alias clashes are reported as ``conflict`` and never settled silently.
- Running the migration on its own output changes nothing and reports nothing.
"""

from __future__ import annotations

import copy
import enum
import json
import re
from collections.abc import Iterable, Mapping
from typing import Final, Literal

import attrs

from modelcfg._config._problems import json_kind, key_path
from modelcfg._core._redact import redact
from modelcfg._core._values import ModelRef, ProfileId

__all__ = [
    "PROVIDER_PREFIXES",
    "Change",
    "ChangeAction",
    "legacy_keys",
    "migrate_config",
    "seed_auth_order",
]


class ChangeAction(enum.StrEnum):
    """
    What the migration did at one place of the configuration.

    .. versionadded:: 0.1.0
    """

    MOVED = "moved"
    """A legacy value now lives under a new key, unchanged."""
    CONVERTED = "converted"
    """A value was rewritten: a string became an object, or a model text its canonical form."""
    INFERRED = "inferred"
    """A model text without a provider got one from :data:`PROVIDER_PREFIXES`."""
    ADDED = "added"
    """A new key was created, such as an ``agent.models`` entry for a referenced model."""
    REMOVED = "removed"
    """A value was left out because it repeats another or says nothing."""
    KEPT_EXISTING = "kept-existing"
    """A current-shape value won over a legacy value that differs; the legacy value was dropped."""
    CONFLICT = "conflict"
    """Two values contradict each other; the user must choose."""
    UNRESOLVED = "unresolved"
    """A value could not be completed and was kept as written; the config needs an edit."""
    INVALID = "invalid"
    """A value of the wrong type was dropped; the message shows it."""


@attrs.frozen(kw_only=True)
class Change:
    """
    One thing the migration did, with where and why.

    ``str(change)`` is the one-line, human-readable :attr:`message`.

    Attributes:
        path: The JSON path the change is about, usually where a legacy value was
            found (``$.agent.modelFallbacks``).
        action: What was done.
        message: One line for people, naming the paths involved
            (``moved $.agent.modelFallbacks to $.agent.model.fallbacks``).
        target: Where the value went, or ``None`` when it went nowhere.

    .. versionadded:: 0.1.0
    """

    path: str
    action: ChangeAction = attrs.field(converter=ChangeAction)
    message: str
    target: str | None = None

    def __str__(self) -> str:
        return self.message


PROVIDER_PREFIXES: Final[tuple[tuple[str, str, str], ...]] = (
    ("gpt-", r"gpt-.+", "openai"),
    ("o1", r"o1(?:-.+)?", "openai"),
    ("o3", r"o3(?:-.+)?", "openai"),
    ("o4", r"o4(?:-.+)?", "openai"),
    ("claude-", r"claude-.+", "anthropic"),
    ("gemini-", r"gemini-.+", "google"),
)
"""
The only provider guesses the migration makes, as ``(prefix, full-match pattern, provider)``.

A legacy model text without ``provider/`` gets a provider only when it matches
one of these patterns exactly (lower case, as the providers spell their ids):
``gpt-4o`` becomes ``openai/gpt-4o`` and ``o3-mini`` becomes ``openai/o3-mini``,
but ``o1x``, ``GPT-4o`` or ``llama3`` stay as written and are reported.
"""

_PREFIX_PATTERNS: Final = tuple(
    (prefix, re.compile(pattern), provider) for prefix, pattern, provider in PROVIDER_PREFIXES
)

_CHAINS: Final = (("model", "modelFallbacks"), ("imageModel", "imageModelFallbacks"))
_LEGACY_ORDER: Final = (
    "model",
    "modelFallbacks",
    "imageModel",
    "imageModelFallbacks",
    "allowedModels",
    "modelAliases",
)
_MAX_SHOWN: Final = 80

AuthMode = Literal["api_key", "oauth", "token"]
_AUTH_MODES: Final = ("api_key", "oauth", "token")


# --- public functions ----------------------------------------------------------------------------


def legacy_keys(data: Mapping[str, object]) -> tuple[str, ...]:
    """
    The JSON paths of the legacy keys present in a configuration.

    ``agent.model`` and ``agent.imageModel`` count as legacy unless they are
    objects; the other four legacy keys count whatever their value.

    Args:
        data: The whole configuration object.

    Returns:
        Paths such as ``$.agent.modelFallbacks``, in a fixed order; empty when
        there is nothing to migrate.

    Raises:
        ValueError: *data* is not a JSON object.

    .. versionadded:: 0.1.0
    """
    agent = _require_object(data).get("agent")
    if not isinstance(agent, Mapping):
        return ()
    return tuple(
        f"$.agent.{key}"
        for key in _LEGACY_ORDER
        if key in agent and not (key in ("model", "imageModel") and isinstance(agent[key], Mapping))
    )


def migrate_config(data: Mapping[str, object]) -> tuple[dict[str, object], tuple[Change, ...]]:
    """
    Turn a legacy configuration into the current shape and say what changed.

    The result is a new object (the input is never mutated). Keys the migration
    does not know, inside ``agent`` and elsewhere, are copied unchanged. A
    configuration without legacy keys comes back equal, with no changes, so
    ``migrate_config(migrate_config(x)[0])`` never changes anything.

    Changes come in a fixed order: the text chain, the image chain, the
    allowlist, the aliases, and last the ``agent.models`` entries added for
    every model the configuration references.

    Args:
        data: The whole configuration object, as parsed from JSON or TOML.

    Returns:
        The migrated configuration and the changes, one per thing done.

    Raises:
        ValueError: *data* is not a JSON object. Anything inside it, however
            malformed, is reported as a :class:`Change` instead.

    .. versionadded:: 0.1.0
    """
    result = _thaw_object(_require_object(data))
    agent = result.get("agent")
    if not isinstance(agent, dict) or not legacy_keys(result):
        return result, ()
    aliases, alias_changes = _take_aliases(agent)
    table = _alias_table(agent, aliases)
    refs: dict[str, str] = {}
    changes: list[Change] = []
    for chain_key, fallbacks_key in _CHAINS:
        changes += _migrate_chain(agent, chain_key, fallbacks_key, table, refs)
    changes += _migrate_allowlist(agent, table, refs)
    for alias in aliases:
        refs.setdefault(alias.target, alias.source)
    _note_current_refs(agent, refs)
    added = _add_model_entries(agent, refs, aliases)
    changes += alias_changes
    if isinstance(agent.get("models"), dict):
        changes += _apply_aliases(agent["models"], aliases)
    changes += added
    return result, tuple(changes)


def seed_auth_order(
    data: Mapping[str, object],
    providers: Iterable[str],
    *,
    modes: Mapping[str, AuthMode] | None = None,
) -> tuple[dict[str, object], tuple[Change, ...]]:
    """
    Give every provider without an auth order the order ``["provider:default"]``.

    The ``doctor`` command calls this after importing credentials, so that each
    imported ``provider:default`` profile is used. Orders that exist always win,
    whatever they hold; running it again changes nothing.

    Args:
        data: The whole configuration object; never mutated.
        providers: The providers to seed, such as ``["anthropic", "openai"]``.
        modes: Providers to seed as well, each with the mode of its imported
            credentials: a provider that gets an order also gets
            ``auth.profiles["provider:default"]`` with this mode, unless that profile exists.

    Returns:
        The new configuration and the changes made.

    Raises:
        ValueError: *data* is not a JSON object, a provider id is malformed, or a
            mode is not ``api_key``, ``oauth`` or ``token``.

    .. versionadded:: 0.1.0
    """
    result = _thaw_object(_require_object(data))
    modes = modes or {}
    for provider, mode in modes.items():
        if mode not in _AUTH_MODES:
            raise ValueError(
                f"the auth mode {mode!r} given for provider {provider!r} is not one of "
                f"{', '.join(map(repr, _AUTH_MODES))}"
            )
    wanted = list(dict.fromkeys(ProfileId.default_for(p) for p in (*providers, *modes)))
    mode_of = {ProfileId.default_for(p).provider: mode for p, mode in modes.items()}
    auth = result.get("auth", {})
    if not isinstance(auth, dict):
        return result, (_invalid("$.auth", auth, "an object", "no auth order was seeded"),)
    order = auth.get("order", {})
    if not isinstance(order, dict):
        return result, (_invalid("$.auth.order", order, "an object", "no auth order was seeded"),)
    profiles = auth.get("profiles", {})
    if not isinstance(profiles, dict):
        return result, (
            _invalid("$.auth.profiles", profiles, "an object", "no auth order was seeded"),
        )
    changes: list[Change] = []
    for profile in wanted:
        provider, name = profile.provider, str(profile)
        if provider in order:
            continue
        order_path = key_path("$.auth.order", provider)
        order[provider] = [name]
        changes.append(
            Change(
                path=order_path,
                action=ChangeAction.ADDED,
                target=order_path,
                message=f"added {order_path} as [{name!r}], so the imported profile is used",
            )
        )
        if provider in mode_of and name not in profiles:
            profile_path = key_path("$.auth.profiles", name)
            profiles[name] = {"provider": provider, "mode": mode_of[provider]}
            changes.append(
                Change(
                    path=profile_path,
                    action=ChangeAction.ADDED,
                    target=profile_path,
                    message=f"added {profile_path} with mode {mode_of[provider]!r}",
                )
            )
    if order:
        auth.setdefault("order", order)
    if profiles:
        auth.setdefault("profiles", profiles)
    if auth:
        result.setdefault("auth", auth)
    return result, tuple(changes)


# --- resolving one model text --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Text:
    """
    One legacy model text after resolution.

    Attributes:
        source: The JSON path it was read from.
        text: What to write: the canonical ``provider/model``, or the text as
            found when it could not be resolved.
        is_ref: Whether :attr:`text` is a canonical model reference.
        note: How it was rewritten or why it could not be, with no target yet.
    """

    source: str
    text: str
    is_ref: bool
    note: Change | None = None

    def noted_at(self, target: str | None) -> list[Change]:
        """
        The note, if any, pointing at where the text was written.
        """
        return [] if self.note is None else [attrs.evolve(self.note, target=target)]


@attrs.frozen(kw_only=True)
class _Alias:
    """
    One legacy alias waiting to be put on its model's entry.

    An empty :attr:`alias` stands for an entry whose alias was unusable: only
    its model is kept.
    """

    alias: str
    target: str
    source: str


def _resolve(text: str, source: str, aliases: Mapping[str, frozenset[str]]) -> _Text:
    """
    Resolve a legacy model text: canonical form, a known alias, a prefix guess, or as-is.
    """
    shown = _show(text)
    if "/" in text:
        try:
            canonical = str(ModelRef.parse(text))
        except ValueError as exc:
            return _unresolved(text, source, f"{shown} is not a valid model reference ({exc})")
        note = None
        if canonical != text:
            note = Change(
                path=source,
                action=ChangeAction.CONVERTED,
                message=f"converted {source}: wrote {shown} as {canonical!r}",
            )
        return _Text(source=source, text=canonical, is_ref=True, note=note)
    targets = aliases.get(text.strip().casefold(), frozenset())
    if len(targets) == 1:
        (target,) = targets
        note = Change(
            path=source,
            action=ChangeAction.CONVERTED,
            message=f"converted {source}: replaced the alias {shown} by the model {target!r}",
        )
        return _Text(source=source, text=target, is_ref=True, note=note)
    if targets:
        return _unresolved(
            text, source, f"{shown} is an alias of {len(targets)} models ({_show(sorted(targets))})"
        )
    for prefix, pattern, provider in _PREFIX_PATTERNS:
        if pattern.fullmatch(text):
            try:
                canonical = str(ModelRef(provider=provider, model=text))
            except ValueError:
                break
            note = Change(
                path=source,
                action=ChangeAction.INFERRED,
                message=(
                    f"inferred {source}: {shown} names no provider; read it as {canonical!r} "
                    f"because it starts with {prefix!r}"
                ),
            )
            return _Text(source=source, text=canonical, is_ref=True, note=note)
    return _unresolved(
        text, source, f"{shown} names no provider and none can be inferred from its name"
    )


def _unresolved(text: str, source: str, why: str) -> _Text:
    note = Change(
        path=source,
        action=ChangeAction.UNRESOLVED,
        message=f"unresolved {source}: {why}; kept it as written, rewrite it as 'provider/model'",
    )
    return _Text(source=source, text=text, is_ref=False, note=note)


def _resolve_list(
    value: list[object],
    source: str,
    aliases: Mapping[str, frozenset[str]],
    primary: str | None = None,
) -> list[_Text | Change]:
    """
    Resolve a legacy list: drop non-strings, repeats (the first wins) and the primary.

    Returns:
        One entry per element, in order: the resolved text when it is kept, or
        the change that says why it was dropped.
    """
    entries: list[_Text | Change] = []
    first_seen: dict[str, str] = {}
    for index, item in enumerate(value):
        path = f"{source}[{index}]"
        if not isinstance(item, str):
            entries.append(_invalid(path, item, "a model id", "dropped it"))
            continue
        resolved = _resolve(item, path, aliases)
        if resolved.text == primary:
            message = f"removed {path}: {_show(item)} is the primary model already"
        elif resolved.text in first_seen:
            message = f"removed {path}: {_show(item)} repeats {first_seen[resolved.text]}"
        else:
            first_seen[resolved.text] = path
            entries.append(resolved)
            continue
        entries.append(Change(path=path, action=ChangeAction.REMOVED, message=message))
    return entries


def _kept(entries: list[_Text | Change]) -> list[_Text]:
    return [entry for entry in entries if isinstance(entry, _Text)]


def _placed_at(entries: list[_Text | Change], target: str) -> list[Change]:
    """
    The element changes of a list written to *target*, in the legacy list's order.
    """
    changes: list[Change] = []
    index = 0
    for entry in entries:
        if isinstance(entry, Change):
            changes.append(entry)
        else:
            changes += entry.noted_at(f"{target}[{index}]")
            index += 1
    return changes


# --- the sections --------------------------------------------------------------------------------


def _migrate_chain(
    agent: dict[str, object],
    chain_key: str,
    fallbacks_key: str,
    aliases: Mapping[str, frozenset[str]],
    refs: dict[str, str],
) -> list[Change]:
    """
    Migrate ``agent.model`` + ``agent.modelFallbacks`` (or the image pair) in place.
    """
    chain_path, legacy_path = f"$.agent.{chain_key}", f"$.agent.{fallbacks_key}"
    primary_path, fallbacks_path = f"{chain_path}.primary", f"{chain_path}.fallbacks"
    changes: list[Change] = []
    chain: dict[str, object] | None = None
    converted = False
    if chain_key in agent:
        current = agent[chain_key]
        if isinstance(current, dict):
            chain = current
        elif isinstance(current, str):
            primary = _resolve(current, chain_path, aliases)
            chain = {"primary": primary.text}
            converted = True
            if primary.is_ref:
                refs.setdefault(primary.text, chain_path)
            changes.append(
                Change(
                    path=chain_path,
                    action=ChangeAction.CONVERTED,
                    target=primary_path,
                    message=f"converted {chain_path} from a string to {primary_path}",
                )
            )
            changes += primary.noted_at(primary_path)
        else:
            del agent[chain_key]
            changes.append(_invalid(chain_path, current, "a model id or an object", "dropped it"))
    primary_text = _primary_text(chain, primary_path, aliases)
    if fallbacks_key in agent:
        legacy = agent.pop(fallbacks_key)
        if not isinstance(legacy, list):
            changes.append(_invalid(legacy_path, legacy, "a list of model ids", "dropped it"))
        else:
            entries = _resolve_list(legacy, legacy_path, aliases, primary_text)
            kept = _kept(entries)
            for item in kept:
                if item.is_ref:
                    refs.setdefault(item.text, item.source)
            texts: list[object] = [item.text for item in kept]
            if chain is not None and "fallbacks" in chain:
                changes.append(
                    _existing_wins(legacy_path, fallbacks_path, legacy, chain["fallbacks"], aliases)
                )
            elif chain is None and not kept:
                changes.append(
                    Change(
                        path=legacy_path,
                        action=ChangeAction.REMOVED,
                        message=(
                            f"removed {legacy_path}: it names no usable model and there is no "
                            f"{chain_path} to attach it to"
                        ),
                    )
                )
                changes += _placed_at(entries, fallbacks_path)
            else:
                chain = {} if chain is None else chain
                chain["fallbacks"] = texts
                changes.append(
                    Change(
                        path=legacy_path,
                        action=ChangeAction.MOVED,
                        target=fallbacks_path,
                        message=f"moved {legacy_path} to {fallbacks_path}",
                    )
                )
                changes += _placed_at(entries, fallbacks_path)
                if "primary" not in chain:
                    changes.append(
                        Change(
                            path=chain_path,
                            action=ChangeAction.UNRESOLVED,
                            target=primary_path,
                            message=(
                                f"unresolved {chain_path}: the fallbacks from {legacy_path} "
                                f"have no primary model; set {primary_path}"
                            ),
                        )
                    )
    if converted and chain is not None:
        chain.setdefault("fallbacks", [])
    if chain is not None:
        agent[chain_key] = chain
    return changes


def _primary_text(
    chain: Mapping[str, object] | None, path: str, aliases: Mapping[str, frozenset[str]]
) -> str | None:
    """
    The chain's primary as the resolver would write it, to drop it from the fallbacks.
    """
    primary = None if chain is None else chain.get("primary")
    return _resolve(primary, path, aliases).text if isinstance(primary, str) else None


def _existing_wins(
    legacy_path: str,
    path: str,
    legacy: list[object],
    existing: object,
    aliases: Mapping[str, frozenset[str]],
) -> Change:
    """
    The change for a legacy list that meets the current-shape value *existing* at *path*.
    """
    if _same_models(legacy, existing, path, aliases):
        return Change(
            path=legacy_path,
            action=ChangeAction.REMOVED,
            target=path,
            message=f"removed {legacy_path}: {path} already says the same",
        )
    return Change(
        path=legacy_path,
        action=ChangeAction.KEPT_EXISTING,
        target=path,
        message=(
            f"kept existing {path} {_show(existing)}; dropped {legacy_path} {_show(legacy)}, "
            "which differs from it"
        ),
    )


def _same_models(
    legacy: list[object], existing: object, path: str, aliases: Mapping[str, frozenset[str]]
) -> bool:
    if not isinstance(existing, list):
        return False

    def texts(values: list[object]) -> list[object]:
        out = [_resolve(v, path, aliases).text if isinstance(v, str) else v for v in values]
        return list(dict.fromkeys(t for t in out if isinstance(t, str)))

    return texts(legacy) == texts(existing)


def _migrate_allowlist(
    agent: dict[str, object], aliases: Mapping[str, frozenset[str]], refs: dict[str, str]
) -> list[Change]:
    """
    Move ``agent.allowedModels`` to ``agent.allowlist`` in place.
    """
    legacy_path, path = "$.agent.allowedModels", "$.agent.allowlist"
    if "allowedModels" not in agent:
        return []
    legacy = agent.pop("allowedModels")
    if not isinstance(legacy, list):
        return [_invalid(legacy_path, legacy, "a list of model ids", "dropped it")]
    entries = _resolve_list(legacy, legacy_path, aliases)
    kept = _kept(entries)
    for item in kept:
        if item.is_ref:
            refs.setdefault(item.text, item.source)
    if "allowlist" in agent:
        return [_existing_wins(legacy_path, path, legacy, agent["allowlist"], aliases)]
    if not legacy:
        return [
            Change(
                path=legacy_path,
                action=ChangeAction.REMOVED,
                message=(
                    f"removed {legacy_path}: it was empty, which restricted nothing, so no "
                    f"{path} is set"
                ),
            )
        ]
    agent["allowlist"] = [item.text for item in kept]
    changes = [
        Change(
            path=legacy_path,
            action=ChangeAction.MOVED,
            target=path,
            message=f"moved {legacy_path} to {path}",
        )
    ]
    return changes + _placed_at(entries, path)


def _take_aliases(agent: dict[str, object]) -> tuple[list[_Alias], list[Change]]:
    """
    Remove ``agent.modelAliases`` and read its entries; nothing is applied yet.

    An entry whose alias is blank still yields its model (with an empty alias
    text), so that the model keeps its ``agent.models`` entry.
    """
    legacy_path = "$.agent.modelAliases"
    if "modelAliases" not in agent:
        return [], []
    legacy = agent.pop("modelAliases")
    if not isinstance(legacy, dict):
        return [], [_invalid(legacy_path, legacy, "an object of alias -> model id", "dropped it")]
    if not legacy:
        return [], [
            Change(
                path=legacy_path,
                action=ChangeAction.REMOVED,
                message=f"removed {legacy_path}: it was empty",
            )
        ]
    changes = [
        Change(
            path=legacy_path,
            action=ChangeAction.MOVED,
            target="$.agent.models",
            message=f"moved {legacy_path} to the alias of each model under $.agent.models",
        )
    ]
    aliases: list[_Alias] = []
    for alias, target in legacy.items():
        path = key_path(legacy_path, alias)
        if not isinstance(target, str):
            changes.append(_invalid(path, target, "a model id", "dropped the alias"))
        else:
            usable = isinstance(alias, str) and bool(alias.strip())
            if not usable:
                changes.append(
                    _invalid(path, alias, "a non-empty alias", "kept the model without it")
                )
            resolved = _resolve(target, path, {})
            changes += resolved.noted_at(key_path("$.agent.models", resolved.text))
            aliases.append(_Alias(alias=alias if usable else "", target=resolved.text, source=path))
    return aliases, changes


def _alias_table(agent: Mapping[str, object], aliases: list[_Alias]) -> dict[str, frozenset[str]]:
    """
    Every alias (case-folded) the config defines, old and new, to the models it names.
    """
    table: dict[str, set[str]] = {}
    models = agent.get("models")
    if isinstance(models, Mapping):
        for key, entry in models.items():
            ref = _canonical(key)
            alias = entry.get("alias") if isinstance(entry, Mapping) else None
            if ref is not None and isinstance(alias, str):
                table.setdefault(alias.strip().casefold(), set()).add(ref)
    for item in aliases:
        if item.alias and _canonical(item.target) == item.target:
            table.setdefault(item.alias.strip().casefold(), set()).add(item.target)
    return {alias: frozenset(targets) for alias, targets in table.items()}


def _note_current_refs(agent: Mapping[str, object], refs: dict[str, str]) -> None:
    """
    Record the model references already written in the current shape.
    """
    for chain_key, _ in _CHAINS:
        chain = agent.get(chain_key)
        if not isinstance(chain, Mapping):
            continue
        path = f"$.agent.{chain_key}"
        _note_texts([chain.get("primary")], f"{path}.primary", refs, indexed=False)
        fallbacks = chain.get("fallbacks")
        if isinstance(fallbacks, list):
            _note_texts(fallbacks, f"{path}.fallbacks", refs)
    allowlist = agent.get("allowlist")
    if isinstance(allowlist, list):
        _note_texts(allowlist, "$.agent.allowlist", refs)


def _note_texts(
    values: list[object], path: str, refs: dict[str, str], indexed: bool = True
) -> None:
    for index, value in enumerate(values):
        ref = _canonical(value)
        if ref is not None:
            refs.setdefault(ref, key_path(path, index) if indexed else path)


def _add_model_entries(
    agent: dict[str, object], refs: Mapping[str, str], aliases: list[_Alias]
) -> list[Change]:
    """
    Give every referenced model an ``agent.models`` entry; existing entries are kept.
    """
    created = "models" not in agent
    models = agent.setdefault("models", {})
    if not isinstance(models, dict):
        lost = [*refs, *(f"alias {a.alias!r}" for a in aliases if a.alias)]
        return [
            _invalid(
                "$.agent.models",
                models,
                "an object",
                f"could not add entries or aliases for {_show(lost)}; add them by hand",
            )
        ]
    present = {_canonical(key) or key for key in models}
    changes: list[Change] = []
    for ref, source in refs.items():
        if ref in present:
            continue
        present.add(ref)
        path = key_path("$.agent.models", ref)
        models[ref] = {}
        changes.append(
            Change(
                path=source,
                action=ChangeAction.ADDED,
                target=path,
                message=f"added {path} for the model referenced at {source}",
            )
        )
    if created and not models:
        del agent["models"]
    return changes


def _apply_aliases(models: dict[object, object], aliases: list[_Alias]) -> list[Change]:
    """
    Put each legacy alias on its model's entry, reporting every clash.
    """
    key_of = {(_canonical(key) or key): key for key in models}
    set_now: dict[object, str] = {}
    changes: list[Change] = []
    for item in aliases:
        if not item.alias:
            continue
        key = key_of.get(item.target, item.target)
        entry = models.get(key)
        path = key_path(key_path("$.agent.models", key), "alias")
        if not isinstance(entry, dict):
            changes.append(
                _invalid(
                    key_path("$.agent.models", key),
                    entry,
                    "an object",
                    f"could not add the alias {item.alias!r} from {item.source}",
                )
            )
            continue
        if "alias" in entry:
            current = entry["alias"]
            if isinstance(current, str) and current.casefold() == item.alias.casefold():
                changes.append(
                    Change(
                        path=item.source,
                        action=ChangeAction.REMOVED,
                        target=path,
                        message=f"removed {item.source}: {path} is {current!r} already",
                    )
                )
            elif key in set_now:
                changes.append(
                    Change(
                        path=item.source,
                        action=ChangeAction.CONFLICT,
                        target=path,
                        message=(
                            f"conflict at {item.source}: {item.target!r} already has the alias "
                            f"{current!r} from {set_now[key]}, and a model has one alias only; "
                            f"kept {current!r} and dropped {item.alias!r}: keep the one you want"
                        ),
                    )
                )
            else:
                changes.append(
                    Change(
                        path=item.source,
                        action=ChangeAction.KEPT_EXISTING,
                        target=path,
                        message=(
                            f"kept existing {path} {_show(current)}; dropped the alias "
                            f"{item.alias!r} from {item.source}"
                        ),
                    )
                )
            continue
        folded = item.alias.casefold()
        others = [
            str(other)
            for other, other_entry in models.items()
            if other != key
            and isinstance(other_entry, Mapping)
            and isinstance(other_entry.get("alias"), str)
            and str(other_entry["alias"]).casefold() == folded
        ]
        entry["alias"] = item.alias
        set_now[key] = item.source
        if others:
            changes.append(
                Change(
                    path=item.source,
                    action=ChangeAction.CONFLICT,
                    target=path,
                    message=(
                        f"conflict at {item.source}: the alias {item.alias!r} now names both "
                        f"{item.target!r} and {others[0]!r} (aliases ignore case); both were "
                        "kept and the configuration will not load until one is renamed"
                    ),
                )
            )
    return changes


# --- small helpers -------------------------------------------------------------------------------


def _require_object(data: object) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise ValueError(
            f"$: the configuration must be a JSON object, not {json_kind(data)}; "
            "there is nothing to migrate"
        )
    return data


def _thaw_object(data: Mapping[str, object]) -> dict[str, object]:
    return {key: _thaw(value) for key, value in data.items()}


_Container = Mapping[object, object] | list[object] | tuple[object, ...]


def _thaw(value: object) -> object:
    """
    A deep copy in which every mapping is a plain ``dict``, so the result can be edited.

    It walks without recursion, so that no nesting depth exhausts the stack.

    Raises:
        ValueError: *value* contains itself.
    """
    if not isinstance(value, Mapping | list | tuple):
        return copy.deepcopy(value)
    built: dict[int, object] = {}
    on_path: set[int] = set()  # the containers being copied: the current one's ancestors
    stack: list[tuple[_Container, bool]] = [(value, False)]
    while stack:
        node, children_done = stack.pop()
        children = list(node.values() if isinstance(node, Mapping) else node)
        if not children_done:
            if id(node) in built:  # met twice: copied once
                continue
            if id(node) in on_path:
                raise ValueError(
                    "$: the configuration contains itself; there is nothing to migrate"
                )
            on_path.add(id(node))
            stack.append((node, True))
            stack.extend(
                (child, False) for child in children if isinstance(child, Mapping | list | tuple)
            )
            continue
        on_path.discard(id(node))
        copies = [
            built[id(child)] if isinstance(child, Mapping | list | tuple) else copy.deepcopy(child)
            for child in children
        ]
        if isinstance(node, Mapping):
            built[id(node)] = dict(zip(node.keys(), copies, strict=True))
        else:
            built[id(node)] = copies if isinstance(node, list) else tuple(copies)
    return built[id(value)]


def _canonical(value: object) -> str | None:
    """
    The canonical ``provider/model`` text of *value*, or ``None`` if it is not one.
    """
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return str(ModelRef.parse(value))
    except ValueError:
        return None


def _repr(value: object) -> str:
    """
    ``repr(value)``, or what it is when it has none to give (a number with more digits
    than Python prints, a nesting deeper than ``repr`` goes).
    """
    try:
        return repr(value)
    except (ValueError, RecursionError):
        return f"<{json_kind(value)}>"


def _show(value: object) -> str:
    """
    *value* for a one-line message: its repr, redacted and shortened.
    """
    text = redact(_repr(value))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _invalid(path: str, value: object, expected: str, outcome: str) -> Change:
    found = json_kind(value)
    if value is not None:
        try:
            shown = redact(json.dumps(value, ensure_ascii=False, default=repr))
        except (TypeError, ValueError, RecursionError):  # not JSON after all (tuple keys, ...)
            shown = redact(_repr(value))
        found += f" ({shown})" if len(shown) <= _MAX_SHOWN else f" ({shown[: _MAX_SHOWN - 1]}…)"
    return Change(
        path=path,
        action=ChangeAction.INVALID,
        message=f"invalid {path}: expected {expected}, found {found}; {outcome}",
    )
