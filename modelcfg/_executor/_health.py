"""
Measured health in the shell: batching the metrics of calls, and active health checks.

What lives here:

- :class:`MetricsBatch` keeps what calls measured in this process and hands it to
  the store's health update at most every ``flush_s`` seconds, or with a write
  that happens anyway (a failure, a probe's claim), so a success that changes no
  circuit writes nothing. The merge itself is the pure
  :meth:`~modelcfg.HealthState.with_measured`.
- :func:`check_target` makes one cheap request to a target (a models listing where
  the wire format has one, else a one-token completion) and says what it measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Literal

import anyio
import attrs
import httpx

from modelcfg._core._failures import Failure, FailureKind
from modelcfg._core._health import ClaimProbe, HealthState, HealthUpdate, RecordFailure
from modelcfg._core._metrics import HealthEvent, Measured, crossings
from modelcfg._core._values import Target
from modelcfg._executor._reports import HealthChanged
from modelcfg._messages import ChatRequest, Message
from modelcfg.adapters._errors import ProviderHTTPError
from modelcfg.adapters._http import HTTPAdapter, read_error_body
from modelcfg.adapters._protocol import CallLimits
from modelcfg.exceptions import CredentialsError

if TYPE_CHECKING:
    from modelcfg._executor._executor import Executor

__all__ = [
    "DEFAULT_FLUSH_S",
    "HealthCheck",
    "MetricsBatch",
    "check_target",
    "counts_against",
]

DEFAULT_FLUSH_S: Final = 1.0
"""How often, at most, the successes' metrics of one executor are written to the store."""

MAX_PENDING: Final = 1024
"""A batch this large is written at the next store update, whatever the time."""

_REQUEST_KINDS: Final = frozenset(
    {
        FailureKind.CONTEXT_OVERFLOW,
        FailureKind.CONTENT_FILTER,
        FailureKind.INVALID_REQUEST,
        FailureKind.UNSUPPORTED,
    }
)
"""Failures about the request, not the target: they are not counted in its health."""


def counts_against(failure: Failure | None) -> bool:
    """
    Whether an attempt that ended with *failure* is measured (successes always are).

    A failure about the request (too long, filtered, malformed, asking for what the
    model lacks) says nothing of the target's health.
    """
    return failure is None or failure.kind not in _REQUEST_KINDS


def writes_anyway(updates: tuple[HealthUpdate, ...]) -> bool:
    """
    Whether applying *updates* writes the store whatever the metrics (a failure or a
    probe's claim changes the stored health).
    """
    return any(isinstance(u, RecordFailure | ClaimProbe) for u in updates)


class MetricsBatch:
    """
    What this process measured and has not yet written to the shared health.

    Args:
        flush_s: The least time between two writes made for the metrics alone.
        clock: The monotonic clock that times them.
    """

    def __init__(self, flush_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.flush_s = flush_s
        self._clock = clock
        self._pending: list[Measured] = []
        self._since: float | None = None
        self._events: list[tuple[str, HealthEvent, float]] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, sample: Measured) -> None:
        """
        Keep *sample* for the next write.
        """
        if not self._pending:
            self._since = self._clock()
        self._pending.append(sample)

    def due(self) -> bool:
        """
        Whether the batch should be written now for its own sake.
        """
        if not self._pending or self._since is None:
            return False
        return len(self._pending) >= MAX_PENDING or self._clock() - self._since >= self.flush_s

    def merge(self, *, write_anyway: bool) -> Callable[[HealthState], HealthState]:
        """
        What a store update should add to the health it writes: the batch when the
        update writes anyway or the batch is due, else nothing. Taking the batch
        empties it; :meth:`announce` then tells what crossed a threshold.
        """
        if not self._pending or not (write_anyway or self.due()):
            return _unchanged
        batch = tuple(self._pending)
        self._pending.clear()
        self._since = None
        events = self._events

        def merged(health: HealthState) -> HealthState:
            after = health.with_measured(batch)
            events[:] = [
                (str(key), event, after.model_metrics[key].score)
                for key, event in crossings(health.model_metrics, after.model_metrics)
            ] + [
                (str(key), event, after.profile_metrics[key].score)
                for key, event in crossings(health.profile_metrics, after.profile_metrics)
            ]
            return after

        return merged

    def announce(self, notify: Callable[[HealthChanged], None], request_id: str = "") -> None:
        """
        Tell *notify* of every threshold the latest merge crossed, as part of the
        request *request_id* whose store update carried the merge.
        """
        events, self._events[:] = tuple(self._events), []
        for subject, event, score in events:
            notify(HealthChanged(subject=subject, event=event, score=score, request_id=request_id))


