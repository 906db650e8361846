"""
How long ``import modelcfg`` takes over a bare interpreter, and what it drags in.

Run: ``python benchmarks/bench_import.py``. Target: under 60 ms, without httpx or anyio.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

RUNS = 25
PROBE = (
    "import sys; import modelcfg; "
    "print(','.join(m for m in ('httpx', 'anyio', 'cattrs') if m in sys.modules))"
)


# Measure what an installed package costs: byte code cached, as pip leaves it.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-S", "-c", code], check=True, capture_output=True, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    sys_path_setup = f"import sys; sys.path[:0] = {sys.path!r}; "
    _time(sys_path_setup + "import modelcfg")  # warm up: write the byte code once
    bare = [_time(sys_path_setup + "pass") for _ in range(RUNS)]
    full = [_time(sys_path_setup + "import modelcfg") for _ in range(RUNS)]
    loaded = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True, env=ENV
    ).stdout.strip()
    extra_ms = (statistics.median(full) - statistics.median(bare)) * 1e3
    print(f"bare interpreter         median {statistics.median(bare) * 1e3:7.1f} ms")
    print(f"import modelcfg          median {statistics.median(full) * 1e3:7.1f} ms")
    print(f"cost of import modelcfg  {extra_ms:7.1f} ms   (target < 60 ms)")
    print(f"heavy modules loaded by import modelcfg: {loaded or 'none'}")


if __name__ == "__main__":
    main()
