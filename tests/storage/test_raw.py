"""Statements run on the DBAPI cursor store and read values exactly as SQLAlchemy's own execution does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, text, update

from b24vote.storage import people
from b24vote.storage.engine import Database
from b24vote.storage.raw import Prepared, PreparedIn, utc
from b24vote.storage.tables import users

_ADD = Prepared(
    insert(users)
    .values(name=bindparam("first"), active=bindparam("on"), is_admin=bindparam("admin"), date_register=bindparam("at"))
    .returning(users.c.id)
)
_READ = Prepared(select(users.c.date_register, users.c.active, users.c.is_admin).where(users.c.id == bindparam("uid")))


def test_values_written_on_the_cursor_read_back_through_sqlalchemy(db: Database) -> None:
    at = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
    with db.write() as conn:
        ((raw_id,),) = _ADD.rows(conn, first="Raw", on=False, admin=True, at=at)
        core_id = people.add_user(conn, at, name="Core")
    with db.read() as conn:
        rows = {r.id: r for r in conn.execute(select(users).where(users.c.id.in_([raw_id, core_id])))}
        # Same stored form as SQLAlchemy's: equal datetimes compare equal in SQL (SQLite compares text).
        same = conn.execute(select(users.c.id).where(users.c.date_register == at).order_by(users.c.id)).all()
    assert rows[raw_id].date_register == at == rows[core_id].date_register
    assert (rows[raw_id].active, rows[raw_id].is_admin) == (False, True)
    assert [r.id for r in same] == sorted([raw_id, core_id])


def test_rows_read_on_the_cursor_convert_to_the_declared_types(db: Database) -> None:
    at = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
    with db.write() as conn:
        uid = people.add_user(conn, at, name="Core", is_admin=True)
    with db.read() as conn:
        ((stamp, active, admin),) = _READ.rows(conn, uid=uid)
        assert (utc(stamp), bool(active), bool(admin)) == (at, True, True)
        assert _READ.rows(conn, uid=uid + 1000) == []
        user = people.get_user(conn, uid)
    assert user is not None and user.date_register == at and user.is_admin and user.name == "Core"


def test_run_counts_changed_rows_and_run_many_takes_every_set(db: Database) -> None:
    rename = Prepared(update(users).where(users.c.id == bindparam("uid")).values(name=bindparam("new_name")))
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with db.write() as conn:
        ids = [people.add_user(conn, at, name=f"U{i}") for i in range(3)]
        assert rename.run(conn, uid=ids[0], new_name="First") == 1
        assert rename.run(conn, uid=max(ids) + 1, new_name="Nobody") == 0
        rename.run_many(conn, [{"uid": uid, "new_name": f"Many {uid}"} for uid in ids[1:]])
        rename.run_many(conn, [])
    with db.read() as conn:
        names = dict(conn.execute(select(users.c.id, users.c.name).where(users.c.id.in_(ids))).all())
    assert names == {ids[0]: "First", ids[1]: f"Many {ids[1]}", ids[2]: f"Many {ids[2]}"}


def test_the_kept_read_transaction_always_ends(db: Database) -> None:
    def open_transaction(conn: Any) -> bool:
        if conn.closed:  # PostgreSQL: a pooled connection per read, given back at the end
            return False
        return bool(conn.in_transaction() or getattr(conn.connection.dbapi_connection, "in_transaction", False))

    with db.read_kept() as conn:
        _READ.rows(conn, uid=1)
    assert not open_transaction(conn)
    with db.read_kept() as conn:
        conn.execute(text("SELECT 1")).all()  # SQLAlchemy joins the transaction opened on the driver
    assert not open_transaction(conn)
    with pytest.raises(ValueError), db.read_kept() as conn:
        raise ValueError
    assert not open_transaction(conn)
    db.release_kept()


def test_an_in_list_runs_in_chunks_with_one_form_per_length(db: Database) -> None:
    by_ids = PreparedIn(
        lambda names: select(users.c.id).where(users.c.id.in_([bindparam(n) for n in names])).order_by(users.c.id),
        limit=4,
    )
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with db.write() as conn:
        ids = [people.add_user(conn, at, name=f"U{i}") for i in range(10)]
    with db.read() as conn:
        assert [r[0] for r in by_ids.rows(conn, ids[:3])] == ids[:3]
        assert [r[0] for r in by_ids.rows(conn, ids)] == ids  # chunks of 4, 4 and 2, each in order
        assert by_ids.rows(conn, []) == []
        assert by_ids.rows(conn, [max(ids) + 1]) == []
    assert sorted(by_ids._by_length) == [1, 2, 3, 4]  # one prepared form per length seen
