"""
What the adoption layers cost: the sync facade, and the OpenAI SDK on modelcfg's transport.

Run: ``python benchmarks/bench_adoption.py`` (needs the ``openai`` package, which the
``test`` extra installs). Every workload runs against one loopback server
(:class:`~modelcfg.testing.FakeProvider` on 127.0.0.1, in a child process), and each
figure is the p50 (and p90) of back-to-back pairs' differences:

- ``modelcfg.Client.complete()`` from a plain thread, against ``Executor.complete()``
  timed inside the client's own loop (same executor, same connections); target
  <= 50 µs at p50;
- ``openai.OpenAI`` on ``modelcfg.OpenAITransport`` against ``openai.OpenAI`` calling
  the server itself (both on a legacy ``httpx.Client``); target <= 150 µs at p50. The
  same for ``openai.AsyncOpenAI`` on ``modelcfg.AsyncOpenAITransport``.

It first prints two floors that no layer over the async executor can go under on the
machine at hand: one cross-thread round trip (what the sync facade must pay), and async
httpx on a loop thread against sync httpx posting the same request (what the sync SDK
on the transport pays over the SDK on its own sync client, before modelcfg does anything).

On a shared machine the loopback figures swing by a hundred microseconds from run to
run; run it a few times.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_executor import LIMITS, config, figures, loopback_server
from modelcfg import Client, OpenAITransport, StaticCredentials
from modelcfg._executor._executor import Executor
from modelcfg._messages import ChatRequest, Message
from modelcfg._transport import AsyncOpenAITransport

REQUEST = ChatRequest(messages=[Message(role="user", content="Say hello.")])
MESSAGES = [{"role": "user", "content": "Say hello."}]
KEYS = StaticCredentials({"bench:default": "bench-key"})


def paired(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[list[float], list[float]]:
    """
    Microseconds per call of *first* and *second*, interleaved, after a warm-up.
    """
    for _ in range(50):
        first()
        second()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for call, samples in ((first, a), (second, b)):
            start = time.perf_counter_ns()
            call()
            samples.append((time.perf_counter_ns() - start) / 1e3)
    return a, b


def sync_facade(base_url: str, repeat: int) -> dict[str, float]:
    """
    ``Client.complete()`` against ``Executor.complete()`` timed on the client's loop.
    """
    with Client(config(base_url), credentials=KEYS, limits=LIMITS) as client:
        executor: Executor = client.executor
        portal = client._portal

        async def timed_inside() -> float:
            start = time.perf_counter_ns()
            await executor.complete(REQUEST)
            return (time.perf_counter_ns() - start) / 1e3

        for _ in range(50):
            portal.call(timed_inside)
            client.complete(REQUEST)
        inside: list[float] = []
        outside: list[float] = []
        for _ in range(repeat):
            inside.append(portal.call(timed_inside))
            start = time.perf_counter_ns()
            client.complete(REQUEST)
            outside.append((time.perf_counter_ns() - start) / 1e3)
    return figures(inside, outside)


def openai_sync(base_url: str, repeat: int) -> dict[str, float]:
    """
    The sync SDK on the transport against the sync SDK alone.
    """
    import openai

    transport = OpenAITransport.from_config(config(base_url), credentials=KEYS, limits=LIMITS)
    with (
        openai.OpenAI(api_key="bench-key", base_url=base_url, http_client=httpx.Client()) as alone,
        openai.OpenAI(
            api_key="unused",
            base_url="http://127.0.0.1:9/v1",
            http_client=httpx.Client(transport=transport),
        ) as through,
    ):
        direct, wrapped = paired(
            lambda: alone.chat.completions.create(model="primary", messages=MESSAGES),  # type: ignore[arg-type]
            lambda: through.chat.completions.create(model="bench/primary", messages=MESSAGES),  # type: ignore[arg-type]
            repeat,
        )
    transport.close()
    return figures(direct, wrapped)


def openai_async(base_url: str, repeat: int) -> dict[str, float]:
    """
    The async SDK on the async transport against the async SDK alone.
    """
    import openai

    async def run() -> dict[str, float]:
        transport = AsyncOpenAITransport.from_config(
            config(base_url), credentials=KEYS, limits=LIMITS
        )
        async with (
            openai.AsyncOpenAI(
                api_key="bench-key", base_url=base_url, http_client=httpx.AsyncClient()
            ) as alone,
            openai.AsyncOpenAI(
                api_key="unused",
                base_url="http://127.0.0.1:9/v1",
                http_client=httpx.AsyncClient(transport=transport),
            ) as through,
        ):
            direct: list[float] = []
            wrapped: list[float] = []
            for number in range(50 + repeat):
                for client, model, samples in (
                    (alone, "primary", direct),
                    (through, "bench/primary", wrapped),
                ):
                    start = time.perf_counter_ns()
                    await client.chat.completions.create(model=model, messages=MESSAGES)  # type: ignore[arg-type]
                    if number >= 50:
                        samples.append((time.perf_counter_ns() - start) / 1e3)
        await transport.aclose()
        return figures(direct, wrapped)

    return asyncio.run(run())


def floors(base_url: str, repeat: int) -> None:
    """
    Print what no layer over the async executor can avoid on this machine: one
    cross-thread round trip, and async httpx (the executor's client) against sync httpx
    (the sync SDK's own client) posting the same request to the same server.
    """
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def nothing() -> None:
        return None

    def hop() -> None:
        asyncio.run_coroutine_threadsafe(nothing(), loop).result()

    body = b'{"model":"primary","messages":[{"role":"user","content":"Say hello."}]}'
    headers = {"authorization": "Bearer bench-key", "content-type": "application/json"}
    url = f"{base_url}/chat/completions"
    sync_client = httpx.Client()
    async_client = asyncio.run_coroutine_threadsafe(_async_client(), loop).result()

    def sync_post() -> None:
        sync_client.post(url, content=body, headers=headers)

    def async_post() -> None:
        done = asyncio.run_coroutine_threadsafe(
            async_client.post(url, content=body, headers=headers), loop
        )
        done.result()

    hops, _ = paired(hop, hop, repeat)
    direct, wrapped = paired(sync_post, async_post, repeat)
    asyncio.run_coroutine_threadsafe(async_client.aclose(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()
    sync_client.close()
    out = figures(direct, wrapped)
    print("floors on this machine now (what any layer over the async executor pays):")
    print(f"  one cross-thread round trip              p50 {statistics.median(hops):7.1f} µs")
    print(
        f"  async httpx on a loop thread over sync httpx, same request: added p50 "
        f"{out['overhead_p50_us']:7.1f} µs (sync httpx p50 {out['direct_p50_us']:7.1f} µs)"
    )


async def _async_client() -> httpx.AsyncClient:
    return httpx.AsyncClient()


def show(label: str, out: dict[str, float], target_us: float) -> None:
    verdict = "ok" if out["overhead_p50_us"] <= target_us else "OVER TARGET"
    print(
        f"{label:<44} added p50 {out['overhead_p50_us']:7.1f} µs"
        f"  p90 {out['overhead_p90_us']:7.1f} µs"
        f"   (baseline p50 {out['direct_p50_us']:7.1f} µs; target <= {target_us:.0f} µs: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=500, help="pairs per figure (default 500)")
    args = parser.parse_args()
    with loopback_server() as base_url:
        floors(base_url, args.repeat)
        show("sync facade over the async executor", sync_facade(base_url, args.repeat), 50)
        show("OpenAI SDK on OpenAITransport", openai_sync(base_url, args.repeat), 150)
        show("async OpenAI SDK on AsyncOpenAITransport", openai_async(base_url, args.repeat), 150)


if __name__ == "__main__":
    main()
