"""Which driver serves REST calls: psycopg's asyncio mode on PostgreSQL, pysqlite on SQLite."""

from __future__ import annotations

from starlette.testclient import TestClient

from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.wire import assert_envelope


def test_rest_calls_use_the_asyncio_driver_on_postgresql(app_client: TestClient, portal: Portal, db: Database) -> None:
    if db.dialect == "sqlite":
        assert db.async_engine is None
        assert_envelope(app_client.post(portal.url("user.current")))
        return
    assert db.async_engine is not None
    pool = db.async_engine.pool
    before = pool.checkedin()  # type: ignore[attr-defined]
    assert_envelope(app_client.post(portal.url("user.current")))
    assert_envelope(
        app_client.post(portal.url("im.chat.user.add"), json={"CHAT_ID": portal.chat, "USERS": [portal.outsider]})
    )
    # Both calls borrowed a connection of the asyncio pool and gave it back.
    assert pool.checkedin() >= max(before, 1)  # type: ignore[attr-defined]
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
