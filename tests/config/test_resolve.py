"""
Tests for ``/model`` text resolution.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg import ConfigError, ModelRef, ProfileId, Selection, UnknownModelError
from modelcfg._catalog._curated import curated_catalog
from modelcfg._config._aliases import BUILTIN_ALIASES, builtin_aliases
from modelcfg._config._load import dump_config, load_config
from modelcfg._config._resolve import _edits, known_profiles, resolve_model
from modelcfg._core._values import PROVIDER_ALIASES

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
        "providers": {"zai": {"api": "openai", "baseUrl": "https://api.z.ai/api/paas/v4"}},
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
    ("provider alias with a dot", "Z.ai/glm-4.6", sel("zai/glm-4.6"), {}),
    ("provider alias with a hyphen", "z-ai/glm-4.6", sel("zai/glm-4.6"), {}),
    ("openrouter's vendor slug names the direct provider", "x-ai/grok-4", sel("xai/grok-4"), {}),
    (
        "another version of a known model stays selectable",
        "anthropic/claude-opus-4-6",
        sel("anthropic/claude-opus-4-6"),
        {},
    ),
    (
        "a dated snapshot of a known model stays selectable",
        "anthropic/claude-opus-4-5-20251101",
        sel("anthropic/claude-opus-4-5-20251101"),
        {},
    ),
    (
        "a catalog model is known",
        "openai/gpt-4o-mini",
        sel("openai/gpt-4o-mini"),
        {"models": [ModelRef.parse("openai/gpt-4o-mini"), ModelRef.parse("openai/gpt-4o")]},
    ),
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
        "a bare model id suggests the one model with that id",
        "gpt-5.2",
        "'gpt-5.2' is not a known alias or 'provider/model' id; a model id needs its provider. "
        "Did you mean 'openai/gpt-5.2'?",
        ("openai/gpt-5.2",),
    ),
    (
        "a bare model id finds an openrouter model by its last part",
        "claude-sonnet-4.5",
        "'claude-sonnet-4.5' is not a known alias or 'provider/model' id; a model id needs its "
        "provider. Did you mean 'openrouter/anthropic/claude-sonnet-4.5'?",
        ("openrouter/anthropic/claude-sonnet-4.5",),
    ),
    (
        "a typo in an explicit id",
        "anthropic/claud-opus-4-5",
        "'anthropic/claud-opus-4-5' names no model modelcfg knows. Did you mean "
        "'anthropic/claude-opus-4-5'? To use a model the catalog does not list yet, add it "
        "under $.agent.models.",
        ("anthropic/claude-opus-4-5",),
    ),
    (
        "swapped letters in an explicit id",
        "google/gemnii-2.5-pro",
        "'google/gemnii-2.5-pro' names no model modelcfg knows. Did you mean "
        "'google/gemini-2.5-pro'? To use a model the catalog does not list yet, add it "
        "under $.agent.models.",
        ("google/gemini-2.5-pro",),
    ),
    (
        "separators left out of an explicit id",
        "openai/gpt5.2",
        "'openai/gpt5.2' names no model modelcfg knows. Did you mean 'openai/gpt-5.2'? To use "
        "a model the catalog does not list yet, add it under $.agent.models.",
        ("openai/gpt-5.2",),
    ),
    (
        "a typo in an explicit id with a profile",
        "anthropic/claud-opus-4-5@anthropic:work",
        "'anthropic/claud-opus-4-5@anthropic:work' names no model modelcfg knows. Did you mean "
        "'anthropic/claude-opus-4-5'? To use a model the catalog does not list yet, add it "
        "under $.agent.models.",
        ("anthropic/claude-opus-4-5",),
    ),
    (
        "a typo in the provider",
        "antropic/claude-opus-4-5",
        "'antropic/claude-opus-4-5' uses provider 'antropic', which is neither built in nor "
        "configured under $.providers. Did you mean 'anthropic/claude-opus-4-5'?",
        ("anthropic/claude-opus-4-5",),
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


def test_a_bare_id_served_by_several_providers_suggests_each() -> None:
    """A bare id that several known models share suggests them all, the exact ids first."""
    catalog = [
        ModelRef.parse("openrouter/openai/gpt-4o"),
        ModelRef.parse("openai/gpt-4o"),
        ModelRef.parse("openai/gpt-4o-mini"),
    ]
    with pytest.raises(UnknownModelError) as info:
        resolve_model("gpt-4o", CONFIG, models=catalog)

    assert ("openai/gpt-4o", "openrouter/openai/gpt-4o") == info.value.suggestions


def test_a_typo_of_a_catalog_model_suggests_it() -> None:
    """A typo of a model the catalog knows (not the config) suggests the catalog's id."""
    with pytest.raises(UnknownModelError) as info:
        resolve_model("openai/gtp-4o", CONFIG, models=[ModelRef.parse("openai/gpt-4o")])

    assert ("openai/gpt-4o",) == info.value.suggestions


