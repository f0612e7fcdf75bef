"""The report as the real server sends it: an HTML fragment Excel opens as a sheet, but with cells escaped.

The real server writes cell texts unescaped (../shared/reference/notes/vote-semantics.md §4.9); b24vote
escapes them so an answer or a name cannot inject markup (docs/compatibility.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape

from b24vote.reports.tables import Row, Tables, cell_parts

__all__ = ["META", "render_html"]

META = '<meta http-equiv="Content-type" content="text/html;charset=UTF-8" />\n'
TABLE_OPEN = '<p><table border="1">\n'
TABLE_CLOSE = "</table>\n"


def _row(row: Row, tag: str) -> Iterator[str]:
    yield "<tr>"
    for cell in row:
        yield f"<{tag}>"
        for piece in cell_parts(cell):
            yield escape(piece)
        yield f"</{tag}>"
    yield "</tr>\n"


def render_html(tables: Tables) -> Iterator[str]:
    """The meta line, the summary table (tbody only) and the statistics table (thead and tbody)."""
    yield META
    yield TABLE_OPEN + "<tbody>\n"
    for row in tables.summary:
        yield from _row(row, "td")
    yield "</tbody>\n" + TABLE_CLOSE
    yield TABLE_OPEN + "<thead>\n"
    yield from _row(tables.head, "th")
    yield "</thead>\n<tbody>\n"
    for row in tables.statistics:
        yield from _row(row, "td")
    yield "</tbody>\n" + TABLE_CLOSE
