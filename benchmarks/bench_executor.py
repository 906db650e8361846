"""
What the executor costs on top of a plain httpx call.

Run: ``python benchmarks/bench_executor.py`` for the in-process figures, and
``python benchmarks/bench_executor.py --loopback`` to also run the same workloads
against the misbehaving provider (:class:`~modelcfg.testing.FakeProvider`) served
on 127.0.0.1 from a separate process. Figures:

- overhead per request over a direct ``client.post()`` + ``response.json()``, p50 and
  p90 of back-to-back pairs, with ``httpx.MockTransport`` and against the loopback
  server; target < 150 µs at p50. On a shared machine the loopback figure swings by
  a hundred microseconds from run to run (the direct call alone takes a millisecond
  or more there); run it a few times;
- throughput with 1,000 concurrent requests;
- the cost of one failed attempt (a 503) plus its fallback;
- memory per in-flight request (tracemalloc growth while 1,000 requests wait on the
  provider).

With ``--loopback``, where ``litellm`` is importable, the same loopback workloads run
through LiteLLM's ``Router`` in a child process that refuses every non-loopback
connection (see ``benchmarks/bench_litellm.py``), and both are printed side by side
as ratios. LiteLLM is never a dependency of modelcfg: install it yourself to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modelcfg._config._load import load_config
from modelcfg._config._schema import Config
from modelcfg._executor._credentials import StaticCredentials
from modelcfg._executor._executor import Executor
from modelcfg._messages import ChatRequest, Message
from modelcfg.adapters import CallLimits
from modelcfg.stores import MemoryStateStore

Call = Callable[[], Coroutine[object, object, object]]

PROMPT = "Say hello."
REQUEST = ChatRequest(messages=[Message(role="user", content=PROMPT)])
KEY = "bench-key"
CONCURRENT = 1_000
LOOPBACK_CONCURRENT = 200
"""Concurrent requests against the loopback server: its thread per connection (and
httpcore's queue of requests waiting for a pooled connection, which grows worse than
linearly) make 1,000 at once measure the test server, not the executor."""
LOOPBACK_CONNECTIONS = 20
SLOW_ANSWER_S = 6.0
"""How long the loopback server keeps a ``slow`` request waiting (the memory workload)."""

SERVER_BEHAVIOURS = {"primary": "ok", "broken": "503", "slow": "slow-first-token"}
"""The loopback server's models: a healthy one, a failing one and one that parks requests."""

ANSWER = json.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "model": "primary",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello!"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2},
    }
).encode()
FAILURE = json.dumps({"error": {"message": "busy", "type": "server_error"}}).encode()


# --- the loopback server, in its own process ---------------------------------------------------

