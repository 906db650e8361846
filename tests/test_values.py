"""
Tests for the identifier value types.
"""

from __future__ import annotations

import re

import attrs
import pytest
from hypothesis import assume, given

from modelcfg import Failure, FailureKind, FallbackChain, ModelRef, ProfileId, Selection
from modelcfg._failures import redact
from tests import strategies as st


@given(st.model_refs)
def test_model_ref_round_trips(ref: ModelRef) -> None:
    """ModelRef.parse(str(ref)) gives back the same ref."""

    assert ref == ModelRef.parse(str(ref))


@given(st.profile_ids)
def test_profile_id_round_trips(profile: ProfileId) -> None:
    """ProfileId.parse(str(profile)) gives back the same profile."""

    assert profile == ProfileId.parse(str(profile))


@given(st.selections())
def test_selection_round_trips(selection: Selection) -> None:
    """Selection.parse(str(s)) gives back s unless the model id itself contains "@provider:"."""
    assume(f"@{selection.model.provider}:" not in selection.model.model)

    assert selection == Selection.parse(str(selection), strict=selection.strict)


@given(st.fallback_chains)
def test_fallback_chain_of_round_trips(chain: FallbackChain) -> None:
    """FallbackChain.of(*chain.models) rebuilds the same chain."""

    assert chain == FallbackChain.of(*chain.models)


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
