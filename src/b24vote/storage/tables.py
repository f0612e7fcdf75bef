"""The database schema, in SQLAlchemy Core. Migrations in ``migrations/versions`` create exactly this."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from b24vote.storage.types import UTCDateTime

__all__ = [
    "attaches",
    "ballot_answers",
    "ballot_questions",
    "ballots",
    "chat_members",
    "chats",
    "event_app_tokens",
    "event_deliveries",
    "event_handlers",
    "event_offline",
    "message_uuids",
    "messages",
    "metadata",
    "oauth_apps",
    "oauth_codes",
    "oauth_grants",
    "oauth_tokens",
    "settings_kv",
    "user_passwords",
    "users",
    "vote_answers",
    "vote_questions",
    "votes",
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

# Every id b24vote hands out only grows: SQLite's AUTOINCREMENT never gives back the id of a deleted row (a
# plain INTEGER PRIMARY KEY takes max(id) + 1 again); PostgreSQL's sequences never go back by themselves.
_NEVER_REUSED: dict[str, Any] = {"sqlite_autoincrement": True}

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
    **_NEVER_REUSED,
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
    **_NEVER_REUSED,
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
    **_NEVER_REUSED,
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
    **_NEVER_REUSED,
)

# --- the vote module ---------------------------------------------------------------------------------------

votes = Table(
    "votes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("author_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("anonymity", Integer, nullable=False, server_default="1"),
    Column("options", Integer, nullable=False, server_default="0"),
    Column("unique_type", Integer, nullable=False, server_default="40"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("date_start", UTCDateTime, nullable=False),
    Column("date_end", UTCDateTime, nullable=False),
    Column("counter", Integer, nullable=False, server_default="0"),
    Column("stop_event_handled", Boolean, nullable=False, server_default="0"),
    Column("timestamp_x", UTCDateTime, nullable=False),
    # Names the content of the poll's questions and answers; see storage.polls.new_version.
    Column("version", BigInteger, nullable=False, server_default="0"),
    **_NEVER_REUSED,
)

vote_questions = Table(
    "vote_questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("vote_id", Integer, ForeignKey("votes.id", ondelete="CASCADE"), nullable=False),
    Column("c_sort", Integer, nullable=False),
    Column("question", Text, nullable=False),
    Column("field_type", Integer, nullable=False, server_default="0"),
    Column("required", Boolean, nullable=False, server_default="0"),
    Column("counter", Integer, nullable=False, server_default="0"),
    Column("timestamp_x", UTCDateTime, nullable=False),
    Index("ix_vote_questions_vote", "vote_id", "c_sort", "id"),
    **_NEVER_REUSED,
)

vote_answers = Table(
    "vote_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("question_id", Integer, ForeignKey("vote_questions.id", ondelete="CASCADE"), nullable=False),
    Column("vote_id", Integer, ForeignKey("votes.id", ondelete="CASCADE"), nullable=False),
    Column("c_sort", Integer, nullable=False),
    Column("message", Text, nullable=False),
    Column("reaction", String(64), nullable=False, server_default=""),
    Column("counter", Integer, nullable=False, server_default="0"),
    Column("timestamp_x", UTCDateTime, nullable=False),
    Index("ix_vote_answers_vote", "vote_id", "c_sort", "id"),
    **_NEVER_REUSED,
)

attaches = Table(
    "vote_attaches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("vote_id", Integer, ForeignKey("votes.id", ondelete="CASCADE"), nullable=False),
    Column("module_id", String(64), nullable=False),
    Column("entity_type", String(255), nullable=False),
    # Lower-cased copies: the real server matches moduleId/entityType case-insensitively (MySQL collation).
    Column("module_key", String(64), nullable=False),
    Column("entity_type_key", String(255), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("uid", String(16), nullable=True, unique=True),
    Column("created_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("date_create", UTCDateTime, nullable=False),
    Index("ix_vote_attaches_entity", "module_key", "entity_type_key", "entity_id", "id"),
    **_NEVER_REUSED,
)

# One ballot per voter per poll, enforced by the database; recall and re-vote delete it.
ballots = Table(
    "vote_ballots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("vote_id", Integer, ForeignKey("votes.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("visible", Boolean, nullable=False),
    Column("date_vote", UTCDateTime, nullable=False),
    UniqueConstraint("vote_id", "user_id", name="uq_vote_ballots_voter"),
    **_NEVER_REUSED,
)

ballot_questions = Table(
    "vote_ballot_questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ballot_id", Integer, ForeignKey("vote_ballots.id", ondelete="CASCADE"), nullable=False),
    Column("question_id", Integer, ForeignKey("vote_questions.id", ondelete="CASCADE"), nullable=False),
    Index("ix_vote_ballot_questions_ballot", "ballot_id"),
    **_NEVER_REUSED,
)

ballot_answers = Table(
    "vote_ballot_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ballot_question_id", Integer, ForeignKey("vote_ballot_questions.id", ondelete="CASCADE"), nullable=False),
    Column("ballot_id", Integer, ForeignKey("vote_ballots.id", ondelete="CASCADE"), nullable=False),
    Column("vote_id", Integer, nullable=False),
    Column("question_id", Integer, nullable=False),
    Column("answer_id", Integer, ForeignKey("vote_answers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("visible", Boolean, nullable=False),
    Column("message", Text, nullable=False, server_default=""),
    # Voters of an answer in user-id order, without touching the table: getWithVoted, getAnswerVoted.
    Index("ix_vote_ballot_answers_answer_user", "answer_id", "visible", "user_id"),
    Index("ix_vote_ballot_answers_ballot", "ballot_id"),
    **_NEVER_REUSED,
)

# templateId de-duplication (the im module's message UUIDs).
message_uuids = Table(
    "message_uuids",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=True),
    Column("date_create", UTCDateTime, nullable=False),
)

# --- OAuth 2.0 applications, codes, tokens; sign-in passwords for the consent page -------------------------

oauth_apps = Table(
    "oauth_apps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("scopes", String(1024), nullable=False),
    Column("redirect_uri", String(2048), nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("install_handler", String(2048), nullable=False, server_default=""),  # ONAPPINSTALL goes here
    Column("date_create", UTCDateTime, nullable=False),
    **_NEVER_REUSED,
)

oauth_codes = Table(
    "oauth_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("app_id", Integer, ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used", Boolean, nullable=False, server_default="0"),
    Index("ix_oauth_codes_app", "app_id"),
    **_NEVER_REUSED,
)

# One row per issued pair; a refresh marks the row ``rotated`` and adds the next pair.
oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", Integer, ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("access_hash", String(64), nullable=False, unique=True),
    Column("refresh_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(1024), nullable=False),
    Column("access_expires_at", UTCDateTime, nullable=False),
    Column("refresh_expires_at", UTCDateTime, nullable=False),
    Column("rotated", Boolean, nullable=False, server_default="0"),
    Column("date_create", UTCDateTime, nullable=False),
    Index("ix_oauth_tokens_app_user", "app_id", "user_id"),
    **_NEVER_REUSED,
)

# Users who have already allowed an application skip the consent page, as on a portal with the app installed.
oauth_grants = Table(
    "oauth_grants",
    metadata,
    Column("app_id", Integer, ForeignKey("oauth_apps.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("date_create", UTCDateTime, nullable=False),
)

user_passwords = Table(
    "user_passwords",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("date_update", UTCDateTime, nullable=False),
)

# --- events: subscriptions, the offline queue, deliveries waiting to be sent (docs/events.md) ----------------

# Each installed application's application_token, which every event sent to it carries.
event_app_tokens = Table(
    "event_app_tokens",
    metadata,
    Column("app_id", Integer, ForeignKey("oauth_apps.id", ondelete="CASCADE"), primary_key=True),
    Column("token", String(64), nullable=False),
    Column("date_create", UTCDateTime, nullable=False),
)

# A handler bound by an application (event.bind) or an outgoing webhook (app_id NULL, its own token).
event_handlers = Table(
    "event_handlers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", Integer, ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=True),
    Column("event", String(128), nullable=False),
    Column("handler", String(2048), nullable=False, server_default=""),
    Column("auth_type", Integer, nullable=False, server_default="0"),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("offline", Boolean, nullable=False, server_default="0"),
    Column("auth_connector", String(255), nullable=False, server_default=""),
    Column("min_timeout", Integer, nullable=False, server_default="1"),
    Column("application_token", String(64), nullable=True),
    Column("notified_at", UTCDateTime, nullable=True),  # the last ONOFFLINEEVENT queued (minTimeout)
    Column("date_create", UTCDateTime, nullable=False),
    Index("ix_event_handlers_event", "event"),
    **_NEVER_REUSED,
)

# The offline queue of one application (event.offline.*): one row per changed object, the newest change wins.
event_offline = Table(
    "event_offline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", Integer, ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(128), nullable=False),
    Column("data", Text, nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("auth_connector", String(255), nullable=False, server_default=""),
    Column("process_id", String(64), nullable=False, server_default=""),
    Column("error", Boolean, nullable=False, server_default="0"),
    Column("timestamp_x", UTCDateTime, nullable=False),
    Index("ix_event_offline_app", "app_id", "auth_connector", "process_id", "id"),
    **_NEVER_REUSED,
)

# One POST waiting to be sent to a handler; deleted once delivered or given up.
event_deliveries = Table(
    "event_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("handler_id", Integer, nullable=False),
    Column("url", String(2048), nullable=False),
    Column("event", String(128), nullable=False),
    Column("payload", Text, nullable=False),
    Column("attempt", Integer, nullable=False, server_default="0"),
    Column("due_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("date_create", UTCDateTime, nullable=False),
    Index("ix_event_deliveries_handler", "handler_id", "id"),
    **_NEVER_REUSED,
)
