"""Repository of the offline event queue (event.offline.*): reserve with a process id, clear, mark errors.

Parallel readers each get their own records: on PostgreSQL the rows are locked with ``SKIP LOCKED``, on
SQLite writes are serialised anyway (../shared/reference/bitrix24-docs-en/events/event-offline-get.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update

from b24vote.domain.events import OfflineEvent
from b24vote.storage.tables import event_offline

__all__ = ["add", "clear", "mark_error", "page", "take"]


def _event(row: Any) -> OfflineEvent:
    return OfflineEvent(
        id=row.id,
        event=row.event,
        data=orjson.loads(row.data),
        message_id=row.message_id,
        process_id=row.process_id,
        error=bool(row.error),
        timestamp_x=row.timestamp_x,
    )


def add(conn: Connection, now: datetime, app_id: int, event: str, data: Any, message_id: str, connector: str) -> None:
    """Queue a change; an unreserved record of the same object and event is replaced (the newest state wins)."""
    same = (
        event_offline.c.app_id == app_id,
        event_offline.c.event == event,
        event_offline.c.message_id == message_id,
        event_offline.c.auth_connector == connector,
        event_offline.c.process_id == "",
    )
    conn.execute(delete(event_offline).where(*same))
    conn.execute(
        insert(event_offline).values(
            app_id=app_id,
            event=event,
            data=orjson.dumps(data).decode(),
            message_id=message_id,
            auth_connector=connector,
            process_id="",
            error=False,
            timestamp_x=now,
        )
    )


def _mine(app_id: int, connector: str) -> tuple[Any, ...]:
    return event_offline.c.app_id == app_id, event_offline.c.auth_connector == connector


def take(
    conn: Connection, app_id: int, connector: str, *, limit: int, clear: bool, process_id: str, errors: bool
) -> tuple[str | None, list[OfflineEvent]]:
    """event.offline.get: the first records (a process's own first), deleted or reserved under a process id."""
    wanted = event_offline.c.process_id.in_([process_id, ""]) if process_id else event_offline.c.process_id == ""
    query = select(event_offline).where(*_mine(app_id, connector), wanted)
    if not errors:
        query = query.where(event_offline.c.error.is_(False))
    order = (event_offline.c.process_id.desc(), event_offline.c.timestamp_x, event_offline.c.id)
    rows = conn.execute(query.order_by(*order).limit(limit).with_for_update(skip_locked=True)).all()
    found = [_event(r) for r in rows]
    ids = [e.id for e in found]
    if clear:
        if ids:
            conn.execute(delete(event_offline).where(event_offline.c.id.in_(ids)))
        return (process_id or None), found
    reserved = process_id or secrets.token_hex(16)
    if ids:
        conn.execute(update(event_offline).where(event_offline.c.id.in_(ids)).values(process_id=reserved))
    return reserved, found


def clear(
    conn: Connection, app_id: int, process_id: str, ids: Sequence[int] | None, message_ids: Sequence[str] | None
) -> int:
    """event.offline.clear: the process's records, or those of them named by id (else by message id)."""
    where = [event_offline.c.app_id == app_id, event_offline.c.process_id == process_id]
    if ids is not None:
        where.append(event_offline.c.id.in_(list(ids)))
    elif message_ids is not None:
        where.append(event_offline.c.message_id.in_(list(message_ids)))
    return int(conn.execute(delete(event_offline).where(*where)).rowcount)


def mark_error(conn: Connection, app_id: int, process_id: str, message_ids: Sequence[str]) -> int:
    """event.offline.error: flag the process's records with these message ids as failed."""
    where = (
        event_offline.c.app_id == app_id,
        event_offline.c.process_id == process_id,
        event_offline.c.message_id.in_(list(message_ids)),
    )
    return int(conn.execute(update(event_offline).where(*where).values(error=True)).rowcount)


def page(conn: Connection, app_id: int, connector: str, *, start: int, size: int) -> tuple[list[OfflineEvent], int]:
    """event.offline.list: one page in id order, without changing anything, and the total."""
    total = conn.execute(select(func.count()).select_from(event_offline).where(*_mine(app_id, connector))).scalar_one()
    rows = conn.execute(
        select(event_offline).where(*_mine(app_id, connector)).order_by(event_offline.c.id).offset(start).limit(size)
    )
    return [_event(r) for r in rows], int(total)
