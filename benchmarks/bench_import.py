"""
What importing modelcfg costs over a bare interpreter, and what it drags in.

Run: ``python benchmarks/bench_import.py``. Target: ``import modelcfg`` under 60 ms
over a bare interpreter, without httpx or anyio.

Every public name of modelcfg loads its module on first use, so the script also
measures what embedding the decision core really costs (``from modelcfg import
ModelRef, next_attempt``), and attrs alone, which the value types are built on.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

RUNS = 25
HEAVY = ("attrs", "cattrs", "httpx", "anyio")
CASES = (
    ("import modelcfg", "import modelcfg"),
    ("import the decision core", "from modelcfg import AttemptState, ModelRef, next_attempt"),
    ("load a config (adds cattrs)", "from modelcfg import load_config; load_config({})"),
    ("attrs alone, for reference", "import attrs"),
)

# Measure what an installed package costs: byte code cached, as pip leaves it.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-S", "-c", code], check=True, capture_output=True, env=ENV)
    return time.perf_counter() - start


def _loaded(code: str) -> str:
    probe = f"{code}; import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=ENV
    )
    return out.stdout.strip() or "none"


def main() -> None:
    setup = f"import sys; sys.path[:0] = {sys.path!r}; "
    for _label, code in CASES:
        _run(setup + code)  # warm up: write the byte code once
    bare = statistics.median(_run(setup + "pass") for _ in range(RUNS))
    print(f"bare interpreter                 median {bare * 1e3:6.1f} ms")
    for label, code in CASES:
        cost = statistics.median(_run(setup + code) for _ in range(RUNS)) - bare
        print(f"{label:<32} +{cost * 1e3:6.1f} ms   loads: {_loaded(code)}")
    print("target: import modelcfg < 60 ms over the bare interpreter, without httpx or anyio")


if __name__ == "__main__":
    main()
