"""
Realistic model listings for :class:`~modelcfg.testing.FakeModelsServer`, built from data.

- :func:`openrouter_models`: about 160 entries of OpenRouter's ``GET /api/v1/models``,
  in its documented shape (``id``, ``canonical_slug``, ``name``, ``created``,
  ``description``, ``context_length``, ``architecture``, ``pricing`` as
  USD-per-token decimal text, ``top_provider``, ``per_request_limits``,
  ``supported_parameters``, ``default_parameters``, ``knowledge_cutoff``,
  ``expiration_date``), generated from a table of families and variants, plus
  the odd cases a client must survive: missing fields, ``null`` and ``"-1"``
  prices, ``:free`` variants, image-output and embedding models, expiration
  dates and a 2,000,000-token context.
- :func:`openai_models`: an OpenAI-compatible ``GET /v1/models`` list.
- :func:`anthropic_models`: Anthropic's ``GET /v1/models`` entries, newest first.

The figures are plausible, not a copy of any provider's current list. Every
call returns fresh, deterministic data that callers may change.
"""

# ruff: noqa: E501  (the tables keep one model per line)

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Final

from modelcfg.typing import JSON, JSONObject

__all__ = ["anthropic_models", "openai_models", "openrouter_models"]

_DAY: Final = 86_400
_BASE: Final = ["max_tokens", "temperature", "top_p", "stop", "seed"]
_TOOLS: Final = ["tools", "tool_choice"]
_STRUCTURED: Final = ["response_format", "structured_outputs"]
_REASONING: Final = ["reasoning", "include_reasoning"]
_TEXT: Final = ["text"]
_VISION: Final = ["text", "image"]
_DOCS: Final = ["text", "image", "file"]
_ALL: Final = ["text", "image", "file", "audio", "video"]

# kind -> supported_parameters
_PARAMS: Final = {
    "chat": _BASE,
    "tools": [*_BASE, *_TOOLS],
    "full": [*_BASE, *_TOOLS, *_STRUCTURED],
    "reasoner": [*_BASE, *_TOOLS, *_STRUCTURED, *_REASONING],
    "thinking": [*_BASE, *_TOOLS, *_REASONING],
    # Reasoning models that take no temperature.
    "o-series": ["max_tokens", "seed", *_TOOLS, *_STRUCTURED, *_REASONING],
}

