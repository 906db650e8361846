"""
Routing policies chosen in config, per session and per request, applied where the
core orders the candidates: the user's selection and a strict pin stay first, and
the order the core uses is the one ``explain`` prints.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg import (
    AttemptState,
    Call,
    ConfigError,
    Failure,
    FailureKind,
    FallbackChain,
    HealthState,
    ModelRef,
    ModelTraits,
    ProfileId,
    RequestNeeds,
    Routes,
    RoutingPolicy,
    Selection,
    SessionState,
    Target,
    load_config,
    next_attempt,
    render_steps,
    replay,
    steps_to_json,
)
from modelcfg._catalog._curated import curated_catalog
from modelcfg._config._plan import build_routes, catalog_for
from modelcfg._core._metrics import Measured
from modelcfg._core._routing import order_candidates, place_candidates, stats_of

T0 = 1_800_000_000.0
A, B, C = (ModelRef.parse(f"openai/{name}") for name in ("pricey", "cheap", "unpriced"))
TRAITS = {
    A: ModelTraits(input_price=15.0, output_price=75.0),
    B: ModelTraits(input_price=0.15, output_price=0.6),
}
NEEDS = RequestNeeds(prompt_tokens=1000, output_tokens=500)
ROUTES = Routes(chain=FallbackChain.of(A, B, C), traits=TRAITS)
_SERVER = Failure(kind=FailureKind.SERVER, observed_at=T0, status=500)


def first_model(
    routes: Routes = ROUTES,
    *,
    session: SessionState | None = None,
    health: HealthState | None = None,
    routing: RoutingPolicy | None = None,
) -> tuple[ModelRef, ...]:
    state = AttemptState.start(
        routes, now=T0, session=session, health=health, needs=NEEDS, routing=routing
    )
    call = next_attempt(None, state)
    assert isinstance(call, Call)
    return (call.target.model, *state.candidates[1:])


def test_the_config_chooses_the_policy() -> None:
    """``agent.routing.policy`` reaches the routes, and the cheapest model is called first."""
    config = load_config(
        {
            "agent": {
                "model": {"primary": "openai/gpt-4o", "fallbacks": ["openai/gpt-4o-mini"]},
                "routing": {"policy": "cost"},
            }
        }
    )
    routes = build_routes(config, catalog_for(config, curated=curated_catalog()))
    state = AttemptState.start(routes, now=T0, needs=NEEDS)

    assert (RoutingPolicy.COST, "openai/gpt-4o-mini") == (routes.routing, str(state.candidates[0]))


def test_a_bad_policy_in_the_config_names_its_path() -> None:
    """A policy that does not exist is a config error at ``$.agent.routing.policy``."""
    with pytest.raises(ConfigError) as caught:
        load_config({"agent": {"model": {"primary": "openai/a"}, "routing": {"policy": "cheap"}}})

    assert (
        "$.agent.routing.policy: 'cheap' is not one of 'ordered', 'cost', 'latency', 'reliability'",
    ) == caught.value.errors


def test_the_default_keeps_the_configured_order() -> None:
    """Without a policy anywhere the chain is used as written."""
    assert (A, B, C) == first_model()


def test_the_request_policy_wins_over_the_session_and_the_config() -> None:
    """A request's policy beats the session's, which beats the configured one."""
    routes = attrs.evolve(ROUTES, routing=RoutingPolicy.COST)
    session = SessionState().with_routing(RoutingPolicy.ORDERED)

    assert [(B, A, C), (A, B, C), (B, A, C)] == [
        first_model(routes),
        first_model(routes, session=session),
        first_model(routes, session=session, routing=RoutingPolicy.COST),
    ]


def test_the_users_selection_stays_first_under_any_policy() -> None:
    """A ``/model`` selection leads whatever the policy; the rest are ordered behind it."""
    session = SessionState().with_selection(Selection(model=C))

    assert (C, B, A) == first_model(session=session, routing=RoutingPolicy.COST)


def test_a_strict_pin_stays_first_and_keeps_its_profile() -> None:
    """A strictly pinned profile's model leads and is called with that profile."""
    work = ProfileId.parse("openai:work")
    routes = attrs.evolve(ROUTES, auth_order={"openai": (ProfileId.parse("openai:default"), work)})
    session = SessionState().with_selection(Selection(model=A, profile=work, strict=True))
    state = AttemptState.start(
        routes, now=T0, session=session, needs=NEEDS, routing=RoutingPolicy.COST
    )
    call = next_attempt(None, state)

    assert (Target(model=A, profile=work), (A, B, C)) == (call.target, state.candidates)


def measured_health(samples: list[tuple[ModelRef, float, FailureKind | None]]) -> HealthState:
    default = ProfileId.parse("openai:default")
    return HealthState().with_measured(
        Measured(target=Target(model=m, profile=default), at=T0, latency_s=s, failure=f)
        for m, s, f in samples
    )


def test_latency_reads_the_measured_health() -> None:
    """The latency policy puts the model with the lowest measured p50 first; unmeasured go last."""
    health = measured_health([(A, 2.0, None), (B, 0.2, None)])

    assert (B, A, C) == first_model(health=health, routing=RoutingPolicy.LATENCY)


