"""Named snapshots of the whole portal, kept inside the database as copies of every table.

Saving copies each portal table with ``CREATE TABLE … AS SELECT *`` (SQLite and PostgreSQL both have it);
restoring empties the portal tables, children first, and copies the rows back, parents first, with their ids.
A restore skips the tables that did not change: triggers, installed by the first snapshot saved (so a portal
that never takes one pays nothing on its writes), move a counter of each table forward
on every insert, update, delete and truncate, and the snapshot notes the counters at which the live tables held
its rows (when saved, and again after each restore). A table whose counter moved, or that has no counter or lost
its triggers, is copied back, with every table that refers to it (emptying a parent empties its children).
On PostgreSQL both operations first lock the portal tables against writers, so no change still uncommitted can
hide behind a counter already read.
The id counters are never moved back: new ids continue after the highest id ever handed out, so an id given to a
row after the snapshot is not given to another row after the restore. Each operation is
one transaction. ``b24_settings`` (the secret key, ``member_id``) belongs to the installation, not to the
portal's state, and is neither saved nor restored.

The registry table lives outside ``tables.metadata`` on purpose: :func:`b24vote.storage.admin.wipe` and the
snapshot code walk that metadata, and neither may touch the snapshots themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    cast,
    column,
    delete,
    func,
    insert,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.sql import TableClause

from b24vote.storage.engine import Database
from b24vote.storage.tables import metadata
from b24vote.storage.types import UTCDateTime

__all__ = [
    "NAME_PATTERN",
    "SnapshotError",
    "SnapshotInfo",
    "continue_ids",
    "delete_snapshot",
    "list_snapshots",
    "portal_tables",
    "registry",
    "restore_snapshot",
    "save_snapshot",
]

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEEP = frozenset({"b24_settings"})

registry_metadata = MetaData()
registry = Table(
    "b24_snapshots",
    registry_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("revision", String(32), nullable=False),
    Column("row_counts", Text, nullable=False),
    Column("date_create", UTCDateTime, nullable=False),
    # {table: change counter} at which the live table held this snapshot's rows; NULL: copy every table.
    Column("changes", Text, nullable=True),
)
_TRIGGERS = {"sqlite": ("insert", "update", "delete"), "postgresql": ("rows", "truncate")}


class SnapshotError(ValueError):
    """A snapshot cannot be used (taken at another schema revision)."""


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """One saved snapshot: its name, when it was taken and how many rows each table had."""

    name: str
    created: datetime
    rows: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "created": self.created.isoformat(), "rows": self.rows}


def portal_tables() -> list[Table]:
    """The tables a snapshot covers, parents before children."""
    return [t for t in metadata.sorted_tables if t.name not in _KEEP]


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _copy_name(snapshot_id: int, source: Table) -> str:
    # The numeric id keeps the name short (PostgreSQL cuts identifiers at 63 bytes) and free of '-'.
    return f"b24snap_{snapshot_id}_{source.name}"


def _copy_of(snapshot_id: int, source: Table) -> TableClause:
    """The snapshot's copy of ``source``, with the same column names."""
    return table(_copy_name(snapshot_id, source), *(column(c.name) for c in source.columns))


def _revision(conn: Connection) -> str:
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row else ""


def _info(row: object) -> SnapshotInfo:
    return SnapshotInfo(
        name=row.name,  # type: ignore[attr-defined]
        created=row.date_create,  # type: ignore[attr-defined]
        rows=orjson.loads(row.row_counts),  # type: ignore[attr-defined]
    )


def _drop_copies(conn: Connection, snapshot_id: int) -> None:
    for source in portal_tables():
        conn.execute(text(f"DROP TABLE IF EXISTS {_quote(conn, _copy_name(snapshot_id, source))}"))


