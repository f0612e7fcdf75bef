"""The report as CSV: UTF-8 with a byte-order mark (so Excel reads UTF-8), comma-separated, CRLF lines.

Both tables go in one sheet, the summary first, then an empty line, then the statistics with its header
row. Fields are quoted as RFC 4180 says; a field that starts with ``= + - @`` or a tab/CR gets a leading
apostrophe so a spreadsheet shows it as text instead of running it as a formula.
"""

from __future__ import annotations

from collections.abc import Iterator

from b24vote.reports.tables import Cell, Row, Tables, cell_parts

__all__ = ["BOM", "render_csv"]

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTES = (",", '"', "\r", "\n")


def _field(cell: Cell) -> Iterator[str]:
    if isinstance(cell, int):
        yield str(cell)
        return
    pieces = cell_parts(cell)
    first = next(pieces, "")
    if first.startswith(_FORMULA_START):
        first = "'" + first
    if isinstance(cell, str) and not any(mark in first for mark in _NEEDS_QUOTES):
        yield first
        return
    # Joined cells are always quoted: their separator holds a comma.
    yield '"' + first.replace('"', '""')
    for piece in pieces:
        yield piece.replace('"', '""')
    yield '"'


def _row(row: Row) -> Iterator[str]:
    for index, cell in enumerate(row):
        if index:
            yield ","
        yield from _field(cell)
    yield "\r\n"


def render_csv(tables: Tables) -> Iterator[str]:
    yield BOM
    for row in tables.summary:
        yield from _row(row)
    yield "\r\n"
    yield from _row(tables.head)
    for row in tables.statistics:
        yield from _row(row)