# fmt: off
# (vendor, vendor name, tokenizer, [(model, name, inputs, params, context, max output,
#   input $/M, output $/M, cache read $/M or None, days since 2023-01-01, variants)])
# A variant is ":free" (free, smaller limits) or a dated snapshot suffix.
_FAMILIES: Final[list[tuple[str, str, str, list[tuple[object, ...]]]]] = [
    (
        "anthropic",
        "Anthropic",
        "Claude",
        [
            ("claude-opus-4.5", "Claude Opus 4.5", _DOCS, "reasoner", 200_000, 64_000, "5", "25", "0.5", 1058, ()),
            ("claude-sonnet-4.5", "Claude Sonnet 4.5", _DOCS, "reasoner", 1_000_000, 64_000, "3", "15", "0.3", 1002, ()),
            ("claude-haiku-4.5", "Claude Haiku 4.5", _DOCS, "reasoner", 200_000, 64_000, "1", "5", "0.1", 1018, ()),
            ("claude-opus-4.1", "Claude Opus 4.1", _DOCS, "thinking", 200_000, 32_000, "15", "75", "1.5", 947, ()),
            ("claude-opus-4", "Claude Opus 4", _DOCS, "thinking", 200_000, 32_000, "15", "75", "1.5", 873, ()),
            ("claude-sonnet-4", "Claude Sonnet 4", _DOCS, "thinking", 1_000_000, 64_000, "3", "15", "0.3", 873, ()),
            ("claude-3.7-sonnet", "Claude 3.7 Sonnet", _DOCS, "thinking", 200_000, 64_000, "3", "15", "0.3", 780, (":thinking",)),
            ("claude-3.5-haiku", "Claude 3.5 Haiku", _VISION, "tools", 200_000, 8_192, "0.8", "4", "0.08", 660, ("-20241022",)),
            ("claude-3-haiku", "Claude 3 Haiku", _VISION, "tools", 200_000, 4_096, "0.25", "1.25", "0.03", 438, ()),
        ],
    ),
    (
        "openai",
        "OpenAI",
        "GPT",
        [
            ("gpt-5", "GPT-5", _DOCS, "o-series", 400_000, 128_000, "1.25", "10", "0.125", 949, ()),
            ("gpt-5-mini", "GPT-5 Mini", _DOCS, "o-series", 400_000, 128_000, "0.25", "2", "0.025", 949, ()),
            ("gpt-5-nano", "GPT-5 Nano", _DOCS, "o-series", 400_000, 128_000, "0.05", "0.4", "0.005", 949, ()),
            ("gpt-5-chat", "GPT-5 Chat", _DOCS, "full", 128_000, 16_384, "1.25", "10", "0.125", 949, ()),
            ("gpt-5-codex", "GPT-5-Codex", _VISION, "o-series", 400_000, 128_000, "1.25", "10", "0.125", 987, ()),
            ("gpt-5-pro", "GPT-5 Pro", _DOCS, "o-series", 400_000, 128_000, "15", "120", None, 1008, ()),
            ("gpt-5.1", "GPT-5.1", _DOCS, "o-series", 400_000, 128_000, "1.25", "10", "0.125", 1047, ()),
            ("gpt-5.1-codex", "GPT-5.1-Codex", _VISION, "o-series", 400_000, 128_000, "1.25", "10", "0.125", 1047, ()),
            ("gpt-4.1", "GPT-4.1", _DOCS, "full", 1_047_576, 32_768, "2", "8", "0.5", 834, ()),
            ("gpt-4.1-mini", "GPT-4.1 Mini", _DOCS, "full", 1_047_576, 32_768, "0.4", "1.6", "0.1", 834, ()),
            ("gpt-4.1-nano", "GPT-4.1 Nano", _DOCS, "full", 1_047_576, 32_768, "0.1", "0.4", "0.025", 834, ()),
            ("gpt-4o", "GPT-4o", _DOCS, "full", 128_000, 16_384, "2.5", "10", "1.25", 498, ("-2024-11-20", "-2024-08-06")),
            ("gpt-4o-mini", "GPT-4o-mini", _DOCS, "full", 128_000, 16_384, "0.15", "0.6", "0.075", 564, ("-2024-07-18",)),
            ("chatgpt-4o-latest", "ChatGPT-4o", _VISION, "chat", 128_000, 16_384, "5", "15", None, 592, ()),
            ("o3", "o3", _DOCS, "o-series", 200_000, 100_000, "2", "8", "0.5", 835, ()),
            ("o3-pro", "o3 Pro", _DOCS, "o-series", 200_000, 100_000, "20", "80", None, 890, ()),
            ("o3-mini", "o3 Mini", _TEXT, "o-series", 200_000, 100_000, "1.1", "4.4", "0.55", 760, ()),
            ("o4-mini", "o4 Mini", _DOCS, "o-series", 200_000, 100_000, "1.1", "4.4", "0.275", 835, ()),
            ("o1", "o1", _DOCS, "o-series", 200_000, 100_000, "15", "60", "7.5", 717, ()),
            ("gpt-oss-120b", "gpt-oss-120b", _TEXT, "reasoner", 131_072, 32_768, "0.05", "0.25", None, 947, (":free",)),
            ("gpt-oss-20b", "gpt-oss-20b", _TEXT, "reasoner", 131_072, 32_768, "0.03", "0.14", None, 947, (":free",)),
        ],
    ),
    (
        "google",
        "Google",
        "Gemini",
        [
            ("gemini-3-pro-preview", "Gemini 3 Pro Preview", _ALL, "reasoner", 1_048_576, 65_536, "2", "12", "0.2", 1052, ()),
            ("gemini-2.5-pro", "Gemini 2.5 Pro", _ALL, "reasoner", 1_048_576, 65_536, "1.25", "10", "0.31", 899, ()),
            ("gemini-2.5-flash", "Gemini 2.5 Flash", _ALL, "reasoner", 1_048_576, 65_535, "0.3", "2.5", "0.075", 899, ()),
            ("gemini-2.5-flash-lite", "Gemini 2.5 Flash Lite", _ALL, "reasoner", 1_048_576, 65_535, "0.1", "0.4", "0.025", 933, ()),
            ("gemini-2.0-flash-001", "Gemini 2.0 Flash", _ALL, "full", 1_048_576, 8_192, "0.1", "0.4", "0.025", 765, ()),
            ("gemma-3-27b-it", "Gemma 3 27B", _VISION, "full", 131_072, 16_384, "0.09", "0.16", None, 801, (":free",)),
            ("gemma-3-12b-it", "Gemma 3 12B", _VISION, "chat", 131_072, 16_384, "0.05", "0.1", None, 801, (":free",)),
            ("gemma-3-4b-it", "Gemma 3 4B", _VISION, "chat", 131_072, 8_192, "0.02", "0.04", None, 801, (":free",)),
            ("gemma-3n-e4b-it", "Gemma 3n 4B", _TEXT, "chat", 32_768, 8_192, "0.02", "0.04", None, 873, (":free",)),
        ],
    ),
    (
        "meta-llama",
        "Meta",
        "Llama3",
        [
            ("llama-4-maverick", "Llama 4 Maverick", _VISION, "full", 1_048_576, 16_384, "0.15", "0.6", None, 826, (":free",)),
            ("llama-4-scout", "Llama 4 Scout", _VISION, "full", 327_680, 16_384, "0.08", "0.3", None, 826, (":free",)),
            ("llama-3.3-70b-instruct", "Llama 3.3 70B Instruct", _TEXT, "tools", 131_072, 16_384, "0.13", "0.38", None, 705, (":free",)),
            ("llama-3.2-3b-instruct", "Llama 3.2 3B Instruct", _TEXT, "chat", 131_072, 16_384, "0.02", "0.02", None, 633, (":free",)),
            ("llama-3.2-11b-vision-instruct", "Llama 3.2 11B Vision Instruct", _VISION, "chat", 131_072, 16_384, "0.05", "0.05", None, 633, ()),
            ("llama-3.1-405b-instruct", "Llama 3.1 405B Instruct", _TEXT, "tools", 131_072, 16_384, "0.8", "0.8", None, 569, ()),
            ("llama-3.1-70b-instruct", "Llama 3.1 70B Instruct", _TEXT, "tools", 131_072, 16_384, "0.1", "0.28", None, 569, ()),
            ("llama-3.1-8b-instruct", "Llama 3.1 8B Instruct", _TEXT, "tools", 131_072, 16_384, "0.02", "0.03", None, 569, ()),
            ("llama-guard-4-12b", "Llama Guard 4 12B", _VISION, "chat", 163_840, None, "0.18", "0.18", None, 848, ()),
        ],
    ),
    (
        "mistralai",
        "Mistral",
        "Mistral",
        [
            ("mistral-large-2411", "Mistral Large 2411", _TEXT, "full", 131_072, None, "2", "6", None, 686, ()),
            ("mistral-medium-3.1", "Mistral Medium 3.1", _VISION, "full", 131_072, None, "0.4", "2", None, 955, ()),
            ("mistral-small-3.2-24b-instruct", "Mistral Small 3.2 24B", _VISION, "full", 131_072, 131_072, "0.06", "0.18", None, 901, (":free",)),
            ("codestral-2508", "Codestral 2508", _TEXT, "full", 256_000, None, "0.3", "0.9", None, 944, ()),
            ("devstral-medium", "Devstral Medium", _TEXT, "tools", 131_072, None, "0.4", "2", None, 920, ()),
            ("devstral-small", "Devstral Small 1.1", _TEXT, "tools", 128_000, None, "0.07", "0.28", None, 920, (":free",)),
            ("pixtral-large-2411", "Pixtral Large 2411", _VISION, "tools", 131_072, None, "2", "6", None, 686, ()),
            ("ministral-8b", "Ministral 8B", _TEXT, "tools", 128_000, None, "0.1", "0.1", None, 653, ()),
            ("ministral-3b", "Ministral 3B", _TEXT, "tools", 131_072, None, "0.04", "0.04", None, 653, ()),
            ("mistral-nemo", "Mistral Nemo", _TEXT, "tools", 131_072, 16_384, "0.02", "0.04", None, 563, (":free",)),
            ("magistral-medium-2506", "Magistral Medium 2506", _TEXT, "thinking", 40_960, 40_000, "2", "5", None, 890, ()),
            ("mistral-7b-instruct", "Mistral 7B Instruct", _TEXT, "chat", 32_768, 16_384, "0.03", "0.05", None, 515, (":free",)),
        ],
    ),
    (
        "qwen",
        "Qwen",
        "Qwen3",
        [
            ("qwen3-max", "Qwen3 Max", _TEXT, "full", 262_144, 32_768, "1.2", "6", "0.24", 997, ()),
            ("qwen3-235b-a22b-2507", "Qwen3 235B A22B Instruct 2507", _TEXT, "full", 262_144, None, "0.08", "0.55", None, 932, ()),
            ("qwen3-235b-a22b-thinking-2507", "Qwen3 235B A22B Thinking 2507", _TEXT, "reasoner", 262_144, 262_144, "0.11", "0.6", None, 936, ()),
            ("qwen3-coder", "Qwen3 Coder 480B A35B", _TEXT, "full", 262_144, 262_144, "0.22", "0.95", None, 933, (":free",)),
            ("qwen3-32b", "Qwen3 32B", _TEXT, "thinking", 40_960, 40_960, "0.05", "0.2", None, 848, ()),
            ("qwen3-30b-a3b", "Qwen3 30B A3B", _TEXT, "thinking", 40_960, 40_960, "0.06", "0.22", None, 848, (":free",)),
            ("qwen3-14b", "Qwen3 14B", _TEXT, "thinking", 40_960, 40_960, "0.05", "0.22", None, 848, (":free",)),
            ("qwen3-8b", "Qwen3 8B", _TEXT, "thinking", 128_000, 20_000, "0.035", "0.138", None, 848, ()),
            ("qwen3-next-80b-a3b-instruct", "Qwen3 Next 80B A3B Instruct", _TEXT, "full", 262_144, None, "0.1", "0.8", None, 984, ()),
            ("qwen3-vl-235b-a22b-instruct", "Qwen3 VL 235B A22B Instruct", _VISION, "full", 262_144, None, "0.3", "1.2", None, 996, ()),
            ("qwen-2.5-72b-instruct", "Qwen2.5 72B Instruct", _TEXT, "tools", 32_768, 16_384, "0.07", "0.26", None, 626, (":free",)),
            ("qwen2.5-vl-72b-instruct", "Qwen2.5 VL 72B Instruct", _VISION, "chat", 32_768, None, "0.08", "0.33", None, 762, ()),
        ],
    ),
    (
        "deepseek",
        "DeepSeek",
        "DeepSeek",
        [
            ("deepseek-v3.2-exp", "DeepSeek V3.2 Exp", _TEXT, "reasoner", 163_840, None, "0.27", "0.4", None, 1002, ()),
            ("deepseek-chat-v3.1", "DeepSeek V3.1", _TEXT, "reasoner", 163_840, None, "0.2", "0.8", None, 964, (":free",)),
            ("deepseek-chat-v3-0324", "DeepSeek V3 0324", _TEXT, "tools", 163_840, None, "0.24", "0.84", None, 813, (":free",)),
            ("deepseek-r1", "R1", _TEXT, "thinking", 163_840, None, "0.4", "2", None, 750, (":free",)),
            ("deepseek-r1-0528", "R1 0528", _TEXT, "thinking", 163_840, None, "0.4", "1.75", None, 877, (":free",)),
            ("deepseek-r1-distill-llama-70b", "R1 Distill Llama 70B", _TEXT, "thinking", 131_072, None, "0.03", "0.13", None, 753, (":free",)),
            ("deepseek-r1-distill-qwen-32b", "R1 Distill Qwen 32B", _TEXT, "thinking", 131_072, None, "0.27", "0.27", None, 758, ()),
        ],
    ),
    (
        "x-ai",
        "xAI",
        "Grok",
        [
            ("grok-4", "Grok 4", _VISION, "reasoner", 256_000, None, "3", "15", "0.75", 920, ()),
            ("grok-4-fast", "Grok 4 Fast", _VISION, "reasoner", 2_000_000, 30_000, "0.2", "0.5", "0.05", 992, ()),
            ("grok-4.1-fast", "Grok 4.1 Fast", _VISION, "reasoner", 2_000_000, 30_000, "0.2", "0.5", "0.05", 1054, ()),
            ("grok-code-fast-1", "Grok Code Fast 1", _TEXT, "reasoner", 256_000, 10_000, "0.2", "1.5", "0.02", 970, ()),
            ("grok-3", "Grok 3", _TEXT, "full", 131_072, None, "3", "15", "0.75", 867, ()),
            ("grok-3-mini", "Grok 3 Mini", _TEXT, "reasoner", 131_072, None, "0.3", "0.5", "0.075", 867, ()),
        ],
    ),
    (
        "moonshotai",
        "MoonshotAI",
        "Other",
        [
            ("kimi-k2", "Kimi K2 0711", _TEXT, "full", 131_072, None, "0.14", "2.49", None, 922, (":free",)),
            ("kimi-k2-0905", "Kimi K2 0905", _TEXT, "full", 262_144, 262_144, "0.39", "1.9", None, 977, ()),
            ("kimi-k2-thinking", "Kimi K2 Thinking", _TEXT, "reasoner", 262_144, 262_144, "0.45", "2.35", None, 1040, ()),
            ("kimi-dev-72b", "Kimi Dev 72B", _TEXT, "thinking", 131_072, 131_072, "0.29", "1.15", None, 897, (":free",)),
        ],
    ),
    (
        "z-ai",
        "Z.AI",
        "Other",
        [
            ("glm-4.6", "GLM 4.6", _TEXT, "reasoner", 202_752, 202_752, "0.4", "1.75", None, 1003, ()),
            ("glm-4.5", "GLM 4.5", _TEXT, "reasoner", 131_072, 131_072, "0.35", "1.55", None, 939, ()),
            ("glm-4.5-air", "GLM 4.5 Air", _TEXT, "reasoner", 131_072, 131_072, "0.13", "0.85", None, 939, (":free",)),
            ("glm-4.5v", "GLM 4.5V", _VISION, "thinking", 65_536, 16_384, "0.5", "1.8", None, 954, ()),
        ],
    ),
    (
        "nvidia",
        "NVIDIA",
        "Llama3",
        [
            ("llama-3.1-nemotron-70b-instruct", "Llama 3.1 Nemotron 70B Instruct", _TEXT, "tools", 131_072, 16_384, "1.2", "1.2", None, 654, ()),
            ("nemotron-nano-9b-v2", "Nemotron Nano 9B V2", _TEXT, "thinking", 131_072, None, "0.04", "0.16", None, 963, (":free",)),
        ],
    ),
    (
        "microsoft",
        "Microsoft",
        "Other",
        [
            ("phi-4", "Phi 4", _TEXT, "chat", 16_384, 16_384, "0.06", "0.14", None, 739, ()),
            ("phi-4-multimodal-instruct", "Phi 4 Multimodal Instruct", _VISION, "chat", 131_072, None, "0.05", "0.1", None, 796, ()),
            ("mai-ds-r1", "MAI DS R1", _TEXT, "thinking", 163_840, 163_840, "0.3", "1.2", None, 841, (":free",)),
        ],
    ),
    (
        "cohere",
        "Cohere",
        "Cohere",
        [
            ("command-a", "Command A", _TEXT, "full", 256_000, 8_192, "2.5", "10", None, 802, ()),
            ("command-r-plus-08-2024", "Command R+ (08-2024)", _TEXT, "tools", 128_000, 4_000, "2.5", "10", None, 607, ()),
            ("command-r7b-12-2024", "Command R7B (12-2024)", _TEXT, "tools", 128_000, 4_000, "0.0375", "0.15", None, 713, ()),
        ],
    ),
    (
        "amazon",
        "Amazon",
        "Nova",
        [
            ("nova-pro-v1", "Nova Pro 1.0", _VISION, "tools", 300_000, 5_120, "0.8", "3.2", None, 702, ()),
            ("nova-lite-v1", "Nova Lite 1.0", _VISION, "tools", 300_000, 5_120, "0.06", "0.24", None, 702, ()),
            ("nova-micro-v1", "Nova Micro 1.0", _TEXT, "tools", 128_000, 5_120, "0.035", "0.14", None, 702, ()),
        ],
    ),
    (
        "perplexity",
        "Perplexity",
        "Other",
        [
            ("sonar", "Sonar", _VISION, "chat", 127_072, None, "1", "1", None, 758, ()),
            ("sonar-pro", "Sonar Pro", _VISION, "chat", 200_000, 8_000, "3", "15", None, 806, ()),
            ("sonar-reasoning-pro", "Sonar Reasoning Pro", _VISION, "thinking", 128_000, None, "2", "8", None, 806, ()),
            ("sonar-deep-research", "Sonar Deep Research", _TEXT, "thinking", 128_000, None, "2", "8", None, 806, ()),
        ],
    ),
    (
        "minimax",
        "MiniMax",
        "Other",
        [
            ("minimax-m2", "MiniMax M2", _TEXT, "reasoner", 204_800, 131_072, "0.255", "1.02", None, 1026, (":free",)),
            ("minimax-m1", "MiniMax M1", _TEXT, "thinking", 1_000_000, 40_000, "0.4", "2.2", None, 898, ()),
        ],
    ),
    (
        "nousresearch",
        "Nous",
        "Llama3",
        [
            ("hermes-4-405b", "Hermes 4 405B", _TEXT, "thinking", 131_072, 131_072, "0.3", "1.2", None, 968, ()),
            ("hermes-4-70b", "Hermes 4 70B", _TEXT, "thinking", 131_072, 131_072, "0.11", "0.38", None, 968, ()),
            ("hermes-3-llama-3.1-405b", "Hermes 3 405B Instruct", _TEXT, "chat", 131_072, 16_384, "1", "1", None, 592, (":free",)),
        ],
    ),
]

