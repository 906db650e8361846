"""
Hypothesis strategies for JSON files that try every parser: odd values written as JSON text.

The file parsers (auth store, legacy credentials, state file, explain scripts) are
fuzzed as ``load_config`` is: start from a valid document, replace, add or delete a
few values, and write the result as JSON text. Values include what Python's JSON
reader turns into trouble: whole numbers longer than it converts (:class:`Digits`),
nesting deeper than it recurses (:class:`Deep`), numbers no float holds, NaN, lone
surrogates (valid JSON escapes that UTF-8 cannot encode) and a key-shaped canary.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import attrs
from hypothesis import strategies as hst

MARK = "DO-NOT-LEAK"
CANARY = f"sk-proj-{MARK}-0123456789abcdef"
"""A key-shaped secret: no error message may show it."""


@attrs.frozen
class Digits:
    """A whole number of *count* nines, written as JSON text."""

    count: int


@attrs.frozen
class Deep:
    """Lists nested *depth* levels deep, written as JSON text."""

    depth: int


def as_json(value: object) -> str:
    """*value* as JSON text, markers expanded, strings with \\u escapes (surrogates too)."""
    match value:
        case Digits(count=count):
            return "9" * count
        case Deep(depth=depth):
            return "[" * depth + "]" * depth
        case dict():
            pairs = (f"{json.dumps(str(k))}: {as_json(v)}" for k, v in value.items())
            return "{" + ", ".join(pairs) + "}"
        case list():
            return "[" + ", ".join(map(as_json, value)) + "]"
        case _:
            return json.dumps(value)


KEYS = hst.text(max_size=6) | hst.sampled_from(["version", "kind", "key", CANARY, "a\ud800"])
TEXTS = hst.text(max_size=8) | hst.sampled_from(
    ["", " ", "sk-a\ud800b", "\udfff", "openai:default", "anthropic", CANARY, f"Bearer {CANARY}"]
)
VALUES = hst.recursive(
    hst.none()
    | hst.booleans()
    | hst.integers()
    | hst.sampled_from([-1, 0, 10**18, 10**308, 10**400, -(10**400), 1e308, 1_800_000_000])
    | hst.floats()
    | TEXTS
    | hst.builds(Digits, hst.sampled_from([19, 400, 5000]))
    | hst.builds(Deep, hst.sampled_from([70, 3000])),
    lambda inner: hst.lists(inner, max_size=3) | hst.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)


def _paths(data: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def mutated(data: hst.DataObject, base: object, *, changes: int = 3) -> Any:
    """A deep copy of *base* with one to *changes* values replaced, added or deleted."""
    document: Any = copy.deepcopy(base)
    for _ in range(data.draw(hst.integers(1, changes))):
        path = data.draw(hst.sampled_from(_paths(document)))
        parent: Any = document
        for step in path[:-1]:
            parent = parent[step]
        match data.draw(hst.sampled_from(["replace", "add", "delete"])) if path else "replace":
            case "replace" if not path:
                document = data.draw(VALUES)
            case "replace":
                parent[path[-1]] = data.draw(VALUES)
            case "add" if isinstance(target := parent[path[-1]], dict):
                target[data.draw(KEYS)] = data.draw(VALUES)
            case "delete" if isinstance(parent, dict):
                del parent[path[-1]]
            case _:
                pass
    return document


def fuzzed_json(data: hst.DataObject, base: object) -> bytes:
    """*base* mutated and written as JSON text, or now and then bytes that are not JSON at all."""
    if data.draw(hst.integers(0, 19)) == 0:
        return data.draw(hst.binary(max_size=16))
    return as_json(mutated(data, base)).encode("utf-8")
