"""
Hypothesis strategies for every modelcfg value type.
"""

from __future__ import annotations

from hypothesis import strategies as st

from modelcfg import (
    Failure,
    FailureKind,
    FallbackChain,
    ModelRef,
    ProfileId,
    Selection,
    Target,
    Usage,
)
from modelcfg._core._cost import Rates

provider_ids = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,11}", fullmatch=True)
model_ids = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters="-._:/@"),
    min_size=1,
    max_size=24,
)
profile_names = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters="-._@+:"),
    min_size=1,
    max_size=16,
)
model_refs = st.builds(ModelRef, provider=provider_ids, model=model_ids)
profile_ids = st.builds(ProfileId, provider=provider_ids, name=profile_names)
fallback_chains = st.lists(model_refs, min_size=1, max_size=5, unique=True).map(
    lambda refs: FallbackChain(primary=refs[0], fallbacks=tuple(refs[1:]))
)


@st.composite
def _targets(draw: st.DrawFn) -> Target:
    ref = draw(model_refs)
    same_provider = profile_names.map(lambda n: ProfileId(provider=ref.provider, name=n))
    return Target(model=ref, profile=draw(same_provider | profile_ids))


targets = _targets()


@st.composite
def selections(draw: st.DrawFn) -> Selection:
    """
    Selections, often with a model id that holds ``@provider:`` (the text form's limit).
    """
    ref = draw(model_refs)
    if draw(st.booleans()):
        head = draw(model_ids)
        cut = draw(st.integers(0, len(head)))
        provider = draw(st.sampled_from([ref.provider, ref.provider.upper()]))
        tail = draw(st.sampled_from(["", ":", ":", ":x", ":@", f":{ref.provider}"]))
        ref = ModelRef(provider=ref.provider, model=f"{head[:cut]}@{provider}{tail}{head[cut:]}")
    profile = draw(
        st.none() | profile_names.map(lambda n: ProfileId(provider=ref.provider, name=n))
    )
    return Selection(model=ref, profile=profile, strict=draw(st.booleans()))


failures = st.builds(
    Failure,
    kind=st.sampled_from(FailureKind),
    observed_at=st.floats(min_value=0, max_value=4e9),
    status=st.none() | st.integers(min_value=100, max_value=599),
    retry_after_s=st.none() | st.floats(min_value=0, max_value=3600),
    message=st.text(max_size=40),
    model=st.none() | model_refs,
    profile=st.none() | profile_ids,
)


@st.composite
def _usages(draw: st.DrawFn) -> Usage:
    output = draw(st.integers(0, 2_000_000))
    return Usage(
        input_tokens=draw(st.integers(0, 2_000_000)),
        output_tokens=output,
        cache_read_tokens=draw(st.integers(0, 2_000_000)),
        cache_write_tokens=draw(st.integers(0, 2_000_000)),
        reasoning_tokens=draw(st.integers(0, output)),
    )


usages = _usages()
prices = st.none() | st.decimals(
    min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False
)
rates = st.builds(
    Rates, input=prices, output=prices, cache_read=prices, cache_write=prices, reasoning=prices
)
