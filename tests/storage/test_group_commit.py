"""SQLite group commit: calls share a transaction, fail alone, and are answered only once it is on disk."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, func, select

from b24vote.storage import people
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.tables import users

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path}/group.db")
    migrate(db)
    yield db
    db.dispose()


def _add(name: str) -> Any:
    def work(conn: Connection) -> int:
        return people.add_user(conn, NOW, name=name)

    return work


def _names(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(users.c.name).order_by(users.c.id)).scalars())


@contextmanager
def _writer_busy(writer: Any) -> Iterator[None]:
    """The writer held by a call of its own for the block: what is queued meanwhile forms the next group."""
    busy, release = threading.Event(), threading.Event()

    def blocker(conn: Connection) -> None:
        busy.set()
        assert release.wait(timeout=10)

    first = writer.submit(blocker)
    assert busy.wait(timeout=10)
    try:
        yield
    finally:
        release.set()
        first.result(timeout=10)


def _one_group(db: Database, works: list[Any]) -> list[Future[Any]]:
    """Queue ``works`` while the writer is busy with another call, so that they form the next group together."""
    with _writer_busy(db._group_writer):
        return [db._group_writer.submit(work) for work in works]  # type: ignore[union-attr]


def test_a_failing_call_rolls_back_alone(sqlite_db: Database) -> None:
    def fail(conn: Connection) -> None:
        people.add_user(conn, NOW, name="Lost")
        raise ValueError("refused")

    commits: list[object] = []
    event.listen(sqlite_db.engine, "commit", commits.append)
    done = _one_group(sqlite_db, [_add("Ann"), fail, _add("Cleo")])
    assert done[0].result(timeout=10) > 0 and done[2].result(timeout=10) > 0
    assert len(commits) == 2  # the busy call's group, then one transaction for the three queued beside it
    with pytest.raises(ValueError, match="refused"):
        done[1].result(timeout=10)
    assert _names(sqlite_db) == ["Ann", "Cleo"]


def test_a_group_whose_transaction_breaks_answers_every_call_with_the_error(sqlite_db: Database) -> None:
    def break_transaction(conn: Connection) -> None:
        conn.connection.dbapi_connection.execute("ROLLBACK")  # type: ignore[union-attr]

    done = _one_group(sqlite_db, [_add("Ann"), break_transaction, _add("Cleo")])
    for future in done:
        with pytest.raises(Exception):  # noqa: B017 - whatever the driver raised, nobody was told "stored"
            future.result(timeout=10)
    assert _names(sqlite_db) == []
    # The writer starts over on a fresh connection.
    assert sqlite_db._group_writer.submit(_add("Dora")).result(timeout=10) > 0  # type: ignore[union-attr]
    assert _names(sqlite_db) == ["Dora"]


def test_an_answered_call_is_visible_to_every_other_connection(sqlite_db: Database) -> None:
    futures = [sqlite_db._group_writer.submit(_add(f"U{i}")) for i in range(200)]  # type: ignore[union-attr]
    for future in futures:
        user_id = future.result(timeout=30)
        with sqlite_db.read() as conn:  # another connection: committed, not merely written
            assert conn.execute(select(users.c.id).where(users.c.id == user_id)).scalar_one() == user_id
    with sqlite_db.read() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 200


def test_stop_finishes_the_queued_calls(sqlite_db: Database) -> None:
    writer: Any = sqlite_db._group_writer
    futures = [writer.submit(_add(f"U{i}")) for i in range(20)]
    writer.stop()
    assert all(f.done() and f.exception() is None for f in futures)
    assert len(_names(sqlite_db)) == 20


def test_a_call_cancelled_while_queued_is_left_out_and_the_writer_goes_on(sqlite_db: Database) -> None:
    writer: Any = sqlite_db._group_writer
    with _writer_busy(writer):
        gone, kept = writer.submit(_add("Gone")), writer.submit(_add("Kept"))
        assert gone.cancel()  # its caller gave up (a client disconnected) before the writer reached it
    assert kept.result(timeout=10) > 0
    assert writer.submit(_add("After")).result(timeout=10) > 0  # the writer thread is alive
    assert _names(sqlite_db) == ["Kept", "After"]
