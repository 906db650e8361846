"""
Regenerate the curated catalog's figures from a discovered snapshot.

Usage::

    python -m modelcfg._catalog.regen SNAPSHOT [--data PATH] [--as-of DATE] [--check]

*SNAPSHOT* is a catalog cache file (what ``modelcfg catalog refresh`` writes,
``~/.cache/modelcfg/catalog.json`` by default) or a saved OpenRouter
``GET /api/v1/models`` response. For every curated model the snapshot lists,
its prices, context window and output limit are taken from the snapshot, and a
deprecation it announces is recorded (see
``modelcfg._catalog._families.regenerate``); the families, the hand-checked
capabilities and the notes stay as they are. The data file
(``modelcfg/_catalog/data/curated.json`` unless ``--data`` names another) is
rewritten with two-space indentation and ``as_of`` set to ``--as-of`` or to the
date of the newest listing in the snapshot.

``--check`` changes nothing and exits 1 when the file is not current (for CI).
Exit codes: 0 done (or current), 1 changes pending with ``--check``, 2 a usage
or input error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._families import regenerate
from modelcfg._catalog._json import snapshot_from_json
from modelcfg._catalog._openrouter import parse_openrouter_models
from modelcfg._catalog._records import CUTOFF_RE, format_date
from modelcfg._fileio import atomic_write
from modelcfg.exceptions import DiscoveryError

__all__ = ["main"]

_DATA: Path = Path(__file__).parent / "data" / "curated.json"


def _discovered(path: Path) -> tuple[ModelCatalog, float | None]:
    """
    The records of a snapshot file, and when its newest listing was fetched.

    Raises:
        ValueError: The file is neither a catalog cache nor an OpenRouter response.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if isinstance(data, dict) and "sources" in data:
        snapshot = snapshot_from_json(data)
        times = [s.fetched_at for s in snapshot.sources.values() if s.fetched_at is not None]
        return snapshot.catalog(), max(times, default=None)
    try:
        listing = parse_openrouter_models(data)
    except DiscoveryError as exc:
        raise ValueError(
            f"{path} is neither a catalog cache nor an OpenRouter models response: {exc}"
        ) from None
    return ModelCatalog(records=listing.records), None


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the script; see the module's documentation.
    """
    parser = argparse.ArgumentParser(
        prog="python -m modelcfg._catalog.regen",
        description="Regenerate the curated catalog's figures from a discovered snapshot.",
    )
    parser.add_argument(
        "snapshot", type=Path, help="a catalog cache file or an OpenRouter response"
    )
    parser.add_argument("--data", type=Path, default=_DATA, help="the curated data file")
    parser.add_argument("--as-of", help="the data's date, YYYY-MM or YYYY-MM-DD")
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    try:
        discovered, fetched_at = _discovered(args.snapshot)
        as_of = args.as_of or (format_date(fetched_at, with_time=False) if fetched_at else None)
        if as_of is None or not CUTOFF_RE.match(as_of):
            raise ValueError("give --as-of YYYY-MM-DD: the snapshot does not say when it was taken")
        data = json.loads(args.data.read_text(encoding="utf-8"))
        new, changes = regenerate(data, discovered, as_of=as_of)
    except (OSError, ValueError) as exc:
        print(f"regen: error: {exc}", file=sys.stderr)
        return 2
    for line in changes:
        print(line)
    if args.check:
        stale = bool(changes)
        print(f"{args.data}: {'not current' if stale else 'current'} ({len(changes)} changes)")
        return 1 if stale else 0
    atomic_write(
        args.data,
        (json.dumps(new, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        mode=0o644,
    )
    print(f"{args.data}: {len(changes)} figures changed, as of {as_of}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
