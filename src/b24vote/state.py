"""The application's shared state, built once at start-up (``create_app`` composes it)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from b24vote.clock import Clock, SystemClock
from b24vote.config import Settings
from b24vote.events.sender import Sender
from b24vote.limits.limiter import Limiter, build_limiter
from b24vote.live import LiveHub
from b24vote.methods.registry import Registry
from b24vote.storage import oauth, people
from b24vote.storage.engine import Database

if TYPE_CHECKING:
    from b24vote.admin.controls import Controls

__all__ = ["AppState", "load_limiter", "load_secret_key", "portal_settings"]


@dataclass
class AppState:
    """Settings, database, clock and the method registry, shared by every request."""

    settings: Settings
    db: Database
    registry: Registry
    controls: Controls  # emulator faults and journal (admin API), made by the application
    sender: Sender  # sends queued event deliveries (events/sender.py), started by the lifespan
    clock: Clock = field(default_factory=SystemClock)
    secret_key: str = ""
    limits: Limiter = field(default_factory=Limiter)
    live: LiveHub = field(default_factory=LiveHub)


def load_secret_key(settings: Settings, db: Database) -> str:
    """The configured key, else the one generated on first start and kept in the database."""
    if settings.secret_key:
        return settings.secret_key
    with db.write() as conn:
        return people.get_or_create_setting(conn, "secret_key", lambda: secrets.token_hex(64))


def load_limiter(settings: Settings, db: Database) -> Limiter:
    """The limiter of the settings; Redis counters are keyed by this portal's member_id."""
    with db.write() as conn:
        portal_id = oauth.member_id(conn)
    return build_limiter(settings, portal_id)


def portal_settings(settings: Settings, db: Database) -> Settings:
    """The settings as this portal has them: a language its seed document chose wins over B24VOTE_LANGUAGE."""
    with db.read() as conn:
        language = people.get_setting(conn, people.LANGUAGE_KEY)
    return settings.with_changes(language=language) if language and language != settings.language else settings
