"""Users, chats and webhooks as values, and the rules about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["KNOWN_SCOPES", "Chat", "User", "Webhook", "parse_scopes"]

# Scopes b24vote knows; methods outside these do not exist here.
KNOWN_SCOPES = ("vote", "im", "user")


@dataclass(frozen=True, slots=True)
class User:
    """A portal user."""

    id: int
    name: str
    last_name: str
    second_name: str
    email: str
    work_position: str
    personal_photo: str | None
    is_admin: bool
    active: bool
    date_register: datetime

    @property
    def full_name(self) -> str:
        """``NAME LAST_NAME`` as the portal's default name format shows it."""
        return " ".join(part for part in (self.name, self.last_name) if part)


@dataclass(frozen=True, slots=True)
class Chat:
    """A group chat."""

    id: int
    type: str
    title: str
    description: str
    color: str
    owner_id: int
    entity_type: str | None
    entity_id: str | None
    date_create: datetime


@dataclass(frozen=True, slots=True)
class Webhook:
    """An incoming webhook: calls made with it act as ``user_id`` within ``scopes``."""

    id: int
    user_id: int
    scopes: frozenset[str]
    active: bool


def parse_scopes(raw: str) -> frozenset[str]:
    """``"vote,im, user"`` → ``{"vote", "im", "user"}``; unknown names raise ValueError."""
    scopes = frozenset(part.strip().lower() for part in raw.split(",") if part.strip())
    unknown = scopes - set(KNOWN_SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}; known: {', '.join(KNOWN_SCOPES)}")
    if not scopes:
        raise ValueError("at least one scope is needed")
    return scopes
