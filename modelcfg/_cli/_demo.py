"""
``modelcfg demo``: a scripted outage on the embedded defaults, offline.

An in-process fake provider (an ``httpx.MockTransport``) answers for every
provider of the bundled example config: the OAuth profile of the primary model
gets 401, its API-key profile gets 429, and the first fallback model answers.
No key, no network: the "keys" are placeholders that never leave the process.

httpx, anyio and the executor load only when the demo runs, so that every other
command starts without them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Final, TextIO

from modelcfg._cli._common import Context, Subparsers, add_json_flag

if TYPE_CHECKING:
    import httpx

    from modelcfg._executor._reports import Completion, ExecutorEvent
    from modelcfg.typing import JSON

__all__ = ["demo", "register"]


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``demo``.
    """
    demo = subparsers.add_parser(
        "demo",
        parents=[common],
        help="run a scripted outage against an in-process fake provider (no keys, no network)",
        description=(
            "Runs two requests on the bundled example config against an in-process fake "
            "provider: an expired OAuth token (401), a rate limit (429), and a fallback "
            "model that answers; prints every attempt and the answer."
        ),
    )
    add_json_flag(demo)
    demo.set_defaults(run=run_demo)


def run_demo(context: Context) -> int:
    """
    ``demo``: print the trace (or its JSON with ``--json``).
    """
    return demo(context.out.stdout, as_json=bool(context.args.json))


# Placeholder credentials: they only select the fake provider's behaviour.
_DEMO_KEYS: Final = {
    "anthropic:default": "demo-oauth-token-expired",
    "anthropic:work": "demo-key-rate-limited",
    "openai:default": "demo-key-ok",
    "openrouter:default": "demo-key-ok",
}
_T0: Final = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: the demo's clock is scripted too


def _fake_provider(request: httpx.Request) -> httpx.Response:
    """
    Answer like the real APIs would, choosing the behaviour by the credential sent.
    """
    import httpx

    key = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    body = json.loads(request.content or b"{}")
    model = str(body.get("model", "?"))
    if "expired" in key:
        return httpx.Response(
            401,
            json={
                "type": "error",
                "error": {"type": "authentication_error", "message": "OAuth token has expired"},
            },
        )
    if "rate-limited" in key:
        return httpx.Response(
            429,
            headers={"retry-after": "30"},
            json={
                "type": "error",
                "error": {"type": "rate_limit_error", "message": "Number of requests exceeded"},
            },
        )
    text = f"Hello from {model}! The outage was handled for you."
    return httpx.Response(
        200,
        json={
            "id": "demo-1",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 11},
        },
    )


class _Trace:
    """
    Collects executor events and prints them as a readable trace.
    """

    def __init__(self) -> None:
        self.events: list[ExecutorEvent] = []

    def __call__(self, event: ExecutorEvent) -> None:
        self.events.append(event)

    def lines(self) -> list[str]:
        from modelcfg._executor._reports import (
            AttemptFailed,
            AttemptStarted,
            AttemptSucceeded,
            CandidateSkipped,
            RequestGaveUp,
            TierChanged,
        )

        lines: list[str] = []
        for event in self.events:
            match event:
                case CandidateSkipped(message=message):
                    lines.append(f"    skip  {message}")
                case AttemptStarted(number=n, target=target, reason=reason, delay_s=delay):
                    wait = f" after {delay:.1f} s" if delay else ""
                    lines.append(f"#{n}  call  {target}{wait}")
                    lines.append(f"          why: {reason.message}")
                case TierChanged(from_profile=a, to_profile=b, from_mode=m1, to_mode=m2):
                    lines.append(
                        f"    note  {a} ({m1.value}) -> {b} ({m2.value}): "
                        "this request now uses a paid API key"
                    )
                case AttemptFailed(failure=failure):
                    lines.append(f"    fail  {failure}")
                case AttemptSucceeded(usage=usage, cost=cost):
                    lines.append(
                        f"    ok    answered ({usage.input_tokens} input + "
                        f"{usage.output_tokens} output tokens, {cost})"
                    )
                case RequestGaveUp(reason=reason):
                    lines.append(f"    gave up: {reason.message}")
        self.events.clear()
        return lines


