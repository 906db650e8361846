"""
Loading and validating a large config: 1,000 models and 50 profiles.

Run: ``python benchmarks/bench_config.py``. Target: under 50 ms.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._timing import sample_ns, summary
from modelcfg import dump_config, load_config

PROVIDERS = ("anthropic", "openai", "openrouter", "google", "groq")


def big_config(models: int = 1000, profiles: int = 50) -> dict[str, object]:
    entries: dict[str, object] = {}
    for i in range(models):
        provider = PROVIDERS[i % len(PROVIDERS)]
        entry: dict[str, object] = {"alias": f"m{i}", "params": {"temperature": 0.5}}
        if i % 3 == 0:
            entry.update(contextWindow=128000, input=["text", "image"], maxOutputTokens=8192)
        entries[f"{provider}/model-{i}"] = entry
    declared = {
        f"{PROVIDERS[i % len(PROVIDERS)]}:p{i}": {"provider": PROVIDERS[i % len(PROVIDERS)]}
        for i in range(profiles)
    }
    order: dict[str, list[str]] = {}
    for profile in declared:
        order.setdefault(profile.partition(":")[0], []).append(profile)
    return {
        "auth": {"profiles": declared, "order": order},
        "agent": {
            "models": entries,
            "model": {"primary": "m0", "fallbacks": [f"m{i}" for i in range(1, 10)]},
            "imageModel": {"primary": "m3", "fallbacks": ["m6"]},
        },
    }


def main() -> None:
    data = big_config()
    config = load_config(data)
    print("load + validate, 1,000 models and 50 profiles:")
    print(
        "  "
        + summary(sample_ns(lambda: load_config(data), repeat=30), "ms")
        + "   (target < 50 ms)"
    )
    print("dump_config of the same:")
    print("  " + summary(sample_ns(lambda: dump_config(config), repeat=30), "ms"))


if __name__ == "__main__":
    main()
