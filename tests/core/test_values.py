"""
Tests for the identifier value types.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs
import pytest
from hypothesis import given

from modelcfg import (
    Failure,
    FailureKind,
    FallbackChain,
    ModelRef,
    ProfileId,
    Selection,
    Target,
)
from modelcfg._core._redact import redact
from tests import strategies as st


@given(st.model_refs)
def test_model_ref_round_trips(ref: ModelRef) -> None:
    """ModelRef.parse(str(ref)) gives back the same ref."""

    assert ref == ModelRef.parse(str(ref))


@given(st.profile_ids)
def test_profile_id_round_trips(profile: ProfileId) -> None:
    """ProfileId.parse(str(profile)) gives back the same profile."""

    assert profile == ProfileId.parse(str(profile))


def _text_is_ambiguous(selection: Selection) -> bool:
    """
    The documented limit of the text form: the model id holds an '@' (after its first
    character) followed by the provider in any case and ':' (and one more character
    when no profile follows).
    """
    model, prefix = selection.model.model, f"{selection.model.provider}:"
    for at in range(1, len(model)):
        tail = model[at + 1 :]
        if (
            model[at] == "@"
            and tail.lower().startswith(prefix)
            and (selection.profile is not None or len(tail) > len(prefix))
        ):
            return True
    return False


@given(st.selections())
def test_selection_round_trips_exactly_outside_the_documented_limit(selection: Selection) -> None:
    """Selection.parse(str(s)) == s exactly when the model id holds no '@provider:' as documented."""
    parsed = Selection.parse(str(selection), strict=selection.strict)

    assert (not _text_is_ambiguous(selection)) == (selection == parsed)


@pytest.mark.parametrize(
    ("selection", "read_as"),
    [
        (Selection(model=ModelRef.parse("openai/x@openai:y")), "openai/x@openai:y"),
        (
            Selection(
                model=ModelRef.parse("openai/x@openai:"), profile=ProfileId.parse("openai:work")
            ),
            "openai/x@openai:@openai:work",
        ),
    ],
    ids=["profile-like suffix", "empty profile-like suffix before a profile"],
)
def test_selection_text_limit(selection: Selection, read_as: str) -> None:
    """A model id holding '@provider:' is read back with another split, as documented."""
    parsed = Selection.parse(str(selection))

    assert (read_as, True) == (str(selection), parsed != selection)
    assert ModelRef.parse("openai/x") == parsed.model


@given(st.fallback_chains)
def test_fallback_chain_of_round_trips(chain: FallbackChain) -> None:
    """FallbackChain.of(*chain.models) rebuilds the same chain."""

    assert chain == FallbackChain.of(*chain.models)


@given(st.fallback_chains)
def test_fallback_chain_round_trips(chain: FallbackChain) -> None:
    """FallbackChain.parse(str(chain)) gives back the same chain."""

    assert chain == FallbackChain.parse(str(chain))


@given(st.targets)
def test_target_round_trips(target: Target) -> None:
    """Target.parse(str(target)) gives back the same target."""

    assert target == Target.parse(str(target))


def test_fallback_chain_text_form() -> None:
    """A chain is written primary first, joined by ' -> ', and an arrow inside an id stays."""
    chain = FallbackChain.parse("  anthropic/claude-opus-4-5 ->  openai/a->b ")

    assert "anthropic/claude-opus-4-5 -> openai/a->b" == str(chain)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"'' is not a fallback chain \('' is not a model reference"),
        ("openai/x -> ", r"is not a fallback chain"),
        ("openai/x -> gpt5", r"'gpt5' is not a model reference"),
        ("openai/x -> openai/x", r"openai/x appears twice in the fallback chain"),
    ],
    ids=["empty", "trailing arrow", "no provider", "repeat"],
)
def test_fallback_chain_parse_rejects(text: str, message: str) -> None:
    """Texts that are not 'provider/model -> ...' without repeats are refused."""
    with pytest.raises(ValueError, match=message):
        FallbackChain.parse(text)


@pytest.mark.parametrize(
    "text",
    ["openai/x", "openai/x with", "openai/x with openai", "with openai:a", "openai/x and openai:a"],
)
def test_target_parse_rejects(text: str) -> None:
    """Texts that are not 'provider/model with provider:name' are refused."""
    with pytest.raises(ValueError, match=r"target|model reference|profile id"):
        Target.parse(text)


REF = ModelRef.parse("openai/x")
PROFILE = ProfileId.parse("openai:work")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: FallbackChain(primary="openai/x"),  # type: ignore[arg-type]
            r"primary must be a ModelRef, not 'openai/x' \(FallbackChain.of\(\) and "
            r"FallbackChain.parse\(\) take text\)",
        ),
        (
            lambda: FallbackChain(primary=REF, fallbacks=["a"]),  # type: ignore[list-item]
            r"fallbacks\[0\] must be a ModelRef, not 'a'",
        ),
        (
            lambda: FallbackChain(primary=REF, fallbacks="openai/y"),  # type: ignore[arg-type]
            r"fallbacks must be a tuple of ModelRef, not 'openai/y'",
        ),
        (
            lambda: Target(model="openai/x", profile=PROFILE),  # type: ignore[arg-type]
            r"model must be a ModelRef, not 'openai/x'",
        ),
        (
            lambda: Target(model=REF, profile="openai:work"),  # type: ignore[arg-type]
            r"profile must be a ProfileId, not 'openai:work'",
        ),
        (
            lambda: Selection(model=REF, profile="openai:work"),  # type: ignore[arg-type]
            r"profile must be a ProfileId or None, not 'openai:work'",
        ),
        (
            lambda: Selection(model=REF, strict=1),  # type: ignore[arg-type]
            r"strict must be True or False, not 1",
        ),
        (
            lambda: ModelRef(provider=5, model="x"),  # type: ignore[arg-type]
            r"provider must be a string, not 5",
        ),
    ],
    ids=[
        "chain primary as text",
        "chain fallback as text",
        "chain fallbacks as one text",
        "target model as text",
        "target profile as text",
        "selection profile as text",
        "selection strict as a number",
        "provider as a number",
    ],
)
def test_values_check_their_field_types(build: Callable[[], object], message: str) -> None:
    """A value built from fields of the wrong type raises TypeError naming the field."""
    with pytest.raises(TypeError, match=f"^{message}$"):
        build()


def test_fallback_chain_stores_a_list_as_a_tuple() -> None:
    """A list of fallbacks is normalised to a tuple, so the chain stays immutable."""
    chain = FallbackChain(primary=REF, fallbacks=[ModelRef.parse("openai/y")])

    assert (ModelRef.parse("openai/y"),) == chain.fallbacks


@pytest.mark.parametrize(
    ("character", "name"),
    [
        ("\x00", "U+0000"),
        ("\x1b", "U+001B"),
        ("\x7f", "U+007F"),
        ("\x9b", "U+009B"),
        ("\u200b", "U+200B"),
        ("\u202e", "U+202E"),
        ("\ufeff", "U+FEFF"),
    ],
    ids=["nul", "escape", "delete", "c1 control", "zero-width space", "right-to-left", "bom"],
)
def test_ids_reject_control_and_invisible_characters(character: str, name: str) -> None:
    """Model ids and profile names refuse control and invisible characters, naming the code point."""
    with pytest.raises(ValueError, match="invisible") as model_error:
        ModelRef.parse(f"openai/gpt{character}5")
    with pytest.raises(ValueError, match="invisible") as profile_error:
        ProfileId.parse(f"openai:work{character}")

    assert (
        f"model id {f'gpt{character}5'!r} contains the control or invisible character {name}",
        f"profile name {f'work{character}'!r} contains the control or invisible character {name}",
    ) == (str(model_error.value), str(profile_error.value))


@pytest.mark.parametrize(
    ("text", "provider", "model"),
    [
        ("anthropic/claude-opus-4-5", "anthropic", "claude-opus-4-5"),
        ("openrouter/anthropic/claude-sonnet-4", "openrouter", "anthropic/claude-sonnet-4"),
        ("OpenAI/GPT-5.2", "openai", "GPT-5.2"),
        ("ollama/llama3@q8_0", "ollama", "llama3@q8_0"),
        (" google/gemini-2.5-pro ", "google", "gemini-2.5-pro"),
    ],
)
def test_model_ref_parse(text: str, provider: str, model: str) -> None:
    """The text splits on the first '/', lower-casing the provider only."""

    assert ModelRef(provider=provider, model=model) == ModelRef.parse(text)


@pytest.mark.parametrize(
    "text", ["", "/", "openai/", "/gpt-5", "gpt-5", "open ai/gpt", "openai/gpt 5"]
)
def test_model_ref_rejects(text: str) -> None:
    """Texts with an empty part, no '/', or white space inside are rejected."""
    with pytest.raises(ValueError, match=r"model|provider"):
        ModelRef.parse(text)


def test_profile_id_keeps_email_whole() -> None:
    """'google:me@example.com' is one profile of google."""

    assert ProfileId(provider="google", name="me@example.com") == ProfileId.parse(
        "google:me@example.com"
    )


def test_fallback_chain_rejects_repeats() -> None:
    """A chain that names a model twice is an error; FallbackChain.of() drops repeats instead."""
    a, b = ModelRef.parse("a/x"), ModelRef.parse("b/y")
    with pytest.raises(ValueError, match="twice"):
        FallbackChain(primary=a, fallbacks=(b, a))

    assert (a, b) == FallbackChain.of(a, b, a).models


def test_selection_profile_must_match_provider() -> None:
    """A profile of another provider cannot be pinned to a model."""
    with pytest.raises(ValueError, match="belongs to provider"):
        Selection(model=ModelRef.parse("openai/gpt-5"), profile=ProfileId.parse("anthropic:work"))


def test_values_are_frozen() -> None:
    """Value types cannot be changed after construction."""
    ref = ModelRef.parse("a/b")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ref.model = "c"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("observed_at", "message"),
    [
        (
            1.7e12,
            r"within the years 1 to 9999, not 1700000000000\.0 \(was it given in milliseconds\?\)",
        ),
        (float("nan"), "must be a finite number of seconds since the epoch, not nan"),
        (float("inf"), "must be a finite number of seconds since the epoch, not inf"),
        (-1e12, r"within the years 1 to 9999, not -1000000000000\.0$"),
        (True, "must be a number of seconds since the epoch, not True"),
    ],
    ids=["milliseconds", "nan", "infinity", "before year 1", "a boolean"],
)
def test_failure_rejects_times_no_clock_can_show(observed_at: float, message: str) -> None:
    """Failure.observed_at must be finite seconds within the years 1 to 9999, with a hint for milliseconds."""
    with pytest.raises(ValueError, match=r"^Failure\.observed_at ") as caught:
        Failure(kind=FailureKind.SERVER, observed_at=observed_at)

    assert re.search(message, str(caught.value))


@pytest.mark.parametrize("observed_at", [0, 1_700_000_000.0, 253_402_300_799.0, -62_135_596_800.0])
def test_failure_accepts_times_a_clock_can_show(observed_at: float) -> None:
    """Times from the year 1 to the end of the year 9999 are accepted as they are."""
    failure = Failure(kind=FailureKind.SERVER, observed_at=observed_at)

    assert observed_at == failure.observed_at


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED]"),
        ("authorization: basic QWxhZGRpbjpPcGVuU2VzYW1l", "authorization: basic [REDACTED]"),
        ("Basic authentication failed", "Basic authentication failed"),
        ("the server wants Basic Auth", "the server wants Basic Auth"),
    ],
    ids=["header with padding", "lower case", "prose word", "prose words"],
)
def test_redact_masks_basic_credentials_only(text: str, expected: str) -> None:
    """redact() masks 'Basic <base64>' credentials but leaves the word 'Basic' in prose alone."""

    assert expected == redact(text)


def test_failure_message_hides_basic_credentials() -> None:
    """A Basic credential echoed in a provider message never reaches the Failure."""
    failure = Failure(
        kind=FailureKind.AUTH, observed_at=0, message="rejected Basic c2stY2FuYXJ5OkRPLU5PVA=="
    )

    assert "c2stY2FuYXJ5" not in f"{failure!r} {failure}"
