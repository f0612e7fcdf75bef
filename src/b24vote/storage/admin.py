"""Whole-database operations: wiping every table (tests, emulator reset)."""

from __future__ import annotations

from sqlalchemy import delete, text

from b24vote.storage.engine import Database
from b24vote.storage.tables import metadata

__all__ = ["wipe"]


def wipe(db: Database, *, keep: frozenset[str] = frozenset({"b24_settings"})) -> None:
    """Delete every row of every table except ``keep`` and restart the id sequences."""
    tables = [t for t in metadata.sorted_tables if t.name not in keep]
    with db.write() as conn:
        if db.dialect == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        for table in reversed(tables):
            conn.execute(delete(table))
        has_sequences = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'")
        ).first()
        if has_sequences:
            conn.execute(text("DELETE FROM sqlite_sequence"))
