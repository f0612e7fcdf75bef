"""PostgreSQL's pooled connections are pinged only after sitting idle: a connection in use a moment ago goes
out unchecked (no round trip of its own per call), one idle for longer is checked and replaced if it is gone.

The connections are really killed (``pg_terminate_backend``) on a database of the test's own.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from b24vote.storage import engine as engine_module
from b24vote.storage.engine import Database
from tests.helpers.services import PG_ADMIN_DSN, fresh_pg_database

IDLE = 0.05  # the test's idle threshold: long enough to tell "a moment ago" from "idle", short to wait out


def _backend_pid(conn: Connection) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(pid: int) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(100):  # bounded: the backend is gone within a moment
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchall():
                return
            time.sleep(0.02)


def test_a_connection_killed_while_idle_is_replaced_before_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", IDLE)
    with fresh_pg_database() as url:
        db = Database(url, pool_size=1)
        try:
            with db.read() as conn:
                first = _backend_pid(conn)
            _kill(first)
            time.sleep(IDLE * 3)
            with db.read() as conn:  # pinged on checkout, found gone, replaced: the call never sees it
                assert _backend_pid(conn) != first

            async def pid() -> int:
                return await db.run(_backend_pid, write=False)

            async def scenario() -> tuple[int, int]:
                try:
                    before = await pid()
                    _kill(before)
                    await asyncio.sleep(IDLE * 3)
                    return before, await pid()
                finally:
                    await db.dispose_async()  # its connections belong to this event loop

            before, after = asyncio.run(scenario())
            assert after != before
        finally:
            db.dispose()


def test_a_connection_back_in_use_at_once_is_not_pinged_and_its_loss_costs_one_call() -> None:
    with fresh_pg_database() as url:
        db = Database(url, pool_size=1)
        try:
            with db.read() as conn:
                first = _backend_pid(conn)
            _kill(first)  # well under IDLE_PING_SECONDS: no ping, the call finds out itself
            with pytest.raises(OperationalError) as failed, db.read() as conn:
                _backend_pid(conn)
            assert failed.value.connection_invalidated
            with db.read() as conn:  # the pool recycled the connections pooled before the failure
                assert _backend_pid(conn) != first
        finally:
            db.dispose()
