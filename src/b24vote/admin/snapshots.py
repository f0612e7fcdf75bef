"""``/_b24vote/reset`` and ``/_b24vote/snapshots``: put the portal in a known state in milliseconds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from b24vote.admin.http import admin_endpoint, app_state, not_found, read_object, reply
from b24vote.clock import Clock, ControllableClock
from b24vote.errors import AdminError
from b24vote.portal import create_demo, demo_summary, webhook_url
from b24vote.storage.admin import wipe
from b24vote.storage.engine import Database
from b24vote.storage.snapshots import (
    NAME_PATTERN,
    SnapshotError,
    delete_snapshot,
    list_snapshots,
    restore_snapshot,
    save_snapshot,
)

if TYPE_CHECKING:
    from b24vote.config import Settings
    from b24vote.state import AppState

__all__ = ["delete", "listing", "reset", "reset_database", "restore", "save", "valid_name"]

SEEDS = ("empty", "demo")
CONTROLS = ("keep", "reset")


def reset_database(db: Database, clock: Clock, settings: Settings, *, demo: bool) -> dict[str, Any]:
    """Empty every portal table (snapshots and ``b24_settings`` stay); with ``demo``, add the demo portal."""
    wipe(db)
    if not demo:
        return {"seed": "empty"}
    portal = create_demo(db, clock, settings.timezone)
    if portal.webhook_code is None:  # pragma: no cover - the portal was emptied a moment ago
        raise RuntimeError("the demo portal was not created on an empty database")
    return {
        "seed": "demo",
        **demo_summary(portal, webhook_url(settings.public_url, portal.user_ids[0], portal.webhook_code)),
    }


def valid_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise AdminError(f"name: {name!r} must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'")
    return name


def _forget_counters(state: AppState) -> None:
    """Limit counters belong to credentials: after a reset they are gone, after a restore back as they were."""
    state.limits.store.clear()


async def _read_fields(request: Request, allowed: str) -> dict[str, Any]:
    """The body, an object with no field other than ``allowed``."""
    body = await read_object(request)
    unknown = set(body) - {allowed}
    if unknown:
        raise AdminError(f"{sorted(unknown)[0]}: unknown field (expected {allowed})")
    return body


@admin_endpoint
async def reset(request: Request) -> Response:
    """Back to an empty (or demo) portal, with the clock real again and no faults, journal or limit counters."""
    state = app_state(request)
    seed = (await _read_fields(request, "seed")).get("seed", "empty")
    if seed not in SEEDS:
        raise AdminError(f"seed: must be one of {', '.join(SEEDS)}")
    _reset_controls(state)  # first: the demo portal is made at the real time
    result = await run_in_threadpool(reset_database, state.db, state.clock, state.settings, demo=seed == "demo")
    await run_in_threadpool(_forget_counters, state)
    return reply(result)


def _reset_controls(state: AppState) -> None:
    """The real clock again, no fault rules, an empty journal."""
    if isinstance(state.clock, ControllableClock):
        state.clock.reset()
    state.controls.faults.clear()
    state.controls.journal.clear()


@admin_endpoint
async def save(request: Request) -> Response:
    state = app_state(request)
    name = valid_name(request.path_params["name"])
    info = await run_in_threadpool(save_snapshot, state.db, name, state.clock.now())
    return reply(info.as_dict())


@admin_endpoint
async def restore(request: Request) -> Response:
    """Back to a snapshot; with ``{"controls": "reset"}`` also real clock, no faults and an empty journal."""
    state = app_state(request)
    name = valid_name(request.path_params["name"])
    controls = (await _read_fields(request, "controls")).get("controls", "keep")
    if controls not in CONTROLS:
        raise AdminError(f"controls: must be one of {', '.join(CONTROLS)}")
    try:
        info = await run_in_threadpool(restore_snapshot, state.db, name)
    except SnapshotError as exc:
        raise AdminError(str(exc), 409, "SNAPSHOT_INCOMPATIBLE") from exc
    if info is None:
        raise not_found(f"no snapshot named {name!r}")
    if controls == "reset":
        _reset_controls(state)
    await run_in_threadpool(_forget_counters, state)
    return reply(info.as_dict())


@admin_endpoint
async def listing(request: Request) -> Response:
    found = await run_in_threadpool(list_snapshots, app_state(request).db)
    return reply({"snapshots": [s.as_dict() for s in found]})


@admin_endpoint
async def delete(request: Request) -> Response:
    name = valid_name(request.path_params["name"])
    if not await run_in_threadpool(delete_snapshot, app_state(request).db, name):
        raise not_found(f"no snapshot named {name!r}")
    return reply({"deleted": name})
