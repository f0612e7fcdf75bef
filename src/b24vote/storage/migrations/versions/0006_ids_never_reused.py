"""Ids that never come back: SQLite tables rebuilt with AUTOINCREMENT, their rows kept.

A plain ``INTEGER PRIMARY KEY`` on SQLite hands out max(id) + 1, so the id of the newest row comes back once that
row is deleted (a recalled ballot's, a deleted message's). PostgreSQL's serial sequences never go back and need
nothing here. SQLite cannot add AUTOINCREMENT to a table, so each is rebuilt in Alembic's batch mode (copy, drop,
rename), with foreign keys switched off around the migration by ``storage.migrate``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Every table with an integer id b24vote hands out (tables.py marks the same ones).
TABLES = (
    "users",
    "chats",
    "messages",
    "webhooks",
    "votes",
    "vote_questions",
    "vote_answers",
    "vote_attaches",
    "vote_ballots",
    "vote_ballot_questions",
    "vote_ballot_answers",
    "oauth_apps",
    "oauth_codes",
    "oauth_tokens",
)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TABLES:
        with op.batch_alter_table(name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
