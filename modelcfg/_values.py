"""
Identifiers and small values every other part of modelcfg speaks in.

Every class here is frozen, validated on construction, and pairs a ``parse()``
class method with ``str()`` so that ``X.parse(str(x)) == x``.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

__all__ = ["FallbackChain", "ModelRef", "ProfileId", "Selection", "Target"]

_PROVIDER_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")


def _normalise_provider(value: str) -> str:
    return value.strip().lower()


def _check_provider(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not _PROVIDER_RE.match(value):
        raise ValueError(
            f"{attribute.name} {value!r} is not a provider id: use lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )


_WHITE_SPACE: Final = re.compile(r"\s")


def _check_model_id(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not value or value != value.strip():
        raise ValueError(f"model id {value!r} is empty or has surrounding white space")
    if _WHITE_SPACE.search(value):
        raise ValueError(f"model id {value!r} contains white space")


def _check_profile_name(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not value or _WHITE_SPACE.search(value):
        raise ValueError(f"profile name {value!r} is empty or contains white space")


@attrs.frozen(kw_only=True, order=True, cache_hash=True)
class ModelRef:
    """
    A model on a provider, written ``provider/model``.

    The text splits on the first ``/``, so ``openrouter/anthropic/claude-sonnet-4``
    is the model ``anthropic/claude-sonnet-4`` on the provider ``openrouter``.
    Provider ids are lower-cased; model ids keep their case.

    Attributes:
        provider: The provider id, lower case.
        model: The provider's model id, exactly as the provider spells it.
    """

    provider: str = attrs.field(converter=_normalise_provider, validator=_check_provider)
    model: str = attrs.field(validator=_check_model_id)

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """
        Parse ``provider/model``.

        Raises:
            ValueError: The text has no ``/`` or an empty part.
        """
        provider, sep, model = text.strip().partition("/")
        if not sep or not provider.strip() or not model:
            raise ValueError(f"{text!r} is not a model reference: write it as 'provider/model'")
        return cls(provider=provider, model=model)

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


@attrs.frozen(kw_only=True, order=True, cache_hash=True)
class ProfileId:
    """
    One set of credentials for a provider, written ``provider:name``.

    The text splits on the first ``:``, so ``google:me@example.com`` is the
    profile ``me@example.com`` of ``google``. A plain ``login`` creates
    ``provider:default``.

    Attributes:
        provider: The provider id, lower case.
        name: The profile's name within the provider.
    """

    provider: str = attrs.field(converter=_normalise_provider, validator=_check_provider)
    name: str = attrs.field(validator=_check_profile_name)

    @classmethod
    def parse(cls, text: str) -> ProfileId:
        """
        Parse ``provider:name``.

        Raises:
            ValueError: The text has no ``:`` or an empty part.
        """
        provider, sep, name = text.strip().partition(":")
        if not sep or not provider.strip() or not name:
            raise ValueError(f"{text!r} is not a profile id: write it as 'provider:name'")
        return cls(provider=provider, name=name)

    @classmethod
    def default_for(cls, provider: str) -> ProfileId:
        """
        Return ``provider:default``, the profile a plain login creates.
        """
        return cls(provider=provider, name="default")

    def __str__(self) -> str:
        return f"{self.provider}:{self.name}"


def _dedupe_fallbacks(
    instance: FallbackChain,
    _attribute: attrs.Attribute[tuple[ModelRef, ...]],
    value: tuple[ModelRef, ...],
) -> None:
    seen = {instance.primary}
    for ref in value:
        if ref in seen:
            raise ValueError(f"{ref} appears twice in the fallback chain")
        seen.add(ref)


@attrs.frozen(kw_only=True)
class FallbackChain:
    """
    A primary model and the models to try, in order, when it fails.

    Attributes:
        primary: The model every request starts with.
        fallbacks: The models tried after it, in order, none repeated.
    """

    primary: ModelRef
    fallbacks: tuple[ModelRef, ...] = attrs.field(default=(), validator=_dedupe_fallbacks)

    @classmethod
    def of(cls, *models: ModelRef | str) -> FallbackChain:
        """
        Build a chain from models in order, dropping repeats (the first one wins).

        Raises:
            ValueError: No model was given, or a text is not ``provider/model``.
        """
        refs = [m if isinstance(m, ModelRef) else ModelRef.parse(m) for m in models]
        if not refs:
            raise ValueError("a fallback chain needs at least a primary model")
        unique = tuple(dict.fromkeys(refs))
        return cls(primary=unique[0], fallbacks=unique[1:])

    @property
    def models(self) -> tuple[ModelRef, ...]:
        """
        Every model of the chain, primary first.
        """
        return (self.primary, *self.fallbacks)

    def __str__(self) -> str:
        return " -> ".join(str(m) for m in self.models)


@attrs.frozen(kw_only=True)
class Selection:
    """
    What a session asked for: a model and, optionally, the profile to use.

    Attributes:
        model: The model the user chose (``/model``).
        profile: A profile named explicitly with ``@provider:name``, or ``None``.
        strict: With a profile, whether it is a pin (only that profile is used for
            the model) rather than a preference (tried first, others follow).
    """

    model: ModelRef
    profile: ProfileId | None = None
    strict: bool = False

    def __attrs_post_init__(self) -> None:
        if self.profile is not None and self.profile.provider != self.model.provider:
            raise ValueError(
                f"profile {self.profile} belongs to provider {self.profile.provider!r}, "
                f"not to {self.model.provider!r} of model {self.model}"
            )

    @classmethod
    def parse(cls, text: str, *, strict: bool = False) -> Selection:
        """
        Parse ``provider/model`` or ``provider/model@provider:name`` without a config.

        The ``@`` suffix counts as a profile only when it parses as one and its
        provider is the model's; otherwise it stays part of the model id, so
        ``ollama/llama@q8_0`` is a model. Use :func:`modelcfg.resolve_model` to
        resolve aliases and check profiles against a config.
        """
        text = text.strip()
        ref = ModelRef.parse(text)
        for head, tail in _profile_splits(text, ref.provider):
            return cls(model=ModelRef.parse(head), profile=ProfileId.parse(tail), strict=strict)
        return cls(model=ref, strict=strict)

    def __str__(self) -> str:
        return f"{self.model}@{self.profile}" if self.profile else str(self.model)


def _profile_splits(text: str, provider: str) -> list[tuple[str, str]]:
    """
    Every way to read *text* as ``model@provider:name``, leftmost ``@`` first.

    Only a suffix that starts with the model's own provider and a ``:`` can be a
    profile; the model part must keep a non-empty id.
    """
    splits = []
    prefix = f"{provider}:"
    start = text.find("/") + 1
    at = text.find("@", start)
    while at != -1:
        head, tail = text[:at], text[at + 1 :]
        if tail.lower().startswith(prefix) and len(tail) > len(prefix) and head[start:]:
            splits.append((head, tail))
        at = text.find("@", at + 1)
    return splits


@attrs.frozen(kw_only=True, order=True, cache_hash=True)
class Target:
    """
    Where one attempt goes: a model and the profile whose credentials it uses.
    """

    model: ModelRef
    profile: ProfileId

    def __str__(self) -> str:
        return f"{self.model} with {self.profile}"
