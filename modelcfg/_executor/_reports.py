"""
What the host sees of a request: completions, attempt reports and the observer events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeAlias

import attrs

from modelcfg._config._schema import AuthMode
from modelcfg._config._wire_params import ParamProblem
from modelcfg._core._cost import ZERO_COST, Cost
from modelcfg._core._failures import Failure
from modelcfg._core._metrics import HealthEvent
from modelcfg._core._reasons import Reason
from modelcfg._core._state import AttemptState, SessionState
from modelcfg._core._values import ModelRef, ProfileId, Target
from modelcfg._messages import (
    ChatResponse,
    Usage,
)
from modelcfg.typing import JSON
from modelcfg.usage._budgets import BudgetAlert

# --- what the host sees ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AttemptReport:
    """
    One attempt of a request, as it happened.

    Attributes:
        number: 1 for the first attempt, then 2, 3, ...
        target: The model and profile called.
        reason: Why the core chose this target.
        delay_s: How long the executor waited before the call.
        started_at: When the call went out, in seconds since the epoch.
        latency_s: From the call going out to its end (success or failure).
        first_token_s: From the call going out to the first content, when any arrived.
        failure: How it failed; ``None`` for the successful attempt.
        params: The parameters its request body carried, as the provider's API
            spells them (see :class:`~modelcfg.ParamPlan`); a fallback model may get
            other ones than the primary.
        arm: The experiment arm of the request, ``experiment:arm``, when it is in one.
        usage: The tokens the provider reported for it: the answer's, or what a
            failed or interrupted attempt was billed; ``None`` when it reported none.
        cost: What the attempt cost at the catalog's prices: zero for an error
            response without usage (not billed), unknown when usage that may have
            been billed was not reported (a timeout, a cut stream); ``None`` only for
            reports made without accounting.
    """

    number: int
    target: Target
    reason: Reason
    delay_s: float
    started_at: float
    latency_s: float
    first_token_s: float | None = None
    failure: Failure | None = None
    params: Mapping[str, JSON] = attrs.field(factory=dict, hash=False)
    arm: str | None = None
    usage: Usage | None = None
    cost: Cost | None = None


@attrs.frozen(kw_only=True)
class Completion:
    """
    The answer to a request, and how it was obtained.

    Attributes:
        response: The answer of the successful attempt.
        target: The model and profile that answered.
        attempts: Every attempt, failed ones first, the successful one last.
        state: The final decision state (history, session, health snapshot).
        cost: What the answer cost at the catalog's prices (``Cost.total`` is
            ``None`` when a price, or the usage itself, is unknown).
        request_id: The request's id, also on every event and log record about it.
        arm: The experiment arm of the request, ``experiment:arm``, when it is in one.

    ``usage`` and ``cost`` are the answering attempt's; failed attempts that were
    billed anyway are in ``attempts``, and :attr:`spent` adds them up.
    """

    response: ChatResponse
    target: Target
    attempts: tuple[AttemptReport, ...]
    state: AttemptState = attrs.field(repr=False)
    cost: Cost | None = None
    request_id: str = ""
    arm: str | None = None

    @property
    def spent(self) -> Cost:
        """
        What the whole request cost: the answer and every failed attempt that was billed.
        """
        total = ZERO_COST
        for attempt in self.attempts:
            if attempt.cost is not None:
                total += attempt.cost
        return total

    @property
    def model(self) -> ModelRef:
        """
        The model that answered.
        """
        return self.target.model

    @property
    def profile(self) -> ProfileId:
        """
        The profile whose credentials answered.
        """
        return self.target.profile

    @property
    def text(self) -> str:
        """
        The answer's text.
        """
        return self.response.text

    @property
    def usage(self) -> Usage:
        """
        The tokens of the successful attempt.
        """
        return self.response.usage

    @property
    def session(self) -> SessionState:
        """
        The session after this request (last-known-good profile updated).
        """
        return self.state.session


@attrs.frozen(kw_only=True)
class StreamRestarted:
    """
    Yielded by a stream when the answer is being restarted on another target: the
    caller must discard everything it received before this event.

    Attributes:
        failure: Why the previous stream ended.
    """

    failure: Failure


# --- observer events ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AttemptStarted:
    """An attempt is about to go out (after its delay)."""

    number: int
    target: Target
    reason: Reason
    delay_s: float
    probe: bool
    request_id: str = ""
    arm: str | None = None


@attrs.frozen(kw_only=True)
class CandidateSkipped:
    """The core passed over a candidate without calling it."""

    message: str
    code: str
    request_id: str = ""


@attrs.frozen(kw_only=True)
class AttemptFailed:
    """An attempt failed."""

    number: int
    target: Target
    failure: Failure
    latency_s: float
    request_id: str = ""
    arm: str | None = None


@attrs.frozen(kw_only=True)
class AttemptSucceeded:
    """An attempt answered."""

    number: int
    target: Target
    latency_s: float
    first_token_s: float | None
    usage: Usage
    cost: Cost | None = None
    request_id: str = ""
    arm: str | None = None


@attrs.frozen(kw_only=True)
class ParamsDropped:
    """
    Under ``paramsPolicy: "drop"``, an attempt goes out without parameters its model
    or provider does not take (each with the layer it came from and why).
    """

    number: int
    target: Target
    dropped: tuple[ParamProblem, ...]
    request_id: str = ""


@attrs.frozen(kw_only=True)
class RequestGaveUp:
    """The request gave up."""

    reason: Reason
    failures: tuple[Failure, ...]
    request_id: str = ""


@attrs.frozen(kw_only=True)
class TierChanged:
    """
    Rotation moved from a subscription (OAuth or token) profile to a paid API key:
    a host may want to tell its user that requests now cost money.
    """

    from_profile: ProfileId
    to_profile: ProfileId
    from_mode: AuthMode
    to_mode: AuthMode
    request_id: str = ""


@attrs.frozen(kw_only=True)
class HealthChanged:
    """
    A model's or a profile's health score crossed a threshold: it fell below
    ``DEGRADED_BELOW`` (0.5), or a degraded one rose above ``RECOVERED_ABOVE`` (0.8).

    Delivered when the metrics are merged into the shared health, so at most about
    once a second for successes; ``request_id`` is the request whose store update
    carried the merge (empty after :meth:`~modelcfg.Executor.flush_health` or
    :meth:`~modelcfg.Executor.check_health`).

    Attributes:
        subject: The model (``provider/model``) or the profile (``provider:name``).
        event: ``degraded`` or ``recovered``.
        score: The score after the update, 0 to 1.
    """

    subject: str
    event: HealthEvent
    score: float
    request_id: str = ""


# Every event carries ``request_id``: the id of the request it is about (the one on
# its Completion and its log records).

ExecutorEvent: TypeAlias = (
    AttemptStarted
    | CandidateSkipped
    | AttemptFailed
    | AttemptSucceeded
    | RequestGaveUp
    | TierChanged
    | ParamsDropped
    | BudgetAlert
    | HealthChanged
)
"""Everything an observer may be told."""


class Observer(Protocol):
    """
    Receives executor events, for logging and metrics. Must not block; exceptions it
    raises are logged and ignored.
    """

    def __call__(self, event: ExecutorEvent, /) -> None: ...