_SERVE = """
import json, sys
from modelcfg.testing._provider import FakeProvider
with FakeProvider(behaviours=json.loads(sys.argv[1]), first_token_delay_s=float(sys.argv[2])) as s:
    print(s.base_url, flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def loopback_server() -> Iterator[str]:
    """
    Serve :class:`FakeProvider` on 127.0.0.1 from a child process (so its threads do
    not share the benchmark's interpreter); yields its base URL.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", _SERVE, json.dumps(SERVER_BEHAVIOURS), str(SLOW_ANSWER_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"The loopback server did not start (it said {base_url!r}).")
        yield base_url
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


# --- workloads, shared with bench_litellm.py ---------------------------------------------------


async def latencies_us(call: Call, repeat: int, warmup: int = 50) -> list[float]:
    """
    Microseconds per call, one call at a time.
    """
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        await call()
        samples.append((time.perf_counter_ns() - start) / 1e3)
    return samples


async def paired_latencies_us(
    first: Call, second: Call, repeat: int, warmup: int = 50
) -> tuple[list[float], list[float]]:
    """
    Microseconds per call of *first* and *second*, interleaved so drift hits both alike.
    """
    for _ in range(warmup):
        await first()
        await second()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for call, samples in ((first, a), (second, b)):
            start = time.perf_counter_ns()
            await call()
            samples.append((time.perf_counter_ns() - start) / 1e3)
    return a, b


async def requests_per_s(call: Call, n: int = CONCURRENT) -> float:
    """
    Start *n* calls at once and return how many finished per second.
    """
    await call()
    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(call)
    return n / (time.perf_counter() - start)


async def bytes_in_flight(
    call: Call, n: int = CONCURRENT, *, ready: Callable[[float], bool], settle_s: float = 30.0
) -> float:
    """
    Python memory (tracemalloc) per request while *n* calls wait on the provider.

    *ready* is given the seconds since the *n* calls were started and says when all of
    them are parked; the measurement is taken then (or after *settle_s*), before any
    answer arrives.
    """
    await call()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(call)
        started = time.monotonic()
        while not ready(time.monotonic() - started) and time.monotonic() - started < settle_s:
            await anyio.sleep(0.05)
        during = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (during - before) / n


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def figures(direct: list[float], through: list[float]) -> dict[str, float]:
    """
    p50/p90 of both, and the overhead of *through* over *direct*.

    The samples come in pairs taken back to back (:func:`paired_latencies_us`); the
    overhead is the p50 and p90 of the pairs' differences, which cancels the drift
    of a shared machine better than the difference of the two medians does.
    """
    differences = [t - d for d, t in zip(direct, through, strict=True)]
    return {
        "direct_p50_us": statistics.median(direct),
        "direct_p90_us": p(direct, 0.9),
        "p50_us": statistics.median(through),
        "p90_us": p(through, 0.9),
        "overhead_p50_us": statistics.median(differences),
        "overhead_p90_us": p(differences, 0.9),
    }


# --- modelcfg ----------------------------------------------------------------------------------


def config(base_url: str, *, primary: str = "primary", fallback: bool = False) -> Config:
    """
    One OpenAI-compatible provider at *base_url*; with *fallback*, ``broken`` first.
    """
    chain: dict[str, object] = {"primary": f"bench/{primary}"}
    if fallback:
        chain = {"primary": "bench/broken", "fallbacks": [f"bench/{primary}"]}
    return load_config(
        {
            "providers": {"bench": {"api": "openai", "baseUrl": base_url}},
            "agent": {"model": chain},
            # One attempt per target: the failed-attempt figure measures a fallback, not backoff.
            "policy": {"maxTargetRetries": 0},
        }
    )


LIMITS = CallLimits(connect_s=60.0, read_s=60.0, first_token_s=120.0, idle_s=60.0)
"""Per-attempt limits as long as the direct client's timeout (the pool wait counts as connect)."""


def executor(
    client: httpx.AsyncClient, base_url: str, *, primary: str = "primary", fallback: bool = False
) -> Executor:
    return Executor.from_config(
        config(base_url, primary=primary, fallback=fallback),
        client=client,
        credentials=StaticCredentials({"bench:default": KEY}),
        limits=LIMITS,
    )


def direct_call(client: httpx.AsyncClient, base_url: str) -> Call:
    body = {"model": "primary", "messages": [{"role": "user", "content": PROMPT}]}

    async def direct() -> object:
        response = await client.post(
            base_url + "/chat/completions", json=body, headers={"authorization": f"Bearer {KEY}"}
        )
        return response.json()

    return direct


async def modelcfg_workloads(
    client: httpx.AsyncClient, base_url: str, repeat: int, concurrent: int
) -> dict[str, float]:
    """
    Overhead, fallback cost and throughput of ``Executor.complete()`` at *base_url*.
    """
    ex = executor(client, base_url)
    fallback = executor(client, base_url, fallback=True)

    async def through() -> object:
        return await ex.complete(REQUEST)

    async def failing() -> object:
        # A fresh health each time, so the broken target is tried (and fails) every request.
        fallback.store = MemoryStateStore()
        return await fallback.complete(REQUEST)

    direct = direct_call(client, base_url)
    d, e = await paired_latencies_us(direct, through, repeat)
    out = figures(d, e)
    f = await latencies_us(failing, repeat)
    out["fallback_p50_us"] = statistics.median(f)
    out["fallback_extra_p50_us"] = statistics.median(f) - out["p50_us"]
    out["direct_rps"] = await requests_per_s(direct, concurrent)
    out["rps"] = await requests_per_s(through, concurrent)
    out["concurrent"] = concurrent
    return out


def print_figures(label: str, out: dict[str, float]) -> None:
    def row(name: str, p50: float, p90: float | None = None) -> str:
        tail = f"   p90 {p90:9.1f} µs" if p90 is not None else ""
        return f"  {name:<38} p50 {p50:9.1f} µs{tail}"

    print(f"{label}:")
    print(row("direct httpx post + json()", out["direct_p50_us"], out["direct_p90_us"]))
    print(row("Executor.complete()", out["p50_us"], out["p90_us"]))
    print(row("executor overhead (paired)", out["overhead_p50_us"], out["overhead_p90_us"]))
    print(f"  {'':<38} (target < 150 µs at p50)")
    print(row("one failed attempt (503) + fallback", out["fallback_p50_us"]))
    print(row("  of which more than a success", out["fallback_extra_p50_us"]))
    print(
        f"  {out['concurrent']:.0f} concurrent requests: direct {out['direct_rps']:8.0f} /s, "
        f"Executor {out['rps']:8.0f} /s"
    )
    if "bytes_in_flight" in out:
        print(
            f"  {'memory per in-flight request':<38} {out['bytes_in_flight'] / 1024:9.1f} KiB"
            f"  ({out['in_flight']:.0f} waiting on the provider)"
        )


# --- the runs ----------------------------------------------------------------------------------


def mock_handler(request: httpx.Request) -> httpx.Response:
    broken = b'"broken"' in request.content
    return httpx.Response(
        503 if broken else 200,
        content=FAILURE if broken else ANSWER,
        headers={"content-type": "application/json"},
    )


async def in_process(repeat: int) -> dict[str, float]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(mock_handler)) as client:
        out = await modelcfg_workloads(client, "http://bench/v1", repeat, CONCURRENT)

    release = anyio.Event()
    parked = 0

    async def parking(request: httpx.Request) -> httpx.Response:
        nonlocal parked
        parked += 1
        if parked > 1:  # the first call is the warm-up
            await release.wait()
        return mock_handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(parking)) as client:
        ex = executor(client, "http://bench/v1")

        async def through() -> object:
            return await ex.complete(REQUEST)

        def ready(_elapsed_s: float) -> bool:
            if parked > CONCURRENT:
                release.set()
                return True
            return False

        out["bytes_in_flight"] = await bytes_in_flight(through, ready=ready)
        out["in_flight"] = CONCURRENT
    return out


