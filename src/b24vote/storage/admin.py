"""Whole-database operations: wiping every table (emulator reset, tests)."""

from __future__ import annotations

from sqlalchemy import delete, text

from b24vote.storage.engine import Database
from b24vote.storage.tables import metadata

__all__ = ["wipe"]


def wipe(db: Database, *, keep: frozenset[str] = frozenset({"b24_settings"}), restart_ids: bool = False) -> None:
    """Delete every row of every table except ``keep``.

    The id counters keep counting, so ids handed out before the wipe never come back (docs/compatibility.md,
    "Ids"); ``restart_ids`` starts them again from 1, as in a new database (the test suite's fresh portal).
    """
    tables = [t for t in metadata.sorted_tables if t.name not in keep]
    with db.write() as conn:
        if db.dialect == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            identity = "RESTART" if restart_ids else "CONTINUE"
            conn.execute(text(f"TRUNCATE {names} {identity} IDENTITY CASCADE"))
            return
        for table in reversed(tables):
            conn.execute(delete(table))
        has_sequences = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'")
        ).first()
        if restart_ids and has_sequences:
            conn.execute(text("DELETE FROM sqlite_sequence"))
