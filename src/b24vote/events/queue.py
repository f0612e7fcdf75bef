"""Queue an event inside the transaction of the call that causes it: a delivery per online handler, a record in
the application's offline queue per offline one (plus ONOFFLINEEVENT to its notification handlers).

Auth blocks follow ../shared/reference/bitrix24-docs-en/events/index.md: an application's handler gets tokens of
the user who caused the event (or of ``auth_type``), a refresh token only with ONAPPINSTALL and ONOFFLINEEVENT;
an outgoing webhook, and ONAPPUNINSTALL, get no tokens at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from b24vote.domain.events import ONAPPUNINSTALL, ONOFFLINEEVENT, Handler, available_events
from b24vote.domain.oauth import APP_STATUS, portal_domain
from b24vote.storage import deliveries, oauth, offline
from b24vote.storage import events as handlers

__all__ = ["Cause", "message_id", "queue_event"]


@dataclass(frozen=True, slots=True)
class Cause:
    """What an event needs to know about where it happened: when, who did it, and the portal's address."""

    now: datetime
    user_id: int | None  # None: not a user's action (no tokens are sent)
    public_url: str
    app_id: int | None = None  # the application whose call caused it (None: a webhook, the CLI, a page)
    connector: str = ""  # that call's auth_connector

    def is_own(self, handler: Handler) -> bool:
        """Whether ``handler`` is an offline handler of the calling application with the call's source key: the
        rest module does not queue an application's own change there (offline-events.md, "How to Avoid Cycles"),
        and an empty key is a key like any other."""
        return handler.app_id is not None and handler.app_id == self.app_id and handler.auth_connector == self.connector


def _auth(conn: Connection, cause: Cause, handler: Handler, event: str) -> dict[str, Any]:
    rest = f"{cause.public_url}/rest/"
    base = {"domain": portal_domain(cause.public_url), "client_endpoint": rest, "server_endpoint": rest}
    base["member_id"] = oauth.member_id(conn)
    if handler.app_id is None:  # an outgoing webhook
        return {**base, "application_token": handler.application_token or ""}
    token = handlers.app_token(conn, cause.now, handler.app_id)
    app = oauth.get_app(conn, handler.app_id)
    user = handler.auth_type or cause.user_id
    if app is None or not user or event == ONAPPUNINSTALL:
        return {**base, "application_token": token}
    issued = oauth.issue_tokens(conn, cause.now, app, user)
    auth: dict[str, Any] = {
        "access_token": issued.access_token,
        "expires_in": str(int((issued.access_expires_at - cause.now).total_seconds())),
        "scope": ",".join(sorted(app.scopes)),
        "domain": base["domain"],
        "server_endpoint": rest,
        "status": APP_STATUS,
        "client_endpoint": rest,
        "member_id": base["member_id"],
    }
    if any(e.name == event and e.refresh_token for e in available_events(True)):
        auth["refresh_token"] = issued.refresh_token
    auth["application_token"] = token
    return auth


def _deliver(conn: Connection, cause: Cause, handler: Handler, event: str, data: Any) -> None:
    payload = {
        "event": event,
        "event_handler_id": str(handler.id),
        "data": data,
        "ts": "",  # stamped when sent (events/index.md: "sent from the queue")
        "auth": _auth(conn, cause, handler, event),
    }
    deliveries.enqueue(conn, cause.now, handler.id, handler.url, event, payload)


def _notify_offline(conn: Connection, cause: Cause, app_id: int) -> int:
    """ONOFFLINEEVENT to the application's online handlers of it, at most once per their ``minTimeout``."""
    sent = 0
    for handler in handlers.handlers_for(conn, ONOFFLINEEVENT):
        if handler.app_id != app_id or handler.offline:
            continue
        if handlers.mark_notified(conn, handler.id, cause.now, handler.min_timeout):
            _deliver(conn, cause, handler, ONOFFLINEEVENT, [])
            sent += 1
    return sent


def message_id(event: str, data: Any) -> str:
    """An offline record's ``MESSAGE_ID``: the MD5 of the event's name and data, as the rest module makes it, so a
    change that repeats the queued state of an object refreshes that record instead of adding one."""
    return hashlib.md5(f"{event}|".encode() + orjson.dumps(data), usedforsecurity=False).hexdigest()


def queue_event(conn: Connection, cause: Cause, event: str, data: Any, *, app_id: int | None = None) -> int:
    """Queue ``event`` for its handlers (only ``app_id``'s when given); returns how many deliveries were queued."""
    queued = 0
    for handler in handlers.handlers_for(conn, event):
        if app_id is not None and handler.app_id != app_id:
            continue
        if handler.offline and handler.app_id is not None:
            if cause.is_own(handler):
                continue
            key = message_id(event, data)
            offline.add(conn, cause.now, handler.app_id, event, data, key, handler.auth_connector)
            queued += _notify_offline(conn, cause, handler.app_id)
            continue
        _deliver(conn, cause, handler, event, data)
        queued += 1
    return queued
