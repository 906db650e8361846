"""
Why the core chose a call, gave up, or passed a candidate over.

:class:`Reason` and :class:`Skip` are the words every action carries; the
codes are stable, for machines, and the messages are for people.
"""

from __future__ import annotations

import datetime
import enum

import attrs

from modelcfg._core._failures import FailureKind
from modelcfg._core._values import ModelRef, ProfileId

__all__ = ["Reason", "ReasonCode", "Skip", "SkipCode", "format_clock"]


class ReasonCode(enum.StrEnum):
    """
    Why the core chose a call, or gave up; stable, for machines.
    """

    FIRST_ATTEMPT = "first_attempt"
    """The first call of a request, to the first usable candidate."""
    IMAGE_ROUTE = "image_route"
    """The first call of a request with images, on the image chain."""
    PINNED_PROFILE = "pinned_profile"
    """The session pinned this profile for this model."""
    RETRY_SAME_TARGET = "retry_same_target"
    """The same model and profile again, after a backoff."""
    ROTATE_PROFILE = "rotate_profile"
    """The same model with the next profile."""
    FALLBACK_MODEL = "fallback_model"
    """The next model of the chain."""
    LARGER_CONTEXT = "larger_context"
    """The next model with a larger known context window, after an overflow."""
    RESTART_STREAM = "restart_stream"
    """A cut stream restarted on the next model."""
    WAIT_FOR_REOPENING = "wait_for_reopening"
    """Every candidate was blocked; this one reopens first."""
    NOT_RETRYABLE = "not_retryable"
    """The failure's kind gives up at once."""
    NO_LARGER_CONTEXT = "no_larger_context"
    """The prompt overflowed and no later model is known to have a larger context."""
    STREAM_NOT_RESTARTED = "stream_not_restarted"
    """A stream was cut after output reached a caller who did not ask for restarts."""
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    """The request made ``max_attempts`` calls."""
    DEADLINE_REACHED = "deadline_reached"
    """The next call could not start before the request's deadline."""
    CHAIN_EXHAUSTED = "chain_exhausted"
    """No candidate is left that may still be called."""


class SkipCode(enum.StrEnum):
    """
    Why a candidate was passed over without a call.
    """

    COOLING_DOWN = "cooling_down"
    DISABLED = "disabled"
    CIRCUIT_OPEN = "circuit_open"
    PROBE_IN_FLIGHT = "probe_in_flight"
    CONTEXT_TOO_SMALL = "context_too_small"
    NO_CREDENTIAL = "no_credential"
    LACKS_TOOLS = "lacks_tools"
    LACKS_STREAMING = "lacks_streaming"
    LACKS_IMAGE_INPUT = "lacks_image_input"
    LACKS_PDF_INPUT = "lacks_pdf_input"
    LACKS_AUDIO_INPUT = "lacks_audio_input"
    LACKS_JSON_OUTPUT = "lacks_json_output"
    LACKS_SCHEMA_OUTPUT = "lacks_schema_output"
    LACKS_REASONING = "lacks_reasoning"
    OVER_BUDGET = "over_budget"
    """A cost limit refused the call before it went out: a budget (with a profile), or
    the request's own limit (for the whole model)."""


def format_clock(at: float) -> str:
    """
    *at* (seconds since the epoch) as a UTC wall-clock time ``HH:MM:SS``.

    A time no clock can show (not finite, or outside the years 1 to 9999) is
    printed as the number itself, ``1.7e+12 s since the epoch``, rather than raising.
    """
    try:
        return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%H:%M:%S")
    except (ValueError, OverflowError, OSError):
        return f"{at:g} s since the epoch"


_BLOCK_WORDS = {
    SkipCode.COOLING_DOWN: "cooling down",
    SkipCode.DISABLED: "disabled",
    SkipCode.CIRCUIT_OPEN: "circuit open",
    SkipCode.PROBE_IN_FLIGHT: "another caller's probe is out",
}

_NEED_WORDS = {
    SkipCode.LACKS_TOOLS: "cannot call tools",
    SkipCode.LACKS_STREAMING: "cannot stream",
    SkipCode.LACKS_IMAGE_INPUT: "cannot read images",
    SkipCode.LACKS_PDF_INPUT: "cannot read PDFs",
    SkipCode.LACKS_AUDIO_INPUT: "cannot hear audio",
    SkipCode.LACKS_JSON_OUTPUT: "cannot answer in JSON",
    SkipCode.LACKS_SCHEMA_OUTPUT: "cannot follow a JSON schema",
    SkipCode.LACKS_REASONING: "cannot reason",
    SkipCode.OVER_BUDGET: "over the request's cost limit",
}
"""What each need the model lacks is called in a skip's message."""


@attrs.frozen(kw_only=True)
class Reason:
    """
    Why the core did what it did.

    Attributes:
        code: The stable, machine-readable reason.
        message: One sentence for people.
    """

    code: ReasonCode
    message: str

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


@attrs.frozen(kw_only=True)
class Skip:
    """
    A candidate passed over without a call.

    Attributes:
        model: The model skipped (or whose profile was skipped).
        profile: The profile skipped, or ``None`` when the whole model was.
        code: Why.
        until_at: When the block ends, if it ends.
        kind: The failure kind behind the block, if any.
        detail: Extra words for people (the context windows, for instance).
        model_scoped: Whether the block is on the profile with this model only (a
            cooldown of the pair, or the model's circuit) rather than the whole profile.
    """

    model: ModelRef
    profile: ProfileId | None = None
    code: SkipCode
    until_at: float | None = None
    kind: FailureKind | None = None
    detail: str = ""
    model_scoped: bool = False

    @property
    def message(self) -> str:
        """
        The skip as one line, like ``anthropic:default skipped: cooling down until
        12:04:05 (rate limited)``.

        An open circuit names the model (``anthropic/claude-opus-4-5 skipped: circuit
        open until ...``); a block of the profile with one model only (an overload,
        a missing model, with the default rules) names the profile with the model.
        """
        if self.profile is None or self.code is SkipCode.CIRCUIT_OPEN:
            subject = str(self.model)  # The block is the model's own.
        elif self.model_scoped:
            subject = f"{self.profile} with {self.model}"
        else:
            subject = str(self.profile)
        if self.code is SkipCode.CONTEXT_TOO_SMALL:
            return f"{subject} skipped: context window too small ({self.detail})"
        if self.code is SkipCode.NO_CREDENTIAL:
            return f"{self.profile or subject} skipped: no credential ({self.detail})"
        if self.code is SkipCode.OVER_BUDGET and self.profile is not None:
            return f"{self.profile} with {self.model} skipped: over {self.detail}"
        if self.code in _NEED_WORDS:
            return f"{subject} skipped: {_NEED_WORDS[self.code]} ({self.detail})"
        words = _BLOCK_WORDS[self.code]
        until = f" until {format_clock(self.until_at)}" if self.until_at is not None else ""
        why = f" ({self.kind.value.replace('_', ' ')})" if self.kind is not None else ""
        return f"{subject} skipped: {words}{until}{why}"

    def __str__(self) -> str:
        return self.message
