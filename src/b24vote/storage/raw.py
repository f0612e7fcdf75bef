"""Hot statements on the DBAPI cursor: a Core statement compiled once per dialect, rows as plain tuples.

SQLAlchemy spends ~70 µs per execution binding parameters, finding the compiled form and building result
rows; the database itself answers a hot read in ~10 µs. The few statements every ``get`` and ``vote`` run are
written as Core statements (one text for both dialects) and run here straight on the driver's cursor inside
the caller's transaction. Parameters still go through the columns' types; rows come back untyped: :func:`utc`
turns a datetime column's raw value into the aware datetime the tables declare, and booleans come as 0/1 from
SQLite (wrap them in ``bool``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.elements import ClauseElement

__all__ = ["Prepared", "PreparedIn", "utc"]

_IN_LIMIT = 50  # getMany takes at most 50 entity ids: an IN list has one prepared form per length up to that


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

    __slots__ = ("_compiled", "_statement")

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, conn: Connection) -> _Compiled:
        found = self._compiled.get(conn.dialect.name)
        if found is None:
            found = self._compiled[conn.dialect.name] = _Compiled(self._statement, conn)
        return found

    def rows(self, conn: Connection, **params: Any) -> list[tuple[Any, ...]]:
        """All rows for these parameters (the statement's own literals are bound as compiled)."""
        compiled = self._for(conn)
        with _cursor(conn) as cursor:
            cursor.execute(compiled.sql, compiled.bind(params))
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows

    def run(self, conn: Connection, **params: Any) -> int:
        """Execute a statement that returns no rows; the number of rows it changed."""
        compiled = self._for(conn)
        with _cursor(conn) as cursor:
            cursor.execute(compiled.sql, compiled.bind(params))
            return int(cursor.rowcount)

    def run_many(self, conn: Connection, many: list[dict[str, Any]]) -> None:
        """Execute a statement that returns no rows once per parameter set."""
        if not many:
            return
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
