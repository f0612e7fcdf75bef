"""The database handle: one engine, read and write transactions, SQLite and PostgreSQL specifics."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError

from b24vote.storage.changes import ChangeLog, OwnCommits
from b24vote.storage.group_commit import GroupWriter
from b24vote.storage.raw import Memo, lazy_memo, ran_outside, remembering
from b24vote.storage.wal_index import WalIndex, wal_index

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


def _async_engine(url: URL, pool_size: int, timeout: float) -> AsyncEngine:
    # Imported here: SQLite never needs SQLAlchemy's asyncio layer, and every CLI command would pay for it.
    from psycopg.types.json import set_json_loads
    from sqlalchemy.ext.asyncio import create_async_engine

    set_json_loads(orjson.loads)  # the JSON a statement returns (storage/ahead.py, b24vote_cast): the fast codec
    # Every connection the pool opens is kept (no overflow): with overflow, connections above pool_size were closed
    # as they came back and opened again at the next burst, a PostgreSQL backend started each time (bench: votes
    # 844–878 → 927–982 req/s with the same 20 connections at most).
    engine = create_async_engine(url, pool_size=2 * pool_size, max_overflow=0, connect_args=_connect_args(timeout))
    _ping_when_idle(engine.sync_engine)
    return engine


def _connect_args(timeout: float) -> dict[str, Any]:
    """libpq's bound on opening a connection (whole seconds, at least 2: libpq treats 1 as 2)."""
    return {"connect_timeout": max(2, math.ceil(timeout))}


