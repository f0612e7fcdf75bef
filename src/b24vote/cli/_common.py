"""What every command shares: its settings, the migrated database, printing and failing.

Nothing heavy is imported here at module level: ``b24vote --help`` loads only typer and this package, and a
command pays for SQLAlchemy, Alembic or Starlette only when it uses them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

if TYPE_CHECKING:
    from b24vote.config import Settings
    from b24vote.storage.engine import Database

__all__ = ["DbUrl", "Json", "database", "emit", "fail", "now", "settings"]

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Overrides B24VOTE_DATABASE_URL.")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def settings(database_url: str | None) -> Settings:
    """The settings from the environment (a bad value stops the command, naming the variable)."""
    from b24vote.config import Settings, SettingsError

    try:
        found = Settings.from_env()
    except SettingsError as exc:
        _error("bad setting:", str(exc))
        raise typer.Exit(2) from exc
    return found.with_changes(database_url=database_url) if database_url else found


@contextmanager
def database(found: Settings) -> Iterator[Database]:
    """The migrated database, closed when the command ends."""
    from b24vote.storage.engine import Database
    from b24vote.storage.migrate import migrate

    try:
        db = Database(found.database_url, sqlite_synchronous=found.sqlite_synchronous, timeout=found.database_timeout)
    except ValueError as exc:
        _error("B24VOTE_DATABASE_URL:", str(exc))
        raise typer.Exit(2) from exc
    try:
        migrate(db)
        yield db
    finally:
        db.dispose()


def now() -> datetime:
    """The wall clock's time: commands run outside the server and its controllable clock."""
    from b24vote.clock import SystemClock

    return SystemClock().now()


def emit(as_json: bool, data: Any, text: str | None) -> None:
    """``data`` as one JSON line with ``--json``, else ``text`` as it is (nothing when it is ``None``)."""
    if as_json:
        sys.stdout.write(orjson.dumps(data).decode() + "\n")
    elif text is not None:
        sys.stdout.write(text + "\n")


def fail(message: str) -> typer.Exit:
    """Print the error on standard error; the caller raises the returned exit (status 1)."""
    _error("error:", message)
    return typer.Exit(1)


def _error(label: str, message: str) -> None:
    typer.echo(f"{typer.style(label, fg='red')} {message}", err=True)
