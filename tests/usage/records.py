"""
Usage records for the ledger tests: hand-made ones, and a Hypothesis strategy.
"""

from __future__ import annotations

from hypothesis import strategies as st

from modelcfg import FailureKind, ModelRef, ProfileId, Usage
from modelcfg.usage import Rates, UsageRecord, cost_of

T0 = 1_750_000_000.0
"""2025-06-15 15:06:40 UTC: an instant in the middle of an hour."""

RATES = {
    "openai/gpt-5": Rates(input="1.25", output="10", cache_read="0.125"),
    "anthropic/claude-sonnet-4-5": Rates(
        input="3", output="15", cache_read="0.3", cache_write="3.75"
    ),
    "local/llama": Rates(),
}


def record(
    at: float = T0,
    *,
    request: str = "r1",
    attempt: int = 1,
    model: str = "openai/gpt-5",
    profile: str | None = "openai:work",
    session: str | None = None,
    api_key: str | None = None,
    arm: str | None = None,
    answered: bool = True,
    **tokens: int,
) -> UsageRecord:
    """One attempt's record, priced at :data:`RATES`."""
    usage = Usage(**tokens)
    return UsageRecord(
        at=at,
        request_id=request,
        attempt=attempt,
        model=ModelRef.parse(model),
        profile=None if profile is None else ProfileId.parse(profile),
        session=session,
        api_key=api_key,
        arm=arm,
        usage=usage,
        cost=cost_of(usage, RATES[model]),
        answered=answered,
        failure=None if answered else FailureKind.SERVER,
        latency_s=1.5,
    )


@st.composite
def records(draw: st.DrawFn, *, span_s: float = 4 * 86400) -> UsageRecord:
    """Records within *span_s* after :data:`T0`, over a few models, profiles, sessions and arms."""
    model = draw(st.sampled_from(sorted(RATES)))
    provider = model.partition("/")[0]
    output = draw(st.integers(0, 50_000))
    answered = draw(st.booleans())
    return record(
        T0 + draw(st.floats(0, span_s, allow_nan=False)),
        request=f"r{draw(st.integers(0, 30))}",
        attempt=draw(st.integers(1, 3)),
        model=model,
        profile=draw(st.sampled_from([None, f"{provider}:work", f"{provider}:home"])),
        session=draw(st.sampled_from([None, "s1", "s2", "chat 3"])),
        api_key=draw(st.sampled_from([None, "team-a", "team-b"])),
        arm=draw(st.sampled_from([None, "a", "b"])),
        answered=answered,
        input_tokens=draw(st.integers(0, 200_000)),
        output_tokens=output,
        cache_read_tokens=draw(st.integers(0, 100_000)),
        cache_write_tokens=draw(st.sampled_from([0, 0, 1024])),
        reasoning_tokens=draw(st.integers(0, output)),
    )
