"""``/_b24vote/faults`` and ``/_b24vote/journal``: the in-process controls of one server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from b24vote.admin.clock import parse_time
from b24vote.admin.faults import parse_faults
from b24vote.admin.http import admin_endpoint, app_state, not_found, read_json, reply
from b24vote.admin.journal import Entry
from b24vote.errors import AdminError
from b24vote.storage.tables import oauth_tokens

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["clear_faults", "clear_journal", "delete_fault", "get_faults", "get_journal", "post_faults"]


@admin_endpoint
async def get_faults(request: Request) -> Response:
    return reply({"rules": app_state(request).controls.faults.listing()})


@admin_endpoint
async def post_faults(request: Request) -> Response:
    """Add rules (a list, or ``{"rules": […], "seed": n}``); answers every rule now registered."""
    specs, seed = parse_faults(await read_json(request))
    return reply({"rules": app_state(request).controls.faults.add(specs, seed)})


@admin_endpoint
async def clear_faults(request: Request) -> Response:
    app_state(request).controls.faults.clear()
    return reply({"rules": []})


@admin_endpoint
async def delete_fault(request: Request) -> Response:
    raw = request.path_params["rule_id"]
    faults = app_state(request).controls.faults
    if not raw.isdecimal() or not faults.remove(int(raw)):
        raise not_found(f"no fault rule {raw}")
    return reply({"rules": faults.listing()})


def _limit(raw: str | None, size: int) -> int:
    if raw is None:
        return size
    if not raw.isdecimal() or not 1 <= int(raw) <= size:
        raise AdminError(f"limit: must be an integer between 1 and {size}")
    return int(raw)


@admin_endpoint
async def get_journal(request: Request) -> Response:
    """Entries oldest first, filtered by ``method`` (glob), ``since`` (ISO time) and ``limit`` (newest N)."""
    state = app_state(request)
    query = request.query_params
    unknown = set(query) - {"method", "since", "limit"}
    if unknown:
        raise AdminError(f"{sorted(unknown)[0]}: unknown parameter (expected method, since, limit)")
    journal = state.controls.journal
    since = parse_time(query["since"], "since") if "since" in query else None
    entries = journal.query(query.get("method"), since, _limit(query.get("limit"), journal.size))
    await run_in_threadpool(_name_token_callers, state, entries)
    return reply({"entries": [e.as_dict() for e in entries], "size": journal.size})


def _name_token_callers(state: AppState, entries: list[Entry]) -> None:
    """Fill in the user of OAuth calls from their token's hash (looked up now, not on every call)."""
    wanted = {e.token_hash for e in entries if e.token_hash and e.user_id is None}
    if not wanted:
        return
    found: dict[str, Any] = {}
    with state.db.read() as conn:
        rows = conn.execute(
            select(oauth_tokens.c.access_hash, oauth_tokens.c.user_id).where(oauth_tokens.c.access_hash.in_(wanted))
        )
        found = {r.access_hash: r.user_id for r in rows}
    for entry in entries:
        if entry.token_hash in found:
            entry.user_id = int(found[entry.token_hash])


@admin_endpoint
async def clear_journal(request: Request) -> Response:
    app_state(request).controls.journal.clear()
    return reply({"entries": []})
