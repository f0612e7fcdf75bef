"""event.offline.get, .clear, .error and .list: an administrator's application reads its offline queue.

../shared/reference/bitrix24-docs-en/events/offline-events.md and the method pages: ``clear=0`` reserves the
records under a ``process_id`` that event.offline.clear then removes; the queue is divided by the call's
``auth_connector`` (``CallContext.auth_connector``). ``filter`` and ``order`` are checked as the rest module
checks them (``IRestService::sanitizeFilter`` / ``sanitizeOrder``): the operation goes before the field name,
an unknown field, operation or direction is ``400 ERROR_ARGUMENT``. docs/compatibility.md lists the choices.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from b24vote.clock import iso
from b24vote.domain.events import OfflineEvent
from b24vote.errors import ErrorCode, PlatformError
from b24vote.methods.events import require_admin
from b24vote.methods.params import Params, php_int, to_list
from b24vote.methods.registry import CallContext, Page, registry
from b24vote.storage import offline
from b24vote.storage.offline import Sort, Term

__all__: list[str] = []

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000  # b24vote's bound on one call's records
MESSAGE_ID_LENGTH = 32  # an MD5 (events/queue.py); event.offline.clear refuses other values
LIST_PAGE = 50  # event-offline-list.md: "The page size of results is always static: 50 records"

# event-offline-get.md / event-offline-list.md: the fields a filter and an order may name.
GET_FIELDS = ("ID", "TIMESTAMP_X", "EVENT_NAME", "MESSAGE_ID")
LIST_FIELDS = (*GET_FIELDS, "PROCESS_ID", "ERROR")
# event.offline.get builds a query condition per key (=, >, <, >=, <=; none is =); event.offline.list passes
# the filter to the ORM's list filter, which also knows @ (one of a list) and % (a substring).
GET_OPERATIONS = ("", "=", ">", "<", ">=", "<=")
LIST_OPERATIONS = (*GET_OPERATIONS, "@", "%")

_KEY = re.compile(r"([^a-zA-Z]*)(.*)", re.DOTALL)  # the operation is whatever precedes the first letter
_NUMERIC = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")  # PHP's is_numeric


def _argument(message: str) -> PlatformError:
    return PlatformError(ErrorCode.ERROR_ARGUMENT, message)


def _php_string(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return "Array"
    return str(value)


def _array(value: Any) -> list[tuple[str, Any]] | None:
    """A PHP array's pairs (a list by position), None for anything else."""
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, list):
        return [(str(i), v) for i, v in enumerate(value)]
    return None


def _moment(ctx: CallContext, key: str, value: Any) -> datetime:
    """``TIMESTAMP_X`` in ISO 8601 (``2024-07-18T12:32:31+02:00``); without an offset, the portal's time."""
    try:
        when = datetime.fromisoformat(value.strip()) if isinstance(value, str) else None
        if when is not None:
            when = when if when.tzinfo is not None else when.replace(tzinfo=ctx.tz)
            when.astimezone(UTC)  # a year-1 time with an offset cannot be stored
    except (ValueError, OverflowError):
        when = None
    if when is None:
        raise _argument(f"The value of an argument '{key}' is not an ISO 8601 date and time")
    return when


def _scalar(ctx: CallContext, key: str, field: str, value: Any) -> Any:
    """A filter value in its field's type, as the database compares it."""
    if isinstance(value, (dict, list)):
        raise _argument(f"The value of an argument '{key}' has an invalid type")
    if field in ("ID", "ERROR"):
        return php_int(value)
    if field == "TIMESTAMP_X":
        return _moment(ctx, key, value)
    text = _php_string(value)
    return text.upper() if field == "EVENT_NAME" else text  # names are kept upper-case


def _term(ctx: CallContext, key: str, op: str, field: str, value: Any) -> Term:
    if op == "%":
        if field == "TIMESTAMP_X":
            raise _argument("Filter operation not allowed: %")
        return Term(field, "%", _php_string(_scalar(ctx, key, field, value)))
    if op == "@" or (op in ("", "=") and isinstance(value, (dict, list))):  # a list: one of its values
        return Term(field, "@", [_scalar(ctx, key, field, v) for v in to_list(value)])
    return Term(field, op or "=", _scalar(ctx, key, field, value))


def _filter(ctx: CallContext, params: Params, fields: tuple[str, ...], operations: tuple[str, ...]) -> list[Term]:
    raw = params.raw("filter", any_case=True)
    if raw is None:
        return []
    pairs = _array(raw)
    if pairs is None:
        raise _argument("The filter is not an array.")
    by_key = {key.upper(): value for key, value in pairs}  # PHP's array_change_key_case: the last one wins
    terms = []
    for key, value in by_key.items():
        match = _KEY.fullmatch(key)
        op, field = (match[1], match[2]) if match else ("", key)
        if op not in operations:
            raise _argument(f"Filter operation not allowed: {op}")
        if field not in fields:
            raise _argument(f"Filter field not allowed: {field}")
        if isinstance(value, (dict, list)) and "@" not in operations:  # event.offline.get: scalars only
            raise _argument(f"The value of an argument '{key}' has an invalid type")
        terms.append(_term(ctx, key, op, field, value))
    return terms


