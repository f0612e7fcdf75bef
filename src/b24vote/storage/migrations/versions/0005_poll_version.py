"""votes.version: names the content of a poll's questions and answers, for the per-process read cache.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# A random starting version for the polls that exist already (new ones get theirs from storage.polls).
_RANDOM = {
    "sqlite": "abs(random() % 4611686018427387904)",
    "postgresql": "floor(random() * 4611686018427387904)::bigint",
}


def upgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.add_column(sa.Column("version", sa.BigInteger, nullable=False, server_default="0"))
    expression = _RANDOM[op.get_bind().dialect.name]
    op.execute(f"UPDATE votes SET version = {expression}")  # noqa: S608 - a fixed expression per dialect


def downgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("version")
