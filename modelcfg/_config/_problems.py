"""
Problems in JSON data, reported one way: ``"$.path: message"``.

What lives here, and nowhere else:

- the wording of a place: :func:`key_path` extends a JSON path by a key or an
  index (``$.agent.models['openai/gpt-5.2']``), :func:`path_of` builds one from
  its steps, :func:`quoted` writes a key that needs quotes;
- the wording of a problem: :func:`at_path` (the one reporter), :func:`json_type`
  and :func:`json_kind` (what a value is, in JSON words) and :func:`did_you_mean`;
- salvaging a configuration that did not structure (:func:`salvage`), so that the
  checks between sections still run on what is left.

The configuration, its migration, explain scripts (``modelcfg explain``) and the
auth store's file all report through it. Pure: no cattrs, no I/O, so the decision
core's replay can use it without loading more than attrs.
"""

from __future__ import annotations

import datetime
import difflib
import math
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Final, TypeVar

import attrs

__all__ = [
    "INT_LIMIT",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "Lost",
    "Problem",
    "at_path",
    "did_you_mean",
    "json_kind",
    "json_type",
    "key_path",
    "path_of",
    "quoted",
    "salvage",
    "too_deep",
]

_T = TypeVar("_T")

MAX_DEPTH: Final = 64
"""How deeply a configuration may nest objects and lists (``params`` included)."""

MAX_DIGITS: Final = 18
"""The most digits of a whole number in a configuration (every 64-bit count fits)."""

INT_LIMIT: Final = 10**MAX_DIGITS
"""Whole numbers must lie strictly between ``-INT_LIMIT`` and ``INT_LIMIT``."""

_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


# --- places --------------------------------------------------------------------------------------


def quoted(key: str) -> str:
    """
    *key* in single quotes for a JSON path, on one line whatever it holds.

    Backslashes and quotes are escaped, and so are control characters (``\\n``,
    ``\\x00``, ...), so a key with a newline can never break a one-line message.
    """
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    if escaped.isprintable():
        return f"'{escaped}'"
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in escaped)
    return f"'{shown}'"


def key_path(path: str, key: object) -> str:
    """
    *path* extended by *key*: ``.name`` for a plain name, ``['key']`` for other text,
    ``[3]`` for a list index, and what the key is for anything else a Python caller
    may have put in a mapping (``[the boolean true]``).
    """
    if isinstance(key, str):
        return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{quoted(key)}]"
    if isinstance(key, int) and not isinstance(key, bool) and -INT_LIMIT < key < INT_LIMIT:
        return f"{path}[{key}]"
    return f"{path}[{json_type(key)}]"


def path_of(steps: Iterable[object]) -> str:
    """
    The JSON path of *steps* (keys and list indices) from the top: ``$.agent.model``.
    """
    path = "$"
    for step in steps:
        path = key_path(path, step)
    return path


def at_path(path: str, message: str) -> str:
    """
    The one form every problem takes: ``"$.path: message"``.

    *path* is a JSON path (build it with :func:`key_path` or :func:`path_of`);
    *message* says what is wrong, starting in lower case, without a final period.
    """
    return f"{path}: {message}"


# --- values --------------------------------------------------------------------------------------


def json_kind(value: object) -> str:
    """
    What kind of JSON value *value* is, without the value: ``a number``, ``an object``.
    """
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list() | tuple():
            return "a list"
        case Mapping():
            return "an object"
        case _:
            return f"a Python {type(value).__name__}"


def json_type(value: object) -> str:
    """
    What *value* is, in JSON words, with short values shown: ``the number 5``,
    ``the string 'x'``, ``an object``, ``a date`` (a TOML date).
    """
    match value:
        case None:
            return "null"
        case bool():
            return f"the boolean {str(value).lower()}"
        case int() if -INT_LIMIT < value < INT_LIMIT:
            return f"the number {value}"
        case int():
            return f"a number with {_digit_count(value)} digits"
        case float() if math.isnan(value):
            return "NaN"
        case float() if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        case float():
            return f"the number {value!r}"
        case str():
            shown = value if len(value) <= 80 else value[:79] + "…"
            return f"the string {shown!r}"
        case datetime.datetime():
            return "a date-time"
        case datetime.date():
            return "a date"
        case datetime.time():
            return "a time of day"
        case _:
            return json_kind(value)


def _digit_count(value: int) -> int:
    """
    The number of decimal digits of *value*, also beyond what ``str()`` converts.
    """
    size = abs(value)
    estimate = int(size.bit_length() * math.log10(2)) + 1
    return estimate if size >= 10 ** (estimate - 1) else estimate - 1


def did_you_mean(text: object, candidates: Iterable[str]) -> str:
    """
    `` (did you mean 'x' or 'y'?)`` for the candidates close to *text*, or ``""``.

    The comparison ignores case; at most three candidates are named.
    """
    if not isinstance(text, str):
        return ""
    folded = {c.casefold(): c for c in dict.fromkeys(candidates)}
    matches = difflib.get_close_matches(text.casefold(), list(folded), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(folded[m]) for m in matches) + "?)"


_LEAF_TYPES: Final = frozenset({str, int, float, bool, type(None)})


