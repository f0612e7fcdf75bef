"""Restore stamps: a change counter per portal table, kept by triggers, so a restore skips unchanged tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

Once the first snapshot is saved (it installs the triggers), every insert, update and delete of a portal table
moves that table's counter forward (on PostgreSQL a TRUNCATE too); a counter never goes back. A snapshot notes the
counters at which the live tables held its rows (``b24_snapshots.changes``), and a restore copies back only the
tables whose counter moved since (``b24vote.storage.snapshots``). SQLite keeps the counters in
``b24_table_changes``, changed by row triggers in the writing transaction. PostgreSQL uses one sequence per table:
``nextval`` takes no lock and is not undone by a rollback, so writers never wait on each other for it (a
rolled-back change only costs an extra copy).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The portal tables at this revision (every table but b24_settings). A table without its triggers is always
# copied back by a restore, so a table added later is safe before it gets a counter of its own.
TABLES = (
    "event_deliveries",
    "oauth_apps",
    "users",
    "chats",
    "event_app_tokens",
    "event_handlers",
    "event_offline",
    "oauth_codes",
    "oauth_grants",
    "oauth_tokens",
    "user_passwords",
    "votes",
    "webhooks",
    "chat_members",
    "messages",
    "vote_attaches",
    "vote_ballots",
    "vote_questions",
    "message_uuids",
    "vote_answers",
    "vote_ballot_questions",
    "vote_ballot_answers",
)
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION b24chg_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval(quote_ident('b24chg_' || TG_TABLE_NAME));
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    # The counters and their triggers are made by the first snapshot saved (storage/snapshots.py): a server that
    # never takes one pays nothing on its writes (a counter per written row cost a durable vote ~20 % of its CPU).
    op.add_column("b24_snapshots", sa.Column("changes", sa.Text, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        return
    op.create_table(
        "b24_table_changes",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("changes", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS "b24chg_{name}_rows" ON "{name}"')
            op.execute(f'DROP TRIGGER IF EXISTS "b24chg_{name}_truncate" ON "{name}"')
            op.execute(f'DROP SEQUENCE IF EXISTS "b24chg_{name}"')
        op.execute("DROP FUNCTION IF EXISTS b24chg_count()")
    else:
        for name in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f'DROP TRIGGER IF EXISTS "b24chg_{name}_{event}"')
        op.drop_table("b24_table_changes")
    with op.batch_alter_table("b24_snapshots") as batch:
        batch.drop_column("changes")
