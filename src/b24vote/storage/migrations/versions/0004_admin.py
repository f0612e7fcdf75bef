"""The emulator controls: the registry of named snapshots (their table copies are made at run time).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from b24vote.storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "b24_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("revision", sa.String(32), nullable=False),
        sa.Column("row_counts", sa.Text, nullable=False),
        sa.Column("date_create", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    # The table copies belong to the snapshots (and to none once the registry is gone).
    for table in sa.inspect(op.get_bind()).get_table_names():
        if table.startswith("b24snap_"):
            op.drop_table(table)
    op.drop_table("b24_snapshots")