# A pooled PostgreSQL connection unused for this long is pinged before it is handed out again.
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle: SQLAlchemy's ``pool_pre_ping`` would cost every
    call a round trip of its own.

    A connection back in use within a second was alive a moment ago; should the server have gone since (killed
    connections, a restart), the call that finds out fails, and SQLAlchemy then recycles every connection pooled
    before the failure, so the calls after it get fresh ones. A connection idle for longer (the server may have
    restarted while nothing was sent) is pinged first and replaced if it is gone, as ``pool_pre_ping`` would.
    """

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["b24vote_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("b24vote_idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_conn, None):
                raise DisconnectionError("pooled connection gone while idle") from exc  # the pool takes another
            raise


class Database:
    """Owns the engine; hands out connections inside a transaction.

    SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so that
    two writers queue on the lock instead of failing when a read transaction tries to upgrade.
    """

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        pool_size: int = 10,
        remember: bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.url = normalise_url(url)
        # PostgreSQL: the longest a transaction of run() may take, waiting for a connection included; and the
        # bound on opening a connection on either pool. A server that stops answering (frozen, cut off without
        # a reset) fails calls after this long instead of holding them for ever.
        self.timeout = timeout
        self.dialect = self.url.get_backend_name()
        # The read model of SQLite's kept readers (raw.Memo); off only to compare against fresh reads in tests.
        self._remember = remember
        self.engine = self._make_engine(sqlite_synchronous, pool_size)
        # PostgreSQL: REST calls run on psycopg's asyncio mode (see run()); the sync engine serves the CLI,
        # batch commands and streamed reports.
        postgres = self.dialect == "postgresql"
        self.async_engine: AsyncEngine | None = _async_engine(self.url, pool_size, timeout) if postgres else None
        self._writer_lock: AbstractContextManager[Any] = (
            threading.RLock() if self.dialect == "sqlite" else nullcontext()
        )
        # SQLite: REST writes share transactions (and fsyncs) through one writer thread, see group_commit. What
        # each group changed is published here, for the kept readers (see changes).
        self._changes = ChangeLog()
        self._group_writer = (
            GroupWriter(self.engine, self._writer_lock, OwnCommits(self.url.database, self._changes))
            if self.dialect == "sqlite"
            else None
        )
        self._kept = threading.local()
        self._kept_all: list[_Kept] = []
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
        engine = create_engine(
            self.url, pool_size=pool_size, max_overflow=pool_size, connect_args=_connect_args(self.timeout)
        )
        _ping_when_idle(engine)
        return engine

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection inside a read transaction (rolled back at the end)."""
        with self.engine.connect() as conn, conn.begin() as tx:
            yield conn
            tx.rollback()

    def _kept_reader(self) -> _Kept:
        """This thread's kept SQLite connection with its read model, made on first use."""
        kept: _Kept | None = getattr(self._kept, "reader", None)
        if kept is not None and not kept.conn.closed and not kept.conn.invalidated:
            return kept
        if kept is not None:
            kept.close()
        conn = self.engine.connect()
        header = _commit_header(conn, self.url.database)
        # A new connection has its own stamps: its memo starts from nothing.
        memo = Memo(begin=lambda: _begin_seen(conn, header)) if self._remember else None
        kept = self._kept.reader = _Kept(conn, memo, header)
        with self._kept_lock:
            self._kept_all.append(kept)
        return kept

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
        kept = self._kept_reader()
        conn, memo = kept.conn, kept.memo
        # The commit header is read before the transaction begins: the state the memo is validated under below
        # is this one or a later one, never an earlier one (see read_inline).
        header = kept.header.read() if kept.header is not None else None
        if memo is not None and header is not None:
            self._carry(memo, header)
        # The read transaction is opened on the driver: SQLAlchemy's begin/rollback bookkeeping costs more than
        # a cached get's statements. A statement run through SQLAlchemy inside it autobegins SQLAlchemy's own
        # transaction, which joins this one (see on_begin) and is rolled back with it.
        stamp, seen = _begin_seen(conn, kept.header)
        try:
            if memo is None:
                yield conn
            else:
                # The change stamp, read first: it also fixes the transaction's snapshot, so rows kept under
                # this stamp are exactly what this transaction would read (see raw.Memo). A memo carried over
                # this process's own commits takes the new stamp if the transaction sees the state they left.
                memo.validate(stamp, seen)
                memo.header = header
                with remembering(conn, memo):
                    yield conn
        finally:
            _end_read(conn)

    def read_inline(self, work: Callable[[Connection], T]) -> T:
        """``work`` in a read transaction on this thread's kept connection, or with none if none is needed.

        SQLite's WAL index starts with a header every commit rewrites, and this process maps it: when it reads
        the same as when the read model was last validated, nothing anywhere committed since, and ``work`` starts
        without a transaction (no statement at all for a read the model serves). The first statement it must
        really run opens the transaction; should that transaction see another state (a commit landed in
        between), ``work`` runs again from the start in a transaction of its own, so a call never mixes two
        states. ``work`` must not change anything outside the database that it would do again on a re-run.

        A header that moved only through this process's published group commits (``changes.ChangeLog``) counts
        as unchanged once the model dropped what those commits wrote (``Memo.carry``): the transaction opened
        later takes the connection's new stamp if it sees exactly the state of that header, and drops
        everything otherwise.
        """
        if self.dialect != "sqlite":
            with self.read() as pooled:
                return work(pooled)
        kept = self._kept_reader()
        memo = kept.memo
        header = kept.header
        if memo is not None and header is not None and self._carry(memo, header.read()):
            memo.start_lazy()
            try:
                with remembering(kept.conn, memo):
                    value = work(kept.conn)
            except BaseException:
                if not _end_lazy(kept.conn, memo):
                    raise
            else:
                if not _end_lazy(kept.conn, memo):
                    return value
        with self.read_kept() as conn:
            return work(conn)

    def _carry(self, memo: Memo, header: bytes) -> bool:
        """Bring ``memo`` to commit header ``header`` if only this process's published group commits lie between
        (dropping what they changed); True if the memo is at ``header`` now."""
        if memo.header is None:
            return False
        if memo.header != header:
            changed = self._changes.between(memo.header, header)
            if changed is None:
                return False
            memo.carry(header, changed)
        return True

    def release_kept(self) -> None:
        """Give this thread's kept connection back to the pool."""
        kept: _Kept | None = getattr(self._kept, "reader", None)
        if kept is None:
            return
        self._kept.reader = None
        with self._kept_lock:
            if kept in self._kept_all:
                self._kept_all.remove(kept)
        kept.close()

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

    async def run(self, work: Callable[[Connection], T], *, write: bool, autocommit: bool = False) -> T:
        """Run ``work`` in one transaction without blocking the event loop.

        PostgreSQL: on the asyncio driver, without a worker thread. ``work`` is ordinary synchronous SQLAlchemy
        code: ``run_sync`` hands it a connection whose every statement awaits the asyncio driver underneath
        (greenlets), so the methods have one implementation. SQLite (writes only; its reads are quick enough to
        run inline): on the group-commit writer, in a savepoint of a transaction shared with the calls queued
        beside it, answered once that transaction is on disk.

        ``autocommit`` (PostgreSQL): a write whose changes are one statement runs without a transaction of its
        own, the statement being atomic by itself; SQLite ignores it (the group writer commits for everyone).
        """
        if self._group_writer is not None:
            if not write:
                raise RuntimeError("SQLite reads run inline (read_kept), not through run()")
            return await asyncio.wrap_future(self._group_writer.submit(work))
        if self.async_engine is None:  # pragma: no cover - every Database is SQLite or PostgreSQL
            raise RuntimeError("unsupported database")
        async with asyncio.timeout(self.timeout), self.async_engine.connect() as conn:
            if not write or autocommit:  # a write only when it is one statement, atomic on its own
                # No BEGIN and no ROLLBACK/COMMIT, two round trips of a read's four or five: PostgreSQL runs each
                # statement in a snapshot of its own in autocommit, which READ COMMITTED, its default level, does
                # inside a transaction too. Reads never write (the methods that do are write=True).
                single = await conn.execution_options(isolation_level="AUTOCOMMIT")
                return await single.run_sync(work)
            async with conn.begin():
                return await conn.run_sync(work)

    async def dispose_async(self) -> None:
        """Close the asyncio pool's connections (they belong to the event loop that is ending)."""
        if self.async_engine is not None:
            await self.async_engine.dispose()

    async def ping_async(self) -> bool:
        """:meth:`ping` from the event loop, answered within :attr:`timeout` on PostgreSQL even when the server
        does not answer at all."""
        if self.async_engine is None:
            return await asyncio.to_thread(self.ping)
        try:
            await self.run(lambda conn: conn.execute(text("SELECT 1")), write=False)
        except Exception:
            return False
        return True

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
        for reader in kept:
            reader.close()
        self.engine.dispose()
        if self.async_engine is not None:
            self.async_engine.sync_engine.dispose()