def test_every_curated_model_resolves_to_itself() -> None:
    """No curated model is mistaken for a typo of another: each resolves to itself."""
    refs = [info.ref for info in curated_catalog()]
    resolved = [resolve_model(str(ref), CONFIG, models=refs).model for ref in refs]

    assert refs == resolved


@given(
    st.lists(
        st.from_regex(r"[a-z]{1,8}(-[a-z0-9]{1,4}){0,3}", fullmatch=True),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    st.data(),
)
def test_a_known_id_is_never_a_typo(ids: list[str], data: st.DataObject) -> None:
    """Whatever models are known, each one's explicit id selects it."""
    known = [ModelRef(provider="openai", model=model) for model in ids]
    ref = data.draw(st.sampled_from(known))

    assert ref == resolve_model(str(ref), CONFIG, models=known).model


@given(st.text(alphabet="abc-", min_size=0, max_size=8), st.text(alphabet="abc-", max_size=8))
def test_edit_distance_is_symmetric_and_bounded(a: str, b: str) -> None:
    """The typo distance is symmetric, zero only for equal texts, and capped at limit + 1."""
    there, back = _edits(a, b, 2), _edits(b, a, 2)

    assert (there, there == 0, there <= 3) == (back, a == b, True)


# ---------------------------------------------------------------- built-in aliases

BUILTIN = load_config(
    {
        "agent": {
            "model": {
                "primary": "anthropic/claude-sonnet-4-5",
                "fallbacks": ["openrouter/anthropic/claude-sonnet-4.5", "openai/gpt-5.2"],
            },
            "models": {
                "anthropic/claude-opus-4-5": {},
                "openai/gpt-5-mini": {},
                "google/gemini-2.5-flash": {},
                "anthropic/claude-haiku-4-5": {"alias": ""},
                "xai/grok-4": {"alias": "Grok"},
                "openai/gpt-4o": {"alias": "fast"},
            },
        }
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("opus", "anthropic/claude-opus-4-5", id="opus"),
        pytest.param("Sonnet", "anthropic/claude-sonnet-4-5", id="sonnet-the-first-listed"),
        pytest.param("gpt", "openai/gpt-5.2", id="gpt-the-chain-before-the-models"),
        pytest.param("gpt-mini", "openai/gpt-5-mini", id="gpt-mini"),
        pytest.param("gemini-flash", "google/gemini-2.5-flash", id="gemini-flash"),
        pytest.param("grok", "xai/grok-4", id="the-users-alias-of-the-same-name"),
    ],
)
def test_builtin_aliases_name_listed_models(text: str, expected: str) -> None:
    """A built-in short alias names the first listed model of its family."""

    assert sel(expected) == resolve_model(text, BUILTIN)


def test_an_empty_alias_opts_out_of_the_builtin_one() -> None:
    """A model whose entry says alias "" takes no built-in alias, and the family has no other."""
    with pytest.raises(UnknownModelError) as info:
        resolve_model("haiku", BUILTIN)

    assert "'haiku' is not a known alias" in str(info.value)


def test_an_opted_out_model_passes_the_alias_on() -> None:
    """With the first model of a family opted out, the next listed one takes the alias."""
    config = load_config(
        {
            "agent": {
                "models": {
                    "anthropic/claude-opus-4-5": {"alias": ""},
                    "openrouter/anthropic/claude-opus-4.5": {},
                }
            }
        }
    )

    assert sel("openrouter/anthropic/claude-opus-4.5") == resolve_model("opus", config)


def test_the_users_alias_beats_a_builtin_one() -> None:
    """A user's alias with a built-in name names the user's model."""
    config = load_config(
        {"agent": {"models": {"anthropic/claude-opus-4-5": {}, "openai/gpt-4o": {"alias": "Opus"}}}}
    )

    assert sel("openai/gpt-4o") == resolve_model("opus", config)


def test_a_chain_may_name_a_model_by_its_builtin_alias() -> None:
    """A chain entry may use the built-in alias of a listed model."""
    config = load_config(
        {
            "agent": {
                "models": {"anthropic/claude-opus-4-5": {}, "anthropic/claude-sonnet-4-5": {}},
                "model": {"primary": "sonnet", "fallbacks": ["opus"]},
            }
        }
    )
    chain = config.text_chain()

    assert ("anthropic/claude-sonnet-4-5", "anthropic/claude-opus-4-5") == tuple(
        str(ref) for ref in (chain.models if chain else ())
    )


def test_an_empty_alias_survives_a_round_trip() -> None:
    """alias "" loads without a problem and dumps back as written."""

    assert BUILTIN == load_config(dump_config(BUILTIN))


def test_unlisted_models_get_no_builtin_alias() -> None:
    """A model only the catalog knows gets no built-in alias: the config must list it."""
    with pytest.raises(UnknownModelError):
        resolve_model("gemini", BUILTIN)


@given(
    st.lists(
        st.sampled_from(
            [
                "anthropic/claude-opus-4-5",
                "anthropic/claude-opus-4-1",
                "openrouter/anthropic/claude-sonnet-4.5",
                "anthropic/claude-sonnet-4-5",
                "openai/gpt-5.2",
                "openai/gpt-5-mini",
                "google/gemini-2.5-pro",
                "xai/grok-4",
                "ollama/llama3",
            ]
        ),
        unique=True,
    ),
    st.data(),
)
def test_builtin_aliases_respect_the_listing(listed_text: list[str], data: st.DataObject) -> None:
    """A built-in alias names a listed model that did not opt out, never a name the user took."""
    listed = [ModelRef.parse(text) for text in listed_text]
    opted_out = data.draw(st.lists(st.sampled_from(listed), unique=True)) if listed else []
    taken = data.draw(st.lists(st.sampled_from([a for a, _ in BUILTIN_ALIASES]), unique=True))
    found = builtin_aliases(listed, opted_out, taken)

    assert (True, True, True) == (
        all(ref in listed and ref not in opted_out for ref in found.values()),
        not set(found) & set(taken),
        all(
            listed.index(ref)
            <= min(listed.index(other) for other in _family(alias, listed, opted_out))
            for alias, ref in found.items()
        ),
    )


def _family(alias: str, listed: list[ModelRef], opted_out: list[ModelRef]) -> list[ModelRef]:
    pattern = dict(BUILTIN_ALIASES)[alias]
    return [
        ref
        for ref in listed
        if ref not in opted_out and pattern.fullmatch(ref.model.rsplit("/", 1)[-1])
    ]


# ------------------------------------------------------------------ provider aliases


def test_provider_aliases_are_one_provider_across_the_config() -> None:
    """A provider configured, ordered and used under different aliases is the one canonical provider."""
    config = load_config(
        {
            "providers": {"Z.ai": {"api": "openai", "baseUrl": "https://api.z.ai/api/paas/v4"}},
            "auth": {"order": {"z-ai": ["ZAI:work"]}},
            "agent": {"model": {"primary": "z.ai/glm-4.6"}},
        }
    )
    chain = config.text_chain()

    assert (
        ["zai"],
        (ProfileId.parse("zai:work"),),
        "zai/glm-4.6",
        "https://api.z.ai/api/paas/v4",
    ) == (
        list(config.providers),
        config.auth_order("Z.ai"),
        str(chain.primary) if chain else None,
        getattr(config.provider("z-ai"), "base_url", None),
    )


def test_two_aliases_of_one_provider_are_refused() -> None:
    """Two provider keys that are aliases of one provider are refused, as one would hide the other."""
    with pytest.raises(ConfigError) as info:
        load_config(
            {
                "providers": {
                    "z.ai": {"api": "openai", "baseUrl": "https://a.example.test/v1"},
                    "zai": {"api": "openai", "baseUrl": "https://b.example.test/v1"},
                }
            }
        )

    assert 1 == len(info.value.errors)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [(alias, canonical) for alias, canonical in sorted(PROVIDER_ALIASES.items())],
)
def test_every_provider_alias_becomes_its_canonical_id(written: str, canonical: str) -> None:
    """Each alias, in any case, reads as its canonical provider id in model and profile ids."""

    assert (canonical, canonical) == (
        ModelRef.parse(f"{written.upper()}/m").provider,
        ProfileId.parse(f"{written}:p").provider,
    )