# fmt: on


def _per_token(per_million: str | None) -> str | None:
    if per_million is None:
        return None
    return format(Decimal(per_million) / Decimal(1_000_000), "f")


def _created(days: object) -> int:
    start = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC).timestamp()
    return int(start) + int(str(days)) * _DAY


def _model(
    vendor: str,
    vendor_name: str,
    tokenizer: str,
    spec: tuple[object, ...],
    variant: str = "",
) -> JSONObject:
    model, name, inputs, kind, context, max_out, prompt, completion, cache, days, _ = spec
    free = variant == ":free"
    dated = variant.startswith("-")
    model_id = f"{vendor}/{model}{variant}"
    pricing: JSONObject = {
        "prompt": "0" if free else _per_token(str(prompt)),
        "completion": "0" if free else _per_token(str(completion)),
        "request": "0",
        "image": "0",
        "web_search": "0",
        "internal_reasoning": "0",
    }
    if cache is not None and not free:
        pricing["input_cache_read"] = _per_token(str(cache))
    if vendor == "anthropic":
        pricing["input_cache_write"] = _per_token(str(Decimal(str(prompt)) * Decimal("1.25")))
    window = context if isinstance(context, int) else None
    top_context = min(window, 65_536) if free and window else window
    label = f"{vendor_name}: {name}"
    if free:
        label += " (free)"
    elif variant == ":thinking":
        label += " (thinking)"
    elif dated:
        label += f" ({variant[1:]})"
    input_modalities = [str(m) for m in inputs] if isinstance(inputs, list) else _TEXT
    params: list[JSON] = list(_PARAMS[str(kind)])
    if variant == ":thinking" and "reasoning" not in params:
        params += _REASONING
    most = max_out if isinstance(max_out, int) and not free else None
    created = _created(days) + (30 * _DAY if dated else 0)
    stamp = datetime.datetime.fromtimestamp(created, datetime.UTC).strftime("%Y%m%d")
    canonical = model_id if dated else f"{vendor}/{model}-{stamp}"
    return {
        "id": model_id,
        "canonical_slug": canonical,
        "hugging_face_id": None,
        "name": label,
        "created": created,
        "description": f"{label}, served through OpenRouter.",
        "context_length": top_context,
        "architecture": {
            "modality": "+".join(input_modalities) + "->text",
            "input_modalities": list[JSON](input_modalities),
            "output_modalities": ["text"],
            "tokenizer": tokenizer,
            "instruct_type": None,
        },
        "pricing": pricing,
        "top_provider": {
            "context_length": top_context,
            "max_completion_tokens": most,
            "is_moderated": vendor in ("anthropic", "openai"),
        },
        "per_request_limits": None,
        "supported_parameters": params,
        "default_parameters": {"temperature": None, "top_p": None, "frequency_penalty": None},
        "knowledge_cutoff": None,
        "expiration_date": None,
    }


