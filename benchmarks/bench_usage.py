"""
What usage accounting costs: recording an attempt, a month's report, a budget check.

Run: ``python benchmarks/bench_usage.py [--rows 1000000]``; it is not collected by pytest.
Figures, with their targets:

- recording an attempt on the request path (pricing its usage, building the
  record, handing it to a :class:`~modelcfg.usage.SQLiteLedger` whose writer
  thread commits batches meanwhile): <= 20 µs;
- a month's report over 1,000,000 ledger rows, for every grouping: <= 1 s
  (the ledger is filled through ``record()`` first, which also gives the writer's
  throughput); the CPU time is printed too, since a loaded machine stretches the
  wall time of the one grouping with tens of thousands of rows (sessions);
- a budget check: the pure rule (:func:`modelcfg._core._budget.over_limit`) <= 5 µs,
  and for reference a whole reservation and release through
  :class:`~modelcfg.usage.BudgetKeeper` over in-memory counters.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._timing import sample_ns, summary
from modelcfg import ModelRef, ProfileId, Usage
from modelcfg._core._budget import over_limit
from modelcfg._core._cost import to_picodollars
from modelcfg.usage import (
    Budget,
    BudgetKeeper,
    BudgetPeriod,
    Cost,
    GroupBy,
    Rates,
    Reservation,
    Spender,
    SQLiteLedger,
    UsageRecord,
    cost_of,
)

MONTH_S = 30 * 86400
T0 = 1_750_000_000.0
MODELS = [
    ModelRef.parse(m)
    for m in (
        "openai/gpt-5",
        "openai/gpt-5-mini",
        "anthropic/claude-sonnet-4-5",
        "anthropic/claude-haiku-4-5",
        "google/gemini-2.5-pro",
        "google/gemini-2.5-flash",
    )
]
RATES = Rates(input="1.25", output="10", cache_read="0.125")


def _records(count: int, seed: int = 7) -> list[UsageRecord]:
    """A month of a busy host: 6 models, 3 profiles each, 50 API keys, 2 arms, 20-attempt chats."""
    rng = random.Random(seed)
    profiles = {
        m: [ProfileId(provider=m.provider, name=n) for n in ("a", "b", "c")] for m in MODELS
    }
    made = []
    for n in range(count):
        model = rng.choice(MODELS)
        usage = Usage(
            input_tokens=rng.randrange(20_000),
            output_tokens=rng.randrange(4_000),
            cache_read_tokens=rng.randrange(10_000),
        )
        answered = rng.random() > 0.05
        made.append(
            UsageRecord(
                at=T0 + MONTH_S * n / count,
                request_id=f"r{n}",
                attempt=1 if answered else 2,
                model=model,
                profile=rng.choice(profiles[model]),
                session=f"chat-{n // 20}",
                api_key=f"key-{rng.randrange(50)}",
                arm=rng.choice(("a", "b")),
                usage=usage,
                cost=cost_of(usage, RATES),
                answered=answered,
            )
        )
    return made


def bench_record(directory: Path) -> None:
    usage = Usage(input_tokens=1_234, output_tokens=567, cache_read_tokens=8_901)
    model, profile = MODELS[0], ProfileId.parse("openai:a")
    counter = iter(range(10**9))
    with SQLiteLedger(directory / "record.db", retention_s=None) as ledger:

        def record() -> None:
            n = next(counter)
            ledger.record(
                UsageRecord(
                    at=T0 + n,
                    request_id=f"r{n}",
                    model=model,
                    profile=profile,
                    session="chat-1",
                    usage=usage,
                    cost=cost_of(usage, RATES),
                )
            )

        samples = sample_ns(record, repeat=300, number=100)
        print(f"record an attempt (price + record, batched)  {summary(samples)}   target <= 20 us")
        started = time.perf_counter()
        ledger.flush()
        print(f"  (then waited {time.perf_counter() - started:.2f} s for the writer to commit)")


def bench_report(directory: Path, rows: int) -> None:
    records = _records(rows)
    path = directory / "month.db"
    started = time.perf_counter()
    with SQLiteLedger(path, retention_s=None, max_pending=rows) as ledger:
        for one in records:
            ledger.record(one)
        ledger.flush()
    elapsed = time.perf_counter() - started
    del records
    print(
        f"filled a ledger with {rows:,} rows through record() in {elapsed:.1f} s "
        f"({rows / elapsed:,.0f} rows/s, writer included); file {path.stat().st_size / 1e6:.0f} MB"
    )
    ledger = SQLiteLedger(path, retention_s=None)
    # A month that does not start or end on an hour: the ends are read from the records.
    since, until = T0 + 1234.5, T0 + MONTH_S - 777.25
    for by in GroupBy:
        times, cpu = [], []
        for _ in range(5):
            started, started_cpu = time.perf_counter(), time.process_time()
            report = ledger.report(since_at=since, until_at=until, by=by)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        print(
            f"month's report by {by.value:<8} median {statistics.median(times) * 1000:7.1f} ms   "
            f"max {max(times) * 1000:7.1f} ms   cpu {statistics.median(cpu) * 1000:7.1f} ms   "
            f"({len(report.rows):,} rows, {report.total.attempts:,} attempts)   target <= 1000 ms"
        )


def bench_budget() -> None:
    budget = Budget(
        name="daily",
        scope="provider",
        match="openai",
        limit_usd="100",
        period=BudgetPeriod.parse("day"),
    )
    estimate = Cost(usd=Decimal("0.0123"))
    spent = to_picodollars(Decimal("42.5"))
    samples = sample_ns(lambda: over_limit(budget, spent, estimate), repeat=300, number=1000)
    print(f"budget check (pure rule)                     {summary(samples)}   target <= 5 us")

    class Counters:
        def __init__(self) -> None:
            self.values: dict[str, int] = {}

        async def add_to_counter(self, key: str, amount: int, *, ttl_s: float | None = None) -> int:
            self.values[key] = total = self.values.get(key, 0) + amount
            return total

        async def load_counter(self, key: str) -> int:
            return self.values.get(key, 0)

    keeper = BudgetKeeper([budget], Counters(), clock=lambda: T0)
    spender = Spender(model=MODELS[0], profile=ProfileId.parse("openai:a"))

    async def loop() -> list[float]:
        out = []
        for _ in range(300):
            started = time.perf_counter_ns()
            for _ in range(100):
                held = await keeper.reserve(spender, estimate)
                assert isinstance(held, Reservation)
                await keeper.release(held)
            out.append((time.perf_counter_ns() - started) / 100)
        return out

    print(f"budget reserve + release (memory counters)   {summary(anyio.run(loop))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelcfg-bench-usage-") as directory:
        bench_budget()
        bench_record(Path(directory))
        bench_report(Path(directory), args.rows)


if __name__ == "__main__":
    main()
