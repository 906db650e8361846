"""
The ``modelcfg`` command line: ``main(argv) -> int``.
"""

from __future__ import annotations

from modelcfg._cli._main import main

__all__ = ["main"]
