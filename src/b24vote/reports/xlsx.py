"""The report as a real XLSX workbook, written row by row (xlsxwriter's constant-memory mode).

One sheet holds both tables as the CSV does: the summary, an empty row, then the statistics with a bold
header row. Every text is written as a string, never as a formula or a number, whatever it looks like.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import xlsxwriter

from b24vote.reports.tables import Cell, Joined, Row, Tables, cell_parts

__all__ = ["CELL_LIMIT", "cell_text", "write_xlsx"]

CELL_LIMIT = 32767  # Excel's longest cell text
ELLIPSIS = "…"


def cell_text(cell: Cell) -> str:
    """The cell's text, cut to Excel's limit (a long voter list ends with an ellipsis)."""
    gathered: list[str] = []
    length = 0
    for piece in cell_parts(cell):
        gathered.append(piece)
        length += len(piece)
        if length > CELL_LIMIT:
            if isinstance(cell, Joined) and isinstance(cell.parts, Generator):
                cell.parts.close()  # ends the query that feeds a long voter list
            return "".join(gathered)[: CELL_LIMIT - 1] + ELLIPSIS
    return "".join(gathered)


def _write_row(sheet: Any, index: int, row: Row, style: Any = None) -> None:
    for column, cell in enumerate(row):
        if isinstance(cell, int):
            sheet.write_number(index, column, cell, style)
        else:
            sheet.write_string(index, column, cell_text(cell), style)


def write_xlsx(tables: Tables, path: Path) -> None:
    """Write the workbook to ``path``."""
    workbook = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    try:
        sheet = workbook.add_worksheet(f"vote{tables.vote_id}")
        sheet.set_column(0, 1, 24)
        sheet.set_column(2, 3, 16)
        bold = workbook.add_format({"bold": True})
        index = 0
        for row in tables.summary:
            _write_row(sheet, index, row)
            index += 1
        index += 1
        _write_row(sheet, index, tables.head, bold)
        for row in tables.statistics:
            index += 1
            _write_row(sheet, index, row)
    finally:
        workbook.close()