def _odd_cases() -> list[JSONObject]:
    """
    Entries a client must read without tripping, each unlike the generated ones.
    """
    router: JSONObject = _model(
        "openrouter",
        "OpenRouter",
        "Router",
        ("auto", "Auto Router", _ALL, "reasoner", 2_000_000, None, "1", "1", None, 600, ()),
    )
    router["pricing"] = {"prompt": "-1", "completion": "-1"}  # priced per request by the route
    router["name"] = "Auto Router"

    image_out = _model(
        "google",
        "Google",
        "Gemini",
        (
            "gemini-2.5-flash-image",
            "Gemini 2.5 Flash Image",
            _VISION,
            "full",
            32_768,
            32_768,
            "0.3",
            "2.5",
            None,
            996,
            (),
        ),
    )
    image_out["architecture"]["output_modalities"] = ["image", "text"]  # type: ignore[index, call-overload]
    gpt_image = _model(
        "openai",
        "OpenAI",
        "GPT",
        (
            "gpt-5-image",
            "GPT-5 Image",
            _DOCS,
            "o-series",
            400_000,
            128_000,
            "10",
            "10",
            "1.25",
            1017,
            (),
        ),
    )
    gpt_image["architecture"]["output_modalities"] = ["image", "text"]  # type: ignore[index, call-overload]

    embeddings = []
    for vendor, model, name in (
        ("openai", "text-embedding-3-small", "Text Embedding 3 Small"),
        ("openai", "text-embedding-3-large", "Text Embedding 3 Large"),
        ("qwen", "qwen3-embedding-8b", "Qwen3 Embedding 8B"),
    ):
        entry = _model(
            vendor,
            vendor.title(),
            "Other",
            (model, name, _TEXT, "chat", 8_192, None, "0.02", "0", None, 700, ()),
        )
        entry["architecture"]["output_modalities"] = ["embeddings"]  # type: ignore[index, call-overload]
        entry["supported_parameters"] = []
        embeddings.append(entry)

    retiring = _model(
        "anthropic",
        "Anthropic",
        "Claude",
        (
            "claude-3.5-sonnet",
            "Claude 3.5 Sonnet",
            _DOCS,
            "tools",
            200_000,
            8_192,
            "3",
            "15",
            "0.3",
            537,
            (),
        ),
    )
    retiring["expiration_date"] = "2025-10-22"
    flash_exp = _model(
        "google",
        "Google",
        "Gemini",
        (
            "gemini-2.0-flash-exp",
            "Gemini 2.0 Flash Experimental",
            _ALL,
            "tools",
            1_048_576,
            8_192,
            "0",
            "0",
            None,
            710,
            (":free",),
        ),
        ":free",
    )
    flash_exp["expiration_date"] = "2026-02-28"
    flash_exp["knowledge_cutoff"] = "2024-08-01"

    no_pricing = _model(
        "inflection",
        "Inflection",
        "Other",
        (
            "inflection-3-pi",
            "Inflection 3 Pi",
            _TEXT,
            "chat",
            8_000,
            1_024,
            "2.5",
            "10",
            None,
            650,
            (),
        ),
    )
    del no_pricing["pricing"]
    null_prices = _model(
        "sao10k",
        "Sao10K",
        "Llama3",
        (
            "l3.3-euryale-70b",
            "Llama 3.3 Euryale 70B",
            _TEXT,
            "chat",
            131_072,
            16_384,
            "0.65",
            "0.75",
            None,
            710,
            (),
        ),
    )
    null_prices["pricing"] = {"prompt": None, "completion": None, "request": None}
    no_architecture = _model(
        "undi95",
        "Undi95",
        "Llama2",
        (
            "remm-slerp-l2-13b",
            "ReMM SLERP 13B",
            _TEXT,
            "chat",
            6_144,
            None,
            "0.45",
            "0.65",
            None,
            300,
            (),
        ),
    )
    del no_architecture["architecture"]
    del no_architecture["supported_parameters"]
    no_top = _model(
        "thedrummer",
        "TheDrummer",
        "Other",
        (
            "cydonia-24b-v4.1",
            "Cydonia 24B V4.1",
            _TEXT,
            "chat",
            131_072,
            None,
            "0.3",
            "0.5",
            None,
            990,
            (),
        ),
    )
    del no_top["top_provider"]
    no_name = _model(
        "alpindale",
        "Alpindale",
        "Other",
        ("goliath-120b", "Goliath 120B", _TEXT, "chat", 6_144, 512, "4", "5.5", None, 350, ()),
    )
    del no_name["name"]
    no_context = _model(
        "arcee-ai",
        "Arcee",
        "Other",
        (
            "virtuoso-large",
            "Virtuoso Large",
            _TEXT,
            "tools",
            None,
            None,
            "0.75",
            "1.2",
            None,
            830,
            (),
        ),
    )
    no_context["context_length"] = None
    return [
        router,
        image_out,
        gpt_image,
        *embeddings,
        retiring,
        flash_exp,
        no_pricing,
        null_prices,
        no_architecture,
        no_top,
        no_name,
        no_context,
    ]


