"""
Request ids on every event and completion, log records with the same fields, and
OpenTelemetry spans checked with the SDK's in-memory exporter.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from modelcfg import (
    AttemptsExhaustedError,
    ChatRequest,
    Client,
    Config,
    ExecutorEvent,
    ModelCatalog,
    ModelInfo,
    ModelRef,
    Pricing,
    StaticCredentials,
    load_config,
)
from modelcfg._observe import EVENT_FIELDS, event_fields
from modelcfg.otel import OpenTelemetryObserver, cost_usd
from modelcfg.testing import FakeProvider

KEY = "sk-fake-observe-0123456789abcdef"
KEYS = StaticCredentials({"local:default": KEY})
HELLO = ChatRequest(messages=[{"role": "user", "content": "Hi"}])


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


def config_for(fake: FakeProvider, primary: str, *fallbacks: str) -> Config:
    return load_config(
        {
            "providers": {"local": {"api": "openai", "baseUrl": fake.base_url}},
            "agent": {"model": {"primary": primary, "fallbacks": list(fallbacks)}},
            "policy": {
                "backoffBaseSeconds": 0.001,
                "backoffMaxSeconds": 0.002,
                "maxTargetRetries": 1,
                "deadlineSeconds": 5,
            },
        }
    )


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def test_every_event_and_the_completion_carry_one_request_id(fake: FakeProvider) -> None:
    """The events of one request share the id its Completion has; the next request gets another."""
    events: list[ExecutorEvent] = []
    with Client(
        config_for(fake, "local/503", "local/ok"), credentials=KEYS, observers=[events.append]
    ) as client:
        first = client.complete(HELLO)
        count = len(events)
        second = client.complete(HELLO)

    assert {first.request_id} == {e.request_id for e in events[:count]}
    assert {second.request_id} == {e.request_id for e in events[count:]}
    assert first.request_id != second.request_id
    assert 16 == len(first.request_id)


def test_the_host_can_name_the_request(fake: FakeProvider) -> None:
    """A request_id given to Executor.complete() is the one events and the completion carry."""
    events: list[ExecutorEvent] = []
    with Client(
        config_for(fake, "local/ok"), credentials=KEYS, observers=[events.append]
    ) as client:
        answer = client._run(lambda: client.executor.complete(HELLO, request_id="host-7"))

    assert "host-7" == answer.request_id
    assert {"host-7"} == {e.request_id for e in events}


def test_log_records_carry_the_event_fields(
    fake: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """Each executor log record carries the request id and its event's fields as attributes."""
    caplog.set_level(logging.DEBUG, logger="modelcfg")
    with Client(config_for(fake, "local/503", "local/ok"), credentials=KEYS) as client:
        answer = client.complete(HELLO)
    records = [r for r in caplog.records if r.name.startswith("modelcfg._executor")]
    failed = [r for r in records if getattr(r, "event", None) == "AttemptFailed"]

    assert {answer.request_id} == {getattr(r, "request_id", None) for r in records}
    assert ["local/503", "local/503"] == [getattr(r, "model", None) for r in failed]
    assert {"server"} == {getattr(r, "failure_kind", None) for r in failed}
    assert all(KEY not in r.getMessage() for r in records)


def test_event_fields_name_only_documented_fields(fake: FakeProvider) -> None:
    """event_fields() uses only the names in EVENT_FIELDS."""
    events: list[ExecutorEvent] = []
    with Client(
        config_for(fake, "local/503", "local/ok"), credentials=KEYS, observers=[events.append]
    ) as client:
        client.complete(HELLO)

    assert set() == {k for e in events for k in event_fields(e)} - set(EVENT_FIELDS)


def attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


