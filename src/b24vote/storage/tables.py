"""The database schema, in SQLAlchemy Core. Migrations in ``migrations/versions`` create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from b24vote.storage.types import UTCDateTime

__all__ = [
    "chat_members",
    "chats",
    "messages",
    "metadata",
    "settings_kv",
    "users",
    "webhooks",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

settings_kv = Table(
    "b24_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("last_name", String(255), nullable=False, server_default=""),
    Column("second_name", String(255), nullable=False, server_default=""),
    Column("email", String(255), nullable=False, server_default=""),
    Column("work_position", String(255), nullable=False, server_default=""),
    Column("personal_photo", String(1024), nullable=True),
    Column("is_admin", Boolean, nullable=False, server_default="0"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("date_register", UTCDateTime, nullable=False),
)

chats = Table(
    "chats",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(1), nullable=False, server_default="C"),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("color", String(32), nullable=False, server_default=""),
    Column("owner_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("entity_type", String(64), nullable=True),
    Column("entity_id", String(255), nullable=True),
    Column("date_create", UTCDateTime, nullable=False),
    Index("ix_chats_entity", "entity_type", "entity_id"),
)

chat_members = Table(
    "chat_members",
    metadata,
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("date_join", UTCDateTime, nullable=False),
    Index("ix_chat_members_user", "user_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("author_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("message", Text, nullable=False, server_default=""),
    Column("system", Boolean, nullable=False, server_default="0"),
    Column("params", Text, nullable=True),
    Column("date_create", UTCDateTime, nullable=False),
    Index("ix_messages_chat", "chat_id", "id"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(1024), nullable=False),
    Column("title", String(255), nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("date_create", UTCDateTime, nullable=False),
    Index("ix_webhooks_user", "user_id"),
)