def loopback_client() -> httpx.AsyncClient:
    """
    A client like a host's, with a small pool (the server closes every connection).
    """
    limits = httpx.Limits(max_connections=LOOPBACK_CONNECTIONS)
    return httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits)


async def loopback(base_url: str, repeat: int) -> dict[str, float]:
    async with loopback_client() as client:
        out = await modelcfg_workloads(client, base_url, repeat, LOOPBACK_CONCURRENT)
    # Every parked request must reach the server: one connection each.
    limits = httpx.Limits(max_connections=LOOPBACK_CONCURRENT + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits) as client:
        ex = executor(client, base_url, primary="slow")

        async def through() -> object:
            return await ex.complete(REQUEST)

        def ready(elapsed_s: float) -> bool:
            # Measure once every request had time to go out, well before the answers.
            return elapsed_s > SLOW_ANSWER_S * 0.5

        out["bytes_in_flight"] = await bytes_in_flight(through, LOOPBACK_CONCURRENT, ready=ready)
        out["in_flight"] = LOOPBACK_CONCURRENT
    return out


def run_litellm(base_url: str, repeat: int) -> dict[str, object] | None:
    """
    The LiteLLM figures from a guarded child process, or ``None`` when it cannot run.
    """
    if importlib.util.find_spec("litellm") is None:
        print("litellm is not installed: no side-by-side figures (pip install litellm).")
        return None
    script = Path(__file__).with_name("bench_litellm.py")
    done = subprocess.run(
        [sys.executable, str(script), "--base-url", base_url, "--repeat", str(repeat), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stderr.write(done.stderr[-4000:] if done.returncode else "")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        print(f"LiteLLM could not be measured (exit {done.returncode}); see above.")
        return None
    result: dict[str, object] = json.loads(lines[-1])
    return result


def side_by_side(ours: dict[str, float], theirs: dict[str, object]) -> None:
    refused = theirs.get("refused")
    refused = refused if isinstance(refused, list) else []
    print(f"\nmodelcfg vs LiteLLM {theirs.get('version')} Router (same loopback server):")
    print(f"  {'':<34} {'modelcfg':>12} {'LiteLLM':>12} {'LiteLLM/modelcfg':>18}")
    rows = [
        ("latency p50 (µs)", "p50_us"),
        ("latency p90 (µs)", "p90_us"),
        ("overhead over httpx p50 (µs)", "overhead_p50_us"),
        ("overhead over httpx p90 (µs)", "overhead_p90_us"),
        ("503 + fallback p50 (µs)", "fallback_p50_us"),
        (f"throughput, {LOOPBACK_CONCURRENT} concurrent (/s)", "rps"),
        ("memory per in-flight request (KiB)", "bytes_in_flight"),
    ]
    for name, key in rows:
        a, b = ours.get(key), theirs.get(key)
        if not isinstance(a, float) or not isinstance(b, float | int):
            continue
        scale = 1024 if key == "bytes_in_flight" else 1
        ratio = f"{b / a:17.2f}x" if a > 0 else f"{'-':>18}"
        print(f"  {name:<34} {a / scale:12.1f} {b / scale:12.1f} {ratio}")
    print(
        "  (throughput: higher is better, so a ratio below 1 means LiteLLM is slower; "
        "the other rows: lower is better)"
    )
    print(f"  non-loopback connections refused in the LiteLLM process: {len(refused)}")
    for what in refused:
        print(f"    refused: {what}")


async def main(loopback_too: bool, repeat: int) -> None:
    print("executor benchmarks (asyncio)")
    print_figures("in-process transport (httpx.MockTransport)", await in_process(repeat))
    if not loopback_too:
        return
    with loopback_server() as base_url:
        ours = await loopback(base_url, max(repeat // 2, 200))
        print_figures(f"loopback server in a child process ({base_url})", ours)
        theirs = run_litellm(base_url, max(repeat // 2, 200))
    if theirs is not None:
        side_by_side(ours, theirs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--loopback", action="store_true", help="also measure against a 127.0.0.1 server"
    )
    parser.add_argument("--repeat", type=int, default=2000, help="samples per latency figure")
    args = parser.parse_args()
    anyio.run(main, args.loopback, args.repeat)
