"""
How long parameter resolution, a whole attempt's plan and experiment assignment take.

Run it with ``python benchmarks/bench_params.py``; it is not collected by pytest.
Targets (issue "Parameters"): resolving 6 layers <= 10 µs per request, assigning
an arm <= 2 µs. Also prints the full plan (resolution, checks and translation) for
an OpenAI and an Anthropic model, and the split of 100,000 session ids.
"""

from __future__ import annotations

import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import sample_ns, summary

from modelcfg import ModelRef, load_config
from modelcfg._catalog._curated import curated_catalog
from modelcfg._config._param_plan import ParamResolver
from modelcfg._config._params import (
    LayerKind,
    ParamLayer,
    ParamSource,
    resolve_params,
)
from modelcfg._config._plan import catalog_for
from modelcfg._core._experiments import Split

REPEAT = 200
NUMBER = 200

CONFIG = {
    "params": {"temperature": 0.7, "seed": 1, "user": "bench"},
    "providers": {"anthropic": {"api": "anthropic", "params": {"max_tokens": 8000}}},
    "agent": {
        "models": {
            "anthropic/claude-opus-4-5": {"alias": "Opus", "params": {"top_k": 40}},
            "openai/o3": {"params": {"max_completion_tokens": 4000}},
        },
        "model": {"primary": "Opus", "fallbacks": ["openai/o3"]},
        "aliasParams": {"Opus": {"stop": ["END"]}},
    },
    "presets": {"deep": {"params": {"reasoning_effort": "high", "seed": None}}},
}


def six_layers() -> list[ParamLayer]:
    """Global, provider, model, alias, preset and request layers, three to four keys each."""
    kinds = (
        LayerKind.GLOBAL,
        LayerKind.PROVIDER,
        LayerKind.MODEL,
        LayerKind.ALIAS,
        LayerKind.PRESET,
        LayerKind.REQUEST,
    )
    return [
        ParamLayer(
            source=ParamSource(kind=kind, name=None if i in (0, 5) else f"layer{i}"),
            values={
                "temperature": 0.1 * i,
                f"key{i}": i,
                "seed": None if i == 4 else i,
                "max_tokens": 1000 + i,
            },
        )
        for i, kind in enumerate(kinds)
    ]


def main() -> None:
    layers = six_layers()
    resolve = sample_ns(lambda: resolve_params(layers), repeat=REPEAT, number=NUMBER)
    print(f"{'resolve_params, 6 layers (target <= 10 us)':<64} {summary(resolve)}")

    config = load_config(CONFIG)
    params = ParamResolver(config, catalog_for(config, curated=curated_catalog()))
    deep = params.preset("deep")
    request = {"max_tokens": 2000, "stop": "DONE"}
    session = {"top_p": 0.9}
    for model in ("anthropic/claude-opus-4-5", "openai/o3"):
        ref = ModelRef.parse(model)
        params.plan(ref, preset=deep, session=session, request=request)  # warm the per-model layers
        layered = sample_ns(
            lambda ref=ref: params.resolve(ref, preset=deep, session=session, request=request),
            repeat=REPEAT,
            number=NUMBER,
        )
        planned = sample_ns(
            lambda ref=ref: params.plan(ref, preset=deep, session=session, request=request),
            repeat=REPEAT,
            number=NUMBER,
        )
        print(f"{'resolve for ' + model + ', 7 layers':<64} {summary(layered)}")
        print(f"{'plan (resolve, check, translate) for ' + model:<64} {summary(planned)}")

    split = Split.of("tone", [("control", 50), ("precise", 30), ("opus", 20)])
    assign = sample_ns(lambda: split.arm_for("session-4f1c2a"), repeat=REPEAT, number=NUMBER * 5)
    print(f"{'Split.arm_for, 3 arms (target <= 2 us)':<64} {summary(assign)}")

    started = time.perf_counter()
    counts = collections.Counter(split.arm_for(f"session-{i}") for i in range(100_000))
    elapsed = time.perf_counter() - started
    shares = ", ".join(f"{arm} {counts[arm] / 1000:.2f} %" for arm, _ in split.arms)
    print(f"{'100,000 session ids (weights 50 / 30 / 20)':<64} {shares}   in {elapsed:.2f} s")


if __name__ == "__main__":
    main()
