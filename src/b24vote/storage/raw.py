"""Hot statements on the DBAPI cursor: a Core statement compiled once per dialect, rows as plain tuples.

SQLAlchemy spends ~70 µs per execution binding parameters, finding the compiled form and building result
rows; the database itself answers a hot read in ~10 µs. The few statements every ``get`` and ``vote`` run are
written as Core statements (one text for both dialects) and run here straight on the driver's cursor inside
the caller's transaction. Parameters still go through the columns' types; rows come back untyped: :func:`utc`
turns a datetime column's raw value into the aware datetime the tables declare, and booleans come as 0/1 from
SQLite (wrap them in ``bool``).

The read model: on a connection that :func:`remembering` marks (SQLite's kept reader, see
``Database.read_kept``), a SELECT's rows are kept in a :class:`Memo` and served again for the same parameters
while the database's change stamp stays the same. A call that finds nothing changed since the memo was
validated (``Database.read_inline``) starts without a transaction: the memo opens one on the first read it
cannot serve, so a ``get`` whose poll and caller did not change runs no statement at all.

Each entry knows the tables it read, and a write through :class:`Prepared` names the table it writes (the group
writer records them, :func:`recording_writes`): after this process's own commits the memo drops only the
entries that read a table they wrote (:meth:`Memo.carry`, :mod:`b24vote.storage.changes`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.sql.elements import ClauseElement

from b24vote.storage.changes import ANY_TABLE, EVERYTHING, tables_read, tables_written

__all__ = [
    "Memo",
    "Prepared",
    "PreparedIn",
    "lazy_memo",
    "ran_outside",
    "read_discarded",
    "recording_writes",
    "remembered",
    "remembering",
    "utc",
]

T = TypeVar("T")
_IN_LIMIT = 50  # getMany takes at most 50 entity ids: an IN list has one prepared form per length up to that


_ABSENT = object()


class Memo:
    """What reads on one connection returned (a SELECT's rows, an object built from them), valid while the
    database's change stamp stays ``stamp``.

    SQLite's ``PRAGMA data_version`` changes on a connection whenever another connection committed (the
    group-commit writer, the CLI, another process, a restore or a reset): any change drops every row kept,
    except where the engine could :meth:`carry` the memo over this process's own commits.

    Each entry knows the tables it read (a Prepared SELECT's own; for an object built by :func:`remembered`,
    those of every Prepared statement run while it was built, its nested entries' included; any statement run
    otherwise while it is built makes it depend on every table). :meth:`carry` drops the entries that read a
    table the group writer changed, and lets the memo take the new stamp of a transaction that sees exactly the
    state those commits left (``header``); any other change of stamp drops everything.

    A *lazy* read (:meth:`start_lazy`) runs with no transaction open because nothing changed since the memo was
    validated (the engine saw the same commit header): the first statement it must really run opens the
    transaction through ``begin``, which returns the stamp that transaction sees and the commit header read
    right after it began. Should that stamp differ (and not be a carried one), something committed after the
    header was read, and the reads served so far and the ones to come are of two states: the memo marks itself
    ``torn`` and the caller runs the whole read again.
    """

    __slots__ = (
        "_begin",
        "_building",
        "_limit",
        "_readers",
        "_reads",
        "_rows",
        "carried",
        "header",
        "lazy",
        "stamp",
        "torn",
    )

    def __init__(self, limit: int = 10_000, begin: Callable[[], tuple[object, bytes | None]] | None = None) -> None:
        self._limit = limit
        self._rows: dict[tuple[Any, ...], Any] = {}
        self._reads: dict[tuple[Any, ...], frozenset[str]] = {}  # entry → the tables it read
        self._readers: dict[str, set[tuple[Any, ...]]] = {}  # table → the entries that read it
        self._building: set[str] | None = None  # the tables read so far by the entry being built
        self._begin = begin
        self.stamp: object = None
        self.header: bytes | None = None  # the commit header the stamp was validated under (engine's business)
        self.carried = False  # the entries are exactly the state of ``header``; the stamp moves with it
        self.lazy = False
        self.torn = False

    def validate(self, stamp: object, seen: bytes | None = None) -> None:
        """Keep the rows only if nothing changed since they were read (``seen``: the header read once the
        transaction of ``stamp`` began, which accepts a carried memo's new stamp)."""
        if not self._accepts(stamp, seen):
            self._drop_all()
        self.stamp, self.carried = stamp, False

    def _accepts(self, stamp: object, seen: bytes | None) -> bool:
        # A carried memo: the transaction sees the state ``header`` named when the same header is read after it
        # began, as before (headers never repeat).
        return stamp == self.stamp or (self.carried and seen is not None and seen == self.header)

    def carry(self, header: bytes, changed: frozenset[str]) -> None:
        """This process's own commits, which wrote only ``changed``, took the database to ``header``: drop what
        read those tables, and accept the stamp of a transaction that sees ``header``."""
        if ANY_TABLE in changed or len(self._reads) != len(self._rows):  # the second: an entry of unknown reads
            self._drop_all()
        else:
            for table in (*changed, ANY_TABLE):
                for key in self._readers.pop(table, ()):
                    self._forget_entry(key)
        self.header, self.carried = header, True

    def start_lazy(self) -> None:
        """The next reads run with no transaction until one is needed (see the class)."""
        if self._begin is None:
            raise RuntimeError("a lazy read needs a way to begin its transaction")
        self.lazy, self.torn = True, False

    def end_lazy(self) -> bool:
        """Leave lazy reading; True if a transaction was opened meanwhile (the caller ends it)."""
        opened = not self.lazy
        self.lazy = False
        return opened

    def open(self) -> None:
        """Open the transaction a lazy read put off (no-op otherwise)."""
        if not self.lazy or self._begin is None:
            return
        self.lazy = False
        stamp, seen = self._begin()
        if self._accepts(stamp, seen):
            self.stamp, self.carried = stamp, False
        else:
            self.torn = True
            self.validate(stamp)
            self.header = None  # the header seen before was older than this state

    def keep(self, key: tuple[Any, ...], read: Callable[[], T], tables: frozenset[str] = frozenset()) -> T:
        """What ``read()`` returned for ``key`` under this stamp, reading it on first use (``tables``: those
        ``read`` reads by itself; the entries it uses while it runs add theirs)."""
        found = self._rows.get(key, _ABSENT)
        outer = self._building
        if found is not _ABSENT:
            if outer is not None:
                outer |= self._reads.get(key, EVERYTHING)
            kept: T = found
            return kept
        self.open()
        if len(self._rows) >= self._limit:  # a bound, not a policy: most entries are for a few hot polls
            self._drop_all()
        self._building = building = set(tables)
        try:
            value = read()
        finally:
            self._building = outer
        if outer is not None:
            outer |= building
        self._store(key, value, frozenset(building))
        return value

    def _store(self, key: tuple[Any, ...], value: Any, reads: frozenset[str]) -> None:
        """Keep ``value`` for ``key``, as read from ``reads`` (every entry is kept through here)."""
        self._forget_entry(key)
        self._rows[key], self._reads[key] = value, reads
        for table in reads:
            self._readers.setdefault(table, set()).add(key)

    def read_elsewhere(self) -> None:
        """A statement not run through Prepared: the entry being built may have read any table."""
        if self._building is not None:
            self._building.add(ANY_TABLE)

    def _forget_entry(self, key: tuple[Any, ...]) -> None:
        self._rows.pop(key, None)
        for table in self._reads.pop(key, ()):
            readers = self._readers.get(table)
            if readers is not None:
                readers.discard(key)

    def _drop_all(self) -> None:
        self._rows.clear()
        self._reads.clear()
        self._readers.clear()

    def put(self, key: tuple[Any, ...], value: Any, reads: frozenset[str]) -> None:
        """Keep ``value`` as what the read of ``key``, which reads ``reads``, returns (rows read ahead by a
        statement of their own)."""
        self._store(key, value, reads)

    def clear(self) -> None:
        self._drop_all()
        self.stamp = None
        self.header = None
        self.carried = False


# The memo each connection reads through, by connection: PostgreSQL's calls interleave on one thread (greenlets
# of the event loop), so a thread-local slot would hand one call's memo to another's statements.
_remembered: dict[Connection, Memo] = {}


@contextmanager
def remembering(conn: Connection, memo: Memo) -> Iterator[None]:
    """Within the block, SELECTs on ``conn`` are served from and kept in ``memo``."""
    _remembered[conn] = memo
    try:
        yield
    finally:
        _remembered.pop(conn, None)


def _memo_of(conn: Connection) -> Memo | None:
    return _remembered.get(conn)


def read_discarded(conn: Connection) -> bool:
    """True when what was read on ``conn`` so far will be thrown away and read again (a torn lazy read)."""
    memo = _memo_of(conn)
    return memo is not None and memo.torn


def lazy_memo(conn: Connection) -> Memo | None:
    """The memo of a lazy read on ``conn`` that has no transaction yet (see :meth:`Memo.start_lazy`)."""
    memo = _memo_of(conn)
    return memo if memo is not None and memo.lazy else None


_writing = threading.local()


@contextmanager
def recording_writes(conn: Connection) -> Iterator[set[str]]:
    """Within the block, the tables that statements on ``conn`` in this thread write are added to the set yielded
    (:data:`~b24vote.storage.changes.ANY_TABLE` for a statement whose tables are not known)."""
    written: set[str] = set()
    _writing.on = (conn, written)
    try:
        yield written
    finally:
        _writing.on = None


def _wrote(conn: Connection, tables: frozenset[str]) -> None:
    on: tuple[Connection, set[str]] | None = getattr(_writing, "on", None)
    if on is not None and on[0] is conn:
        on[1].update(tables)


def ran_outside(conn: Connection, statement: object) -> None:
    """SQLAlchemy is running ``statement`` (a clause element, or SQL text) on ``conn``, not through Prepared.

    An entry of the read model being built meanwhile may have read anything; a write is recorded with the table
    it names, if it names one.
    """
    memo = _memo_of(conn)
    if memo is not None:
        memo.read_elsewhere()
    if not getattr(statement, "is_select", False):
        _wrote(conn, tables_written(statement))


def remembered(conn: Connection, key: tuple[Any, ...], read: Callable[[], T]) -> T:
    """What ``read()`` returns, kept in the connection's read model like rows are (see :class:`Memo`).

    For a read whose result is a pure function of the database and ``key`` (and immutable): the object a
    hot read builds from its rows is kept, not only the rows.
    """
    memo = _memo_of(conn)
    return read() if memo is None else memo.keep(key, read)


class _Compiled:
    __slots__ = ("fixed", "order", "processors", "sql")

    def __init__(self, statement: ClauseElement, conn: Connection) -> None:
        compiled: Any = statement.compile(dialect=conn.dialect)
        self.sql = str(compiled)
        self.order: tuple[str, ...] | None = tuple(compiled.positiontup) if compiled.positiontup else None
        # The statement's own literals (``values(message="")``); the named parameters come with each call.
        self.fixed: dict[str, Any] = {k: v for k, v in compiled.params.items() if v is not None}
        # The column types' own conversions (UTCDateTime → the dialect's naive UTC form, Boolean → 0/1…).
        self.processors: tuple[tuple[str, Any], ...] = tuple(compiled._bind_processors.items())

    def bind(self, params: dict[str, Any]) -> Any:
        values = {**self.fixed, **params} if self.fixed or self.processors else params
        for name, process in self.processors:
            value = values.get(name)
            if value is not None:
                values[name] = process(value)
        return tuple(values[name] for name in self.order) if self.order is not None else values


class Prepared:
    """One statement, compiled lazily per dialect, run on the connection's DBAPI cursor.

    Only plain bound parameters are supported (no ``expanding`` IN lists): the compiled text is reused as is.
    Parameters are converted by the columns' types, as SQLAlchemy would; result rows are not.
    """

    __slots__ = ("_compiled", "_reads", "_select", "_statement", "_writes")

    def __init__(self, statement: ClauseElement, *, writes: bool = False) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}
        # Only a plain SELECT's rows may be kept: INSERT/UPDATE … RETURNING change what they read, and so does a
        # SELECT of a function that writes (``writes``).
        self._select = bool(getattr(statement, "is_select", False)) and not writes
        # The tables it reads or writes (for the read model, see Memo), found on first use.
        self._reads: frozenset[str] | None = None
        self._writes: frozenset[str] | None = None

    def _tables_read(self) -> frozenset[str]:
        if self._reads is None:
            self._reads = tables_read(self._statement)
        return self._reads

    def _written(self, conn: Connection) -> None:
        """A statement that writes: nothing kept can be trusted after it; a recorded write names its table."""
        if self._writes is None:
            self._writes = tables_written(self._statement)  # a SELECT of a function that writes: everything
        _forget(conn)
        _wrote(conn, self._writes)

    def _for(self, conn: Connection) -> _Compiled:
        found = self._compiled.get(conn.dialect.name)
        if found is None:
            found = self._compiled[conn.dialect.name] = _Compiled(self._statement, conn)
        return found

    def keep(self, memo: Memo, rows: list[tuple[Any, ...]], **params: Any) -> None:
        """Have :meth:`rows` with these parameters answer ``rows`` from ``memo`` (read ahead elsewhere)."""
        memo.put((self, *params.items()), rows, self._tables_read())

    def rows(self, conn: Connection, **params: Any) -> list[tuple[Any, ...]]:
        """All rows for these parameters (the statement's own literals are bound as compiled).

        The list may be shared with later calls (the read model): read it, never change it.
        """
        if not self._select:  # a write
            self._written(conn)
            return self._fetch(conn, params)
        memo = _memo_of(conn)
        if memo is None:
            return self._fetch(conn, params)
        return memo.keep((self, *params.items()), lambda: self._fetch(conn, params), self._tables_read())

    def _fetch(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        compiled = self._for(conn)
        with _cursor(conn) as cursor:
            cursor.execute(compiled.sql, compiled.bind(params))
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows

    def run(self, conn: Connection, **params: Any) -> int:
        """Execute a statement that returns no rows; the number of rows it changed."""
        self._written(conn)
        compiled = self._for(conn)
        with _cursor(conn) as cursor:
            cursor.execute(compiled.sql, compiled.bind(params))
            return int(cursor.rowcount)

    def run_many(self, conn: Connection, many: list[dict[str, Any]]) -> None:
        """Execute a statement that returns no rows once per parameter set."""
        if not many:
            return
        self._written(conn)
        compiled = self._for(conn)
        with _cursor(conn) as cursor:
            cursor.executemany(compiled.sql, [compiled.bind(params) for params in many])


class PreparedIn:
    """A statement with one ``IN`` list, prepared once per list length (``build(names)`` makes the statement
    with one bound parameter per name). A list longer than ``limit`` runs in chunks: rows come chunk by chunk,
    ordered within each. The one way an IN list is read: one value is just a list of length one."""

    __slots__ = ("_build", "_by_length", "_limit")

    def __init__(self, build: Callable[[list[str]], ClauseElement], limit: int = _IN_LIMIT) -> None:
        self._build = build
        self._limit = limit
        self._by_length: dict[int, tuple[Prepared, tuple[str, ...]]] = {}

    def _of_length(self, length: int) -> tuple[Prepared, tuple[str, ...]]:
        found = self._by_length.get(length)
        if found is None:
            names = [f"in_{i}" for i in range(length)]
            found = self._by_length[length] = (Prepared(self._build(names)), tuple(names))
        return found

    def keep(self, memo: Memo, values: Sequence[Any], rows: list[tuple[Any, ...]], **params: Any) -> None:
        """Have :meth:`rows` answer ``rows`` for these values from ``memo`` (at most ``limit`` values)."""
        prepared, names = self._of_length(len(values))
        params.update(zip(names, values, strict=True))
        prepared.keep(memo, rows, **params)

    def rows(self, conn: Connection, values: Sequence[Any], **params: Any) -> list[tuple[Any, ...]]:
        """All rows for these IN-list values and other parameters."""
        if not values:
            return []
        if len(values) <= self._limit:  # the usual case: one statement
            prepared, names = self._of_length(len(values))
            params.update(zip(names, values, strict=True))
            return prepared.rows(conn, **params)
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(values), self._limit):
            found.extend(self.rows(conn, values[start : start + self._limit], **params))
        return found


def _forget(conn: Connection) -> None:
    """A write on a remembering connection: nothing kept can be trusted after it."""
    memo = _memo_of(conn)
    if memo is not None:
        memo.open()  # a write never runs outside the read's transaction
        memo.clear()


def _cursor(conn: Connection) -> closing[Any]:
    """The driver's cursor of the connection's transaction, closed when the block ends."""
    return closing(conn.connection.dbapi_connection.cursor())  # type: ignore[union-attr]


@functools.lru_cache(maxsize=8192)  # polls' dates come back on every read of them; datetimes are immutable
def utc(value: Any) -> datetime:
    """A UTCDateTime column's raw value (SQLite: text; PostgreSQL: naive datetime) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    result: datetime = value.replace(tzinfo=UTC)
    return result