def _order(params: Params, fields: tuple[str, ...], default: tuple[Sort, ...]) -> list[Sort]:
    raw = params.raw("order", any_case=True)
    if raw is None:
        return list(default)
    pairs = _array(raw)
    if pairs is None:
        raise _argument("The order is not an array.")
    by_key = {key.upper(): value for key, value in pairs}
    sorts = []
    for key, value in by_key.items():
        if _NUMERIC.fullmatch(key):  # ["ID", …]: a field, ascending
            if not isinstance(value, str) or value not in fields:
                raise _argument(f"Order field not allowed: {_php_string(value)}")
            sorts.append(Sort(value))
            continue
        if key not in fields:
            raise _argument(f"Order field not allowed: {key}")
        direction = _php_string(value).upper() if not isinstance(value, (dict, list)) else ""
        if direction not in ("ASC", "DESC"):
            raise _argument("Order direction should be one of {ASC|DESC}")
        sorts.append(Sort(key, direction == "DESC"))
    return sorts


def _record(ctx: CallContext, event: OfflineEvent) -> dict[str, Any]:
    return {
        "ID": str(event.id),
        "TIMESTAMP_X": iso(event.timestamp_x, ctx.tz),
        "EVENT_NAME": event.event,
        "EVENT_DATA": event.data if event.data else False,
        "EVENT_ADDITIONAL": False,
        "MESSAGE_ID": event.message_id,
    }


def _process_id(params: Params, required: bool) -> str | None:
    """``process_id`` trimmed; None when not given (``required``: an error), an empty string when given empty."""
    if params.raw("process_id", any_case=True) is None:
        if required:
            raise _argument("Argument 'PROCESS_ID' is null or empty")
        return None
    return params.string("process_id", any_case=True).strip()[:64]


def _limit(params: Params) -> int:
    raw = params.raw("limit", any_case=True)
    if isinstance(raw, (dict, list)):
        raw = 1 if raw else 0  # PHP's intval of an array
    limit = DEFAULT_LIMIT if raw is None else php_int(raw)
    if limit <= 0:
        raise _argument("Value must be positive integer")
    return min(limit, MAX_LIMIT)


@registry.add("event.offline.get", scope=None, write=True)
def offline_get(ctx: CallContext, params: Params) -> dict[str, Any]:
    app_id = require_admin(ctx)
    raw_clear, raw_error = params.raw("clear", any_case=True), params.raw("error", any_case=True)
    limit = _limit(params)
    terms = _filter(ctx, params, GET_FIELDS, GET_OPERATIONS)
    order = _order(params, GET_FIELDS, (Sort("TIMESTAMP_X"),))
    process_id, found = offline.take(
        ctx.conn,
        app_id,
        ctx.auth_connector,
        terms=terms,
        order=order,
        limit=limit,
        clear=raw_clear is None or php_int(raw_clear) != 0,
        process_id=_process_id(params, required=False),
        errors=raw_error is not None and php_int(raw_error) == 1,
    )
    return {"process_id": process_id, "events": [_record(ctx, e) for e in found]}


def _ids(params: Params) -> list[int] | None:
    raw = params.raw("id", any_case=True)
    if raw is None:
        return None
    pairs = _array(raw)
    ids = [php_int(v) for _, v in pairs or []]
    if pairs is None or any(i <= 0 for i in ids):
        raise _argument("Value must be array of integers")
    return ids


def _message_ids(params: Params, *, required: bool, checked: bool) -> list[str] | None:
    """``message_id`` as a list; ``checked``: each one must look like a ``MESSAGE_ID`` (32 characters)."""
    raw = params.raw("message_id", any_case=True)
    if raw is None and not required:
        return None
    pairs = _array(raw)
    found = [_php_string(v).strip() for _, v in pairs or []]
    if pairs is None or (checked and any(len(m) != MESSAGE_ID_LENGTH for m in found)):
        raise _argument("Value must be array of MESSAGE_ID values")
    return found


@registry.add("event.offline.clear", scope=None, write=True)
def offline_clear(ctx: CallContext, params: Params) -> bool:
    """The process's records; ``message_id`` (read first, as the rest module does) or else ``id`` names some of
    them, and an empty list names none, so the whole reservation goes."""
    app_id = require_admin(ctx)
    process_id = _process_id(params, required=True) or ""
    messages = _message_ids(params, required=False, checked=True)
    ids = None if messages is not None else _ids(params)
    offline.clear(ctx.conn, app_id, ctx.auth_connector, process_id, ids or None, messages or None)
    return True


@registry.add("event.offline.error", scope=None, write=True)
def offline_error(ctx: CallContext, params: Params) -> bool:
    app_id = require_admin(ctx)
    process_id = _process_id(params, required=True) or ""
    messages = _message_ids(params, required=True, checked=False) or []
    offline.mark_error(ctx.conn, app_id, ctx.auth_connector, process_id, messages)
    return True


@registry.add("event.offline.list", scope=None)
def offline_list(ctx: CallContext, params: Params) -> Page | list[Any]:
    app_id = require_admin(ctx)
    start = max(params.integer("start", any_case=True), 0)
    terms = _filter(ctx, params, LIST_FIELDS, LIST_OPERATIONS)
    order = _order(params, LIST_FIELDS, (Sort("ID"),))
    found, total = offline.page(
        ctx.conn, app_id, ctx.auth_connector, terms=terms, order=order, start=start, size=LIST_PAGE
    )
    rows = [{**_record(ctx, e), "PROCESS_ID": e.process_id, "ERROR": "1" if e.error else "0"} for e in found]
    after = start + len(found)
    return Page(rows, total=total, next=after if after < total else None)
