"""
Give-ups raise a subclass of AttemptsExhaustedError named for how the request ended.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import modelcfg
from modelcfg import (
    AttemptsExhaustedError,
    AttemptState,
    ChatRequest,
    Client,
    Failure,
    FailureKind,
    StaticCredentials,
    build_routes,
    catalog_for,
    curated_catalog,
    load_config,
)
from modelcfg.exceptions import gave_up_error
from modelcfg.testing import FakeProvider

HELLO = ChatRequest(messages=[{"role": "user", "content": "Hi"}])

CASES = [
    ("429", modelcfg.RateLimitedError),
    ("billing", modelcfg.QuotaExceededError),
    ("auth", modelcfg.AuthFailedError),
    ("context-length", modelcfg.ContextOverflowError),
    ("content-filter", modelcfg.ContentFilteredError),
    ("not-found", modelcfg.BadRequestError),
    ("503", modelcfg.ProviderUnavailableError),
    ("silent", modelcfg.DeadlineReachedError),
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.mark.parametrize(("behaviour", "error"), CASES, ids=[c[0] for c in CASES])
def test_a_give_up_raises_the_class_of_its_final_kind(
    fake: FakeProvider, behaviour: str, error: type[AttemptsExhaustedError]
) -> None:
    """A primary that always fails one way ends in that way's error, which keeps every attempt."""
    config = load_config(
        {
            "providers": {"local": {"api": "openai", "baseUrl": fake.base_url}},
            "agent": {"model": {"primary": f"local/{behaviour}"}},
            "policy": {
                "backoffBaseSeconds": 0.001,
                "backoffMaxSeconds": 0.002,
                "deadlineSeconds": 1,
            },
        }
    )
    with (
        Client(
            config, credentials=StaticCredentials({"local:default": "sk-fake-0123456789"})
        ) as client,
        pytest.raises(AttemptsExhaustedError) as raised,
    ):
        client.complete(HELLO)

    assert error is type(raised.value)
    assert len(raised.value.failures) == len(raised.value.attempts) >= 1
    assert raised.value.kind is raised.value.failures[-1].kind
    assert [f"local/{behaviour}"] == sorted({str(a.target.model) for a in raised.value.attempts})


def test_the_classes_are_public_and_share_one_base() -> None:
    """Every typed give-up is exported from modelcfg and modelcfg.exceptions and is an AttemptsExhaustedError."""
    for _, error in CASES:
        assert error is getattr(modelcfg.exceptions, error.__name__)
        assert issubclass(error, AttemptsExhaustedError)
    assert issubclass(modelcfg.QuotaExceededError, modelcfg.RateLimitedError)


def _state(*kinds: FailureKind) -> AttemptState:
    config = load_config({"agent": {"model": {"primary": "openai/gpt-5.2"}}})
    state = AttemptState.start(
        build_routes(config, catalog_for(config, curated=curated_catalog())), now=1.0e9, seed=1
    )
    for kind in kinds:
        action = modelcfg.next_attempt(None, state)
        assert isinstance(action, modelcfg.Call)
        state = action.state.with_failure(
            Failure(
                kind=kind,
                observed_at=1.0e9,
                code="deadline" if kind is FailureKind.TIMEOUT else None,
            )
        )
    return state


@pytest.mark.parametrize(
    ("kinds", "code", "error"),
    [
        ((), "deadline_reached", modelcfg.DeadlineReachedError),
        ((), "chain_exhausted", AttemptsExhaustedError),
        ((FailureKind.RATE_LIMITED,), "deadline_reached", modelcfg.RateLimitedError),
        ((FailureKind.TIMEOUT,), "deadline_reached", modelcfg.DeadlineReachedError),
        ((FailureKind.UNKNOWN,), "chain_exhausted", AttemptsExhaustedError),
        ((FailureKind.AUTH_PERMANENT,), "chain_exhausted", modelcfg.AuthFailedError),
    ],
    ids=[
        "nothing called before the deadline",
        "nothing called, chain exhausted",
        "blocked by rate limits past the deadline",
        "an attempt cut by the deadline",
        "an unknown failure",
        "a revoked key",
    ],
)
def test_gave_up_error_picks_the_class(
    kinds: tuple[FailureKind, ...], code: str, error: type[AttemptsExhaustedError]
) -> None:
    """The deadline names the error only when no failure is to blame; otherwise the last kind does."""
    raised = gave_up_error("gave up", state=_state(*kinds), reason="why", code=code)

    assert error is type(raised)
    assert ("gave up", "why") == (str(raised), raised.reason)
