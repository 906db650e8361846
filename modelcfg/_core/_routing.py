"""
Routing by need: what a request needs, how big it is, and which models cannot serve it.

Pure: the needs come from the request's plain data, the answers from the
:class:`~modelcfg._core._state.ModelTraits` the host built from its catalog.
Unknown capability always means "try it", never "skip".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import attrs

from modelcfg._core._metrics import TargetMetrics
from modelcfg._core._policy import RoutingPolicy
from modelcfg._core._reasons import SkipCode
from modelcfg._core._state import ModelTraits, RequestNeeds
from modelcfg._core._values import ModelRef
from modelcfg._messages import ChatRequest, ImagePart

__all__ = [
    "CHARS_PER_TOKEN",
    "SAFETY_MARGIN",
    "ModelStats",
    "Placement",
    "RoutingPolicy",
    "estimate_tokens",
    "estimated_cost_usd",
    "explain_order",
    "needs_of",
    "order_candidates",
    "place_candidates",
    "routed",
    "stats_of",
    "unmet_need",
]

CHARS_PER_TOKEN: Final[Mapping[str, float]] = {
    "claude": 3.5,
    "gpt": 4.0,
    "o": 4.0,
    "gemini": 4.0,
    "llama": 3.8,
    "mistral": 3.6,
    "qwen": 3.4,
    "deepseek": 3.6,
}
"""
Characters per token by model family, a cheap stand-in for a tokenizer.

English prose runs about four characters to a token with OpenAI's and Google's
tokenizers, a little less with Anthropic's and the open models'. A family not
listed uses :data:`DEFAULT_CHARS_PER_TOKEN`.
"""

DEFAULT_CHARS_PER_TOKEN: Final = 3.5
"""Characters per token of a family not in :data:`CHARS_PER_TOKEN`, on the safe side."""

SAFETY_MARGIN: Final = 1.2
"""The estimate is raised by this factor, so code, numbers and other scripts still fit."""

IMAGE_TOKENS: Final = 1600
"""What one image is counted as in the prompt estimate (a large image, for most providers)."""

MESSAGE_OVERHEAD_TOKENS: Final = 4
"""The tokens each message's role and separators add."""


def _chars_per_token(family: str | None) -> float:
    if not family:
        return DEFAULT_CHARS_PER_TOKEN
    key = family.strip().lower()
    for prefix, ratio in CHARS_PER_TOKEN.items():
        if (
            key == prefix
            or key.startswith((f"{prefix}-", f"{prefix}_"))
            or (len(prefix) > 1 and key.startswith(prefix))
        ):
            return ratio
    return DEFAULT_CHARS_PER_TOKEN


def estimate_tokens(chars: int, family: str | None = None) -> int:
    """
    The tokens *chars* characters of text take, with the safety margin, at least 1.

    The family (``claude``, ``gpt``, ...) picks the ratio from :data:`CHARS_PER_TOKEN`.
    """
    if chars <= 0:
        return 1
    return max(1, math.ceil(chars / _chars_per_token(family) * SAFETY_MARGIN))


def needs_of(request: ChatRequest, *, family: str | None = None) -> RequestNeeds:
    """
    The needs *request* shows: tools, streaming, images, JSON or a schema, and its size.

    The context need is the prompt's estimate (:func:`estimate_tokens`, with each
    image counted as :data:`IMAGE_TOKENS` and each message's overhead) plus the
    ``max_tokens`` (or ``max_completion_tokens``) the request asks for.
    PDF, audio, reasoning and a cost limit are not visible in a request: declare
    them with ``attrs.evolve(needs_of(request), reasoning=True)``.
    """
    chars = len(request.system or "")
    images = 0
    for message in request.messages:
        content = message.content
        if isinstance(content, str):
            chars += len(content)
        else:
            chars += len(message.text)
            images += sum(1 for part in content if isinstance(part, ImagePart))
        for call in message.tool_calls:
            chars += len(call.name) + len(call.arguments)
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description or "") + len(str(tool.parameters))
    prompt = (
        estimate_tokens(chars, family)
        + images * IMAGE_TOKENS
        + MESSAGE_OVERHEAD_TOKENS * len(request.messages)
    )
    output = _max_tokens(request.params)
    return RequestNeeds(
        has_images=images > 0,
        tools=bool(request.tools),
        streaming=request.stream,
        json_output=request.wants_json,
        schema_output=request.json_schema is not None,
        prompt_tokens=prompt,
        output_tokens=output,
        min_context_tokens=prompt + (output or 0),
    )


def _max_tokens(params: Mapping[str, object]) -> int | None:
    for key in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
        value = params.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def estimated_cost_usd(needs: RequestNeeds, traits: ModelTraits) -> float | None:
    """
    What the request is estimated to cost on a model, in USD, or ``None`` when unknown.

    The prompt estimate at the input price plus the expected answer (``max_tokens``,
    else none) at the output price.
    """
    if needs.prompt_tokens is None or traits.input_price is None:
        return None
    cost = needs.prompt_tokens * traits.input_price
    if needs.output_tokens is not None:
        if traits.output_price is None:
            return None
        cost += needs.output_tokens * traits.output_price
    return cost / 1_000_000