def openrouter_models() -> list[JSONObject]:
    """
    OpenRouter's ``GET /api/v1/models`` ``data``: the families and their variants, then the odd cases.
    """
    models: list[JSONObject] = []
    for vendor, vendor_name, tokenizer, specs in _FAMILIES:
        for spec in specs:
            models.append(_model(vendor, vendor_name, tokenizer, spec))
            variants = spec[-1]
            for variant in variants if isinstance(variants, tuple) else ():
                models.append(_model(vendor, vendor_name, tokenizer, spec, str(variant)))
    models += _odd_cases()
    models.sort(key=lambda m: -int(str(m.get("created", 0))))  # newest first, as OpenRouter lists
    return models


def openai_models() -> list[JSONObject]:
    """
    An OpenAI-compatible ``GET /v1/models`` ``data``: ids, creation times and owners only.
    """
    ids = [
        ("gpt-5", 1754425777),
        ("gpt-5-2025-08-07", 1754425384),
        ("gpt-5-mini", 1754425928),
        ("gpt-5-nano", 1754426384),
        ("gpt-5.1", 1762547616),
        ("gpt-4.1", 1744316542),
        ("gpt-4.1-mini", 1744318173),
        ("gpt-4.1-nano", 1744321707),
        ("gpt-4o", 1715367049),
        ("gpt-4o-mini", 1721172741),
        ("o3", 1744225308),
        ("o4-mini", 1744225351),
        ("gpt-image-1", 1745517030),
        ("text-embedding-3-small", 1705948997),
        ("whisper-1", 1677532384),
    ]
    return [
        {"id": model_id, "object": "model", "created": created, "owned_by": "system"}
        for model_id, created in ids
    ]


