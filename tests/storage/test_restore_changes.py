"""A restore copies back only the tables that changed, and still gives exactly the snapshot's rows.

Every portal table gets a row, then each kind of change (insert, update, delete) is made to one table at a time
with plain SQL, as any writer would; the restore must then leave every table equal to the snapshot's copy of it
(what a restore of every table gives).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Boolean, Connection, Integer, String, Table, Text, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from b24vote.storage.admin import wipe
from b24vote.storage.engine import Database
from b24vote.storage.snapshots import (
    _changes,
    _copy_of,
    delete_snapshot,
    list_snapshots,
    portal_tables,
    restore_snapshot,
    save_snapshot,
)
from b24vote.storage.types import UTCDateTime

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
TABLES = portal_tables()


@pytest.fixture
def world(db: Database) -> Iterator[Database]:
    """One row in every portal table, no snapshots."""
    for snapshot in list_snapshots(db):
        delete_snapshot(db, snapshot.name)
    wipe(db)
    with db.write() as conn:
        ids: dict[str, int] = {}
        for source in TABLES:
            ids[source.name] = _add_row(conn, source, ids)
    yield db
    for snapshot in list_snapshots(db):
        delete_snapshot(db, snapshot.name)


def _value(source: Table, name: str, ids: dict[str, int]) -> Any:
    column = source.c[name]
    for fk in column.foreign_keys:
        return ids[fk.column.table.name]
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, UTCDateTime):
        return NOW
    if isinstance(kind, String | Text):
        return "x"
    raise AssertionError(f"{source.name}.{name}: no test value for {kind!r}")


def _add_row(conn: Connection, source: Table, ids: dict[str, int]) -> int:
    values = {c.name: _value(source, c.name, ids) for c in source.columns if not (c.name == "id" and c.primary_key)}
    if "id" in source.c:
        return int(conn.execute(insert(source).values(values).returning(source.c.id)).scalar_one())
    conn.execute(insert(source).values(values))
    return 0


def _new_value(conn: Connection, source: Table) -> tuple[str, Any]:
    """A column an update can change without breaking a key, and its new value."""
    keys = {c.name for c in source.columns if c.primary_key or c.foreign_keys}
    for column in source.columns:
        if column.name in keys or isinstance(column.type, Boolean):
            continue
        if isinstance(column.type, UTCDateTime):
            return column.name, LATER
        return column.name, column + 1 if isinstance(column.type, Integer) else "y"
    # Only keys: point the row at a new parent row (of the first parent that can take one more).
    firsts = {t.name: conn.execute(select(func.min(t.c.id))).scalar_one() for t in TABLES if "id" in t.c}
    for column in source.columns:
        for fk in column.foreign_keys:
            try:
                with conn.begin_nested():
                    return column.name, _add_row(conn, fk.column.table, firsts)
            except IntegrityError:
                continue
    raise AssertionError(f"{source.name}: no column to update")


def _rows(conn: Connection, name: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """The rows as stored (the snapshot's copies have no column types to convert them)."""
    listed = ", ".join(f'"{c}"' for c in columns)
    return sorted(tuple(map(repr, row)) for row in conn.exec_driver_sql(f'SELECT {listed} FROM "{name}"'))  # noqa: S608


def _assert_is_snapshot(db: Database, name: str) -> None:
    with db.read() as conn:
        found = conn.execute(text("SELECT id FROM b24_snapshots WHERE name = :n"), {"n": name}).scalar_one()
        differ = []
        for source in TABLES:
            columns = [c.name for c in source.columns]
            if _rows(conn, source.name, columns) != _rows(conn, _copy_of(found, source).name, columns):
                differ.append(source.name)
    assert differ == [], f"tables not back to snapshot {name!r}: {differ}"


def _with_children(source: Table) -> list[Table]:
    found = {source.name}
    for table in TABLES:  # parents before children
        if any(fk.column.table.name in found for fk in table.foreign_keys):
            found.add(table.name)
    return [t for t in TABLES if t.name in found]


def _change(db: Database, source: Table, kind: str, from_snapshot: str | None = None) -> None:
    with db.write() as conn:
        if kind == "delete":  # the rows that refer to the table's rows go first
            for child in reversed(_with_children(source)):
                conn.execute(delete(child))
        elif kind == "update":
            name, value = _new_value(conn, source)
            assert conn.execute(update(source).values({name: value})).rowcount >= 1
        else:
            found = conn.execute(text("SELECT id FROM b24_snapshots WHERE name = :n"), {"n": from_snapshot})
            copy = _copy_of(found.scalar_one(), source)
            names = [c.name for c in source.columns]
            conn.execute(insert(source).from_select(names, select(*(copy.c[n] for n in names))))
            assert conn.execute(select(func.count()).select_from(source)).scalar_one() >= 1


@pytest.mark.parametrize("source", TABLES, ids=[t.name for t in TABLES])
def test_every_change_to_every_table_is_restored(world: Database, source: Table) -> None:
    save_snapshot(world, "full", NOW)
    for kind in ("update", "delete"):
        _change(world, source, kind)
        restore_snapshot(world, "full")
        _assert_is_snapshot(world, "full")
    # An insert: the snapshot lacks the table's row (and its children's), a writer adds it back.
    _change(world, source, "delete")
    save_snapshot(world, "less", NOW)
    _change(world, source, "insert", from_snapshot="full")
    restore_snapshot(world, "less")
    _assert_is_snapshot(world, "less")
    restore_snapshot(world, "full")  # the other snapshot's notes stay right after this one's restores
    _assert_is_snapshot(world, "full")
    restore_snapshot(world, "less")
    _assert_is_snapshot(world, "less")


def test_a_restore_with_no_change_since_copies_nothing(world: Database) -> None:
    save_snapshot(world, "full", NOW)
    with world.read() as conn:
        before = _changes(conn)
    assert set(before) == {t.name for t in TABLES}, "every portal table has its counter and triggers"
    restore_snapshot(world, "full")
    with world.read() as conn:
        assert _changes(conn) == before
    _change(world, TABLES[-1], "update")  # a table no other refers to: only it is copied back
    restore_snapshot(world, "full")
    with world.read() as conn:
        after = _changes(conn)
    assert [name for name in before if after[name] != before[name]] == [TABLES[-1].name]
    _assert_is_snapshot(world, "full")


def test_a_table_that_lost_its_triggers_is_always_copied(world: Database) -> None:
    source = next(t for t in TABLES if t.name == "votes")
    save_snapshot(world, "full", NOW)
    with world.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text('DROP TRIGGER "b24chg_votes_rows" ON votes'))
        else:
            conn.execute(text('DROP TRIGGER "b24chg_votes_update"'))
        assert "votes" not in _changes(conn)
    try:
        _change(world, source, "update")
        restore_snapshot(world, "full")
        _assert_is_snapshot(world, "full")
    finally:
        _recreate_trigger(world)


