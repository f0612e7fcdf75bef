"""Shared fixtures: every HTTP test runs on SQLite and on PostgreSQL.

PostgreSQL is expected at 127.0.0.1:5432 (user postgres, trust). Without it the PostgreSQL half of the
suite is skipped locally, and fails under ``CI=true``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import delete
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import people
from b24vote.storage.admin import wipe
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.tables import settings_kv

PG_ADMIN_DSN = os.environ.get("B24VOTE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
START = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One migrated database per backend for the whole session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "b24vote.db"
        db = Database(f"sqlite:///{path}", sqlite_synchronous="NORMAL")
        migrate(db)
        yield db
        db.dispose()
        return
    problem = _pg_available()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    name = f"b24vote_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    db = Database(f"{base}/{name}", pool_size=5)
    migrate(db)
    yield db
    db.dispose()
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(database: Database) -> Database:
    """The session's database, emptied before the test (a language an earlier seed chose included)."""
    wipe(database, restart_ids=True)
    with database.write() as conn:
        conn.execute(delete(settings_kv).where(settings_kv.c.key == people.LANGUAGE_KEY))
    return database


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def language() -> str:
    """The portal's language (``B24VOTE_LANGUAGE``); a module overrides it to run its tests in others."""
    return "ru"


@pytest.fixture
def settings(db: Database, language: str) -> Settings:
    return Settings.from_env(
        {"B24VOTE_LANGUAGE": language}, database_url=str(db.url), secret_key="test-secret", rate_limit=None
    )


@pytest.fixture
def app_client(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@dataclass
class Portal:
    """The demo-like world most tests start from."""

    admin: int
    bob: int
    cleo: int
    outsider: int
    chat: int
    other_chat: int
    hook: str  # "/rest/{admin}/{code}"
    bob_hook: str
    outsider_hook: str
    narrow_hook: str  # admin, scope "user" only

    def url(self, method: str, hook: str | None = None) -> str:
        return f"{hook or self.hook}/{method}"


@pytest.fixture
def portal(db: Database, clock: FrozenClock) -> Portal:
    now = clock.now()
    with db.write() as conn:
        admin = people.add_user(
            conn,
            now,
            name="Anna",
            last_name="Admin",
            work_position="Administrator",
            is_admin=True,
            email="anna@example.test",
        )
        bob = people.add_user(conn, now, name="Boris", last_name="Belov", work_position="Developer")
        cleo = people.add_user(conn, now, name="Cleo", last_name="Carter", work_position="Designer")
        outsider = people.add_user(conn, now, name="Oleg", last_name="Outsider")
        chat = people.add_chat(conn, now, title="Team", owner_id=admin)
        people.add_members(conn, now, chat, [admin, bob, cleo])
        other = people.add_chat(conn, now, title="Elsewhere", owner_id=outsider)
        people.add_members(conn, now, other, [outsider])
        hooks = {}
        for name, uid, scopes in (
            ("admin", admin, ["im", "user", "vote"]),
            ("bob", bob, ["im", "user", "vote"]),
            ("outsider", outsider, ["im", "user", "vote"]),
            ("narrow", admin, ["user"]),
        ):
            _, code = people.add_webhook(conn, now, user_id=uid, scopes=scopes)
            hooks[name] = f"/rest/{uid}/{code}"
    return Portal(
        admin, bob, cleo, outsider, chat, other, hooks["admin"], hooks["bob"], hooks["outsider"], hooks["narrow"]
    )


@pytest.fixture
def artefacts() -> Path:
    path = Path(__file__).parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
