"""
Write the generated parts of ``docs/decisions.md`` from the data the code uses.

The policy table comes from ``modelcfg._core._policy``; the two state diagrams and the
list of kinds that count against a circuit come from ``modelcfg._core._health`` and the
default rules. Run ``python docs/gen_decisions.py`` after changing any of them; a
test fails while the committed page differs from the data.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import attrs

from modelcfg._core._failures import FailureKind
from modelcfg._core._health import CIRCUIT_CYCLE, WINDOW_CYCLE, Phase, Transition
from modelcfg._core._policy import DEFAULT_RULES, Mark, Policy, RoutingPolicy
from modelcfg._core._reasons import _BLOCK_WORDS, _NEED_WORDS, SkipCode

PAGE = pathlib.Path(__file__).with_name("decisions.md")


def _seconds(value: float) -> str:
    if value == 0:
        return "-"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{int(value // size)} {unit}"
    return f"{value:g} s"


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"


def render_policy_markdown(policy: Policy | None = None) -> str:
    """
    The rule table and the policy's numbers as Markdown.

    Args:
        policy: The policy to render; the default policy when ``None``.

    Returns:
        A Markdown fragment: a table with one row per failure kind, then a list of
        the other knobs with their values.
    """
    policy = policy if policy is not None else Policy()
    lines = [
        "| Kind | Marks | Scope | Window | Repeats | Retry-After | Same target | "
        "Other profiles | Next model | Circuit | Note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in FailureKind:
        rule = policy.rule_for(kind)
        marked = rule.mark is not Mark.NONE
        if marked and rule.steps:
            repeats = "steps " + " / ".join(_seconds(step) for step in rule.steps)
        elif marked and rule.escalation > 1:
            repeats = f"x{rule.escalation:g} up to {_seconds(rule.max_window_s)}"
        else:
            repeats = "-"
        retries = f"{rule.retries} retries" if rule.retries else "-"
        cells = [
            f"`{kind.value}`",
            rule.mark.value if marked else "-",
            rule.scope.value.replace("_", "+") if marked else "-",
            _seconds(rule.window_for(1)) if marked else "-",
            repeats,
            "honoured" if rule.honour_retry_after else "-",
            retries,
            _yes(rule.rotate_profile),
            _yes(rule.fall_back),
            "counts" if rule.trips_circuit else "-",
            rule.note or ("gives up" if rule.gives_up else ""),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    knobs = [
        (name, getattr(policy, name))
        for name in (f.name for f in attrs.fields(Policy))
        if name != "rules"
    ]
    lines.extend(f"- `{name}` = `{value!r}`" for name, value in knobs)
    return "\n".join(lines) + "\n"


_STATE_NAMES = {
    Phase.CLOSED: "Closed",
    Phase.OPEN: "Open",
    Phase.HALF_OPEN: "HalfOpen",
    Phase.PROBING: "Probing",
}


def render_cycle_mermaid(cycle: tuple[Transition, ...]) -> str:
    """
    *cycle* as a Mermaid state diagram.
    """
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> Closed"]
    lines += [
        f"    {_STATE_NAMES[t.source]} --> {_STATE_NAMES[t.target]}: {t.event}" for t in cycle
    ]
    lines.append("```")
    return "\n".join(lines) + "\n"


def _circuit_kinds() -> str:
    kinds = [f"`{kind.value}`" for kind in FailureKind if DEFAULT_RULES[kind].trips_circuit]
    return ", ".join(kinds) + "\n"


_SKIP_WHEN = {
    SkipCode.COOLING_DOWN: "a cooldown of the profile, or of the profile with this model, is open",
    SkipCode.DISABLED: "the profile is disabled (billing, a revoked key)",
    SkipCode.CIRCUIT_OPEN: "the model's circuit breaker is open",
    SkipCode.PROBE_IN_FLIGHT: "another caller holds the half-open probe",
    SkipCode.CONTEXT_TOO_SMALL: "the model's known context window is below the request's need",
    SkipCode.NO_CREDENTIAL: "the host found no usable credential for the profile",
    SkipCode.OVER_BUDGET: (
        "the estimated cost is above `max_cost_usd`, or a budget would be crossed"
    ),
}
"""When each skip happens, for the codes whose words do not say it all."""


def render_skip_reasons() -> str:
    """
    Every skip code, its words in a skip's message, and when it happens, as Markdown.
    """
    lines = ["| Code | The skip says | When |", "|---|---|---|"]
    for code in SkipCode:
        words = _BLOCK_WORDS.get(code) or _NEED_WORDS.get(code) or code.value.replace("_", " ")
        when = _SKIP_WHEN.get(code)
        if when is None:
            need = code.value.removeprefix("lacks_")
            when = (
                f"the request needs `{need}` and the catalog, or the provider, says the "
                "model lacks it"
            )
        lines.append(f"| `{code.value}` | {words} | {when} |")
    lines.append("")
    policies = ", ".join(f"`{p.value}`" for p in RoutingPolicy)
    lines.append(f"The candidates left are then ordered by the routing policy ({policies}).")
    return "\n".join(lines) + "\n"


BLOCKS: dict[str, Callable[[], str]] = {
    "SKIP REASONS": render_skip_reasons,
    "POLICY TABLE": render_policy_markdown,
    "WINDOW CYCLE": lambda: render_cycle_mermaid(WINDOW_CYCLE),
    "CIRCUIT CYCLE": lambda: render_cycle_mermaid(CIRCUIT_CYCLE),
    "CIRCUIT KINDS": _circuit_kinds,
}
"""Each generated part of the page, by the name in its markers."""


def regenerate(text: str) -> str:
    """
    *text* with the part between each pair of markers replaced by its current content.

    Raises:
        ValueError: A pair of markers is missing.
    """
    for name, render in BLOCKS.items():
        begin, end = f"<!-- BEGIN GENERATED {name} -->", f"<!-- END GENERATED {name} -->"
        head, sep, rest = text.partition(begin)
        _old, sep2, tail = rest.partition(end)
        if not sep or not sep2:
            raise ValueError(f"{PAGE} lacks the markers {begin} and {end}")
        text = f"{head}{begin}\n{render()}{end}{tail}"
    return text


def main() -> None:
    PAGE.write_text(regenerate(PAGE.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
