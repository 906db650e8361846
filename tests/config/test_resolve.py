"""
Tests for ``/model`` text resolution.
"""

from __future__ import annotations

from typing import Any

import pytest

from modelcfg import ModelRef, ProfileId, Selection, UnknownModelError
from modelcfg._config._load import load_config
from modelcfg._config._resolve import known_profiles, resolve_model

CONFIG = load_config(
    {
        "auth": {
            "profiles": {
                "anthropic:default": {"provider": "anthropic", "mode": "oauth"},
                "anthropic:work": {"provider": "anthropic"},
                "openai:work": {"provider": "openai"},
                "google:me@example.com": {"provider": "google", "mode": "oauth"},
                "ollama:q8_1": {"provider": "ollama"},
            },
            "order": {"openai": ["openai:default", "openai:work"]},
        },
        "agent": {
            "models": {
                "anthropic/claude-opus-4-5": {"alias": "Opus"},
                "anthropic/claude-haiku-4-5@20251001": {"alias": "haiku"},
                "openai/gpt-5.2": {"alias": "gpt52"},
                "ollama/llama@q8_0": {"alias": "local"},
                "google/gemini-2.5-pro": {"alias": "Gemini"},
                "openrouter/anthropic/claude-sonnet-4.5": {"alias": "or-sonnet"},
                "ollama/llama@ollama:v2": {},
            },
        },
    }
)
ALLOW = load_config(
    {
        "agent": {
            "models": {"anthropic/claude-opus-4-5": {"alias": "Opus"}, "openai/gpt-5.2": {}},
            "allowlist": ["Opus"],
        }
    }
)


def sel(model: str, profile: str | None = None, *, strict: bool = False) -> Selection:
    return Selection(
        model=ModelRef.parse(model),
        profile=ProfileId.parse(profile) if profile else None,
        strict=strict,
    )


RESOLVED: list[tuple[str, str, Selection, dict[str, Any]]] = [
    ("alias", "Opus", sel("anthropic/claude-opus-4-5"), {}),
    ("alias lower case", "opus", sel("anthropic/claude-opus-4-5"), {}),
    ("alias upper case", "GPT52", sel("openai/gpt-5.2"), {}),
    ("alias with spaces around", "  Opus ", sel("anthropic/claude-opus-4-5"), {}),
    ("explicit id", "anthropic/claude-opus-4-5", sel("anthropic/claude-opus-4-5"), {}),
    ("explicit id not in models", "openai/gpt-4.1", sel("openai/gpt-4.1"), {}),
    ("provider case folded", "OpenAI/GPT-4.1", sel("openai/GPT-4.1"), {}),
    (
        "openrouter id keeps its slash",
        "openrouter/anthropic/claude-sonnet-4.5",
        sel("openrouter/anthropic/claude-sonnet-4.5"),
        {},
    ),
    (
        "alias at full profile",
        "Opus@anthropic:work",
        sel("anthropic/claude-opus-4-5", "anthropic:work"),
        {},
    ),
    (
        "alias at bare profile name",
        "Opus@work",
        sel("anthropic/claude-opus-4-5", "anthropic:work"),
        {},
    ),
    (
        "id at profile",
        "anthropic/claude-opus-4-5@anthropic:default",
        sel("anthropic/claude-opus-4-5", "anthropic:default"),
        {},
    ),
    (
        "profile from the auth order only",
        "gpt52@openai:default",
        sel("openai/gpt-5.2", "openai:default"),
        {},
    ),
    (
        "bare name picks the model's provider",
        "gpt52@work",
        sel("openai/gpt-5.2", "openai:work"),
        {},
    ),
    (
        "strict pin",
        "Opus@anthropic:work",
        sel("anthropic/claude-opus-4-5", "anthropic:work", strict=True),
        {"strict": True},
    ),
    (
        "model id with a date suffix",
        "anthropic/claude-haiku-4-5@20251001",
        sel("anthropic/claude-haiku-4-5@20251001"),
        {},
    ),
    ("alias of an id with @", "haiku", sel("anthropic/claude-haiku-4-5@20251001"), {}),
    (
        "id with @ then a profile",
        "anthropic/claude-haiku-4-5@20251001@work",
        sel("anthropic/claude-haiku-4-5@20251001", "anthropic:work"),
        {},
    ),
    ("quantisation suffix survives", "ollama/llama@q8_0", sel("ollama/llama@q8_0"), {}),
    (
        "a configured id whose suffix reads like an unknown profile is that model",
        "ollama/llama@ollama:v2",
        sel("ollama/llama@ollama:v2"),
        {},
    ),
    (
        "a suffix ending in ':' that is no provider stays in the id",
        "ollama/llama@q8:",
        sel("ollama/llama@q8:"),
        {},
    ),
    (
        "quantisation suffix that is not a profile",
        "ollama/llama@q4_K_M",
        sel("ollama/llama@q4_K_M"),
        {},
    ),
    (
        "suffix naming a profile of this provider",
        "ollama/llama@q8_1",
        sel("ollama/llama", "ollama:q8_1"),
        {},
    ),
    (
        "email profile stays whole",
        "Gemini@google:me@example.com",
        sel("google/gemini-2.5-pro", "google:me@example.com"),
        {},
    ),
    (
        "email profile by bare name",
        "Gemini@me@example.com",
        sel("google/gemini-2.5-pro", "google:me@example.com"),
        {},
    ),
    (
        "profile known only to the auth store",
        "Opus@anthropic:spare",
        sel("anthropic/claude-opus-4-5", "anthropic:spare"),
        {"profiles": [ProfileId.parse("anthropic:spare")]},
    ),
    (
        "unknown profile suffix stays in the id",
        "anthropic/claude-opus-4-5@spare",
        sel("anthropic/claude-opus-4-5@spare"),
        {},
    ),
    ("hyphenated alias", "or-sonnet", sel("openrouter/anthropic/claude-sonnet-4.5"), {}),
]


