"""
What the executor tells logs and tracers about a request: one set of fields per event.

:func:`event_fields` is the one place that names them; the executor's log records
carry them as ``extra`` (so a formatter can print ``%(request_id)s``), and
:mod:`modelcfg.otel` puts the same facts on spans.
"""

from __future__ import annotations

import logging
from typing import Final

import modelcfg._log  # noqa: F401  (the modelcfg logger's NullHandler comes with logging)
from modelcfg._executor._reports import (
    AttemptFailed,
    AttemptStarted,
    AttemptSucceeded,
    CandidateSkipped,
    ExecutorEvent,
    HealthChanged,
    ParamsDropped,
    RequestGaveUp,
    TierChanged,
)
from modelcfg.usage._budgets import BudgetAlert

__all__ = ["EVENT_FIELDS", "event_fields", "log_event"]

EVENT_FIELDS: Final = (
    "request_id",
    "event",
    "attempt",
    "model",
    "provider",
    "profile",
    "reason_code",
    "failure_kind",
    "status",
    "latency_s",
    "input_tokens",
    "output_tokens",
    "skip_code",
)
"""Every field a log record of the executor may carry; each record has ``request_id`` and
``event`` and those of the others that apply."""


def event_fields(event: ExecutorEvent) -> dict[str, object]:
    """
    The facts of *event* as flat fields (see :data:`EVENT_FIELDS`); no secrets.
    """
    fields: dict[str, object] = {"request_id": event.request_id, "event": type(event).__name__}
    match event:
        case AttemptStarted(number=number, target=target, reason=reason):
            fields.update(
                attempt=number,
                model=str(target.model),
                provider=target.model.provider,
                profile=str(target.profile),
                reason_code=reason.code.value,
            )
        case AttemptFailed(number=number, target=target, failure=failure, latency_s=latency):
            fields.update(
                attempt=number,
                model=str(target.model),
                provider=target.model.provider,
                profile=str(target.profile),
                failure_kind=failure.kind.value,
                status=failure.status,
                latency_s=latency,
            )
        case AttemptSucceeded(number=number, target=target, latency_s=latency, usage=usage):
            fields.update(
                attempt=number,
                model=str(target.model),
                provider=target.model.provider,
                profile=str(target.profile),
                latency_s=latency,
                input_tokens=usage.total_input_tokens,
                output_tokens=usage.output_tokens,
            )
        case CandidateSkipped(code=code):
            fields.update(skip_code=code)
        case RequestGaveUp(reason=reason, failures=failures):
            fields.update(reason_code=reason.code.value)
            if failures:
                fields.update(failure_kind=failures[-1].kind.value)
        case TierChanged(to_profile=profile):
            fields.update(profile=str(profile), provider=profile.provider)
        case ParamsDropped(number=number, target=target):
            fields.update(
                attempt=number,
                model=str(target.model),
                provider=target.model.provider,
                profile=str(target.profile),
            )
        case BudgetAlert():
            pass  # its sentence says it all
    return fields


def log_event(logger: logging.Logger, event: ExecutorEvent) -> None:
    """
    Log *event* on *logger*, its fields as ``extra``: a give-up and dropped parameters
    as warnings, a failed attempt, a skip or a move to a paid key as info, the rest as
    debug.
    """
    match event:
        case RequestGaveUp() | ParamsDropped():
            level = logging.WARNING
        case AttemptFailed() | CandidateSkipped() | TierChanged() | BudgetAlert():
            level = logging.INFO
        case HealthChanged():
            level = logging.WARNING
        case _:
            level = logging.DEBUG
    if not logger.isEnabledFor(level):
        return
    logger.log(level, "%s", _describe(event), extra=event_fields(event))


def _describe(event: ExecutorEvent) -> str:
    match event:
        case AttemptStarted(number=number, target=target, reason=reason):
            return f"attempt {number} on {target}: {reason}"
        case AttemptFailed(number=number, target=target, failure=failure):
            return f"attempt {number} on {target} failed: {failure}"
        case AttemptSucceeded(number=number, target=target, latency_s=latency):
            return f"attempt {number} on {target} answered in {latency:.3f} s"
        case CandidateSkipped(message=message):
            return message
        case RequestGaveUp(reason=reason):
            return f"request gave up: {reason}"
        case TierChanged(from_profile=before, to_profile=after):
            return f"{before} -> {after}: this request now uses a paid API key"
        case ParamsDropped(number=number, target=target, dropped=dropped):
            left = "; ".join(problem.line() for problem in dropped)
            return f"attempt {number} on {target} goes without parameters it does not take: {left}"
        case BudgetAlert(message=message):
            return message
        case HealthChanged(subject=subject, event=crossed, score=score):
            return f"{subject} {crossed.value} (health score {score:.2f})"
