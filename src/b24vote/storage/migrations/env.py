"""Alembic environment: b24vote passes its own connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from b24vote.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - b24vote always passes one
    raise RuntimeError("run migrations through b24vote.storage.migrate.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
