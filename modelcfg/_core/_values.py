"""
Identifiers and small values every other part of modelcfg speaks in.

Every class here is frozen, validated on construction, and pairs a ``parse()``
class method with ``str()`` so that ``X.parse(str(x)) == x`` (for
:class:`Selection`, within the limits its docstring states).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

__all__ = ["FallbackChain", "ModelRef", "ProfileId", "Selection", "Target"]

_PROVIDER_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")

PROVIDER_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # The spellings OpenClaw normalises (its provider-id table), so ids written for
        # it mean the same provider here.
        "z.ai": "zai",
        "z-ai": "zai",
        "modelstudio": "qwen",
        "qwencloud": "qwen",
        "opencode-zen": "opencode",
        "opencode-go-auth": "opencode-go",
        "kimi-code": "kimi",
        "kimi-coding": "kimi",
        "moonshotai": "moonshot",
        "moonshot-ai": "moonshot",
        "bedrock": "amazon-bedrock",
        "aws-bedrock": "amazon-bedrock",
        "bytedance": "volcengine",
        "doubao": "volcengine",
        # OpenRouter's vendor slugs and other spellings of built-in providers, so a
        # model id copied without the "openrouter/" prefix reaches the direct provider.
        "x-ai": "xai",
        "x.ai": "xai",
        "mistralai": "mistral",
        "lm-studio": "lmstudio",
        "together-ai": "together",
        "togetherai": "together",
    }
)
"""Provider ids that name another provider: alias (lower case) -> canonical id."""


def _normalise_provider(value: str) -> str:
    # Anything but a string passes through for the validator to refuse with its type.
    lowered = value.strip().lower() if isinstance(value, str) else value
    return PROVIDER_ALIASES.get(lowered, lowered) if isinstance(lowered, str) else lowered


def _check_provider(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a string, not {value!r}")
    if not _PROVIDER_RE.match(value):
        raise ValueError(
            f"{attribute.name} {value!r} is not a provider id: use lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )


# White space, C0/C1 control characters, and the invisible format characters
# (zero-width spaces and joiners, direction marks and overrides, the byte-order
# mark) that make two different ids print the same.
_BAD_CHARACTER: Final = re.compile(
    r"[\s\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    r"\u2066-\u206f\ufeff]"
)


def _bad_character(what: str, value: str, found: re.Match[str]) -> ValueError:
    if found.group().isspace():
        return ValueError(f"{what} {value!r} contains white space")
    return ValueError(
        f"{what} {value!r} contains the control or invisible character U+{ord(found.group()):04X}"
    )


def _check_model_id(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"model must be a string, not {value!r}")
    if not value or value != value.strip():
        raise ValueError(f"model id {value!r} is empty or has surrounding white space")
    found = _BAD_CHARACTER.search(value)
    if found:
        raise _bad_character("model id", value, found)


def _check_profile_name(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"name must be a string, not {value!r}")
    if not value:
        raise ValueError(f"profile name {value!r} is empty or contains white space")
    found = _BAD_CHARACTER.search(value)
    if found:
        if found.group().isspace():
            raise ValueError(f"profile name {value!r} is empty or contains white space")
        raise _bad_character("profile name", value, found)


@attrs.frozen(kw_only=True, order=True, cache_hash=True)
class ModelRef:
    """
    A model on a provider, written ``provider/model``.

    The text splits on the first ``/``, so ``openrouter/anthropic/claude-sonnet-4``
    is the model ``anthropic/claude-sonnet-4`` on the provider ``openrouter``.
    Provider ids are lower-cased and aliases become the canonical id
    (``Z.ai`` and ``z-ai`` are ``zai``; see :data:`PROVIDER_ALIASES`); model ids
    keep their case.

    Attributes:
        provider: The provider id, lower case and canonical.
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
        provider: The provider id, lower case and canonical (as for :class:`ModelRef`).
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


def _check_primary(_instance: object, _attribute: attrs.Attribute[ModelRef], value: object) -> None:
    if not isinstance(value, ModelRef):
        raise TypeError(
            f"primary must be a ModelRef, not {value!r} "
            "(FallbackChain.of() and FallbackChain.parse() take text)"
        )


def _to_tuple(value: tuple[ModelRef, ...] | list[ModelRef]) -> tuple[ModelRef, ...]:
    # Only normalises: a list becomes a tuple; anything else is left to the validator.
    return tuple(value) if isinstance(value, list) else value


def _check_fallbacks(
    instance: FallbackChain,
    _attribute: attrs.Attribute[tuple[ModelRef, ...]],
    value: object,
) -> None:
    if not isinstance(value, tuple):
        raise TypeError(f"fallbacks must be a tuple of ModelRef, not {value!r}")
    seen = {instance.primary}
    for index, ref in enumerate(value):
        if not isinstance(ref, ModelRef):
            raise TypeError(f"fallbacks[{index}] must be a ModelRef, not {ref!r}")
        if ref in seen:
            raise ValueError(f"{ref} appears twice in the fallback chain")
        seen.add(ref)