@pytest.mark.parametrize(
    ("text", "expected", "kwargs"),
    [pytest.param(text, expected, kwargs, id=name) for name, text, expected, kwargs in RESOLVED],
)
def test_resolves(text: str, expected: Selection, kwargs: dict[str, Any]) -> None:
    """Each text resolves to this selection."""

    assert expected == resolve_model(text, CONFIG, **kwargs)


REFUSED: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("empty", "", "An empty model name cannot be resolved: give an alias or 'provider/model'.", ()),
    (
        "unknown alias suggests",
        "opsu",
        "'opsu' is not a known alias or 'provider/model' id. Did you mean 'Opus'?",
        ("Opus",),
    ),
    (
        "unknown alias finds the model part",
        "gpt-5.2",
        "'gpt-5.2' is not a known alias or 'provider/model' id. Did you mean 'gpt52' or 'openai/gpt-5.2'?",
        ("gpt52", "openai/gpt-5.2"),
    ),
    ("nothing close", "zzzzzz", "'zzzzzz' is not a known alias or 'provider/model' id.", ()),
    (
        "unknown provider",
        "acme/rocket",
        "'acme/rocket' uses provider 'acme', which is neither built in nor configured under $.providers.",
        (),
    ),
    (
        "profile of another provider",
        "Opus@openai:work",
        "Profile openai:work belongs to provider 'openai', but 'Opus' is anthropic/claude-opus-4-5 on 'anthropic': pick a profile of 'anthropic'.",
        (),
    ),
    (
        "unknown alias with a profile",
        "Opsu@anthropic:work",
        "'Opsu@anthropic:work' is not a known alias or 'provider/model' id. Did you mean 'Opus'?",
        ("Opus",),
    ),
    (
        "mistyped profile after an id",
        "anthropic/claude-opus-4-5@anthropic:wrok",
        "'anthropic/claude-opus-4-5@anthropic:wrok' names unknown profile 'anthropic:wrok' "
        "(did you mean 'anthropic:work' or 'anthropic:default'?).",
        ("anthropic:work", "anthropic:default"),
    ),
    (
        "mistyped profile after an alias",
        "Opus@anthropic:wrok",
        "'Opus@anthropic:wrok' names unknown profile 'anthropic:wrok' "
        "(did you mean 'anthropic:work' or 'anthropic:default'?).",
        ("anthropic:work", "anthropic:default"),
    ),
    (
        "mistyped bare profile after an alias",
        "gpt52@wrk",
        "'gpt52@wrk' names unknown profile 'openai:wrk' (did you mean 'openai:work'?).",
        ("openai:work",),
    ),
    (
        "mistyped profile after an id with @",
        "anthropic/claude-haiku-4-5@20251001@anthropic:wrok",
        "'anthropic/claude-haiku-4-5@20251001@anthropic:wrok' names unknown profile "
        "'anthropic:wrok' (did you mean 'anthropic:work' or 'anthropic:default'?).",
        ("anthropic:work", "anthropic:default"),
    ),
    (
        "profile name left out after an id",
        "anthropic/claude-opus-4-5@anthropic:",
        "'anthropic/claude-opus-4-5@anthropic:' ends in '@anthropic:', which names no profile: "
        "write the profile's name after the ':' (such as 'anthropic:default'), or leave out "
        "'@anthropic:'.",
        (),
    ),
    (
        "profile name left out after an alias",
        "Opus@anthropic:",
        "'Opus@anthropic:' ends in '@anthropic:', which names no profile: write the profile's "
        "name after the ':' (such as 'anthropic:default'), or leave out '@anthropic:'.",
        (),
    ),
    (
        "profile name left out names a known profile as the example",
        "Gemini@google:",
        "'Gemini@google:' ends in '@google:', which names no profile: write the profile's name "
        "after the ':' (such as 'google:me@example.com'), or leave out '@google:'.",
        (),
    ),
    (
        "profile far from every known one lists them",
        "Gemini@google:work",
        "'Gemini@google:work' names unknown profile 'google:work' "
        "(known profiles of 'google': google:me@example.com).",
        (),
    ),
]


@pytest.mark.parametrize(
    ("text", "message", "suggestions"),
    [pytest.param(text, message, sugg, id=name) for name, text, message, sugg in REFUSED],
)
def test_refuses(text: str, message: str, suggestions: tuple[str, ...]) -> None:
    """Each text is refused with this message and these suggestions."""
    with pytest.raises(UnknownModelError) as info:
        resolve_model(text, CONFIG)

    assert message == str(info.value)
    assert suggestions == info.value.suggestions


def test_allowlist_refuses_other_models() -> None:
    """With an allowlist, a model outside it cannot be selected, even by explicit id."""
    with pytest.raises(UnknownModelError, match="not in the allowlist"):
        resolve_model("openai/gpt-5.2", ALLOW)

    assert sel("anthropic/claude-opus-4-5") == resolve_model("opus", ALLOW)


def test_alias_alone_never_restricts_selection() -> None:
    """Without an allowlist, models without an alias or outside the chain stay selectable."""

    assert sel("google/gemini-2.5-flash") == resolve_model("google/gemini-2.5-flash", CONFIG)


def test_known_profiles_come_from_profiles_and_order() -> None:
    """Known profiles are the declared ones plus those named in auth.order."""

    assert ProfileId.parse("openai:default") in known_profiles(CONFIG)
    assert ProfileId.parse("anthropic:work") in known_profiles(CONFIG)
