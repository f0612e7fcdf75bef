"""A read the model serves runs no statement while nothing committed; a commit that lands during a read makes
it run again in one state (``Database.read_inline``, SQLite's WAL-index header as the change stamp).

Statements are counted with the driver's own trace callback on the kept connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, select, text, update
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.config import RateLimit, Settings
from b24vote.errors import B24Error, ErrorCode, PlatformError
from b24vote.methods.registry import CallContext, Registry
from b24vote.storage import people
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.raw import Prepared
from b24vote.storage.tables import users
from b24vote.transport import dispatch
from b24vote.transport.auth import Credentials

AT = datetime(2026, 3, 1, tzinfo=UTC)
_NAME = Prepared(select(users.c.name).where(users.c.id == bindparam("uid")))
_RENAME = update(users).where(users.c.id == bindparam("uid")).values(name=bindparam("new"))


@pytest.fixture
def dbs(tmp_path: Path) -> Iterator[tuple[Database, Database, list[int]]]:
    """A reader (keeps rows), a writer on another connection (the CLI, another process), two users."""
    url = f"sqlite:///{tmp_path}/inline.db"
    reader, writer = Database(url, sqlite_synchronous="NORMAL"), Database(url, sqlite_synchronous="NORMAL")
    migrate(writer)
    with writer.write() as conn:
        ids = [people.add_user(conn, AT, name=name) for name in ("Anna", "Bob")]
    try:
        yield reader, writer, ids
    finally:
        reader.release_kept()
        reader.dispose()
        writer.dispose()


def _traced(db: Database) -> list[str]:
    """Every statement the reader's kept connection runs from now on."""
    seen: list[str] = []
    with db.read_kept() as conn:
        conn.connection.dbapi_connection.set_trace_callback(seen.append)  # type: ignore[union-attr]
    seen.clear()
    return seen


def _rename(writer: Database, uid: int, new: str) -> None:
    with writer.write() as conn:
        conn.execute(_RENAME, {"uid": uid, "new": new})


def test_a_read_the_model_serves_runs_no_statement_until_something_commits(
    dbs: tuple[Database, Database, list[int]],
) -> None:
    reader, writer, (anna, bob) = dbs
    assert reader.read_inline(lambda conn: _NAME.rows(conn, uid=anna)) == [("Anna",)]
    seen = _traced(reader)
    assert reader.read_inline(lambda conn: _NAME.rows(conn, uid=anna)) == [("Anna",)]
    assert seen == []
    # A row not kept yet: the read opens its transaction for it (checked against the stamp), and only then.
    assert reader.read_inline(lambda conn: _NAME.rows(conn, uid=bob)) == [("Bob",)]
    assert [s.split()[0] for s in seen] == ["BEGIN", "PRAGMA", "SELECT", "ROLLBACK"]
    seen.clear()
    _rename(writer, anna, "Anna K.")
    assert reader.read_inline(lambda conn: _NAME.rows(conn, uid=anna)) == [("Anna K.",)]
    assert seen[0] == "BEGIN" and any(s.startswith("SELECT") for s in seen)
    seen.clear()
    assert reader.read_inline(lambda conn: _NAME.rows(conn, uid=anna)) == [("Anna K.",)]
    assert seen == []


def test_a_commit_during_a_read_makes_it_run_again_in_one_state(dbs: tuple[Database, Database, list[int]]) -> None:
    reader, writer, (anna, bob) = dbs
    reader.read_inline(lambda conn: _NAME.rows(conn, uid=anna))
    runs: list[tuple[Any, Any]] = []

    def work(conn: Connection) -> tuple[Any, Any]:
        first = _NAME.rows(conn, uid=anna)  # served by the model: the state before the commit below
        if not runs:
            _rename(writer, anna, "Anna K.")
            _rename(writer, bob, "Bob K.")
        second = _NAME.rows(conn, uid=bob)  # not kept: its transaction sees the commit
        runs.append((first, second))
        return first, second

    assert reader.read_inline(work) == ([("Anna K.",)], [("Bob K.",)])
    assert len(runs) == 2 and runs[0] == ([("Anna",)], [("Bob K.",)])


def test_sqlalchemy_statements_and_errors_in_a_lazy_read_leave_no_transaction_open(
    dbs: tuple[Database, Database, list[int]],
) -> None:
    reader, writer, (anna, _) = dbs
    reader.read_inline(lambda conn: _NAME.rows(conn, uid=anna))

    def core(conn: Connection) -> Any:
        return conn.execute(text("SELECT name FROM users WHERE id = :uid"), {"uid": anna}).scalar_one()

    assert reader.read_inline(core) == "Anna"
    kept: Connection | None = None

    def fails(conn: Connection) -> None:
        nonlocal kept
        kept = conn
        _NAME.rows(conn, uid=anna + 100)
        raise PlatformError(ErrorCode.ERROR_METHOD_NOT_FOUND)

    with pytest.raises(B24Error):
        reader.read_inline(fails)
    assert kept is not None and not kept.in_transaction()
    assert not kept.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
    # The writer is not held up by a reader left in a transaction: a checkpoint can take the whole WAL.
    _rename(writer, anna, "Anna K.")
    raw = writer.engine.raw_connection()
    try:
        assert raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # type: ignore[union-attr]
    finally:
        raw.close()
    assert reader.read_inline(core) == "Anna K."


def test_a_call_read_twice_is_counted_once_by_the_limits(tmp_path: Path) -> None:
    """The leaky bucket admits 2 calls: a call whose read ran twice still takes one place."""
    url = f"sqlite:///{tmp_path}/limits.db"
    writer = Database(url, sqlite_synchronous="NORMAL")
    migrate(writer)
    with writer.write() as conn:
        uid = people.add_user(conn, AT, name="Anna", is_admin=True)
        _, code = people.add_webhook(conn, AT, user_id=uid, scopes=["user"])
    settings = Settings.from_env({}, database_url=url, secret_key="inline", rate_limit=RateLimit(2, 0.0001))
    app = create_app(settings)
    state = app.state.b24
    local = Registry()
    runs: list[int] = []

    @local.add("test.torn", scope=None)
    def torn(ctx: CallContext, _params: Any) -> int:
        people.get_user(ctx.conn, uid)
        if len(runs) == 1:  # a commit between the model's answer and the first statement: this run is thrown away
            _rename(writer, uid, "Anna K.")
            people.get_user(ctx.conn, uid + 1)
        runs.append(1)
        return len(runs)

    creds = Credentials(webhook_user=str(uid), webhook_code=code)

    async def calls() -> list[Any]:
        found: list[Any] = []
        for _ in range(3):
            try:
                found.append((await dispatch.execute(state, creds, "test.torn", {})).value)
            except B24Error as exc:
                found.append(exc.code)
        return found

    try:
        with TestClient(app):  # the lifespan loads the limits
            state.registry = local
            assert asyncio.run(calls()) == [1, 3, "QUERY_LIMIT_EXCEEDED"]
    finally:
        state.db.release_kept()
        writer.dispose()
