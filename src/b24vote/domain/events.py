"""Events as a portal knows them: the names b24vote can send, who may bind what, and the form body of a POST.

Pure: no I/O. The wire shape follows ../shared/reference/bitrix24-docs-en/events/index.md ("What Comes to the
Handler"): ``application/x-www-form-urlencoded`` with PHP brackets, ``event``, ``event_handler_id``, ``data``,
``ts`` and ``auth``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = [
    "APP_EVENTS",
    "MAX_URL",
    "ONAPPINSTALL",
    "ONAPPTEST",
    "ONAPPUNINSTALL",
    "ONOFFLINEEVENT",
    "POLL_EVENTS",
    "Delivery",
    "EventName",
    "Handler",
    "OfflineEvent",
    "available_events",
    "form_body",
    "is_handler_url",
    "is_known",
]


@dataclass(frozen=True, slots=True)
class EventName:
    """One event b24vote can send: its upper-case name and the scope an application needs for it."""

    name: str
    scope: str | None  # None: basic, every application may bind it
    refresh_token: bool = False  # sent with a refresh token (events/index.md: install and offline only)


@dataclass(frozen=True, slots=True)
class Handler:
    """A bound handler: an application's (``app_id``) or an outgoing webhook's (``app_id`` None, own token)."""

    id: int
    app_id: int | None
    event: str
    url: str
    auth_type: int
    user_id: int
    offline: bool
    auth_connector: str
    min_timeout: int
    application_token: str | None


@dataclass(frozen=True, slots=True)
class OfflineEvent:
    """One record of an application's offline queue."""

    id: int
    event: str
    data: Any
    message_id: str
    process_id: str
    error: bool
    timestamp_x: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST waiting to be sent: ``attempt`` counts the tries made so far."""

    id: int
    handler_id: int
    url: str
    event: str
    payload: dict[str, Any]
    attempt: int
    due_at: datetime
    claimed_until: datetime | None


ONAPPINSTALL = "ONAPPINSTALL"
ONAPPUNINSTALL = "ONAPPUNINSTALL"
ONAPPTEST = "ONAPPTEST"
ONOFFLINEEVENT = "ONOFFLINEEVENT"

APP_EVENTS = (
    EventName(ONAPPUNINSTALL, None),
    EventName(ONAPPINSTALL, None, refresh_token=True),
    EventName(ONAPPTEST, None),
    EventName(ONOFFLINEEVENT, None, refresh_token=True),
)
# The b24vote extension (B24VOTE_POLL_EVENTS): a dotted prefix no portal event has, so none is mistaken for one.
POLL_EVENTS = (
    EventName("B24VOTE.POLL.VOTE", "vote"),
    EventName("B24VOTE.POLL.RECALL", "vote"),
    EventName("B24VOTE.POLL.STOP", "vote"),
    EventName("B24VOTE.POLL.RESUME", "vote"),
    EventName("B24VOTE.POLL.DELETE", "vote"),
)


def available_events(poll_events: bool) -> tuple[EventName, ...]:
    """Every event this b24vote sends, in the order ``events`` lists them."""
    return APP_EVENTS + POLL_EVENTS if poll_events else APP_EVENTS


def is_known(name: str, poll_events: bool) -> bool:
    return any(e.name == name for e in available_events(poll_events))


MAX_URL = 2048


def is_handler_url(url: str) -> bool:
    """An http or https URL with a host, as a handler must be (loopback allowed, unlike a cloud portal)."""
    parts = urlsplit(url)
    return len(url) <= MAX_URL and parts.scheme in ("http", "https") and bool(parts.hostname)


def _pairs(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    """PHP-bracket pairs of one value: ``data[FIELDS][ID]=7``; lists are indexed from 0."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _pairs(f"{prefix}[{key}]", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _pairs(f"{prefix}[{index}]", item)
    elif isinstance(value, bool):
        yield prefix, "1" if value else ""
    elif value is not None:
        yield prefix, str(value)


def form_body(fields: dict[str, Any]) -> bytes:
    """The urlencoded body PHP's ``http_build_query`` makes of ``fields`` (brackets percent-encoded, as PHP does)."""
    pairs = (pair for key, value in fields.items() for pair in _pairs(key, value))
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs).encode()
