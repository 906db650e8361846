"""
What the decision core tells the shell to do next.

The :data:`Action` union is closed: :class:`Call` (make a call, possibly after a
delay) and :class:`GiveUp`. Retry, rotation and fallback are reasons on a call,
not classes. Dispatch with ``match`` and end with ``case _: assert_never(action)``.

Every action carries its successor state and the health updates the shell applies
to the shared health (:meth:`~modelcfg.HealthState.applied`), so the shell never
picks a transition itself.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from modelcfg._core._failures import Failure
from modelcfg._core._health import HealthUpdate
from modelcfg._core._reasons import Reason, Skip
from modelcfg._core._state import AttemptState
from modelcfg._core._values import Target

__all__ = ["Action", "Call", "GiveUp"]


@attrs.frozen(kw_only=True)
class Call:
    """
    Call *target*, after waiting *delay_s*.

    Attributes:
        target: The model and profile to call.
        delay_s: How long to wait before calling; ``0`` means at once.
        reason: Why this target.
        skipped: Candidates passed over on the way, in order.
        probe: Whether the call is a half-open probe; its claim is among
            :attr:`updates`, and a shell that shares its health with other callers
            claims it again as the call goes out (:meth:`~modelcfg.HealthState.claim_probe`).
        state: The successor state; pass it back with the call's outcome.
    """

    target: Target
    delay_s: float
    reason: Reason
    skipped: tuple[Skip, ...] = ()
    probe: bool = False
    state: AttemptState = attrs.field(repr=False)

    @property
    def updates(self) -> tuple[HealthUpdate, ...]:
        """
        What the shared health must learn: the latest call's outcome (or its probe given
        back, for a failure about the request only), then this call's probe claim.
        """
        return self.state.updates


@attrs.frozen(kw_only=True)
class GiveUp:
    """
    Stop: no further call is worth making.

    Attributes:
        reason: Why, with the provider's message when it decided.
        failures: Every failure of the request, in order.
        skipped: Candidates passed over in the last decision.
        state: The final state (finished).
    """

    reason: Reason
    failures: tuple[Failure, ...]
    skipped: tuple[Skip, ...] = ()
    state: AttemptState = attrs.field(repr=False)

    @property
    def updates(self) -> tuple[HealthUpdate, ...]:
        """
        What the shared health must learn: the latest call's outcome (or its probe given
        back, for a failure about the request only).
        """
        return self.state.updates


Action: TypeAlias = Call | GiveUp
"""What the shell must do next."""
