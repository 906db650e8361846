"""
A scripted ``httpx.MockTransport``: the answers to give, in order, and every request it got.

::

    transport = ScriptedTransport(
        [
            httpx.Response(429, headers={"retry-after": "2"}, json={"error": {...}}),
            httpx.ConnectError("connection refused"),
            httpx.Response(200, json={...}),
        ]
    )
    async with httpx.AsyncClient(transport=transport) as client:
        ...
    assert 3 == len(transport.requests)

No socket is opened: the client hands each request to the script.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

import httpx

__all__ = ["ScriptExhaustedError", "ScriptedTransport", "Step"]

Step: TypeAlias = "httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]"
"""
One scripted answer: a response to send, an exception to raise (as a failing
connection would: ``httpx.ConnectError``, ``httpx.ReadTimeout``, ...), or a
function of the request that returns the response (or raises).
"""


class ScriptExhaustedError(AssertionError):
    """
    A request arrived after the script's last answer (and the last does not repeat).
    """


class ScriptedTransport(httpx.MockTransport):
    """
    An ``httpx.MockTransport`` that answers each request with the next step of a script.

    Every request is recorded, body read, in :attr:`requests`. When the script runs
    out, the last step answers again if *repeat_last* is set; otherwise the request
    fails with :class:`ScriptExhaustedError`, which names it.

    Args:
        steps: The answers, in order (see :data:`Step`).
        repeat_last: Answer every request after the script's end with its last step.

    Attributes:
        requests: Every request received, in order.

    .. versionadded:: 0.1.0
    """

    def __init__(self, steps: Iterable[Step], *, repeat_last: bool = False) -> None:
        self._steps: list[Step] = list(steps)
        if repeat_last and not self._steps:
            raise ValueError("repeat_last needs at least one step to repeat")
        self._repeat_last = repeat_last
        self._used = 0
        self.requests: list[httpx.Request] = []
        super().__init__(self._answer)

    @property
    def remaining(self) -> int:
        """
        How many steps have not answered yet (a repeating last step counts once).
        """
        return len(self._steps) - self._used

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self._used < len(self._steps):
            step = self._steps[self._used]
            self._used += 1
            return _play(step, request, again=False)
        if self._repeat_last:
            return _play(self._steps[-1], request, again=True)
        raise ScriptExhaustedError(
            f"request {len(self.requests)} ({request.method} {request.url}) came after the "
            f"script's {len(self._steps)} answers"
        )


def _play(step: Step, request: httpx.Request, *, again: bool) -> httpx.Response:
    """
    The response *step* gives to *request*; a response sent before is sent as a copy.
    """
    if isinstance(step, Exception):
        raise step
    if isinstance(step, httpx.Response):
        if not again:
            return step
        # A response object is sent once; a repeat gets a fresh one with the same content.
        return httpx.Response(
            step.status_code, headers=step.headers.multi_items(), content=step.content
        )
    return step(request)
