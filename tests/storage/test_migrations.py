"""Migrations run from code: a database at the head costs one query, an older one is brought up to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command

from b24vote.storage.engine import Database
from b24vote.storage.migrate import HEAD_REVISION, _config, current_revision, head_revision, migrate


def test_the_head_constant_is_alembics_head() -> None:
    assert head_revision() == HEAD_REVISION, "a new migration: set HEAD_REVISION in storage/migrate.py"


def test_a_database_at_the_head_is_checked_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/b24vote.db"
    db = Database(url)
    migrate(db)
    db.dispose()
    script = (
        "import sys\n"
        "from b24vote.storage.engine import Database\n"
        "from b24vote.storage.migrate import migrate\n"
        f"db = Database({url!r})\n"
        "migrate(db)\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_an_older_schema_is_brought_to_the_head(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/b24vote.db")
    migrate(db)
    cfg = _config()
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
        conn.commit()
    assert current_revision(db) == "0004"
    migrate(db)
    assert current_revision(db) == HEAD_REVISION
    db.dispose()