def _driver(conn: Connection) -> Any:
    return conn.connection.dbapi_connection


def _begin_read(conn: Connection) -> object:
    """Open a read transaction on the driver; the change stamp it sees (reading it fixes the snapshot)."""
    driver = _driver(conn)
    driver.execute("BEGIN")
    return driver.execute("PRAGMA data_version").fetchone()[0]


def _begin_seen(conn: Connection, header: WalIndex | None) -> tuple[object, bytes | None]:
    """:func:`_begin_read`, and the commit header read once the snapshot is fixed (None where there is none)."""
    stamp = _begin_read(conn)
    return stamp, header.read() if header is not None else None


def _end_read(conn: Connection) -> None:
    if conn.in_transaction():
        conn.rollback()
    else:
        _driver(conn).rollback()


def _end_lazy(conn: Connection, memo: Memo) -> bool:
    """End a lazy read (closing the transaction it opened, if any); True if it must run again."""
    if memo.end_lazy():
        _end_read(conn)
    return memo.torn


def _commit_header(conn: Connection, database: str | None) -> WalIndex | None:
    """The WAL index whose first header every commit rewrites (its 48 bytes hold the change counter, the last frame
    and the salts: https://sqlite.org/walformat.html; equal bytes mean no commit since), once ``conn`` has it open;
    None where there is none. Mapped once for the process (:mod:`b24vote.storage.wal_index`, which never closes a
    descriptor of a live index: that would drop this process's SQLite locks on it); a kept reader's connection holds
    the index open, so the mapped file stays the one SQLite uses as long as the reader lives."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    driver = _driver(conn)
    if driver.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return None
    driver.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # a read opens the index
    return wal_index(database + "-shm")


@dataclass(slots=True)
class _Kept:
    """A thread's kept SQLite reader: the connection, its read model and the commit header it watches."""

    conn: Connection
    memo: Memo | None
    header: WalIndex | None

    def close(self) -> None:
        self.header = None  # the mapping stays the process's (wal_index); only the connection goes
        self.conn.close()


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

    @event.listens_for(engine, "before_cursor_execute")
    def on_statement(conn: Connection, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool) -> None:
        # Statements run through SQLAlchemy, not Prepared: for the read model and the group writer's record.
        compiled = getattr(context, "compiled", None)
        ran_outside(conn, compiled.statement if compiled is not None else None)

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("b24vote_write", False)
        driver: Any = conn.connection.dbapi_connection
        if driver.in_transaction:  # Database.read_kept began the read transaction on the driver already
            return
        lazy = lazy_memo(conn)
        if lazy is not None:  # a lazy read's first statement through SQLAlchemy: its transaction, checked
            lazy.open()
            return
        # Straight on the driver: SQLAlchemy's statement machinery would cost more than BEGIN itself.
        driver.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
