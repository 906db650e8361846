"""
Catalog discovery and search: normalising, searching, and the search command as a fresh process.

Run: ``python benchmarks/bench_catalog.py`` (``--quick`` for fewer rounds). Targets:

- normalising a 400-model OpenRouter ``/api/v1/models`` payload: under 20 ms;
- ``ModelCatalog.search`` over 10,000 records: under 5 ms p50 with filters, under
  20 ms for a fuzzy (typo) query;
- ``modelcfg models search`` as a fresh process with a warm catalog cache: under 300 ms.

The records come from :mod:`modelcfg.testing._listings` (realistic OpenRouter
entries), renamed to reach the sizes above. The command runs against
:class:`modelcfg.testing.FakeModelsServer` on 127.0.0.1, refreshed once first.

Each figure is given twice: as wall-clock time, and as the CPU time the work
itself took (``time.process_time``, and the child's user + system time for the
command), which a busy shared machine disturbs much less.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._timing import sample_ns, summary
from modelcfg import CatalogFilter, Modality, ModelCatalog
from modelcfg._catalog._openrouter import parse_openrouter_models
from modelcfg.testing import FakeModelsServer
from modelcfg.testing._listings import openrouter_models
from modelcfg.typing import JSONObject

QUICK = "--quick" in sys.argv


def payload(size: int) -> JSONObject:
    """
    An OpenRouter response of *size* models: the realistic list, renamed copy by copy.
    """
    base = openrouter_models()
    data = []
    for copy_number in range(size // len(base) + 1):
        for entry in base:
            item = copy.deepcopy(entry)
            if copy_number:
                vendor, _, model = str(item["id"]).partition("/")
                item["id"] = f"{vendor}{copy_number}/{model}"
            data.append(item)
    return {"data": data[:size]}


def cpu_ms(func: object, *, repeat: int) -> list[float]:
    """
    The CPU time of each of *repeat* calls of *func*, in milliseconds.
    """
    assert callable(func)
    samples = []
    for _ in range(repeat):
        start = time.process_time_ns()
        func()
        samples.append((time.process_time_ns() - start) / 1e6)
    return samples


def cpu_summary(samples: list[float]) -> str:
    return f"cpu: median {statistics.median(samples):8.2f} ms   min {min(samples):8.2f} ms"


def bench_normalise() -> None:
    data = json.loads(json.dumps(payload(400)))
    listing = parse_openrouter_models(data)
    print(f"normalise a 400-model OpenRouter payload ({len(listing.records)} kept):")
    repeat = 20 if QUICK else 60
    samples = sample_ns(lambda: parse_openrouter_models(data), repeat=repeat)
    print("  wall: " + summary(samples, "ms"))
    cpu = cpu_ms(lambda: parse_openrouter_models(data), repeat=repeat)
    print("  " + cpu_summary(cpu) + "   (target < 20 ms)")


def bench_search() -> None:
    records = parse_openrouter_models(payload(10_000)).records
    catalog = ModelCatalog(records=records)
    start = time.perf_counter_ns()
    catalog.search_index()
    print(f"search over {len(catalog):,} records")
    print(f"  prepare the index once: {(time.perf_counter_ns() - start) / 1e6:.1f} ms")
    image_cheap = CatalogFilter(input=frozenset({Modality.IMAGE}), max_input_price=5)
    capable = CatalogFilter(tools=True, structured_output=True, min_context=200_000)
    cases = [
        ("'sonnet', image input, input <= $5/M", "sonnet", image_cheap, 100, 5),
        ("'gpt 4o', provider openrouter, tools", "gpt 4o", CatalogFilter(tools=True), 100, 5),
        ("'gemini-2.5-flash' (exact and prefix)", "gemini-2.5-flash", None, 100, 5),
        ("no query, tools + structured + 200k context", "", capable, 100, 5),
        ("no query, image input, input <= $5/M, limit 20", "", image_cheap, 20, 5),
    ]
    first = time.perf_counter_ns()
    catalog.search("claude sonet")
    took_ms = (time.perf_counter_ns() - first) / 1e6
    print(f"  first typo query (builds the typo table): {took_ms:.1f} ms")
    fuzzy = [
        ("typo 'claude sonet'", "claude sonet", None, 100, 20),
        ("typo 'gemnii flash', image input", "gemnii flash", image_cheap, 100, 20),
        ("typo 'lama instrcut'", "lama instrcut", None, 100, 20),
    ]
    for label, query, filters, limit, target in [*cases, *fuzzy]:
        hits = catalog.search(query, filters=filters, limit=None if limit == 100 else limit)

        def run(q: str = query, f: CatalogFilter | None = filters, n: int = limit) -> object:
            return catalog.search(q, filters=f, limit=None if n == 100 else n)

        repeat = 30 if QUICK else 100
        samples = sample_ns(run, repeat=repeat)
        print(f"  {label}: {len(hits)} hits")
        print(f"    wall: {summary(samples, 'ms')}")
        print(f"    {cpu_summary(cpu_ms(run, repeat=repeat))}   (target p50 < {target} ms)")


def bench_command() -> None:
    runs = 7 if QUICK else 21
    with (
        FakeModelsServer(api_key="sk-ant-fake-bench-0123456789") as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        home = Path(tmp) / "home"
        home.mkdir()
        config = {
            "providers": {
                "openrouter": {"api": "openrouter", "baseUrl": fake.openrouter_base_url},
                "anthropic": {"api": "anthropic", "baseUrl": fake.anthropic_base_url},
            },
            "agent": {
                "models": {"anthropic/claude-opus-4-5": {"alias": "Opus"}},
                "model": {"primary": "Opus"},
            },
        }
        (home / "config.json").write_text(json.dumps(config), encoding="utf-8")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "MODELCFG_HOME": str(home),
            "ANTHROPIC_API_KEY": "sk-ant-fake-bench-0123456789",
            "LANG": "C.UTF-8",
        }
        script = Path(sys.executable).parent / "modelcfg"
        subprocess.run(
            [str(script), "catalog", "refresh"], env=env, check=True, capture_output=True
        )
        command = [
            str(script),
            "models",
            "search",
            "sonnet",
            "--input",
            "image",
            "--max-input-price",
            "5",
        ]

        def timed(argv: list[str]) -> tuple[float, float]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(argv, env=env, check=True, capture_output=True)
            wall = (time.perf_counter() - start) * 1000
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
            return wall, cpu

        timed(command)  # warm the byte code
        search = [timed(command) for _ in range(runs)]
        bare = [timed([sys.executable, "-c", "pass"]) for _ in range(runs)]
        cache = Path(tmp) / ".cache" / "modelcfg" / "catalog.json"
        size = cache.stat().st_size
        print(f"`modelcfg models search` as a fresh process, warm cache ({size:,} bytes):")
        for what, index in (("wall", 0), ("cpu", 1)):
            ours = [s[index] for s in search]
            base = [b[index] for b in bare]
            print(
                f"  {what}: median {statistics.median(ours):7.1f} ms   min {min(ours):7.1f} ms"
                f"   (a bare interpreter: median {statistics.median(base):.1f} ms)"
            )
        print("  target < 300 ms")


def main() -> None:
    bench_normalise()
    bench_search()
    bench_command()


if __name__ == "__main__":
    main()
