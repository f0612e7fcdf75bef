"""Outgoing webhooks: a handler URL and an event a user set up on the portal, with its own ``application_token``
(../shared/reference/bitrix24-docs/platform/local-webhooks.md). Their deliveries carry the short webhook ``auth``
block: ``domain``, ``client_endpoint``, ``server_endpoint``, ``member_id`` and that token, no access tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from b24vote.domain.events import Handler, is_handler_url, is_known
from b24vote.storage import events as handlers
from b24vote.storage import people

__all__ = ["Outgoing", "OutgoingError", "add_outgoing"]


class OutgoingError(ValueError):
    """An outgoing webhook cannot be made; ``field`` names the bad value (``user``, ``url`` or ``event``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An outgoing webhook as made: its handler id and the token every delivery to it carries."""

    id: int
    user: int
    url: str
    event: str
    application_token: str


def add_outgoing(conn: Connection, now: datetime, *, user: int, url: str, event: str, poll_events: bool) -> Outgoing:
    """Bind ``event`` to ``url`` for ``user`` with a new token; :class:`OutgoingError` names what is wrong."""
    name, url = event.strip().upper(), url.strip()
    if people.get_user(conn, user) is None:
        raise OutgoingError("user", f"no such user {user}")
    if not is_handler_url(url):
        raise OutgoingError("url", "must be an http:// or https:// URL")
    if not is_known(name, poll_events):
        raise OutgoingError("event", f"{event!r} is not an event this server sends (see the events method)")
    token = handlers.new_token()
    made = handlers.bind(conn, now, Handler(0, None, name, url, 0, user, False, "", 1, token))
    if made is None:
        raise OutgoingError("url", f"an outgoing webhook sends {name} to this URL already")
    return Outgoing(made, user, url, name, token)
