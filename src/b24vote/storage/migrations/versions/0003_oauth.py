"""OAuth 2.0: applications, authorization codes, token pairs, grants; sign-in passwords for the consent page.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from b24vote.storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_apps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(64), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("scopes", sa.String(1024), nullable=False),
        sa.Column("redirect_uri", sa.String(2048), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("date_create", UTCDateTime, nullable=False),
    )
    op.create_table(
        "oauth_codes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("app_id", sa.Integer, sa.ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False, server_default="0"),
    )
    op.create_index("ix_oauth_codes_app", "oauth_codes", ["app_id"])
    op.create_table(
        "oauth_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.Integer, sa.ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("access_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("refresh_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(1024), nullable=False),
        sa.Column("access_expires_at", UTCDateTime, nullable=False),
        sa.Column("refresh_expires_at", UTCDateTime, nullable=False),
        sa.Column("rotated", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("date_create", UTCDateTime, nullable=False),
    )
    op.create_index("ix_oauth_tokens_app_user", "oauth_tokens", ["app_id", "user_id"])
    op.create_table(
        "oauth_grants",
        sa.Column("app_id", sa.Integer, sa.ForeignKey("oauth_apps.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("date_create", UTCDateTime, nullable=False),
    )
    op.create_table(
        "user_passwords",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("date_update", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("user_passwords", "oauth_grants", "oauth_tokens", "oauth_codes", "oauth_apps"):
        op.drop_table(table)
