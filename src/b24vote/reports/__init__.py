"""Poll reports: the real server's HTML ``.xls``, plus XLSX and CSV with the same two tables.

``tables`` builds rows (pure), ``source`` reads them from the database in batches, and ``html``, ``csv`` and
``xlsx`` write them. :func:`report_chunks` ties these together for a streamed download or a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timezone
from enum import Enum
from pathlib import Path

from sqlalchemy import Connection

from b24vote.domain.polls import Poll
from b24vote.reports.csv import render_csv
from b24vote.reports.html import render_html
from b24vote.reports.source import read_tables
from b24vote.reports.stream import encode_chunks, file_chunks
from b24vote.reports.tables import Labels
from b24vote.reports.xlsx import write_xlsx
from b24vote.storage import polls

__all__ = ["Labels", "OpenRead", "ReportFormat", "parse_format", "report_chunks"]

OpenRead = Callable[[], AbstractContextManager[Connection]]


class ReportFormat(Enum):
    """A report format: its file extension and content type."""

    XLS = ("xls", "application/vnd.ms-excel")
    XLSX = ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    CSV = ("csv", "text/csv")

    @property
    def extension(self) -> str:
        return self.value[0]

    @property
    def media_type(self) -> str:
        return self.value[1]

    def filename(self, vote_id: int) -> str:
        """``vote<VOTE_ID>.<ext>``: the real server names the file after the vote, not the attach."""
        return f"vote{vote_id}.{self.extension}"


def parse_format(raw: str | None) -> ReportFormat:
    """``xls`` (also when empty or absent), ``xlsx`` or ``csv``, in any case; anything else is a ValueError."""
    name = (raw or "").strip().lower() or "xls"
    for fmt in ReportFormat:
        if fmt.extension == name:
            return fmt
    raise ValueError(name)


def report_chunks(
    open_read: OpenRead, poll: Poll, fmt: ReportFormat, *, tz: timezone, labels: Labels
) -> Iterator[bytes]:
    """The report file's bytes, read in a read transaction of its own (counters as of that transaction)."""
    if fmt is ReportFormat.XLSX:
        yield from _xlsx_chunks(open_read, poll, tz, labels)
        return
    render = render_csv if fmt is ReportFormat.CSV else render_html
    with open_read() as conn:
        current = polls.load_poll(conn, poll.id) or poll
        yield from encode_chunks(render(read_tables(conn, current, tz=tz, labels=labels)))


def _xlsx_chunks(open_read: OpenRead, poll: Poll, tz: timezone, labels: Labels) -> Iterator[bytes]:
    # xlsxwriter needs a file to write the zip into; it is removed as soon as it has been sent.
    handle, name = tempfile.mkstemp(prefix=f"b24vote-vote{poll.id}-", suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        with open_read() as conn:
            current = polls.load_poll(conn, poll.id) or poll
            write_xlsx(read_tables(conn, current, tz=tz, labels=labels), path)
        yield from file_chunks(path)
    finally:
        path.unlink(missing_ok=True)
