"""The database handle: one engine, read and write transactions, SQLite and PostgreSQL specifics."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL

from b24vote.storage.group_commit import GroupWriter
from b24vote.storage.raw import Memo, remembering

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["Database", "normalise_url"]

T = TypeVar("T")


def normalise_url(raw: str) -> URL:
    """Pick the drivers b24vote ships with: pysqlite and psycopg 3."""
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")
    return url


def _async_engine(url: URL, pool_size: int) -> AsyncEngine:
    # Imported here: SQLite never needs SQLAlchemy's asyncio layer, and every CLI command would pay for it.
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class Database:
    """Owns the engine; hands out connections inside a transaction.

    SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so that
    two writers queue on the lock instead of failing when a read transaction tries to upgrade.
    """

    def __init__(
        self, url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 10, remember: bool = True
    ) -> None:
        self.url = normalise_url(url)
        self.dialect = self.url.get_backend_name()
        # The read model of SQLite's kept readers (raw.Memo); off only to compare against fresh reads in tests.
        self._remember = remember
        self.engine = self._make_engine(sqlite_synchronous, pool_size)
        # PostgreSQL: REST calls run on psycopg's asyncio mode (see run()); the sync engine serves the CLI,
        # batch commands and streamed reports.
        postgres = self.dialect == "postgresql"
        self.async_engine: AsyncEngine | None = _async_engine(self.url, pool_size) if postgres else None
        self._writer_lock: AbstractContextManager[Any] = (
            threading.RLock() if self.dialect == "sqlite" else nullcontext()
        )
        # SQLite: REST writes share transactions (and fsyncs) through one writer thread, see group_commit.
        self._group_writer = GroupWriter(self.engine, self._writer_lock) if self.dialect == "sqlite" else None
        self._kept = threading.local()
        self._kept_all: list[Connection] = []
        self._kept_lock = threading.Lock()

    def _make_engine(self, synchronous: str, pool_size: int) -> Engine:
        if self.dialect == "sqlite":
            database = self.url.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=pool_size,
                max_overflow=pool_size,
            )
            _install_sqlite_hooks(engine, synchronous)
            return engine
        return create_engine(self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection inside a read transaction (rolled back at the end)."""
        with self.engine.connect() as conn, conn.begin() as tx:
            yield conn
            tx.rollback()

    @contextmanager
    def read_kept(self) -> Iterator[Connection]:
        """:meth:`read` on a connection this thread keeps between calls (SQLite reads run on the event loop).

        Checking a connection out of the pool and back in (with its reset) costs more than a hot read itself.
        Use it from a thread that serves many calls (the event loop's) and call :meth:`release_kept` from that
        thread when it stops serving; :meth:`dispose` closes every kept connection.
        """
        if self.dialect != "sqlite":
            with self.read() as pooled:
                yield pooled
            return
        conn: Connection | None = getattr(self._kept, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect()
            self._kept.conn = conn
            self._kept.memo = Memo()  # a new connection has its own stamps: start from nothing
            with self._kept_lock:
                self._kept_all.append(conn)
        # The read transaction is opened on the driver: SQLAlchemy's begin/rollback bookkeeping costs more than
        # a cached get's statements. A statement run through SQLAlchemy inside it autobegins SQLAlchemy's own
        # transaction, which joins this one (see on_begin) and is rolled back with it.
        driver: Any = conn.connection.dbapi_connection
        driver.execute("BEGIN")
        # The change stamp, read first: it also fixes the transaction's snapshot, so rows kept under this
        # stamp are exactly what this transaction would read (see raw.Memo).
        memo: Memo | None = getattr(self._kept, "memo", None) if self._remember else None
        if memo is not None:
            memo.validate(driver.execute("PRAGMA data_version").fetchone()[0])
        try:
            if memo is None:
                yield conn
            else:
                with remembering(conn, memo):
                    yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()
            else:
                driver.rollback()

    def release_kept(self) -> None:
        """Give this thread's kept connection back to the pool."""
        conn: Connection | None = getattr(self._kept, "conn", None)
        if conn is None:
            return
        self._kept.conn = None
        with self._kept_lock:
            if conn in self._kept_all:
                self._kept_all.remove(conn)
        conn.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection inside a write transaction: committed when the block ends, rolled back on error.

        On SQLite, this process's writers queue on a lock first: SQLite lets one writer in at a time anyway,
        and its busy handler makes waiting writers sleep and poll, which stretches the tail latency to seconds.
        """
        with self._writer_lock, self.engine.connect() as conn:
            conn = conn.execution_options(b24vote_write=True)
            with conn.begin():
                yield conn

    async def run(self, work: Callable[[Connection], T], *, write: bool) -> T:
        """Run ``work`` in one transaction without blocking the event loop.

        PostgreSQL: on the asyncio driver, without a worker thread. ``work`` is ordinary synchronous SQLAlchemy
        code: ``run_sync`` hands it a connection whose every statement awaits the asyncio driver underneath
        (greenlets), so the methods have one implementation. SQLite (writes only; its reads are quick enough to
        run inline): on the group-commit writer, in a savepoint of a transaction shared with the calls queued
        beside it, answered once that transaction is on disk.
        """
        if self._group_writer is not None:
            if not write:
                raise RuntimeError("SQLite reads run inline (read_kept), not through run()")
            return await asyncio.wrap_future(self._group_writer.submit(work))
        if self.async_engine is None:  # pragma: no cover - every Database is SQLite or PostgreSQL
            raise RuntimeError("unsupported database")
        async with self.async_engine.connect() as conn, conn.begin() as tx:
            result = await conn.run_sync(work)
            if not write:
                await tx.rollback()
            return result

    async def dispose_async(self) -> None:
        """Close the asyncio pool's connections (they belong to the event loop that is ending)."""
        if self.async_engine is not None:
            await self.async_engine.dispose()

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def dispose(self) -> None:
        if self._group_writer is not None:
            self._group_writer.stop()
        with self._kept_lock:
            kept, self._kept_all = self._kept_all, []
        for conn in kept:
            conn.close()
        self.engine.dispose()
        if self.async_engine is not None:
            self.async_engine.sync_engine.dispose()


def _install_sqlite_hooks(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("b24vote_write", False)
        driver: Any = conn.connection.dbapi_connection
        if driver.in_transaction:  # Database.read_kept began the read transaction on the driver already
            return
        # Straight on the driver: SQLAlchemy's statement machinery would cost more than BEGIN itself.
        driver.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
