"""Repository of the deliveries waiting to be sent: queued with the call that caused them, claimed by one process.

Order per handler: only a handler's oldest delivery is ever due, so a later one waits for the earlier one to be
delivered or given up. A claim is a lease (``claimed_until``) taken with a conditional UPDATE, so with several
processes each delivery is sent by one; a process that dies mid-send leaves a lease that runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, or_, select, update

from b24vote.domain.events import Delivery
from b24vote.storage.tables import event_deliveries

__all__ = ["claim", "due", "enqueue", "finish", "pending", "reschedule", "send_all_now"]

_d = event_deliveries.c


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        handler_id=row.handler_id,
        url=row.url,
        event=row.event,
        payload=orjson.loads(row.payload),
        attempt=row.attempt,
        due_at=row.due_at,
        claimed_until=row.claimed_until,
    )


def enqueue(conn: Connection, now: datetime, handler_id: int, url: str, event: str, payload: dict[str, Any]) -> None:
    conn.execute(
        insert(event_deliveries).values(
            handler_id=handler_id,
            url=url,
            event=event,
            payload=orjson.dumps(payload).decode(),
            attempt=0,
            due_at=now,
            date_create=now,
        )
    )


def _free(now: datetime) -> Any:
    return or_(_d.claimed_until.is_(None), _d.claimed_until < now)


def due(conn: Connection, now: datetime, limit: int) -> list[Delivery]:
    """Each handler's oldest delivery, when it is due and nobody holds it; oldest first."""
    heads = select(func.min(_d.id)).group_by(_d.handler_id).scalar_subquery()
    query = select(event_deliveries).where(_d.id.in_(heads), _d.due_at <= now, _free(now))
    return [_delivery(r) for r in conn.execute(query.order_by(_d.id).limit(limit))]


def claim(conn: Connection, now: datetime, delivery_id: int, worker: str, lease: timedelta) -> bool:
    """Take the delivery for one attempt; False when another process holds it or it is gone."""
    claimed = conn.execute(
        update(event_deliveries)
        .where(_d.id == delivery_id, _free(now))
        .values(claimed_until=now + lease, claimed_by=worker, attempt=_d.attempt + 1)
    )
    return claimed.rowcount == 1


def finish(conn: Connection, delivery_id: int) -> None:
    """Delivered or given up: the delivery leaves the queue."""
    conn.execute(delete(event_deliveries).where(_d.id == delivery_id))


def reschedule(conn: Connection, delivery_id: int, due_at: datetime) -> None:
    """A failed attempt with retries left: due again at ``due_at``, free for any process."""
    conn.execute(
        update(event_deliveries).where(_d.id == delivery_id).values(due_at=due_at, claimed_until=None, claimed_by=None)
    )


def pending(conn: Connection) -> list[Delivery]:
    """Every queued delivery, oldest first (emulator controls)."""
    return [_delivery(r) for r in conn.execute(select(event_deliveries).order_by(_d.id))]


def send_all_now(conn: Connection, now: datetime) -> int:
    """Make every waiting retry due at once (emulator controls); returns how many were waiting."""
    return int(conn.execute(update(event_deliveries).where(_d.due_at > now).values(due_at=now)).rowcount)
