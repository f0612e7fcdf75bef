"""Repository of the offline event queue (event.offline.*): reserve with a process id, clear, mark errors.

Parallel readers each get their own records: on PostgreSQL the rows are locked with ``SKIP LOCKED``, on
SQLite writes are serialised anyway (../shared/reference/bitrix24-docs-en/events/event-offline-get.md).
Reading follows the rest module's order of work: reserve the first matching records under a new process id,
read them back, and delete the whole reservation when the call clears what it read.
"""

from __future__ import annotations

import operator
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Integer, String, cast, delete, func, insert, select, update

from b24vote.domain.events import OfflineEvent
from b24vote.storage.tables import event_offline

__all__ = ["FIELDS", "Sort", "Term", "add", "clear", "mark_error", "page", "take"]

# The record fields a filter or an order may name, by their names on the wire.
FIELDS = {
    "ID": event_offline.c.id,
    "TIMESTAMP_X": event_offline.c.timestamp_x,
    "EVENT_NAME": event_offline.c.event,
    "MESSAGE_ID": event_offline.c.message_id,
    "PROCESS_ID": event_offline.c.process_id,
    "ERROR": event_offline.c.error,
}


@dataclass(frozen=True, slots=True)
class Term:
    """One checked filter condition: ``field`` of :data:`FIELDS`, ``op`` one of ``= > < >= <= @ %``, and a value
    already of the field's type (a list for ``@``, a string for ``%``)."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Sort:
    """One ordering key: a field of :data:`FIELDS`, descending or not."""

    field: str
    descending: bool = False


def _column(field: str) -> Any:
    column = FIELDS[field]
    return cast(column, Integer) if field == "ERROR" else column


_COMPARE = {"=": operator.eq, ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}


def _condition(term: Term) -> Any:
    column = _column(term.field)
    if term.op == "@":
        return column.in_(list(term.value))
    if term.op == "%":
        return cast(column, String).contains(term.value, autoescape=True)
    return _COMPARE[term.op](column, term.value)


def _ordering(order: Sequence[Sort]) -> list[Any]:
    keys = [_column(s.field).desc() if s.descending else _column(s.field).asc() for s in order]
    if not any(s.field == "ID" for s in order):
        keys.append(event_offline.c.id.asc())  # ties in a stable order
    return keys


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
    """Queue a change; an unreserved record with the same ``message_id`` keeps its id and gets the new time and data
    (the newest state wins, event-offline-list.md on ``MESSAGE_ID``).

    ``TIMESTAMP_X`` is kept to the second, as the portal's database keeps it, so that a filter on the value a
    reader was shown (printed to the second) finds the record.
    """
    when, body = now.replace(microsecond=0), orjson.dumps(data).decode()
    same = (
        *_mine(app_id, connector),
        event_offline.c.event == event,
        event_offline.c.message_id == message_id,
        event_offline.c.process_id == "",
    )
    if conn.execute(update(event_offline).where(*same).values(timestamp_x=when, data=body)).rowcount:
        return
    conn.execute(
        insert(event_offline).values(
            app_id=app_id,
            event=event,
            data=body,
            message_id=message_id,
            auth_connector=connector,
            process_id="",
            error=False,
            timestamp_x=when,
        )
    )


def _mine(app_id: int, connector: str) -> tuple[ColumnElement[bool], ...]:
    return event_offline.c.app_id == app_id, event_offline.c.auth_connector == connector


def take(
    conn: Connection,
    app_id: int,
    connector: str,
    *,
    terms: Sequence[Term] = (),
    order: Sequence[Sort] = (Sort("TIMESTAMP_X"),),
    limit: int,
    clear: bool,
    process_id: str | None,
    errors: bool,
) -> tuple[str | None, list[OfflineEvent]]:
    """event.offline.get: the first ``limit`` matching records in ``order``; returns the process id to answer.

    Without ``process_id`` the first unreserved records (of the errored ones with ``errors``) are reserved under
    a new process id and read back; with one, that process's records are read again and nothing new is
    reserved. ``clear`` then deletes the whole reservation, records past ``limit`` included, when any was read.
    """
    where = [*_mine(app_id, connector), event_offline.c.error.is_(errors), *(_condition(t) for t in terms)]
    keys = _ordering(order)
    answer: str | None
    if process_id is None:
        query = select(event_offline).where(*where, event_offline.c.process_id == "")
        rows = conn.execute(query.order_by(*keys).limit(limit).with_for_update(skip_locked=True)).all()
        reserved = secrets.token_hex(16)
        if rows:
            ids = [r.id for r in rows]
            conn.execute(update(event_offline).where(event_offline.c.id.in_(ids)).values(process_id=reserved))
        answer = None if clear else reserved
    else:
        reserved = answer = process_id
        query = select(event_offline).where(*where, event_offline.c.process_id == reserved)
        rows = conn.execute(query.order_by(*keys).limit(limit).with_for_update()).all()
    found = [_event(r) for r in rows]
    if clear and found:
        whole = (*_mine(app_id, connector), event_offline.c.process_id == reserved)
        conn.execute(delete(event_offline).where(*whole))
    return answer, found


def clear(
    conn: Connection,
    app_id: int,
    connector: str,
    process_id: str,
    ids: Sequence[int] | None,
    message_ids: Sequence[str] | None,
) -> int:
    """event.offline.clear: the process's records, or those of them named by id (else by message id)."""
    where = [*_mine(app_id, connector), event_offline.c.process_id == process_id]
    if ids is not None:
        where.append(event_offline.c.id.in_(list(ids)))
    elif message_ids is not None:
        where.append(event_offline.c.message_id.in_(list(message_ids)))
    return int(conn.execute(delete(event_offline).where(*where)).rowcount)


def mark_error(conn: Connection, app_id: int, connector: str, process_id: str, message_ids: Sequence[str]) -> int:
    """event.offline.error, as the rest module does it: the process's records with these message ids are flagged
    failed and go back to the queue unreserved (event.offline.get ``error=1`` reads them); other unflagged
    records with the same message ids, newer changes included, are dropped. Returns how many were flagged."""
    if not message_ids:
        return 0
    named = (*_mine(app_id, connector), event_offline.c.message_id.in_(list(message_ids)))
    unflagged = event_offline.c.error.is_(False)
    conn.execute(delete(event_offline).where(*named, unflagged, event_offline.c.process_id != process_id))
    flag = update(event_offline).where(*named, unflagged, event_offline.c.process_id == process_id)
    return int(conn.execute(flag.values(error=True, process_id="")).rowcount)


def page(
    conn: Connection,
    app_id: int,
    connector: str,
    *,
    terms: Sequence[Term] = (),
    order: Sequence[Sort] = (Sort("ID"),),
    start: int,
    size: int,
) -> tuple[list[OfflineEvent], int]:
    """event.offline.list: one page of the matching records in ``order``, without changing anything, and the
    number of matching records."""
    where = (*_mine(app_id, connector), *(_condition(t) for t in terms))
    total = conn.execute(select(func.count()).select_from(event_offline).where(*where)).scalar_one()
    query = select(event_offline).where(*where).order_by(*_ordering(order)).offset(start).limit(size)
    return [_event(r) for r in conn.execute(query)], int(total)
