"""
The public API as a host application uses it; type-checked by ``mypy --strict`` in CI.

Nothing here runs in the test suite: it exists so that a change to a public
signature fails type checking before it surprises a user.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import assert_never, assert_type

import httpx

import modelcfg
from modelcfg import (
    Action,
    AttemptState,
    Call,
    ChatRequest,
    Completion,
    Config,
    Executor,
    ExecutorEvent,
    Failure,
    FailureKind,
    FallbackChain,
    GiveUp,
    Message,
    ModelRef,
    ProfileId,
    Routes,
    Selection,
    StaticCredentials,
    Usage,
    build_routes,
    catalog_for,
    curated_catalog,
    dump_state,
    load_config,
    load_state,
    next_attempt,
    resolve_model,
)
from modelcfg.adapters import CallLimits, DeadlineExceededError
from modelcfg.auth import AuthStore, default_auth_path
from modelcfg.exceptions import (
    AttemptsExhaustedError,
    ConfigError,
    OutputInterruptedError,
    RedactedError,
)
from modelcfg.stores import (
    FileStateStore,
    MemoryStateStore,
    RedisStateStore,
    SqliteStateStore,
    StoreEvent,
)
from modelcfg.testing import FakeClock, ScriptedTransport
from modelcfg.typing import CounterStore, StateStore
from modelcfg.usage import (
    Budget,
    BudgetAlert,
    BudgetKeeper,
    BudgetPeriod,
    BudgetScope,
    Cost,
    GroupBy,
    MemoryLedger,
    Rates,
    Refusal,
    ReportRow,
    Spender,
    SQLiteLedger,
    TokenKind,
    UsageLedger,
    cost_of,
    format_usd,
)


def values() -> None:
    ref = ModelRef.parse("anthropic/claude-opus-4-5")
    profile = ProfileId.parse("anthropic:work")
    chain = FallbackChain.of(ref, "openai/gpt-5.2")
    selection = Selection(model=ref, profile=profile, strict=True)
    assert_type(chain.models, tuple[ModelRef, ...])
    assert_type(str(selection), str)


def config() -> Config:
    try:
        return load_config({"agent": {"model": {"primary": "openai/gpt-5.2"}}})
    except ConfigError as error:
        assert_type(error.errors, tuple[str, ...])
        raise


def decide(cfg: Config) -> Action:
    routes: Routes = build_routes(cfg, catalog_for(cfg, curated=curated_catalog()))
    state = AttemptState.start(routes, now=1_700_000_000.0, seed=1)
    action = next_attempt(None, state)
    match action:
        case Call(target=target, delay_s=delay):
            assert_type(delay, float)
            failure = Failure(kind=FailureKind.SERVER, observed_at=1.0, model=target.model)
            return next_attempt(failure, action.state)
        case GiveUp(reason=reason):
            assert_type(reason.message, str)
            return action
        case _:
            assert_never(action)


def params(cfg: Config) -> dict[str, object]:
    resolver = modelcfg.ParamResolver(cfg, catalog_for(cfg, curated=curated_catalog()))
    choice: modelcfg.ModelChoice = modelcfg.resolve_choice("openai/gpt-5.2+precise", cfg)
    preset = resolver.preset(choice.preset or "fast")
    plan: modelcfg.ParamPlan = resolver.plan(
        ModelRef.parse("openai/gpt-5.2"), preset=preset, request={"temperature": None}
    )
    assert_type(plan.policy, modelcfg.ParamsPolicy)
    for problem in plan.problems:
        assert_type(problem.kind, modelcfg.ParamProblemKind)
        assert_type(problem.line(), str)
    layer = modelcfg.ParamLayer(
        source=modelcfg.ParamSource(kind=modelcfg.LayerKind.REQUEST), values={"seed": 1}
    )
    resolved: modelcfg.ResolvedParams = modelcfg.resolve_params([layer])
    assert_type(resolved.explain("seed"), str)
    try:
        resolver.preset("nope")
    except modelcfg.UnknownPresetError as error:
        assert_type(error.suggestions, tuple[str, ...])
    return dict(plan.wire)


def persist(state: AttemptState) -> AttemptState:
    return load_state(dump_state(state), AttemptState)


async def run(cfg: Config) -> str:
    selection = resolve_model("gpt-5.2@openai:default", cfg)
    events: list[ExecutorEvent] = []
    store: StateStore = MemoryStateStore()
    file_store: StateStore = FileStateStore("state.json")
    seen: list[StoreEvent] = []
    shared: list[StateStore] = [
        SqliteStateStore("state.db", max_sessions=1000),
        RedisStateStore("redis://127.0.0.1:6379/0", observers=[seen.append]),
    ]
    budgets: CounterStore = SqliteStateStore("state.db")
    assert_type(await budgets.add_to_counter("budget:day", 5, ttl_s=86400.0), int)
    async with httpx.AsyncClient() as client:
        executor = Executor.from_config(
            cfg,
            client=client,
            auth_store=AuthStore(path=default_auth_path(os.environ)),
            environ=os.environ,
            store=store if selection else file_store if shared else shared[0],
            observers=[events.append],
            limits=CallLimits(connect_s=5.0, first_token_s=None, idle_s=30.0, end_grace_s=1.0),
        )
        request = ChatRequest(messages=[Message(role="user", content="hi")])
        try:
            answer: Completion = await executor.complete(request, selection=selection)
        except AttemptsExhaustedError as error:
            assert_type(error.state, AttemptState)
            assert_type(error.failures, tuple[Failure, ...])
            cause = error.__cause__
            if isinstance(cause, RedactedError):
                assert_type(cause.status, int | None)
            elif isinstance(cause, DeadlineExceededError):
                assert_type(cause.limit_s, float)
            return error.reason
        try:
            async with executor.stream(request) as stream:
                text = await stream.text()
        except OutputInterruptedError as error:
            assert_type(error.failure, Failure)
            assert_type(error.failures, tuple[Failure, ...])
            assert_type(error.state, AttemptState)
            text = ""
        executor2 = Executor.from_config(
            cfg, client=client, credentials=StaticCredentials({"openai:default": "k"})
        )
        assert executor2.routes.chain.primary == answer.model
        session = modelcfg.SessionState().with_preset("precise").with_params({"seed": 1})
        try:
            tuned = await executor2.complete(request, session=session, preset="fast")
        except modelcfg.InvalidParamsError as error:
            assert_type(error.problems, tuple[modelcfg.ParamProblem, ...])
            raise
        for report in tuned.attempts:
            assert_type(report.arm, str | None)
            assert_type(dict(report.params), dict[str, modelcfg.typing.JSON])
        dropped = [e.dropped for e in events if isinstance(e, modelcfg.ParamsDropped)]
        assert_type(dropped, list[tuple[modelcfg.ParamProblem, ...]])
        tally = modelcfg.ExperimentTally()
        tally(events[0])
        for stats in tally.stats():
            assert_type(stats.success_rate, float | None)
        assert_type(
            modelcfg.ExperimentTally.from_json(tally.to_json()), tuple[modelcfg.ArmStats, ...]
        )
        return answer.text + text + modelcfg.__name__


async def with_test_doubles(cfg: Config) -> str:
    clock = FakeClock(now=0.0, tick_s=0.5)
    transport = ScriptedTransport(
        [httpx.ConnectError("down"), lambda request: httpx.Response(200, json={})],
        repeat_last=True,
    )
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(cfg, client=client, clock=clock, sleep=clock.sleep)
        answer = await executor.complete(ChatRequest(messages=[Message(role="user", content="x")]))
    assert_type(transport.requests, list[httpx.Request])
    assert_type(transport.remaining, int)
    assert_type(clock.sleeps, list[float])
    clock.advance(1.0)
    return answer.text + str(clock())


async def with_usage(cfg: Config, path: str) -> str:
    rates = Rates.of(cfg.agent.models[ModelRef.parse("openai/gpt-5.2")].pricing)
    cost = cost_of(Usage(input_tokens=10, output_tokens=5), rates)
    assert_type(cost.total, Decimal | None)
    assert_type(cost.unpriced, frozenset[TokenKind])
    budget = Budget(
        name="daily", scope=BudgetScope.TOTAL, limit_usd="1", period=BudgetPeriod.parse("day")
    )
    keeper = BudgetKeeper([budget], MemoryStateStore())
    held = await keeper.reserve(Spender(model=ModelRef.parse("openai/gpt-5.2")), cost)
    if isinstance(held, Refusal):
        return str(held)
    alerts = await keeper.settle(held, cost)
    assert_type(alerts, tuple[BudgetAlert, ...])
    with SQLiteLedger(path) as ledger:
        async with httpx.AsyncClient() as client:
            executor = Executor.from_config(cfg, client=client, ledger=ledger)
            answer = await executor.complete(
                ChatRequest(messages=[Message(role="user", content="x")]), api_key_id="team-a"
            )
        assert_type(answer.cost, Cost | None)
        assert_type(answer.spent, Cost)
        report = ledger.report(since_at=0.0, until_at=1e10, by=GroupBy.MODEL)
    assert_type(report.rows, tuple[ReportRow, ...])
    ledger_type: UsageLedger = MemoryLedger()
    return format_usd(report.total.cost_usd) + repr(ledger_type)


async def with_routing(cfg: Config) -> float:
    async with httpx.AsyncClient() as client:
        executor = Executor.from_config(cfg, client=client)
        await executor.complete(
            ChatRequest(messages=[Message(role="user", content="x")]),
            routing=modelcfg.RoutingPolicy.COST,
        )
        checks = await executor.check_health()
        assert_type(checks, tuple[modelcfg.HealthCheck, ...])
        await executor.flush_health()
    health = await executor.store.load_health()
    metrics = health.model_metrics
    session = modelcfg.SessionState().with_routing(modelcfg.RoutingPolicy.LATENCY)
    assert_type(session.routing, modelcfg.RoutingPolicy | None)
    return sum(m.score for m in metrics.values())
