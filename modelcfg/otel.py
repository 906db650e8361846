"""
OpenTelemetry spans for modelcfg requests (``pip install 'modelcfg[otel]'``).

:class:`OpenTelemetryObserver` is an executor observer: install it with
``Executor.from_config(..., observers=[OpenTelemetryObserver()])`` (or on a
:class:`~modelcfg.Client`). It follows the OpenTelemetry semantic conventions for
generative AI client spans and makes, per request:

- one span for the request, ``chat {model}`` (the first model tried), ending when
  the request answers or gives up; its ``gen_ai.response.model`` is the model that
  answered;
- one ``CLIENT`` span per attempt, a child of the request's span, ``chat {model}``.

Both carry ``gen_ai.operation.name`` (``chat``), ``gen_ai.provider.name``,
``gen_ai.request.model``, and, once known, ``gen_ai.response.model``,
``gen_ai.usage.input_tokens`` and ``gen_ai.usage.output_tokens``. A failure sets
``error.type`` to its kind (``rate_limited``, ``auth``, ...) and the span's status
to error. modelcfg's own facts go under ``modelcfg.``: ``request_id``,
``profile``, ``attempt``, ``reason``, ``failure.kind``, ``http.status``,
``attempts`` and ``cost_usd`` (from the catalog's prices, when every price the
usage needs is known). Skipped candidates and moves to a paid key are span
events on the request's span.

Neither prompts nor answers are recorded, and no credential ever is.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

try:
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "modelcfg.otel needs the OpenTelemetry API: pip install 'modelcfg[otel]'"
    ) from error

from modelcfg._executor._reports import (
    AttemptFailed,
    AttemptStarted,
    AttemptSucceeded,
    CandidateSkipped,
    ExecutorEvent,
    RequestGaveUp,
    TierChanged,
)
from modelcfg.usage._budgets import BudgetAlert

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from modelcfg._catalog._catalog import ModelCatalog
    from modelcfg._core._values import Target
    from modelcfg._messages import Usage

__all__ = ["OpenTelemetryObserver", "cost_usd"]

_OPEN_REQUESTS: Final = 10_000
"""The most requests whose spans are kept open at once; past that the oldest is ended
(a request cancelled by its caller sends no last event)."""


def cost_usd(catalog: ModelCatalog, target: Target, usage: Usage) -> float | None:
    """
    What *usage* on *target*'s model cost in USD by *catalog*'s prices, or ``None``
    when a price it needs is unknown (an unknown price is never taken as zero).
    """
    info = catalog.get(target.model)
    pricing = info.pricing if info is not None else None
    if pricing is None:
        return None
    parts = (
        (usage.input_tokens, pricing.input),
        (usage.output_tokens, pricing.output),
        (usage.cache_read_tokens, pricing.cache_read),
        (usage.cache_write_tokens, pricing.cache_write),
    )
    total = 0.0
    for tokens, price in parts:
        if tokens == 0:
            continue
        if price is None:
            return None
        total += tokens * price / 1_000_000
    return total


def _target_attributes(target: Target) -> dict[str, str]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": target.model.provider,
        "gen_ai.request.model": target.model.model,
        "modelcfg.profile": str(target.profile),
    }


class _Request:
    __slots__ = ("attempt", "attempts", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.attempt: Span | None = None
        self.attempts = 0


class OpenTelemetryObserver:
    """
    An executor observer that records requests and attempts as OpenTelemetry spans.

    Args:
        tracer_provider: Where spans go; the global provider by default.
        catalog: Prices for ``modelcfg.cost_usd``; no cost is recorded without one.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        catalog: ModelCatalog | None = None,
    ) -> None:
        self._tracer: Tracer = trace.get_tracer("modelcfg", tracer_provider=tracer_provider)
        self._catalog = catalog
        self._requests: OrderedDict[str, _Request] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenTelemetryObserver(open_requests={len(self._requests)})"

    def __call__(self, event: ExecutorEvent, /) -> None:
        with self._lock:
            match event:
                case AttemptStarted():
                    self._started(event)
                case AttemptFailed():
                    self._failed(event)
                case AttemptSucceeded():
                    self._succeeded(event)
                case RequestGaveUp():
                    self._gave_up(event)
                case CandidateSkipped(message=message, code=code):
                    self._request(event.request_id, None).span.add_event(
                        "modelcfg.candidate_skipped",
                        {"modelcfg.skip.code": code, "modelcfg.skip.message": message},
                    )
                case TierChanged(from_profile=before, to_profile=after):
                    self._request(event.request_id, None).span.add_event(
                        "modelcfg.tier_changed",
                        {"modelcfg.from_profile": str(before), "modelcfg.to_profile": str(after)},
                    )
                case BudgetAlert(budget=budget, message=message):
                    self._request(event.request_id, None).span.add_event(
                        "modelcfg.budget_alert",
                        {"modelcfg.budget": budget, "modelcfg.budget.message": message},
                    )

    def _request(self, request_id: str, target: Target | None) -> _Request:
        request = self._requests.get(request_id)
        if request is not None:
            return request
        name = f"chat {target.model.model}" if target is not None else "chat"
        attributes: dict[str, str] = {"modelcfg.request_id": request_id}
        if target is not None:
            attributes.update(_target_attributes(target))
        span = self._tracer.start_span(name, kind=SpanKind.INTERNAL, attributes=attributes)
        request = self._requests[request_id] = _Request(span)
        while len(self._requests) > _OPEN_REQUESTS:
            _, oldest = self._requests.popitem(last=False)
            oldest.span.set_status(Status(StatusCode.UNSET))
            oldest.span.end()
        return request

    def _started(self, event: AttemptStarted) -> None:
        request = self._request(event.request_id, event.target)
        if not request.attempts:
            request.span.update_name(f"chat {event.target.model.model}")
            request.span.set_attributes(_target_attributes(event.target))
        request.attempts += 1
        context = trace.set_span_in_context(request.span)
        attributes: dict[str, str | int | bool] = {
            **_target_attributes(event.target),
            "modelcfg.request_id": event.request_id,
            "modelcfg.attempt": event.number,
            "modelcfg.reason": event.reason.code.value,
            "modelcfg.probe": event.probe,
        }
        request.attempt = self._tracer.start_span(
            f"chat {event.target.model.model}",
            context=context,
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )

    def _attempt(self, request_id: str) -> Span | None:
        request = self._requests.get(request_id)
        if request is None or request.attempt is None:
            return None
        span, request.attempt = request.attempt, None
        return span

    def _failed(self, event: AttemptFailed) -> None:
        span = self._attempt(event.request_id)
        if span is None:
            return
        kind = event.failure.kind.value
        span.set_attribute("error.type", kind)
        span.set_attribute("modelcfg.failure.kind", kind)
        if event.failure.status is not None:
            span.set_attribute("modelcfg.http.status", event.failure.status)
        span.set_status(Status(StatusCode.ERROR, kind))
        span.end()

    def _succeeded(self, event: AttemptSucceeded) -> None:
        attributes: dict[str, str | int | float] = {
            "gen_ai.response.model": event.target.model.model,
            "gen_ai.usage.input_tokens": event.usage.total_input_tokens,
            "gen_ai.usage.output_tokens": event.usage.output_tokens,
        }
        if self._catalog is not None:
            cost = cost_usd(self._catalog, event.target, event.usage)
            if cost is not None:
                attributes["modelcfg.cost_usd"] = cost
        span = self._attempt(event.request_id)
        if span is not None:
            span.set_attributes(attributes)
            span.end()
        request = self._requests.pop(event.request_id, None)
        if request is not None:
            request.span.set_attributes(
                {
                    **attributes,
                    "gen_ai.provider.name": event.target.model.provider,
                    "modelcfg.profile": str(event.target.profile),
                    "modelcfg.attempts": request.attempts,
                }
            )
            request.span.end()

    def _gave_up(self, event: RequestGaveUp) -> None:
        request = self._requests.pop(event.request_id, None) or _Request(
            self._tracer.start_span("chat", attributes={"modelcfg.request_id": event.request_id})
        )
        if request.attempt is not None:  # a stream cut after output: its attempt ends here
            request.attempt.end()
        kind = event.failures[-1].kind.value if event.failures else event.reason.code.value
        request.span.set_attributes(
            {
                "error.type": kind,
                "modelcfg.failure.kind": kind,
                "modelcfg.reason": event.reason.code.value,
                "modelcfg.attempts": request.attempts,
            }
        )
        request.span.set_status(Status(StatusCode.ERROR, str(event.reason)))
        request.span.end()
