"""The application's shared state, built once at start-up."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from b24vote.clock import Clock, SystemClock
from b24vote.config import Settings
from b24vote.limits.operating import MemoryOperatingStore
from b24vote.methods.registry import Registry
from b24vote.storage import people
from b24vote.storage.engine import Database

__all__ = ["AppState", "load_secret_key"]


@dataclass
class AppState:
    """Settings, database, clock and the method registry, shared by every request."""

    settings: Settings
    db: Database
    registry: Registry
    clock: Clock = field(default_factory=SystemClock)
    secret_key: str = ""
    operating: MemoryOperatingStore = field(default_factory=MemoryOperatingStore)


def load_secret_key(settings: Settings, db: Database) -> str:
    """The configured key, else the one generated on first start and kept in the database."""
    if settings.secret_key:
        return settings.secret_key
    with db.write() as conn:
        return people.get_or_create_setting(conn, "secret_key", lambda: secrets.token_hex(64))
