"""Run Alembic migrations from code, safely from several processes at once.

A database already at the newest revision costs one query and no Alembic import: every CLI command migrates
first, and most find nothing to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from b24vote.storage.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD_REVISION", "current_revision", "head_revision", "migrate"]

_MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision; tests/storage/test_migrations.py checks it against Alembic's own answer.
HEAD_REVISION = "0011"
# Any fixed 64-bit number; every b24vote process takes the same lock before migrating PostgreSQL.
_PG_LOCK_KEY = 0x62323476_6F7465


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _at_head(db: Database) -> bool:
    with db.engine.connect() as conn:
        try:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except DBAPIError:  # a new database: no version table yet
            return False
    return found == [HEAD_REVISION]


def migrate(db: Database) -> None:
    """Bring the schema to the newest revision (no-op when already there)."""
    if _at_head(db):
        return
    from alembic import command

    cfg = _config()
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
        else:
            _sqlite_foreign_keys(conn, on=False)
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
        finally:
            if db.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
            else:
                _sqlite_foreign_keys(conn, on=True)


def _sqlite_foreign_keys(conn: Connection, *, on: bool) -> None:
    """Switch SQLite's foreign keys for this connection (outside a transaction, where the pragma works).

    Off while migrating: a batch-mode rebuild drops and renames tables that others refer to, and a DROP TABLE
    with foreign keys on would first delete the rows, cascading into the referring tables.
    """
    if on:
        problems = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        conn.rollback()
        if problems:
            raise RuntimeError(f"the migration left rows without their parents: {problems[:5]}")
    driver: Any = conn.connection.dbapi_connection
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
