"""
Write the policy table of ``modelcfg._policy`` into ``docs/decisions.md``.

Run ``python docs/gen_decisions.py`` after changing the rules; a test fails while
the committed page differs from the data.
"""

from __future__ import annotations

import pathlib

from modelcfg._policy import render_policy_markdown

BEGIN = "<!-- BEGIN GENERATED POLICY TABLE -->"
END = "<!-- END GENERATED POLICY TABLE -->"
PAGE = pathlib.Path(__file__).with_name("decisions.md")


def regenerate(text: str) -> str:
    """
    *text* with the part between the markers replaced by the current table.
    """
    head, sep, rest = text.partition(BEGIN)
    _old, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"{PAGE} lacks the markers {BEGIN} and {END}")
    return f"{head}{BEGIN}\n{render_policy_markdown()}{END}{tail}"


def main() -> None:
    PAGE.write_text(regenerate(PAGE.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
