"""
What a hostile provider can make a call cost: memory and event-loop stalls.

Run: ``python benchmarks/bench_hostile.py`` (``--backend trio`` for trio). It serves
:class:`~modelcfg.testing.FakeProvider` on 127.0.0.1 from a separate process (so the
server's own memory is not counted) and sends one request through
:class:`modelcfg.Executor`, with the default :class:`~modelcfg.adapters.CallLimits`
caps, to each hostile behaviour:

- ``endless-body``: a 2xx body that never ends (stops at ``max_body_bytes``, 32 MiB);
- ``gzip-bomb``: a small gzip body that inflates to 64 MiB (stops at ``max_body_bytes``);
- ``endless-sse``: a valid stream that never ends (stops at ``max_stream_bytes``, 256 MiB);
- ``sse-no-dispatch``: ``data:`` lines that never dispatch (stops at ``max_event_bytes``).

For each it prints the failure, the time taken, the peak RSS above the baseline
(measured after a warm-up request; target: within 64 MiB) and the longest the event
loop was blocked, as the largest lateness of a ticker task that sleeps 5 ms at a
time (target: under 50 ms). It exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import anyio
import httpx

import modelcfg

BEHAVIOURS = ("endless-body", "gzip-bomb", "endless-sse", "sse-no-dispatch")
RSS_TARGET_MIB = 64.0
STALL_TARGET_MS = 50.0
TICK_S = 0.005


SERVE = """
import sys
from modelcfg.testing import FakeProvider
with FakeProvider() as provider:
    print(provider.base_url, flush=True)
    sys.stdin.read()
"""
"""Runs the loopback provider in a child process until its stdin closes."""


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def one(base_url: str, model: str, streamed: bool) -> tuple[str, float, float]:
    """
    One request to *model*: what it ended with, its seconds and the longest loop stall.
    """
    config = modelcfg.load_config(
        {
            "providers": {"evil": {"api": "openai", "baseUrl": base_url}},
            "agent": {"model": {"primary": f"evil/{model}"}},
            "policy": {"deadlineSeconds": 3600, "maxTargetRetries": 0},
        }
    )
    worst = 0.0
    done = anyio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            before = time.perf_counter()
            await anyio.sleep(TICK_S)
            worst = max(worst, time.perf_counter() - before - TICK_S)

    outcome = "answered"
    async with httpx.AsyncClient() as client, anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        executor = modelcfg.Executor.from_config(
            config,
            client=client,
            credentials=modelcfg.StaticCredentials({"evil:default": "sk-bench-0123456789"}),
        )
        request = modelcfg.ChatRequest(messages=[modelcfg.Message(role="user", content="hi")])
        start = time.perf_counter()
        try:
            if streamed:
                async with executor.stream(request) as events:
                    async for _ in events:
                        pass
            else:
                await executor.complete(request)
        except modelcfg.ModelcfgError as exc:
            cause = exc.__cause__
            outcome = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
        took = time.perf_counter() - start
        done.set()
    return outcome, took, worst


async def main(base_url: str) -> bool:
    await one(base_url, "ok", streamed=False)  # warm-up: imports, connection, first parse
    await one(base_url, "ok", streamed=True)
    baseline = peak_rss_mib()
    print(f"baseline peak RSS {baseline:.1f} MiB")
    met = True
    for model in BEHAVIOURS:
        streamed = model in ("endless-sse", "sse-no-dispatch")
        outcome, took, worst = await one(base_url, model, streamed)
        above = peak_rss_mib() - baseline
        ok = above <= RSS_TARGET_MIB and worst * 1000 < STALL_TARGET_MS and outcome != "answered"
        met = met and ok
        print(
            f"{model:16} {'ok  ' if ok else 'MISS'} {took:6.2f} s  "
            f"peak RSS +{above:5.1f} MiB  longest loop block {worst * 1000:5.1f} ms\n"
            f"{'':16}      {outcome[:150]}",
            flush=True,
        )
    return met


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    args = parser.parse_args()
    with subprocess.Popen(
        [sys.executable, "-c", SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as server:
        assert server.stdin is not None
        assert server.stdout is not None
        try:
            met = anyio.run(main, server.stdout.readline().strip(), backend=args.backend)
        finally:
            server.stdin.close()
    sys.exit(0 if met else 1)