_CAPABILITIES: Final = (
    ("tools", "tools", SkipCode.LACKS_TOOLS),
    ("streaming", "streaming", SkipCode.LACKS_STREAMING),
    ("json_output", "json_output", SkipCode.LACKS_JSON_OUTPUT),
    ("schema_output", "schema_output", SkipCode.LACKS_SCHEMA_OUTPUT),
    ("reasoning", "reasoning", SkipCode.LACKS_REASONING),
    ("pdf_input", "pdf_input", SkipCode.LACKS_PDF_INPUT),
    ("audio_input", "audio_input", SkipCode.LACKS_AUDIO_INPUT),
)
"""Each yes-or-no need: its field on the needs, its field on the traits, its skip code."""

NEED_NAMES: Final = frozenset(
    {"tools", "streaming", "json_output", "schema_output", "reasoning", "pdf_input"}
    | {"audio_input", "image_input"}
)
"""The names of the needs a model can be learned to lack (:attr:`ModelTraits.lacking`)."""


def unmet_need(needs: RequestNeeds, traits: ModelTraits) -> tuple[SkipCode, str] | None:
    """
    The first need of *needs* the model with *traits* is known not to meet, and words
    for it; ``None`` when nothing is known to be missing.

    The context window is checked by the caller (it also depends on the request's
    progress). A capability is missing when the traits say ``False`` or the model
    turned it down at run time (:attr:`ModelTraits.lacking`); unknown is tried.
    """
    lacking = traits.lacking
    if needs.has_images and (
        "image_input" in lacking or (traits.input_modalities_known and not traits.image_input)
    ):
        return SkipCode.LACKS_IMAGE_INPUT, "the request carries images"
    for need, field, code in _CAPABILITIES:
        if getattr(needs, need) and (need in lacking or getattr(traits, field) is False):
            learned = need in lacking
            why = "the provider turned it down" if learned else "the catalog says so"
            return code, f"the request needs {need.replace('_', ' ')}; {why}"
    limit = needs.max_cost_usd
    if limit is not None:
        cost = estimated_cost_usd(needs, traits)
        if cost is not None and cost > limit:
            return SkipCode.OVER_BUDGET, f"estimated ${cost:.6f}, limit ${limit:.6f}"
    return None


# --- policies that order the candidates ---------------------------------------------------------


@attrs.frozen(kw_only=True)
class ModelStats:
    """
    What recent traffic says of one model, for the latency and reliability policies.

    Attributes:
        p50_s: The median latency in seconds, if measured.
        ttft_s: The median time to first token in seconds, if measured.
        success_rate: The share of recent calls that succeeded, from 0 to 1, if measured.
    """

    p50_s: float | None = None
    ttft_s: float | None = None
    success_rate: float | None = None


_NO_STATS = ModelStats()


@attrs.frozen(kw_only=True)
class Placement:
    """
    Where one candidate stands after a policy ordered the candidates, and why.

    Attributes:
        model: The candidate.
        configured: Its position in the configured order, from 0.
        key: The value the policy sorted by, or ``None`` when unknown (unknowns go
            last, in configured order).
        why: One sentence for people.
    """

    model: ModelRef
    configured: int
    key: float | None
    why: str


def _key(
    policy: RoutingPolicy, needs: RequestNeeds, traits: ModelTraits, stats: ModelStats
) -> tuple[float | None, str]:
    if policy is RoutingPolicy.COST:
        cost = estimated_cost_usd(needs, traits)
        return cost, ("cost unknown" if cost is None else f"estimated ${cost:.6f}")
    if policy is RoutingPolicy.LATENCY:
        if stats.p50_s is not None:
            return stats.p50_s, f"p50 {stats.p50_s * 1000:.0f} ms"
        if stats.ttft_s is not None:
            return stats.ttft_s, f"time to first token {stats.ttft_s * 1000:.0f} ms"
        return None, "latency unknown"
    if policy is RoutingPolicy.RELIABILITY:
        rate = stats.success_rate
        if rate is None:
            return None, "success rate unknown"
        return -rate, f"success rate {rate:.0%}"
    return None, "configured order"