def _recreate_trigger(db: Database) -> None:
    with db.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    'CREATE TRIGGER "b24chg_votes_rows" AFTER INSERT OR UPDATE OR DELETE ON votes '
                    "FOR EACH ROW EXECUTE FUNCTION b24chg_count()"
                )
            )
        else:
            conn.execute(
                text(
                    'CREATE TRIGGER "b24chg_votes_update" AFTER UPDATE ON votes FOR EACH ROW BEGIN '
                    "UPDATE b24_table_changes SET changes = changes + 1 WHERE name = 'votes'; END"
                )
            )
        assert "votes" in _changes(conn)


def test_writes_pay_for_no_counter_until_a_first_snapshot(tmp_path: Any) -> None:
    # A portal that never takes a snapshot has no triggers on its tables (a counter per written row cost a
    # durable vote about a fifth of its CPU); the first snapshot gives every portal table its counter.
    from b24vote.storage.migrate import migrate

    fresh = Database(f"sqlite:///{tmp_path}/fresh.db")
    migrate(fresh)
    with fresh.read() as conn:
        triggers = conn.execute(text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")).scalar_one()
        assert (triggers, _changes(conn)) == (0, {})
    save_snapshot(fresh, "first", datetime(2026, 11, 30, tzinfo=UTC))
    with fresh.read() as conn:
        assert set(_changes(conn)) == {t.name for t in portal_tables()}
    fresh.dispose()