def _unchanged(health: HealthState) -> HealthState:
    return health


# --- active checks -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class HealthCheck:
    """
    What one active health check found.

    Attributes:
        target: The model and profile checked.
        via: ``models`` (a models listing) or ``completion`` (a one-token completion).
        latency_s: How long it took.
        failure: How it failed, or ``None`` when the target answered.
        sent: Whether the check went out: a profile without a usable credential
            fails as ``auth`` (code ``missing_credentials``) without a request, and
            says nothing of the target's health.
    """

    target: Target
    via: Literal["models", "completion"]
    latency_s: float
    failure: Failure | None = None
    sent: bool = True

    @property
    def ok(self) -> bool:
        """
        Whether the target answered.
        """
        return self.failure is None


_LISTINGS: Final = {"openai": "/chat/completions", "anthropic": "/v1/messages"}
"""The wire formats with a models listing: the chat path whose ``models`` sibling lists them."""

_PING: Final = ChatRequest(
    messages=[Message(role="user", content="ping")], params={"max_tokens": 1}
)


def _listing_request(adapter: HTTPAdapter, endpoint_request: httpx.Request) -> httpx.Request | None:
    """
    The models listing next to *endpoint_request* (a chat call), with its headers.
    """
    suffix = _LISTINGS.get(adapter.name)
    url = str(endpoint_request.url)
    if suffix is None or not url.endswith(suffix):
        return None
    headers = {
        key: value
        for key, value in endpoint_request.headers.items()
        if key.lower() not in {"content-type", "content-length", "accept"}
    }
    headers["accept"] = "application/json"
    listing = url[: -len(suffix)] + suffix.replace("chat/completions", "models").replace(
        "messages", "models"
    )
    return httpx.Request("GET", listing, headers=headers)


def _unsent(target: Target, now: float, why: str) -> HealthCheck:
    failure = Failure(
        kind=FailureKind.AUTH,
        observed_at=now,
        message=why,
        model=target.model,
        profile=target.profile,
        code="missing_credentials",
    )
    return HealthCheck(target=target, via="completion", latency_s=0.0, failure=failure, sent=False)


async def check_target(executor: Executor, target: Target, limits: CallLimits) -> HealthCheck:
    """
    Make one cheap request to *target* and say what it found; never raises for the
    provider's trouble (cancellation propagates).
    """
    adapter = executor.providers[target.model.provider].adapter
    started = anyio.current_time()
    credential: str | None = None
    via: Literal["models", "completion"] = "completion"
    missing = await executor._missing_credential(target)
    if missing is not None:
        return _unsent(target, executor.clock(), missing)
    try:
        credential = await executor._credential(target)
        endpoint = executor._endpoint(target, credential)
        listing = None
        if isinstance(adapter, HTTPAdapter) and executor.client is not None:
            listing = _listing_request(adapter, adapter.build_request(_PING, endpoint))
        if listing is not None and executor.client is not None:
            via = "models"
            response = await executor.client.send(listing, stream=True)
            try:
                if response.status_code >= 400:
                    content = await read_error_body(response)
                    raise ProviderHTTPError.from_response(
                        response,
                        provider=adapter.name,
                        model=endpoint.model,
                        credential=credential,
                        content=content,
                    )
            finally:
                await response.aclose()
        else:
            await adapter.complete(executor.client, _PING, endpoint, limits=limits)
    except CredentialsError as exc:
        return _unsent(target, executor.clock(), str(exc))
    except Exception as exc:  # a check reports every provider failure, never raises it
        failure = adapter.classify(
            exc,
            now=executor.clock(),
            model=target.model,
            profile=target.profile,
            credential=credential,
        )
        return HealthCheck(
            target=target, via=via, latency_s=anyio.current_time() - started, failure=failure
        )
    finally:
        credential = None
    return HealthCheck(target=target, via=via, latency_s=anyio.current_time() - started)