def place_candidates(
    candidates: tuple[ModelRef, ...],
    policy: RoutingPolicy,
    *,
    needs: RequestNeeds,
    traits: Mapping[ModelRef, ModelTraits],
    stats: Mapping[ModelRef, ModelStats] | None = None,
    fixed_lead: bool = False,
) -> tuple[Placement, ...]:
    """
    The candidates in the order *policy* puts them, each with why it stands there.

    The sort is stable: ties, and candidates whose key is unknown (placed last),
    keep the configured order. With *fixed_lead* (the user's explicit selection
    leads the candidates) the first candidate stays first and only the rest are
    ordered; ``ordered`` changes nothing. The result is always a permutation of
    *candidates*.
    """
    stats = stats if stats is not None else {}
    placed: list[Placement] = []
    for index, model in enumerate(candidates):
        known = traits.get(model, ModelTraits())
        key, why = _key(policy, needs, known, stats.get(model, _NO_STATS))
        placed.append(Placement(model=model, configured=index, key=key, why=why))
    if policy is RoutingPolicy.ORDERED or len(placed) < 2:
        return tuple(placed)
    lead: list[Placement] = []
    if fixed_lead:
        lead = [attrs.evolve(placed[0], why="the user's selection stays first")]
        placed = placed[1:]
    placed.sort(key=lambda p: (p.key is None, p.key if p.key is not None else 0.0, p.configured))
    return (*lead, *placed)


def order_candidates(
    candidates: tuple[ModelRef, ...],
    policy: RoutingPolicy,
    *,
    needs: RequestNeeds,
    traits: Mapping[ModelRef, ModelTraits],
    stats: Mapping[ModelRef, ModelStats] | None = None,
    fixed_lead: bool = False,
) -> tuple[ModelRef, ...]:
    """
    :func:`place_candidates` as models only, without the words (the fast path).
    """
    if policy is RoutingPolicy.ORDERED or len(candidates) < 2:
        return candidates
    start = 1 if fixed_lead else 0
    if policy is RoutingPolicy.COST:
        return (*candidates[:start], *_by_cost(candidates, start, needs, traits))
    stats = stats if stats is not None else {}
    keyed = []
    for index in range(start, len(candidates)):
        model = candidates[index]
        key = _fast_key(policy, stats.get(model))
        keyed.append((key is None, key or 0.0, index, model))
    keyed.sort()
    return (*candidates[:start], *(row[3] for row in keyed))


def _by_cost(
    candidates: tuple[ModelRef, ...],
    start: int,
    needs: RequestNeeds,
    traits: Mapping[ModelRef, ModelTraits],
) -> tuple[ModelRef, ...]:
    """
    ``candidates[start:]`` cheapest first: :func:`estimated_cost_usd` inlined, as the
    cost policy runs for every request and the keys are all it reads.
    """
    prompt = needs.prompt_tokens
    rest = candidates[start:]
    if prompt is None:
        return rest  # every cost unknown: the configured order
    output = needs.output_tokens
    get = traits.get
    keyed: list[tuple[bool, float, int, ModelRef]] = []
    for index, model in enumerate(rest):
        known = get(model)
        cost = None
        if known is not None and (price_in := known.input_price) is not None:
            if output is None:
                cost = prompt * price_in / 1_000_000
            elif (price_out := known.output_price) is not None:
                cost = (prompt * price_in + output * price_out) / 1_000_000
        keyed.append((cost is None, cost or 0.0, index, model))
    keyed.sort()
    return tuple(row[3] for row in keyed)


def _fast_key(policy: RoutingPolicy, stats: ModelStats | None) -> float | None:
    if stats is None:
        return None
    if policy is RoutingPolicy.LATENCY:
        return stats.p50_s if stats.p50_s is not None else stats.ttft_s
    rate = stats.success_rate
    return -rate if rate is not None else None


def explain_order(placements: tuple[Placement, ...], policy: RoutingPolicy) -> str:
    """
    One line per candidate: its place, the model, where it was configured, and why.
    """
    lines = [f"policy {policy.value}:"]
    for place, p in enumerate(placements, 1):
        lines.append(f"  {place}. {p.model} (configured #{p.configured + 1}): {p.why}")
    return "\n".join(lines)


def stats_of(metrics: Mapping[ModelRef, TargetMetrics]) -> dict[ModelRef, ModelStats]:
    """
    What the latency and reliability policies read of each model's measured health.
    """
    return {
        model: ModelStats(
            p50_s=m.latency.percentile(0.5),
            ttft_s=m.ttft.percentile(0.5),
            success_rate=m.success_rate,
        )
        for model, m in metrics.items()
    }


def routed(
    candidates: tuple[ModelRef, ...],
    policy: RoutingPolicy,
    *,
    needs: RequestNeeds,
    traits: Mapping[ModelRef, ModelTraits],
    metrics: Mapping[ModelRef, TargetMetrics],
    fixed_lead: bool,
) -> tuple[ModelRef, ...]:
    """
    The candidates of a request as *policy* orders them, reading measured health
    only for the policies that need it.
    """
    if policy is RoutingPolicy.ORDERED or len(candidates) < 2:
        return candidates
    stats = None
    if policy is not RoutingPolicy.COST:
        stats = stats_of({m: metrics[m] for m in candidates if m in metrics})
    return order_candidates(
        candidates, policy, needs=needs, traits=traits, stats=stats, fixed_lead=fixed_lead
    )
