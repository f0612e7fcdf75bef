"""Repository of bound event handlers and of each application's ``application_token``."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from b24vote.domain.events import Handler
from b24vote.storage.tables import event_app_tokens, event_handlers, oauth_apps

__all__ = [
    "app_token",
    "bind",
    "drop_app",
    "find_handler",
    "handlers_for",
    "handlers_of",
    "is_installed",
    "mark_notified",
    "new_token",
    "unbind",
]


def new_token() -> str:
    """An ``application_token``: 32 hex digits, like a portal's."""
    return secrets.token_hex(16)


def app_token(conn: Connection, now: datetime, app_id: int) -> str:
    """The application's token, made the first time it is needed (inside a write transaction)."""
    found = conn.execute(select(event_app_tokens.c.token).where(event_app_tokens.c.app_id == app_id)).scalar()
    if found is not None:
        return str(found)
    token = new_token()
    conn.execute(insert(event_app_tokens).values(app_id=app_id, token=token, date_create=now))
    return token


def is_installed(conn: Connection, app_id: int) -> bool:
    """Whether the application has its ``application_token`` yet: made when it is installed or first needs it."""
    found = conn.execute(select(event_app_tokens.c.app_id).where(event_app_tokens.c.app_id == app_id)).first()
    return found is not None


def _handler(row: Any) -> Handler:
    return Handler(
        id=row.id,
        app_id=row.app_id,
        event=row.event,
        url=row.handler,
        auth_type=row.auth_type,
        user_id=row.user_id,
        offline=bool(row.offline),
        auth_connector=row.auth_connector,
        min_timeout=row.min_timeout,
        application_token=row.application_token,
    )


def _same(app_id: int | None, event: str, url: str, auth_type: int, offline: bool, connector: str) -> Any:
    app = event_handlers.c.app_id.is_(None) if app_id is None else event_handlers.c.app_id == app_id
    return (
        app,
        event_handlers.c.event == event,
        event_handlers.c.handler == url,
        event_handlers.c.auth_type == auth_type,
        event_handlers.c.offline.is_(offline),
        event_handlers.c.auth_connector == connector,
    )


def bind(conn: Connection, now: datetime, handler: Handler) -> int | None:
    """Add ``handler`` (its ``id`` is ignored); None when the same one is bound already."""
    same = _same(handler.app_id, handler.event, handler.url, handler.auth_type, handler.offline, handler.auth_connector)
    if conn.execute(select(event_handlers.c.id).where(*same)).first() is not None:
        return None
    new_id = conn.execute(
        insert(event_handlers)
        .values(
            app_id=handler.app_id,
            event=handler.event,
            handler=handler.url,
            auth_type=handler.auth_type,
            user_id=handler.user_id,
            offline=handler.offline,
            auth_connector=handler.auth_connector,
            min_timeout=handler.min_timeout,
            application_token=handler.application_token,
            date_create=now,
        )
        .returning(event_handlers.c.id)
    ).scalar_one()
    return int(new_id)


def unbind(
    conn: Connection,
    app_id: int,
    event: str,
    url: str,
    auth_type: int | None,
    offline: bool,
    owner: int | None,
    connector: str | None = None,
) -> int:
    """Remove the application's matching handlers; ``auth_type`` None matches any, ``owner`` limits to one user's,
    ``connector`` to the handlers of one ``auth_connector``."""
    where = [event_handlers.c.app_id == app_id, event_handlers.c.event == event]
    where.append(event_handlers.c.offline.is_(offline))
    if not offline:
        where.append(event_handlers.c.handler == url)
    if auth_type is not None:
        where.append(event_handlers.c.auth_type == auth_type)
    if owner is not None:
        where.append(event_handlers.c.user_id == owner)
    if connector is not None:
        where.append(event_handlers.c.auth_connector == connector)
    return int(conn.execute(delete(event_handlers).where(*where)).rowcount)


def handlers_of(conn: Connection, app_id: int, owner: int | None = None) -> list[Handler]:
    """The application's handlers in the order they were bound; ``owner`` limits to one user's."""
    query = select(event_handlers).where(event_handlers.c.app_id == app_id)
    if owner is not None:
        query = query.where(event_handlers.c.user_id == owner)
    return [_handler(r) for r in conn.execute(query.order_by(event_handlers.c.id))]


def handlers_for(conn: Connection, event: str) -> list[Handler]:
    """Every handler of ``event``: of active applications and of outgoing webhooks, in binding order."""
    query = (
        select(event_handlers)
        .outerjoin(oauth_apps, oauth_apps.c.id == event_handlers.c.app_id)
        .where(event_handlers.c.event == event)
        .where((event_handlers.c.app_id.is_(None)) | (oauth_apps.c.active.is_(True)))
        .order_by(event_handlers.c.id)
    )
    return [_handler(r) for r in conn.execute(query)]


def find_handler(conn: Connection, handler_id: int) -> Handler | None:
    row = conn.execute(select(event_handlers).where(event_handlers.c.id == handler_id)).first()
    return _handler(row) if row else None


def mark_notified(conn: Connection, handler_id: int, now: datetime, min_timeout: int) -> bool:
    """Claim the right to queue an ONOFFLINEEVENT now: False while ``min_timeout`` seconds have not passed."""
    row = conn.execute(select(event_handlers.c.notified_at).where(event_handlers.c.id == handler_id)).first()
    if row is None:
        return False
    last = row.notified_at
    if last is not None and (now - last).total_seconds() < max(min_timeout, 0):
        return False
    conn.execute(update(event_handlers).where(event_handlers.c.id == handler_id).values(notified_at=now))
    return True


def drop_app(conn: Connection, app_id: int) -> None:
    """Forget an uninstalled application's handlers and token (a reinstall binds them anew)."""
    conn.execute(delete(event_handlers).where(event_handlers.c.app_id == app_id))
    conn.execute(delete(event_app_tokens).where(event_app_tokens.c.app_id == app_id))