def _lock_out_writers(conn: Connection, tables: list[Table]) -> None:
    """PostgreSQL: wait for the writers of ``tables`` to finish and keep new ones waiting until this commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"LOCK TABLE {', '.join(_quote(conn, t.name) for t in tables)} IN SHARE ROW EXCLUSIVE MODE"))


# PostgreSQL's triggers of a table: a row trigger and a TRUNCATE trigger, both calling b24chg_count() (migration 0008).
_PG_WATCH = (("rows", "INSERT OR UPDATE OR DELETE", "ROW"), ("truncate", "TRUNCATE", "STATEMENT"))


def _watch_changes(conn: Connection, tables: list[Table]) -> None:
    """Give every portal table its change counter and triggers, where it has not got them yet.

    The table names are the schema's own, never input.
    """
    watch = _watch_postgres if conn.dialect.name == "postgresql" else _watch_sqlite
    for source in tables:
        watch(conn, str(source.name))


def _watch_postgres(conn: Connection, name: str) -> None:
    quoted = _quote(conn, name)
    conn.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {_quote(conn, 'b24chg_' + name)}"))
    listed = text("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(:table)")
    present = set(conn.execute(listed, {"table": quoted}).scalars())
    for suffix, when, each in _PG_WATCH:
        trigger = f"b24chg_{name}_{suffix}"
        if trigger not in present:
            conn.execute(
                text(
                    f"CREATE TRIGGER {_quote(conn, trigger)} AFTER {when} ON {quoted} "
                    f"FOR EACH {each} EXECUTE FUNCTION b24chg_count()"
                )
            )


def _watch_sqlite(conn: Connection, name: str) -> None:
    conn.execute(text("INSERT OR IGNORE INTO b24_table_changes (name, changes) VALUES (:name, 0)"), {"name": name})
    count = f"UPDATE b24_table_changes SET changes = changes + 1 WHERE name = '{name}'"  # noqa: S608
    for event in _TRIGGERS["sqlite"]:
        trigger = _quote(conn, f"b24chg_{name}_{event}")
        on = _quote(conn, name)
        conn.execute(
            text(
                f"CREATE TRIGGER IF NOT EXISTS {trigger} AFTER {event.upper()} ON {on} FOR EACH ROW BEGIN {count}; END"
            )
        )


def _changes(conn: Connection) -> dict[str, int]:
    """The change counter of each table that has one and all its triggers."""
    suffixes = _TRIGGERS[conn.dialect.name]
    if conn.dialect.name == "postgresql":
        query = """
            SELECT c.relname, coalesce(pg_sequence_last_value(to_regclass(quote_ident('b24chg_' || c.relname))), 0)
            FROM pg_class c
            WHERE c.relkind = 'r' AND pg_table_is_visible(c.oid)
              AND to_regclass(quote_ident('b24chg_' || c.relname)) IS NOT NULL
              AND (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgenabled <> 'D'
                   AND t.tgname IN ('b24chg_' || c.relname || '_rows', 'b24chg_' || c.relname || '_truncate')) = 2
        """
    else:
        names = " OR ".join(f"m.name = 'b24chg_' || c.name || '_{suffix}'" for suffix in suffixes)
        query = f"""
            SELECT c.name, c.changes FROM b24_table_changes c
            WHERE (SELECT count(*) FROM sqlite_master m WHERE m.type = 'trigger' AND m.tbl_name = c.name
                   AND ({names})) = {len(suffixes)}
        """  # noqa: S608 - the suffixes are the constants above
    return {str(name): int(changes) for name, changes in conn.execute(text(query))}


def _note_changes(conn: Connection, snapshot_id: int) -> None:
    """The live tables hold this snapshot's rows: note their counters."""
    changes = orjson.dumps(_changes(conn)).decode()
    conn.execute(update(registry).where(registry.c.id == snapshot_id).values(changes=changes))


def _to_copy(tables: list[Table], noted: dict[str, int], now: dict[str, int]) -> list[Table]:
    """The tables whose rows may differ from the snapshot's, with every table that refers to one of them."""
    changed = {t.name for t in tables if t.name not in now or noted.get(t.name) != now[t.name]}
    grown = True
    while grown:
        children = {t.name for t in tables for fk in t.foreign_keys if fk.column.table.name in changed}
        grown = not children <= changed
        changed |= children
    return [t for t in tables if t.name in changed]


