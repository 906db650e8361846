"""
Plain text tables that fit a width: the command line's and the usage report's.

Pure: text in, text out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = ["ellipsis", "fit_table", "render_table"]

_BOLD = "\033[1m"
_RESET = "\033[0m"
_GAP = "  "
_KEEP = 10
_MIN = 4
"""Gap between columns; a dropped column's least width when cut; a column's least width."""


def ellipsis(text: str, width: int) -> str:
    """
    *text* cut to *width* characters, with ``…`` as the last one when cut.
    """
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    width: int | None = None,
    droppable: Sequence[int] = (),
    shrinkable: Sequence[int] | None = None,
) -> str:
    """
    A plain text table with aligned columns and a rule under the header.

    With *width*, it is fitted as :func:`fit_table` fits it.
    """
    return fit_table(headers, rows, width=width, droppable=droppable, shrinkable=shrinkable)[0]


def fit_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    width: int | None,
    droppable: Sequence[int] = (),
    shrinkable: Sequence[int] | None = None,
    right: Collection[int] = (),
    bold: bool = False,
) -> tuple[str, list[str]]:
    """
    A table no wider than *width* (any width when ``None``), and the titles of columns left out.

    The *droppable* columns give way first, in order: each is cut with ``…`` down to
    ten characters, or left out when that is not enough. Then the *shrinkable*
    columns are cut, the widest first, never below their header's width; then, if
    need be, any column. A table that cannot fit even so is as narrow as it gets.

    Args:
        headers: The column titles.
        rows: The cells.
        width: The columns available.
        droppable: Columns that may be left out, the least useful first.
        shrinkable: Columns that may be cut.
        right: Columns aligned to the right (numbers), header included.
        bold: Show the header row in bold (ANSI), for a terminal.
    """
    columns = list(range(len(headers)))
    widths = [max([len(headers[c]), *(len(row[c]) for row in rows)]) for c in columns]
    dropped: list[str] = []

    def total() -> int:
        return sum(widths[c] for c in columns) + len(_GAP) * (len(columns) - 1)

    if width is not None:
        for column in droppable:
            excess = total() - width
            if excess <= 0:
                break
            if widths[column] - excess >= max(_KEEP, len(headers[column])):
                widths[column] -= excess
            else:
                columns.remove(column)
                dropped.append(headers[column])
        # The shrinkable columns first, then (when that is not enough) every column,
        # cutting the widest one down to the next widest each step.
        for group in (shrinkable, None) if shrinkable is not None else (None,):
            while (excess := total() - width) > 0:
                candidates = [
                    c
                    for c in (columns if group is None else group)
                    if c in columns and widths[c] > max(len(headers[c]), _MIN)
                ]
                if not candidates:
                    break
                widest = max(candidates, key=lambda c: widths[c])
                floor = max(len(headers[widest]), _MIN)
                others = [widths[c] for c in candidates if c != widest]
                step = min(excess, widths[widest] - max(max(others, default=0), floor))
                widths[widest] -= max(step, 1)

    def fmt(cells: Sequence[str]) -> str:
        return _GAP.join(
            ellipsis(cells[c], widths[c]).rjust(widths[c])
            if c in right
            else ellipsis(cells[c], widths[c]).ljust(widths[c])
            for c in columns
        ).rstrip()

    head = fmt(headers)
    lines = [f"{_BOLD}{head}{_RESET}" if bold else head, fmt(["-" * w for w in widths])]
    lines += [fmt(row) for row in rows]
    return "\n".join(lines), dropped
