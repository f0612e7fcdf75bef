"""Hot statements on the DBAPI cursor: a Core select compiled once per dialect, rows as plain tuples.

SQLAlchemy spends ~70 µs per execution binding parameters, finding the compiled form and building result
rows; the database itself answers a hot read in ~10 µs. The few statements every ``get`` runs are written as
Core selects (one text for both dialects) and run here straight on the driver's cursor inside the caller's
transaction. Rows come back untyped: :func:`utc` turns a datetime column's raw value into the aware
datetime the tables declare (booleans come as 0/1 from SQLite: wrap them in ``bool``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Select

__all__ = ["Prepared", "utc"]


class Prepared:
    """One select, compiled lazily per dialect, run on the connection's DBAPI cursor.

    Only plain bound parameters are supported (no ``expanding`` IN lists): the compiled text is reused as is.
    """

    __slots__ = ("_compiled", "_statement")

    def __init__(self, statement: Select[Any]) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def _compile(self, conn: Connection) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        name = conn.dialect.name
        found = self._compiled.get(name)
        if found is None:
            compiled = self._statement.compile(dialect=conn.dialect)
            order = tuple(compiled.positiontup) if compiled.positiontup else None
            found = (str(compiled), order, dict(compiled.params))
            self._compiled[name] = found
        return found

    def rows(self, conn: Connection, **params: Any) -> list[tuple[Any, ...]]:
        """All rows for these parameters (the statement's own literals are bound as compiled)."""
        sql, order, defaults = self._compile(conn)
        values = {**defaults, **params}
        bound: Any = tuple(values[name] for name in order) if order is not None else values
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, bound)
            return list(cursor.fetchall())
        finally:
            cursor.close()


def utc(value: Any) -> datetime:
    """A UTCDateTime column's raw value (SQLite: text; PostgreSQL: naive datetime) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    result: datetime = value.replace(tzinfo=UTC)
    return result