_ARROW: Final = re.compile(r"\s+->\s+")


@attrs.frozen(kw_only=True)
class FallbackChain:
    """
    A primary model and the models to try, in order, when it fails.

    The text form is ``provider/model -> provider/model -> ...``, primary first:
    ``str()`` writes it and :meth:`parse` reads it. Model ids hold no white
    space, so an arrow with white space around it always separates two models
    (``a/x->y`` is the single model ``x->y``).

    Attributes:
        primary: The model every request starts with.
        fallbacks: The models tried after it, in order, none repeated. A list is
            stored as a tuple.
    """

    primary: ModelRef = attrs.field(validator=_check_primary)
    fallbacks: tuple[ModelRef, ...] = attrs.field(
        default=(), converter=_to_tuple, validator=_check_fallbacks
    )

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

    @classmethod
    def parse(cls, text: str) -> FallbackChain:
        """
        Parse ``provider/model -> provider/model -> ...``, the form ``str()`` writes.

        Raises:
            ValueError: A part is not ``provider/model``, or a model appears twice.

        .. versionadded:: 0.1.0
        """
        try:
            refs = [ModelRef.parse(part) for part in _ARROW.split(text.strip())]
        except ValueError as exc:
            raise ValueError(
                f"{text!r} is not a fallback chain ({exc}): write it as "
                "'provider/model -> provider/model'"
            ) from None
        return cls(primary=refs[0], fallbacks=tuple(refs[1:]))

    @property
    def models(self) -> tuple[ModelRef, ...]:
        """
        Every model of the chain, primary first.
        """
        return (self.primary, *self.fallbacks)

    def __str__(self) -> str:
        return " -> ".join(str(m) for m in self.models)


def _check_model(_instance: object, attribute: attrs.Attribute[ModelRef], value: object) -> None:
    if not isinstance(value, ModelRef):
        raise TypeError(f"{attribute.name} must be a ModelRef, not {value!r}")


def _check_profile(_instance: object, attribute: attrs.Attribute[ProfileId], value: object) -> None:
    if not isinstance(value, ProfileId):
        raise TypeError(f"{attribute.name} must be a ProfileId, not {value!r}")


def _check_optional_profile(
    _instance: object, attribute: attrs.Attribute[ProfileId | None], value: object
) -> None:
    if value is not None and not isinstance(value, ProfileId):
        raise TypeError(f"{attribute.name} must be a ProfileId or None, not {value!r}")


def _check_flag(_instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be True or False, not {value!r}")


@attrs.frozen(kw_only=True)
class Selection:
    """
    What a session asked for: a model and, optionally, the profile to use.

    ``str()`` writes ``provider/model`` or ``provider/model@provider:name``, and
    :meth:`parse` reads it back, with one limit: :meth:`parse` takes the leftmost
    ``@`` after the first character of the model id that is followed by the
    model's provider (in any case), ``:`` and at least one more character as the
    start of the profile. So ``Selection.parse(str(s), strict=s.strict) == s``
    for every selection except those whose model id itself holds such an ``@``
    (``openai/x@openai:y``, or ``openai/x@openai:`` when a profile follows): their
    text reads back as another selection, so they can be built as values but
    never selected by text.

    Attributes:
        model: The model the user chose (``/model``).
        profile: A profile named explicitly with ``@provider:name``, or ``None``.
        strict: With a profile, whether it is a pin (only that profile is used for
            the model) rather than a preference (tried first, others follow).
    """

    model: ModelRef = attrs.field(validator=_check_model)
    profile: ProfileId | None = attrs.field(default=None, validator=_check_optional_profile)
    strict: bool = attrs.field(default=False, validator=_check_flag)

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


_WITH: Final = re.compile(r"\s+with\s+")


@attrs.frozen(kw_only=True, order=True, cache_hash=True)
class Target:
    """
    Where one attempt goes: a model and the profile whose credentials it uses.

    The text form is ``provider/model with provider:name``: ``str()`` writes it and
    :meth:`parse` reads it. Neither ids nor profile names hold white space, so the
    first `` with `` always separates the two.

    Attributes:
        model: The model called.
        profile: The profile whose credentials the call uses.
    """

    model: ModelRef = attrs.field(validator=_check_model)
    profile: ProfileId = attrs.field(validator=_check_profile)

    @classmethod
    def parse(cls, text: str) -> Target:
        """
        Parse ``provider/model with provider:name``, the form ``str()`` writes.

        Raises:
            ValueError: The text has no `` with ``, or a part is malformed.

        .. versionadded:: 0.1.0
        """
        parts = _WITH.split(text.strip(), maxsplit=1)
        if len(parts) != 2:
            raise ValueError(
                f"{text!r} is not a target: write it as 'provider/model with provider:name'"
            )
        return cls(model=ModelRef.parse(parts[0]), profile=ProfileId.parse(parts[1]))

    def __str__(self) -> str:
        return f"{self.model} with {self.profile}"
