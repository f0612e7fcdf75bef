"""event.offline.get, .clear, .error and .list: an administrator's application reads its offline queue.

../shared/reference/bitrix24-docs-en/events/offline-events.md and the method pages: ``clear=0`` reserves the
records under a ``process_id`` that event.offline.clear then removes; records of an ``auth_connector`` are read
only by naming it. ``filter`` and ``order`` are not supported (docs/compatibility.md).
"""

from __future__ import annotations

from typing import Any

from b24vote.clock import iso
from b24vote.domain.events import OfflineEvent
from b24vote.errors import ErrorCode, PlatformError
from b24vote.methods.events import require_admin
from b24vote.methods.params import Params, php_int
from b24vote.methods.registry import CallContext, Page, registry
from b24vote.storage import offline

__all__: list[str] = []

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000  # b24vote's bound on one call's records
LIST_PAGE = 50  # event-offline-list.md: "The page size of results is always static: 50 records"


def _record(ctx: CallContext, event: OfflineEvent) -> dict[str, Any]:
    return {
        "ID": str(event.id),
        "TIMESTAMP_X": iso(event.timestamp_x, ctx.tz),
        "EVENT_NAME": event.event,
        "EVENT_DATA": event.data if event.data else False,
        "EVENT_ADDITIONAL": False,
        "MESSAGE_ID": event.message_id,
    }


def _process_id(params: Params, required: bool) -> str:
    found = params.string("process_id", any_case=True).strip()[:64]
    if required and not found:
        raise PlatformError(ErrorCode.ERROR_ARGUMENT, "Argument 'process_id' is null or empty")
    return found


def _connector(params: Params) -> str:
    return params.string("auth_connector", any_case=True).strip()[:255]


@registry.add("event.offline.get", scope=None, write=True)
def offline_get(ctx: CallContext, params: Params) -> dict[str, Any]:
    app_id = require_admin(ctx)
    limit = params.integer("limit", DEFAULT_LIMIT, any_case=True)
    process_id, found = offline.take(
        ctx.conn,
        app_id,
        _connector(params),
        limit=min(max(limit, 1), MAX_LIMIT),
        clear=params.boolean("clear", True, any_case=True),
        process_id=_process_id(params, required=False),
        errors=params.boolean("error", False, any_case=True),
    )
    return {"process_id": process_id, "events": [_record(ctx, e) for e in found]}


@registry.add("event.offline.clear", scope=None, write=True)
def offline_clear(ctx: CallContext, params: Params) -> bool:
    app_id = require_admin(ctx)
    process_id = _process_id(params, required=True)
    ids = [php_int(v) for v in params.array("id", any_case=True)] if params.has("id", any_case=True) else None
    messages = (
        [str(v) for v in params.array("message_id", any_case=True)] if params.has("message_id", any_case=True) else None
    )
    offline.clear(ctx.conn, app_id, process_id, ids, messages)
    return True


@registry.add("event.offline.error", scope=None, write=True)
def offline_error(ctx: CallContext, params: Params) -> bool:
    app_id = require_admin(ctx)
    process_id = _process_id(params, required=True)
    offline.mark_error(ctx.conn, app_id, process_id, [str(v) for v in params.array("message_id", any_case=True)])
    return True


@registry.add("event.offline.list", scope=None)
def offline_list(ctx: CallContext, params: Params) -> Page | list[Any]:
    app_id = require_admin(ctx)
    start = max(params.integer("start", any_case=True), 0)
    found, total = offline.page(ctx.conn, app_id, _connector(params), start=start, size=LIST_PAGE)
    rows = [{**_record(ctx, e), "PROCESS_ID": e.process_id, "ERROR": "1" if e.error else "0"} for e in found]
    after = start + len(found)
    return Page(rows, total=total, next=after if after < total else None)