def save_snapshot(db: Database, name: str, now: datetime) -> SnapshotInfo:
    """Copy every portal table under ``name``, replacing an earlier snapshot of that name."""
    with db.write() as conn:
        _lock_out_writers(conn, portal_tables())
        _watch_changes(conn, portal_tables())
        old = conn.execute(select(registry.c.id).where(registry.c.name == name)).scalar_one_or_none()
        if old is not None:
            _drop_copies(conn, old)
            conn.execute(delete(registry).where(registry.c.id == old))
        snapshot_id = int(
            conn.execute(
                insert(registry)
                .values(name=name, revision=_revision(conn), row_counts="{}", date_create=now)
                .returning(registry.c.id)
            ).scalar_one()
        )
        # A wiped registry restarts its ids; copies left behind by it must not block the new ones.
        _drop_copies(conn, snapshot_id)
        counts: dict[str, int] = {}
        for source in portal_tables():
            copy = _quote(conn, _copy_name(snapshot_id, source))
            # Both names are quoted identifiers made from the schema's own table names, never from input.
            conn.execute(text(f"CREATE TABLE {copy} AS SELECT * FROM {_quote(conn, source.name)}"))  # noqa: S608
            count = conn.execute(select(func.count()).select_from(_copy_of(snapshot_id, source))).scalar_one()
            counts[str(source.name)] = int(count)
        conn.execute(
            update(registry).where(registry.c.id == snapshot_id).values(row_counts=orjson.dumps(counts).decode())
        )
        _note_changes(conn, snapshot_id)
        return SnapshotInfo(name, now, counts)


def restore_snapshot(db: Database, name: str) -> SnapshotInfo | None:
    """Bring the portal back to snapshot ``name``; None when there is no such snapshot."""
    with db.write() as conn:
        row = conn.execute(select(registry).where(registry.c.name == name)).first()
        if row is None:
            return None
        current = _revision(conn)
        if row.revision != current:
            raise SnapshotError(
                f"snapshot {name!r} was taken at schema revision {row.revision}, the database is at {current}"
            )
        _lock_out_writers(conn, portal_tables())
        noted = orjson.loads(row.changes) if row.changes else {}
        tables = _to_copy(portal_tables(), noted, _changes(conn))
        if tables:
            _empty(conn, tables)
            for source in tables:
                copy = _copy_of(row.id, source)
                names = [c.name for c in source.columns]
                conn.execute(insert(source).from_select(names, select(*(copy.c[n] for n in names))))
            continue_ids(conn, tables)
            _note_changes(conn, row.id)
        return _info(row)


def _empty(conn: Connection, tables: list[Table]) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"TRUNCATE {', '.join(_quote(conn, t.name) for t in tables)}"))
        return
    # Checked at commit instead of row by row: the tables are briefly inconsistent while they refill.
    conn.execute(text("PRAGMA defer_foreign_keys = ON"))
    for source in reversed(tables):
        conn.execute(delete(source))


def _serial_tables(tables: list[Table]) -> list[Table]:
    return [t for t in tables if "id" in t.c and t.c.id.primary_key and isinstance(t.c.id.type, Integer)]


def continue_ids(conn: Connection, tables: list[Table]) -> None:
    """Make the next id of each table follow its rows (after rows were written with explicit ids).

    The counter only moves forward: the next id is past both the highest row and every id handed out before,
    so a restored snapshot brings back its own ids but never hands out again an id a later row had.
    """
    if conn.dialect.name == "postgresql":
        for source in _serial_tables(tables):
            highest = func.coalesce(select(func.max(source.c.id)).scalar_subquery(), 0)
            sequence = func.pg_get_serial_sequence(_quote(conn, source.name), "id")
            # NULL until the sequence first hands out an id.
            issued = func.coalesce(func.pg_sequence_last_value(cast(sequence, REGCLASS)), 0)
            conn.execute(select(func.setval(sequence, func.greatest(highest, issued) + 1, False)))
        return
    # SQLite's AUTOINCREMENT keeps the highest id ever handed out in sqlite_sequence and moves it up by itself
    # when a row comes with a higher explicit id; this only makes sure it is never behind the rows.
    if conn.execute(text("SELECT 1 FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'")).first():
        counters = table("sqlite_sequence", column("name"), column("seq"))
        for source in _serial_tables(tables):
            highest = func.coalesce(select(func.max(source.c.id)).scalar_subquery(), 0)
            conn.execute(
                update(counters).where(counters.c.name == source.name).values(seq=func.max(counters.c.seq, highest))
            )


def list_snapshots(db: Database) -> list[SnapshotInfo]:
    with db.read() as conn:
        return [_info(r) for r in conn.execute(select(registry).order_by(registry.c.name))]


def delete_snapshot(db: Database, name: str) -> bool:
    """Drop snapshot ``name`` and its copies; False when there was none."""
    with db.write() as conn:
        snapshot_id = conn.execute(select(registry.c.id).where(registry.c.name == name)).scalar_one_or_none()
        if snapshot_id is None:
            return False
        _drop_copies(conn, snapshot_id)
        conn.execute(delete(registry).where(registry.c.id == snapshot_id))
        return True
