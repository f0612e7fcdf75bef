"""``/_b24vote/deliveries``: event deliveries waiting to be sent, sending them now, failing a handler's next ones;
and the journal entry each attempt leaves."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from b24vote.admin.controls import Controls
from b24vote.admin.http import admin_endpoint, app_state, read_object, reply
from b24vote.clock import Clock
from b24vote.config import Settings
from b24vote.domain.events import Delivery
from b24vote.errors import AdminError
from b24vote.events.sender import Attempt, Recorder, Sender
from b24vote.storage import deliveries
from b24vote.storage.engine import Database

__all__ = ["build_sender", "fail_next", "list_pending", "send_now"]


def _recorder(controls: Controls, clock: Clock) -> Recorder:
    def record(attempt: Attempt) -> None:
        delivery = attempt.delivery
        controls.journal.record(
            time=clock.now(),
            kind="delivery",
            user_id=None,
            method=delivery.event,
            params={"handler": delivery.url, "handler_id": delivery.handler_id, "attempt": attempt.attempt},
            status=attempt.status,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )

    return record


def build_sender(settings: Settings, db: Database, clock: Clock, controls: Controls) -> Sender:
    """The process's sender, journaling every attempt and honouring the handler faults of ``controls``."""
    return Sender(
        db,
        clock,
        retry_delays=settings.event_retries,
        timeout=float(settings.event_timeout),
        record=_recorder(controls, clock),
        faults=controls.handler_faults,
    )


def _pending(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "handler_id": delivery.handler_id,
        "handler": delivery.url,
        "event": delivery.event,
        "attempts": delivery.attempt,
        "due_at": delivery.due_at.isoformat(),
        "sending": delivery.claimed_until is not None,
    }


@admin_endpoint
async def list_pending(request: Request) -> Response:
    state = app_state(request)
    found = await state.sender.pending()
    return reply({"deliveries": [_pending(d) for d in found], "failing": state.controls.handler_faults.listing()})


@admin_endpoint
async def send_now(request: Request) -> Response:
    """Make every waiting retry due, send what is due and wait for those sends (bounded passes)."""
    state = app_state(request)
    now = state.clock.now()
    await state.db.run(lambda conn: deliveries.send_all_now(conn, now), write=True)
    sent = await state.sender.drain()
    left = await state.sender.pending()
    return reply({"sent": sent, "deliveries": [_pending(d) for d in left]})


@admin_endpoint
async def fail_next(request: Request) -> Response:
    """``{"handler": URL, "count": N, "status": 500}``: the next N deliveries to URL fail without being sent."""
    body = await read_object(request)
    url, count, status = body.get("handler"), body.get("count", 1), body.get("status", 500)
    if not isinstance(url, str) or not url:
        raise AdminError("handler: the handler URL is required")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 1000:
        raise AdminError("count: must be an integer between 0 and 1000")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise AdminError("status: must be an HTTP status between 100 and 599")
    faults = app_state(request).controls.handler_faults
    faults.fail_next(url, count, status)
    return reply({"failing": faults.listing()})
