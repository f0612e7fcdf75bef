"""An application's install handler: where ONAPPINSTALL goes when it is installed on the portal.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

A portal learns it from the application's settings ("Initial installation path" of a local application, the
"Installation event handler URL" of a Market one); ``b24vote app add --install-handler`` sets it here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_apps") as batch:
        batch.add_column(sa.Column("install_handler", sa.String(2048), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("oauth_apps") as batch:
        batch.drop_column("install_handler")
