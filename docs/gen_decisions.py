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

from modelcfg._core._failures import FailureKind
from modelcfg._core._health import CIRCUIT_CYCLE, WINDOW_CYCLE, render_cycle_mermaid
from modelcfg._core._policy import DEFAULT_RULES, render_policy_markdown

PAGE = pathlib.Path(__file__).with_name("decisions.md")


def _circuit_kinds() -> str:
    kinds = [f"`{kind.value}`" for kind in FailureKind if DEFAULT_RULES[kind].trips_circuit]
    return ", ".join(kinds) + "\n"


BLOCKS: dict[str, Callable[[], str]] = {
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
