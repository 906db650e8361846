"""
Hypothesis strategies for every modelcfg value type.
"""

from __future__ import annotations

from hypothesis import strategies as st

from modelcfg import Failure, FailureKind, FallbackChain, ModelRef, ProfileId, Selection, Target

provider_ids = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,11}", fullmatch=True)
model_ids = st.text(
    alphabet=st.characters(
        codec="ascii", categories=("Lu", "Ll", "Nd"), include_characters="-._:/@"
    ),
    min_size=1,
    max_size=24,
)
profile_names = st.text(
    alphabet=st.characters(
        codec="ascii", categories=("Lu", "Ll", "Nd"), include_characters="-._@+"
    ),
    min_size=1,
    max_size=16,
)
model_refs = st.builds(ModelRef, provider=provider_ids, model=model_ids)
profile_ids = st.builds(ProfileId, provider=provider_ids, name=profile_names)
fallback_chains = st.lists(model_refs, min_size=1, max_size=5, unique=True).map(
    lambda refs: FallbackChain(primary=refs[0], fallbacks=tuple(refs[1:]))
)
targets = st.builds(Target, model=model_refs, profile=profile_ids)


@st.composite
def selections(draw: st.DrawFn) -> Selection:
    ref = draw(model_refs)
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
