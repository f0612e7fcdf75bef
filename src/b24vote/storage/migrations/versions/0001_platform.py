"""Platform tables: settings, users, chats, members, messages, webhooks.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from b24vote.storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "b24_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("last_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("second_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("email", sa.String(255), nullable=False, server_default=""),
        sa.Column("work_position", sa.String(255), nullable=False, server_default=""),
        sa.Column("personal_photo", sa.String(1024), nullable=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("date_register", UTCDateTime, nullable=False),
    )
    op.create_table(
        "chats",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(1), nullable=False, server_default="C"),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("color", sa.String(32), nullable=False, server_default=""),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=True),
        sa.Column("entity_id", sa.String(255), nullable=True),
        sa.Column("date_create", UTCDateTime, nullable=False),
    )
    op.create_index("ix_chats_entity", "chats", ["entity_type", "entity_id"])
    op.create_table(
        "chat_members",
        sa.Column("chat_id", sa.Integer, sa.ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("date_join", UTCDateTime, nullable=False),
    )
    op.create_index("ix_chat_members_user", "chat_members", ["user_id"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.Integer, sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("system", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("params", sa.Text, nullable=True),
        sa.Column("date_create", UTCDateTime, nullable=False),
    )
    op.create_index("ix_messages_chat", "messages", ["chat_id", "id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(1024), nullable=False),
        sa.Column("title", sa.String(255), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("date_create", UTCDateTime, nullable=False),
    )
    op.create_index("ix_webhooks_user", "webhooks", ["user_id"])


def downgrade() -> None:
    for table in ("webhooks", "messages", "chat_members", "chats", "users", "b24_settings"):
        op.drop_table(table)