def too_deep(value: object, depth: int = 0) -> list[object] | None:
    """
    The steps, innermost first, to an object or list nested more than
    :data:`MAX_DEPTH` levels deep, or ``None``. Never recurses deeper than that.
    """
    items: Iterable[tuple[object, object]]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    if depth == MAX_DEPTH:
        return []
    for key, item in items:
        if type(item) in _LEAF_TYPES:  # most values: skip them without a call
            continue
        found = too_deep(item, depth + 1)
        if found is not None:
            found.append(key)
            return found
    return None


# --- problems found while structuring, and salvage -----------------------------------------------


@attrs.frozen
class Problem:
    """
    One problem found while structuring: where it is (JSON keys and list indices
    from the top) and what is wrong.

    Attributes:
        steps: The keys and indices from the top.
        message: What is wrong.
        missing: The problem is a required key that is absent.
    """

    steps: tuple[object, ...]
    message: str
    missing: bool = False

    def line(self) -> str:
        """
        The problem as ``"$.path: message"``.
        """
        return at_path(path_of(self.steps), self.message)


_Data = Mapping[typing.Any, object]
"""Raw configuration data, whose keys may be anything a Python caller passed."""

_ENTRY_SECTIONS: Final = (
    ("providers",),
    ("auth", "profiles"),
    ("auth", "order"),
    ("agent", "models"),
    ("policy", "rules"),
)
"""The keyed sections whose entries are set aside whole when anything inside them is wrong."""


@attrs.define
class Lost:
    """
    What the cross-section checks cannot see because it was set aside: names that
    must not be reported as unknown because their own entries were broken.
    """

    providers: set[object] = attrs.field(factory=set)
    names: set[str] = attrs.field(factory=set)
    any_provider: bool = False
    any_name: bool = False

    def provider_ok(self, provider: str) -> bool:
        """
        Whether *provider* may be one whose entry was set aside.
        """
        return self.any_provider or provider in self.providers

    def name_ok(self, text: str) -> bool:
        """
        Whether *text* may name a model whose entry was set aside.
        """
        return self.any_name or text.strip().casefold() in self.names

    def note(self, steps: tuple[object, ...], data: _Data) -> None:
        """
        Remember what setting aside *steps* of *data* hides from the checks.
        """
        if steps == ("providers",):
            self.any_provider = True
        elif steps in (("agent",), ("agent", "models")):
            self.any_name = True
        elif len(steps) == 2 and steps[0] == "providers":
            key = steps[1]
            self.providers.add(key.strip().lower() if isinstance(key, str) else key)
        elif len(steps) == 3 and steps[:2] == ("agent", "models"):
            key = steps[2]
            if isinstance(key, str):
                self.names.add(key.strip().casefold())
            entry = _get(data, steps)
            alias = entry.get("alias") if isinstance(entry, Mapping) else None
            if isinstance(alias, str):
                self.names.add(alias.strip().casefold())


def _get(data: object, steps: tuple[object, ...]) -> object:
    for step in steps:
        if not isinstance(data, Mapping) or step not in data:
            return None
        data = data[step]
    return data


def _set_aside(problem: Problem, data: _Data) -> tuple[object, ...]:
    """
    The part of *data* to leave out so that *problem* goes away: the whole entry of
    a keyed section, else the value itself (the list holding a bad item, the
    object missing a required key).
    """
    steps = problem.steps[:-1] if problem.missing else problem.steps
    node: object = data
    for index, step in enumerate(steps):
        if not isinstance(node, Mapping):
            steps = steps[:index]
            break
        node = node.get(step)
    for section in _ENTRY_SECTIONS:
        if steps[: len(section)] == section and len(steps) > len(section):
            return steps[: len(section) + 1]
    return steps


def _without(data: _Data, parts: Iterable[tuple[object, ...]]) -> dict[object, object]:
    """
    A copy of *data* without *parts*; only the objects on the way are copied.
    """
    root = dict(data)
    copies: dict[tuple[object, ...], dict[object, object]] = {(): root}
    for steps in parts:
        node = root
        for depth, step in enumerate(steps[:-1], start=1):
            copy = copies.get(steps[:depth])
            if copy is None:
                child = node.get(step)
                if not isinstance(child, Mapping):
                    break
                copy = copies[steps[:depth]] = dict(child)
                node[step] = copy
            node = copy
        else:
            node.pop(steps[-1], None)
    return root


def salvage(
    data: _Data,
    problems: list[Problem],
    attempt: Callable[[_Data], tuple[_T | None, list[Problem]]],
) -> tuple[_T | None, Lost, list[Problem]]:
    """
    Structure *data* without the parts that failed, so that the checks between
    sections can still run.

    Args:
        data: The whole configuration data.
        problems: What structuring it found.
        attempt: Structures data, returning the result or the problems found.

    Returns:
        The result (``None`` when nothing sensible is left), what was set aside,
        and any problem that setting parts aside brought to light (a problem hidden
        behind another).
    """
    lost = Lost()
    later: list[Problem] = []
    removed: set[tuple[object, ...]] = set()
    for _ in range(5):  # Each round sets aside more; two are usually enough.
        parts = {_set_aside(problem, data) for problem in problems}
        if () in parts:
            break
        for steps in parts:
            lost.note(steps, data)
        removed |= parts
        data = _without(data, parts)
        result, problems = attempt(data)
        if result is not None:
            return result, lost, later
        # A required key that was set aside is missing now: that is no news.
        later += [p for p in problems if not any(p.steps[: len(r)] == r for r in removed)]
    return None, lost, later