def test_spans_follow_the_genai_conventions(
    fake: FakeProvider, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    """A request with a failing primary makes one request span and one CLIENT span per attempt under it."""
    provider, exporter = spans
    catalog = ModelCatalog.from_records(
        [ModelInfo(ref=ModelRef.parse("local/ok"), pricing=Pricing(input=3.0, output=15.0))]
    )
    observer = OpenTelemetryObserver(tracer_provider=provider, catalog=catalog)
    with Client(
        config_for(fake, "local/503", "local/ok"), credentials=KEYS, observers=[observer]
    ) as client:
        answer = client.complete(HELLO)
    finished = exporter.get_finished_spans()
    request = [s for s in finished if s.kind is SpanKind.INTERNAL]
    attempts = [s for s in finished if s.kind is SpanKind.CLIENT]

    assert 1 == len(request)
    assert ["chat 503", "chat 503", "chat ok"] == [s.name for s in attempts]
    assert {request[0].context.span_id} == {s.parent.span_id for s in attempts if s.parent}
    assert [StatusCode.ERROR, StatusCode.ERROR, StatusCode.UNSET] == [
        s.status.status_code for s in attempts
    ]
    assert {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "local",
        "gen_ai.request.model": "503",
        "modelcfg.profile": "local:default",
        "modelcfg.request_id": answer.request_id,
        "modelcfg.attempt": 1,
        "modelcfg.reason": "first_attempt",
        "modelcfg.probe": False,
        "error.type": "server",
        "modelcfg.failure.kind": "server",
        "modelcfg.http.status": 503,
    } == attributes(attempts[0])
    success = attributes(attempts[-1])
    assert (12, 4) == (success["gen_ai.usage.input_tokens"], success["gen_ai.usage.output_tokens"])
    assert pytest.approx((12 * 3.0 + 4 * 15.0) / 1e6) == success["modelcfg.cost_usd"]
    summary = attributes(request[0])
    assert ("chat 503", "ok", 3) == (
        request[0].name,
        summary["gen_ai.response.model"],
        summary["modelcfg.attempts"],
    )
    assert all(KEY not in str(attributes(s)) for s in finished)


def test_a_give_up_ends_the_request_span_with_its_error(
    fake: FakeProvider, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    """A request that gives up ends its span in error, typed by the last failure's kind."""
    provider, exporter = spans
    observer = OpenTelemetryObserver(tracer_provider=provider)
    with (
        Client(
            config_for(fake, "local/content-filter"), credentials=KEYS, observers=[observer]
        ) as client,
        pytest.raises(AttemptsExhaustedError),
    ):
        client.complete(HELLO)
    request = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.INTERNAL]

    assert 1 == len(request)
    assert StatusCode.ERROR is request[0].status.status_code
    assert ("content_filter", "not_retryable", 1) == (
        attributes(request[0])["error.type"],
        attributes(request[0])["modelcfg.reason"],
        attributes(request[0])["modelcfg.attempts"],
    )
    assert "modelcfg.cost_usd" not in attributes(request[0])


def test_a_streamed_request_makes_the_same_spans(
    fake: FakeProvider, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    """A stream through the sync client ends its attempt and request spans once it is read."""
    provider, exporter = spans
    observer = OpenTelemetryObserver(tracer_provider=provider)
    with (
        Client(config_for(fake, "local/ok"), credentials=KEYS, observers=[observer]) as client,
        client.stream(HELLO) as answer,
    ):
        answer.text()

    assert [SpanKind.CLIENT, SpanKind.INTERNAL] == [s.kind for s in exporter.get_finished_spans()]
    assert "OpenTelemetryObserver(open_requests=0)" == repr(observer)


def test_cost_is_unknown_when_a_price_is() -> None:
    """cost_usd() is None when a price the usage needs is unknown, never a partial sum."""
    from modelcfg import Target, Usage

    target = Target.parse("local/ok with local:default")
    priced = ModelCatalog.from_records([ModelInfo(ref=target.model, pricing=Pricing(input=1.0))])

    assert 0.000012 == pytest.approx(cost_usd(priced, target, Usage(input_tokens=12)))
    assert cost_usd(priced, target, Usage(input_tokens=12, output_tokens=4)) is None
    assert cost_usd(ModelCatalog.from_records([]), target, Usage(input_tokens=1)) is None