def _plain(usd: Decimal | None) -> str | None:
    """An exact amount as a decimal string (no float), or ``None`` when unknown."""
    return None if usd is None else f"{usd.normalize():f}"


def _report(completion: Completion) -> JSON:
    return {
        "model": str(completion.model),
        "profile": str(completion.profile),
        "text": completion.text,
        "usage": {
            "inputTokens": completion.usage.input_tokens,
            "outputTokens": completion.usage.output_tokens,
        },
        "costUsd": None if completion.cost is None else _plain(completion.cost.total),
        "attempts": [
            {
                "number": a.number,
                "target": str(a.target),
                "reason": a.reason.code.value,
                "why": a.reason.message,
                "failure": None if a.failure is None else str(a.failure),
            }
            for a in completion.attempts
        ],
    }


async def _demo(out: TextIO, as_json: bool) -> int:
    import httpx

    from modelcfg._config._file import example_config_data
    from modelcfg._config._load import load_config
    from modelcfg._core._state import dump_state
    from modelcfg._executor._credentials import StaticCredentials
    from modelcfg._executor._executor import Executor
    from modelcfg._messages import ChatRequest, Message
    from modelcfg.stores import MemoryStateStore
    from modelcfg.testing import FakeClock
    from modelcfg.usage import GroupBy, MemoryLedger
    from modelcfg.usage._report import render_report, report_to_json

    config = load_config(example_config_data(), source="the bundled example")
    trace = _Trace()
    # The demo's clock is scripted: each reading moves it on a little, and waits are instant.
    clock = FakeClock(now=_T0 + 0.25, tick_s=0.25)
    store = MemoryStateStore()
    ledger = MemoryLedger()
    async with httpx.AsyncClient(transport=httpx.MockTransport(_fake_provider)) as client:
        executor = Executor.from_config(
            config,
            client=client,
            credentials=StaticCredentials(_DEMO_KEYS),
            store=store,
            observers=[trace],
            clock=clock,
            sleep=clock.sleep,
            ledger=ledger,
        )
        question = ChatRequest(messages=[Message(role="user", content="Say hello.")])
        first = await executor.complete(question, session_id="demo")
        first_trace = trace.lines()
        second = await executor.complete(question, session_id="demo")
        second_trace = trace.lines()
        health = await store.load_health()
    usage = ledger.report(since_at=_T0, until_at=_T0 + 3600, by=GroupBy.MODEL)

    if as_json:
        report: Mapping[str, JSON] = {
            "first": _report(first),
            "second": _report(second),
            "health": dump_state(health),  # type: ignore[dict-item]
            "usage": report_to_json(usage),
        }
        out.write(json.dumps(report, indent=2) + "\n")
        return 0
    w = out.write
    routes = executor.routes
    w("modelcfg demo: a scripted outage on the bundled example config (no keys, no network)\n\n")
    w(f"chain       {routes.chain}\n")
    for provider in ("anthropic", "openai"):
        order = ", ".join(map(str, routes.profiles_for(provider)))
        w(f"auth order  {provider}: {order}\n")
    w("fake provider: anthropic:default's OAuth token has expired (401), anthropic:work is\n")
    w("rate limited (429, Retry-After 30 s), openai answers.\n\n")
    w("request 1\n")
    w("".join(line + "\n" for line in first_trace))
    w(f"\nanswer      {first.text}\n")
    w(f"from        {first.model} with {first.profile}, after {len(first.attempts)} attempts\n")
    w(
        f"cost        {first.cost} for {first.usage.input_tokens} input + "
        f"{first.usage.output_tokens} output tokens at {first.model}'s prices\n"
        "            (the failed attempts got error responses, which providers do not bill)\n\n"
    )
    w("request 2, same session: cooling profiles are skipped without a call\n")
    w("".join(line + "\n" for line in second_trace))
    w(f"\nanswer      {second.text}\n")
    w(f"from        {second.model} with {second.profile}, after {len(second.attempts)} attempt\n")
    w(f"cost        {second.cost}\n\n")
    w("usage of both requests, as `modelcfg usage --by model` reports a ledger:\n\n")
    w(render_report(usage) + "\n")
    return 0


def demo(out: TextIO, *, as_json: bool = False) -> int:
    """
    Run the demo, writing its trace to *out*; returns the exit code.
    """
    import anyio

    return anyio.run(_demo, out, as_json)