def anthropic_models() -> list[JSONObject]:
    """
    Anthropic's ``GET /v1/models`` entries, most recently released first.

    The newer entries carry ``max_input_tokens``, ``max_tokens`` and
    ``capabilities``; the older ones only what the API always sent (``id``,
    ``type``, ``display_name``, ``created_at``).
    """

    def capabilities(*, pdf: bool, structured: bool, thinking: bool) -> JSON:
        def support(value: bool) -> JSON:
            return {"supported": value}

        return {
            "batch": support(True),
            "citations": support(True),
            "code_execution": support(True),
            "context_management": {"supported": True},
            "effort": {
                "supported": thinking,
                "low": support(thinking),
                "medium": support(thinking),
                "high": support(thinking),
                "max": support(False),
            },
            "image_input": support(True),
            "pdf_input": support(pdf),
            "structured_outputs": support(structured),
            "thinking": {"supported": thinking, "types": {"enabled": support(thinking)}},
        }

    entries: list[JSONObject] = []
    for model_id, name, released, window, most, caps in (
        (
            "claude-opus-4-5-20251101",
            "Claude Opus 4.5",
            "2025-11-24T00:00:00Z",
            200_000,
            64_000,
            (True, True, True),
        ),
        (
            "claude-haiku-4-5-20251001",
            "Claude Haiku 4.5",
            "2025-10-15T00:00:00Z",
            200_000,
            64_000,
            (True, True, True),
        ),
        (
            "claude-sonnet-4-5-20250929",
            "Claude Sonnet 4.5",
            "2025-09-29T00:00:00Z",
            200_000,
            64_000,
            (True, True, True),
        ),
        (
            "claude-opus-4-1-20250805",
            "Claude Opus 4.1",
            "2025-08-05T00:00:00Z",
            200_000,
            32_000,
            (True, False, True),
        ),
        (
            "claude-opus-4-20250514",
            "Claude Opus 4",
            "2025-05-22T00:00:00Z",
            200_000,
            32_000,
            (True, False, True),
        ),
        (
            "claude-sonnet-4-20250514",
            "Claude Sonnet 4",
            "2025-05-22T00:00:00Z",
            200_000,
            64_000,
            (True, False, True),
        ),
        (
            "claude-3-7-sonnet-20250219",
            "Claude Sonnet 3.7",
            "2025-02-24T00:00:00Z",
            None,
            None,
            None,
        ),
        ("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z", None, None, None),
        ("claude-3-haiku-20240307", "Claude Haiku 3", "2024-03-07T00:00:00Z", None, None, None),
    ):
        entry: JSONObject = {
            "id": model_id,
            "type": "model",
            "display_name": name,
            "created_at": released,
        }
        if window is not None:
            entry["max_input_tokens"] = window
            entry["max_tokens"] = most
        if caps is not None:
            pdf, structured, thinking = caps
            entry["capabilities"] = capabilities(pdf=pdf, structured=structured, thinking=thinking)
        entries.append(entry)
    return entries
