"""Events: application tokens, bound handlers, the offline queue and the deliveries waiting to be sent.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

The tables whose ids clients see (handlers, offline events, deliveries) never hand an id out twice on SQLite
(``AUTOINCREMENT``), as every table of migration 0006.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from b24vote.storage.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_app_tokens",
        sa.Column("app_id", sa.Integer, sa.ForeignKey("oauth_apps.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("date_create", UTCDateTime, nullable=False),
    )
    op.create_table(
        "event_handlers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.Integer, sa.ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=True),
        sa.Column("event", sa.String(128), nullable=False),
        sa.Column("handler", sa.String(2048), nullable=False, server_default=""),
        sa.Column("auth_type", sa.Integer, nullable=False, server_default="0"),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("offline", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("auth_connector", sa.String(255), nullable=False, server_default=""),
        sa.Column("min_timeout", sa.Integer, nullable=False, server_default="1"),
        sa.Column("application_token", sa.String(64), nullable=True),
        sa.Column("notified_at", UTCDateTime, nullable=True),
        sa.Column("date_create", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_handlers_event", "event_handlers", ["event"])
    op.create_table(
        "event_offline",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.Integer, sa.ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event", sa.String(128), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("auth_connector", sa.String(255), nullable=False, server_default=""),
        sa.Column("process_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("error", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("timestamp_x", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_offline_app", "event_offline", ["app_id", "auth_connector", "process_id", "id"])
    op.create_table(
        "event_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("handler_id", sa.Integer, nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("event", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("claimed_until", UTCDateTime, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("date_create", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_deliveries_handler", "event_deliveries", ["handler_id", "id"])


def downgrade() -> None:
    for table in ("event_deliveries", "event_offline", "event_handlers", "event_app_tokens"):
        op.drop_table(table)
