"""
Tests for the decision core's fast record builders: each builds what ``__init__`` builds.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from modelcfg import Failure, FailureKind, ModelRef, ProfileId, Target
from modelcfg._core._actions import (
    Call,
    GiveUp,
    Reason,
    ReasonCode,
    Skip,
    SkipCode,
    _new_call,
    _new_give_up,
    _new_reason,
    _new_skip,
)
from modelcfg._core._health import (
    Circuit,
    HealthState,
    KindCounter,
    Window,
    _circuit,
    _counter,
    _health,
    _window,
)
from modelcfg._core._slots import slot_setters
from modelcfg._core._state import AttemptRecord, AttemptState, Routes, _record
from modelcfg._core._values import FallbackChain

T0 = 1_700_000_000.0
MODEL = ModelRef.parse("anthropic/opus")
PROFILE = ProfileId.parse("anthropic:work")
TARGET = Target(model=MODEL, profile=PROFILE)
FAILURE = Failure(kind=FailureKind.SERVER, observed_at=T0, status=500)
WINDOW = Window(kind=FailureKind.RATE_LIMITED, until_at=T0 + 30, last_failure_at=T0)
STATE = AttemptState.start(Routes(chain=FallbackChain.of(MODEL)), now=T0)
REASON = Reason(code=ReasonCode.FIRST_ATTEMPT, message="first call")
SKIP = Skip(model=MODEL, profile=PROFILE, code=SkipCode.COOLING_DOWN, until_at=T0 + 30)

CASES: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
    (
        "window",
        lambda: _window(FailureKind.AUTH, T0 + 300, 2, T0, T0 + 360),
        lambda: Window(
            kind=FailureKind.AUTH,
            until_at=T0 + 300,
            strikes=2,
            last_failure_at=T0,
            probe_until_at=T0 + 360,
        ),
    ),
    (
        "circuit",
        lambda: _circuit(((T0, False),), T0 + 30, None),
        lambda: Circuit(outcomes=((T0, False),), open_until_at=T0 + 30),
    ),
    ("counter", lambda: _counter(3, T0), lambda: KindCounter(count=3, last_at=T0)),
    (
        "health",
        lambda: _health({PROFILE: WINDOW}, {}, {}, {}, {}),
        lambda: HealthState(cooldowns={PROFILE: WINDOW}),
    ),
    (
        "reason",
        lambda: _new_reason(ReasonCode.FIRST_ATTEMPT, "first call"),
        lambda: REASON,
    ),
    (
        "skip",
        lambda: _new_skip(MODEL, PROFILE, SkipCode.COOLING_DOWN, T0 + 30),
        lambda: SKIP,
    ),
    (
        "call",
        lambda: _new_call(TARGET, 0.5, REASON, (SKIP,), False, STATE),
        lambda: Call(target=TARGET, delay_s=0.5, reason=REASON, skipped=(SKIP,), state=STATE),
    ),
    (
        "give up",
        lambda: _new_give_up(REASON, (FAILURE,), (), STATE),
        lambda: GiveUp(reason=REASON, failures=(FAILURE,), state=STATE),
    ),
    (
        "record",
        lambda: _record(1, TARGET, ReasonCode.FIRST_ATTEMPT, 0.0, FAILURE, T0),
        lambda: AttemptRecord(
            number=1,
            target=TARGET,
            reason=ReasonCode.FIRST_ATTEMPT,
            delay_s=0.0,
            failure=FAILURE,
            ended_at=T0,
        ),
    ),
]


@pytest.mark.parametrize(
    ("built", "constructed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_builder_equals_its_constructor(
    built: Callable[[], object], constructed: Callable[[], object]
) -> None:
    """A fast builder gives a record equal to, and of the same class as, the one __init__ gives."""
    fast, slow = built(), constructed()

    assert slow == fast
    assert type(slow) is type(fast)
    assert attrs.asdict(slow, recurse=False) == attrs.asdict(fast, recurse=False)  # type: ignore[arg-type]


def test_built_records_stay_frozen() -> None:
    """A record made by a builder refuses assignment like any frozen attrs instance."""
    window = _window(FailureKind.AUTH, T0, 1, T0)

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        window.until_at = T0 + 1  # type: ignore[misc]


def test_slot_setters_refuse_a_class_without_slots() -> None:
    """slot_setters() names the field when a class keeps its fields in a __dict__."""

    @attrs.define(slots=False)
    class Loose:
        value: int

    with pytest.raises(TypeError, match=r"Loose\.value is not a slot"):
        slot_setters(Loose)
