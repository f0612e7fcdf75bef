"""What this process's own group commits changed, so that SQLite's kept readers drop only what they touched.

Every SQLite commit rewrites the header at the start of the WAL index (the ``-shm`` file, see
``storage/wal_index.py``), and a kept reader's read model (:class:`b24vote.storage.raw.Memo`) remembers the
header it was validated under. The group writer (:mod:`b24vote.storage.group_commit`) knows which tables its
transaction wrote: it reads ``PRAGMA data_version`` and the header (H0) right after ``BEGIN IMMEDIATE``, the
header again after ``COMMIT`` (H1) and then ``PRAGMA data_version`` once more. Equal stamps mean no other
connection committed from the start of the transaction until after H1 was read, so going from H0 to H1 was this
group's commit and nothing else: it publishes ``Change(H0, H1, tables)`` in a :class:`ChangeLog`.

A reader that finds the header moved from H to H' looks for a chain of published changes from H to H'
(:meth:`ChangeLog.between`). Found, every entry of its model that read none of the chain's tables is still what a
fresh read returns; not found (a commit by another connection, by ``Database.write``, by a group whose check
failed, or one not published yet), it drops everything. Headers never repeat (the header's change counter moves
on every write of it), so a chain names one sequence of commits.

Tables are known by their names in lower case (SQLite's are case-insensitive). A write whose tables are not
known (``text()``, DDL, a statement that is not a plain INSERT/UPDATE/DELETE of a :class:`~sqlalchemy.Table`)
counts as a change of :data:`EVERYTHING`, and so does a read of unknown tables; a write also changes the tables
whose foreign keys act on it (``ON DELETE CASCADE``…), and any trigger in the schema makes every write one of
everything.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseElement, TextClause
from sqlalchemy.sql.selectable import TableClause

from b24vote.storage.wal_index import WalIndex, wal_index

__all__ = [
    "ANY_TABLE",
    "EVERYTHING",
    "Change",
    "ChangeLog",
    "OwnCommits",
    "tables_read",
    "tables_written",
]

log = logging.getLogger("b24vote.storage")

ANY_TABLE = "*"  # stands for every table: a write or read whose tables are not known
EVERYTHING = frozenset({ANY_TABLE})


def tables_read(statement: ClauseElement) -> frozenset[str]:
    """The tables a SELECT reads (:data:`EVERYTHING` if it reads anything not declared as a Table)."""
    found: set[str] = set()
    for element in visitors.iterate(statement):
        if isinstance(element, Table):
            found.add(element.name.lower())
        elif isinstance(element, TextClause | TableClause):  # SQL text, or a table not declared (a view?)
            return EVERYTHING
    return frozenset(found)


def tables_written(statement: Any) -> frozenset[str]:
    """The table an INSERT, UPDATE or DELETE writes; :data:`EVERYTHING` for any other statement."""
    if getattr(statement, "is_dml", False) and isinstance(getattr(statement, "table", None), Table):
        return frozenset({statement.table.name.lower()})
    return EVERYTHING


@dataclass(frozen=True, slots=True)
class Change:
    """One group commit of this process: the header before and after it, and the tables it wrote."""

    before: bytes
    after: bytes
    tables: frozenset[str]


class ChangeLog:
    """The last group commits of this process, by the header they started from; shared by all threads."""

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._by_start: OrderedDict[bytes, Change] = OrderedDict()
        self._lock = threading.Lock()

    def publish(self, change: Change) -> None:
        with self._lock:
            self._by_start[change.before] = change
            if len(self._by_start) > self._limit:
                self._by_start.popitem(last=False)

    def between(self, start: bytes, end: bytes) -> frozenset[str] | None:
        """The tables the published commits from header ``start`` to header ``end`` wrote; None when those
        commits are not all published ones of this process (then anything may have changed)."""
        tables: set[str] = set()
        at = start
        with self._lock:
            for _ in range(len(self._by_start)):  # a chain visits each change once at most
                change = self._by_start.get(at)
                if change is None:
                    return None
                tables |= change.tables
                at = change.after
                if at == end:
                    return frozenset(tables)
        return None


@dataclass(frozen=True, slots=True)
class _Started:
    stamp: object
    header: bytes
    index: WalIndex  # the file both headers are read from (the writer's connection keeps it in place)


class OwnCommits:
    """The group writer's side: what a group's transaction started from, and its publication after the commit."""

    def __init__(self, database: str | None, changes: ChangeLog) -> None:
        plain = bool(database) and database != ":memory:" and not (database or "").startswith("file:")
        self._path = f"{database}-shm" if plain else None
        self.changes = changes
        self._schema: object = None
        self._acting: dict[str, frozenset[str]] = {}  # table → tables its writes may also change
        # Tests: runs right after COMMIT, before the final header is read and the stamp checked.
        self.after_commit: Callable[[], None] | None = None

    def start(self, driver: Any) -> _Started | None:
        """Right after ``BEGIN IMMEDIATE``: the stamp and header the transaction starts from (None: unknown)."""
        if self._path is None:
            return None
        try:
            stamp = driver.execute("PRAGMA data_version").fetchone()[0]
            schema = driver.execute("PRAGMA schema_version").fetchone()[0]
            if schema != self._schema:
                self._acting, self._schema = _acting_tables(driver), schema
            index = wal_index(self._path)
        except Exception:  # no publication: the readers drop everything, as they would without this
            log.exception("reading the group's starting header failed")
            return None
        return None if index is None else _Started(stamp, index.read(), index)

    def publish(self, driver: Any, started: _Started | None, written: Iterable[str]) -> None:
        """After ``COMMIT``: publish what the group changed, if no other connection committed since it began."""
        if started is None or self._path is None:
            return
        try:
            if self.after_commit is not None:
                self.after_commit()
            header = started.index.read()
            stamp = driver.execute("PRAGMA data_version").fetchone()[0]
        except Exception:
            log.exception("reading the group's final header failed")
            return
        if stamp != started.stamp or header == started.header:
            return
        self.changes.publish(Change(started.header, header, self._closure(written)))

    def _closure(self, written: Iterable[str]) -> frozenset[str]:
        tables = set(written)
        if ANY_TABLE in tables or ANY_TABLE in self._acting:
            return EVERYTHING
        for table in list(tables):
            tables |= self._acting.get(table, frozenset())
        return frozenset(tables)


def _acting_tables(driver: Any) -> dict[str, frozenset[str]]:
    """For each table, the tables a write to it may change too: through foreign-key actions, transitively.

    Any trigger makes every write a change of everything (key :data:`ANY_TABLE`).
    """
    if driver.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' LIMIT 1").fetchone() is not None:
        return {ANY_TABLE: EVERYTHING}
    names = [r[0].lower() for r in driver.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
    children: dict[str, set[str]] = {}
    for name in names:
        # foreign_key_list: id, seq, table, from, to, on_update, on_delete, match
        for row in driver.execute("SELECT * FROM pragma_foreign_key_list(?)", (name,)).fetchall():
            if row[5] != "NO ACTION" or row[6] != "NO ACTION":
                children.setdefault(row[2].lower(), set()).add(name)
    acting: dict[str, frozenset[str]] = {}
    for name in children:
        reached: set[str] = set()
        todo = [name]
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in reached:
                    reached.add(child)
                    todo.append(child)
        acting[name] = frozenset(reached)
    return acting
