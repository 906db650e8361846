"""
``modelcfg demo``: a scripted outage on the embedded defaults, offline.
"""

from __future__ import annotations

import argparse

from modelcfg._cli._common import Context, Subparsers, add_json_flag

__all__ = ["register"]


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``demo``.
    """
    demo = subparsers.add_parser(
        "demo",
        parents=[common],
        help="run a scripted outage against an in-process fake provider (no keys, no network)",
        description=(
            "Runs two requests on the bundled example config against an in-process fake "
            "provider: an expired OAuth token (401), a rate limit (429), and a fallback "
            "model that answers; prints every attempt and the answer."
        ),
    )
    add_json_flag(demo)
    demo.set_defaults(run=run_demo)


def run_demo(context: Context) -> int:
    """
    ``demo``: print the trace (or its JSON with ``--json``).
    """
    from modelcfg._demo import run_demo as demo

    return demo(context.out.stdout, as_json=bool(context.args.json))
