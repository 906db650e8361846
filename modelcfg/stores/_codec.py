"""
Health and sessions as rows: what the SQLite and Redis stores keep, one record per row.

A :class:`~modelcfg.HealthState` is seven tables (profile cooldowns, pair cooldowns,
disables, kind counters, circuits, model and profile metrics). Each entry of each
table becomes one row, keyed by its table and the text form of its key, whose value
is the entry as compact JSON.
An update writes only the rows whose entry changed (:func:`health_diff`), and a
reader re-parses only the rows whose text changed (:class:`HealthRows`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from modelcfg._core._failures import FailureKind
from modelcfg._core._health import Circuit, HealthState, KindCounter, Window
from modelcfg._core._metrics import TargetMetrics
from modelcfg._core._state import SessionState, dump_state, load_state
from modelcfg._core._values import ModelRef, ProfileId, Target
from modelcfg.exceptions import ModelcfgError

__all__ = [
    "HEALTH_TABLES",
    "HealthRows",
    "Row",
    "StateStoreError",
    "decode_session",
    "encode_session",
    "health_diff",
    "health_rows",
    "record_span_s",
]

Row = tuple[str, str]
"""A row's identity: its table and the text form of its key."""

_KEYS: Final[dict[str, Callable[[str], object]]] = {
    "cooldowns": ProfileId.parse,
    "model_cooldowns": Target.parse,
    "disables": ProfileId.parse,
    "counters": FailureKind,
    "circuits": ModelRef.parse,
    "model_metrics": ModelRef.parse,
    "profile_metrics": ProfileId.parse,
}
_VALUES: Final[dict[str, type]] = {
    "cooldowns": Window,
    "model_cooldowns": Window,
    "disables": Window,
    "counters": KindCounter,
    "circuits": Circuit,
    "model_metrics": TargetMetrics,
    "profile_metrics": TargetMetrics,
}
HEALTH_TABLES: Final = tuple(_KEYS)
"""The tables of a :class:`~modelcfg.HealthState`, in field order."""


class StateStoreError(ModelcfgError):
    """
    A state store's data cannot be read, or its database cannot be used; nothing was changed.

    Attributes:
        where: The store, as its ``repr`` shows it (never with a password).
    """

    def __init__(self, message: str, *, where: str) -> None:
        self.where = where
        super().__init__(message)


def _text(value: object) -> str:
    return json.dumps(dump_state(value), separators=(",", ":"))


def health_rows(health: HealthState) -> dict[Row, str]:
    """
    Every entry of *health* as a row and its JSON text.
    """
    return {
        (table, str(key)): _text(value)
        for table in HEALTH_TABLES
        for key, value in getattr(health, table).items()
    }


def health_diff(
    old: HealthState, new: HealthState
) -> tuple[list[tuple[str, str, str, object]], list[Row]]:
    """
    What turns *old* into *new*: rows to write (``(table, key, text, entry)``) and to delete.

    Tables the transition left alone (the same mapping object) are skipped
    without a look, and entries are compared by identity before equality, so a
    success on a healthy target costs a handful of comparisons.
    """
    writes: list[tuple[str, str, str, object]] = []
    deletes: list[Row] = []
    for table in HEALTH_TABLES:
        before: Mapping[object, object] = getattr(old, table)
        after: Mapping[object, object] = getattr(new, table)
        if before is after:
            continue
        for key, value in after.items():
            was = before.get(key, _MISSING)
            if was is not value and was != value:
                writes.append((table, str(key), _text(value), value))
        deletes.extend((table, str(key)) for key in before if key not in after)
    return writes, deletes


_MISSING: Final = object()


def record_span_s(entry: object) -> float:
    """
    How long after its last event an entry still matters: an open window's rest.

    Stores that expire rows keep each one this long plus their retention, so a
    long disable is never dropped while it still blocks.
    """
    if isinstance(entry, Window):
        end = max(entry.until_at, entry.probe_until_at or entry.until_at)
        return max(0.0, end - entry.last_failure_at)
    if isinstance(entry, Circuit) and entry.open_until_at is not None:
        last = entry.outcomes[-1][0] if entry.outcomes else entry.open_until_at
        return max(0.0, max(entry.open_until_at, entry.probe_until_at or 0.0) - last)
    return 0.0


class HealthRows:
    """
    A reader's parsed rows: builds a :class:`~modelcfg.HealthState` from rows, re-parsing
    only the rows whose text changed since the last build.

    Args:
        where: Names the store in error messages (never holds a secret).
    """

    def __init__(self, where: str) -> None:
        self._where = where
        self._parsed: dict[Row, tuple[str, object, object]] = {}

    def build(self, rows: Iterable[tuple[str, str, str]]) -> HealthState:
        """
        The health that *rows* (``(table, key, text)``, every row there is) describe.

        Raises:
            StateStoreError: A row is malformed; the message names it.
        """
        tables: dict[str, dict[object, object]] = {table: {} for table in HEALTH_TABLES}
        parsed: dict[Row, tuple[str, object, object]] = {}
        for table, key, text in rows:
            known = self._parsed.get((table, key))
            if known is not None and known[0] == text:
                entry = known
            else:
                entry = (text, *self._parse(table, key, text))
            parsed[(table, key)] = entry
            tables[table][entry[1]] = entry[2]
        self._parsed = parsed
        return HealthState(**tables)  # type: ignore[arg-type]

    def remember(
        self, writes: Iterable[tuple[str, str, str, object]], deletes: Iterable[Row]
    ) -> None:
        """
        Note rows this process wrote, so the next :meth:`build` need not parse them.
        """
        for table, key, text, value in writes:
            self._parsed[(table, key)] = (text, _KEYS[table](key), value)
        for row in deletes:
            self._parsed.pop(row, None)

    def _parse(self, table: str, key: str, text: str) -> tuple[object, object]:
        if table not in _KEYS:
            raise StateStoreError(
                f"{self._where} has a health row in an unknown table {table!r}; "
                "it was written by a newer modelcfg or by hand.",
                where=self._where,
            )
        try:
            return _KEYS[table](key), load_state(json.loads(text), _VALUES[table])
        except ValueError as exc:
            raise StateStoreError(
                f"{self._where} has a malformed health row {table}[{key!r}]: {exc}",
                where=self._where,
            ) from None


def encode_session(session: SessionState) -> str:
    """
    *session* as compact JSON text.
    """
    return _text(session)


def decode_session(text: str | bytes, *, where: str, session_id: str) -> SessionState:
    """
    The session that *text* holds.

    Raises:
        StateStoreError: The text is not a session; the message names its id.
    """
    try:
        return load_state(json.loads(text), SessionState)
    except ValueError as exc:
        raise StateStoreError(
            f"{where} has a malformed session {session_id!r}: {exc}", where=where
        ) from None