def test_reliability_reads_the_measured_health() -> None:
    """The reliability policy puts the model with the best success rate first."""
    health = measured_health([(A, 1.0, FailureKind.SERVER), (A, 1.0, None), (B, 1.0, None)])

    assert (B, A, C) == first_model(health=health, routing=RoutingPolicy.RELIABILITY)


def test_explain_prints_why_each_candidate_stands_where_it_does() -> None:
    """A replayed request with a policy prints the order and why, and calls the first."""
    script = {
        "start": T0,
        "request": {"routing": "cost", "promptTokens": 1000, "outputTokens": 500},
        "events": [{"succeed": True}],
    }
    steps = replay(script, ROUTES)

    assert render_steps(steps).startswith(
        "candidates in cost order:\n"
        "   1. openai/cheap (configured #2): estimated $0.000450\n"
        "   2. openai/pricey (configured #1): estimated $0.052500\n"
        "   3. openai/unpriced (configured #3): cost unknown\n"
        "0. ["
    )
    assert ("cost", ["openai/cheap", "openai/pricey", "openai/unpriced"]) == (
        steps_to_json(steps)[0]["routing"],  # type: ignore[index,call-overload]
        [row["model"] for row in steps_to_json(steps)[0]["order"]],  # type: ignore[index,call-overload]
    )


def test_a_session_policy_in_a_script_is_read() -> None:
    """``session.routing`` in a replay script orders like a session's own choice."""
    script = {"start": T0, "session": {"routing": "cost"}, "request": {"promptTokens": 10}}
    steps = replay(script, ROUTES)

    assert B == steps[0].state.current.model  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (
            {"request": {"routing": "fast"}},
            "$.request.routing: 'fast' is not a routing policy; expected one of 'ordered', "
            "'cost', 'latency', 'reliability'",
        ),
        ({"request": {"tools": "yes"}}, "$.request.tools: expected true or false"),
        ({"request": {"promptTokens": 0}}, "$.request.promptTokens: expected a whole number > 0"),
        ({"session": {"routing": 3}}, "$.session.routing:"),
    ],
    ids=["unknown-policy", "flag-not-bool", "tokens-not-positive", "session-not-text"],
)
def test_a_bad_script_names_the_path(script: dict[str, object], message: str) -> None:
    """A malformed routing entry in a script is a one-line error naming its JSON path."""
    with pytest.raises(ValueError, match=r"^\$\.") as caught:
        replay(script, ROUTES)

    assert str(caught.value).startswith(message)


MODELS = tuple(ModelRef.parse(f"openai/m{i}") for i in range(6))
maybe_price = st.one_of(st.none(), st.floats(min_value=0, max_value=100))
policies = st.sampled_from(list(RoutingPolicy))
outcomes = st.lists(
    st.tuples(
        st.sampled_from(MODELS),
        st.floats(min_value=0.001, max_value=100),
        st.one_of(st.none(), st.sampled_from([FailureKind.SERVER, FailureKind.TIMEOUT])),
    ),
    max_size=20,
)


@given(
    policy=policies,
    prices=st.lists(st.tuples(maybe_price, maybe_price), min_size=6, max_size=6),
    samples=outcomes,
    lead=st.booleans(),
)
def test_the_core_orders_as_explain_says(
    policy: RoutingPolicy,
    prices: list[tuple[float | None, float | None]],
    samples: list[tuple[ModelRef, float, FailureKind | None]],
    lead: bool,
) -> None:
    """The fast order the core uses equals the explained order, and is a permutation."""
    traits = {
        m: ModelTraits(input_price=i, output_price=o)
        for m, (i, o) in zip(MODELS, prices, strict=True)
    }
    stats = stats_of(measured_health(samples).model_metrics)
    fast = order_candidates(
        MODELS, policy, needs=NEEDS, traits=traits, stats=stats, fixed_lead=lead
    )
    placed = place_candidates(
        MODELS, policy, needs=NEEDS, traits=traits, stats=stats, fixed_lead=lead
    )

    assert fast == tuple(p.model for p in placed)
    assert sorted(map(str, MODELS)) == sorted(map(str, fast))
    if lead or policy is RoutingPolicy.ORDERED:
        assert MODELS[0] == fast[0]


@given(
    policy=policies,
    tools=st.lists(st.sampled_from([True, False, None]), min_size=6, max_size=6),
)
def test_a_skipped_candidate_never_gets_a_call_under_any_policy(
    policy: RoutingPolicy, tools: list[bool | None]
) -> None:
    """Whatever the policy, a model known to lack tools is never the target of a call."""
    traits = {
        m: ModelTraits(tools=t, input_price=float(i))
        for i, (m, t) in enumerate(zip(MODELS, tools, strict=True))
    }
    routes = Routes(chain=FallbackChain.of(*MODELS), traits=traits, routing=policy)
    needs = RequestNeeds(tools=True, prompt_tokens=100)
    action = next_attempt(None, AttemptState.start(routes, now=T0, needs=needs))
    called = []
    while isinstance(action, Call):
        called.append(action.target.model)
        failure = attrs.evolve(
            _SERVER, observed_at=action.state.now + action.delay_s, model=action.target.model
        )
        action = next_attempt(failure, action.state)

    assert [] == [m for m in called if traits[m].tools is False]
