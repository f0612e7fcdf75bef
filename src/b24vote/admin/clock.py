"""``GET/POST /_b24vote/clock``: read, freeze, set or advance the time the whole server reads."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from b24vote.admin.http import admin_endpoint, app_state, read_object, reply
from b24vote.clock import ControllableClock
from b24vote.errors import AdminError

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["apply_clock", "clock_state", "get_clock", "parse_time", "post_clock"]

MAX_ADVANCE = 100 * 366 * 24 * 3600  # a century is more than any test needs


def controllable(state: AppState) -> ControllableClock:
    clock = state.clock
    if not isinstance(clock, ControllableClock):  # pragma: no cover - create_app always wraps the clock
        raise AdminError("this server's clock cannot be controlled", 409, "CLOCK_NOT_CONTROLLABLE")
    return clock


def clock_state(clock: ControllableClock) -> dict[str, Any]:
    return {"now": clock.now().isoformat(), "frozen": clock.frozen}


def parse_time(raw: Any, path: str) -> datetime:
    """An ISO 8601 time with an offset (``Z`` allowed)."""
    if not isinstance(raw, str):
        raise AdminError(f"{path}: must be an ISO 8601 time such as 2030-01-01T00:00:00Z")
    # In a query string an unescaped '+' arrives as a space.
    text = raw.strip().replace(" ", "+") if "T" in raw else raw.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise AdminError(f"{path}: not an ISO 8601 time: {raw!r}") from exc
    if when.tzinfo is None:
        raise AdminError(f"{path}: needs a time zone offset (e.g. Z or +03:00)")
    return when


def apply_clock(clock: ControllableClock, body: dict[str, Any]) -> None:
    """Apply ``reset``, ``freeze: true``, ``set``, ``advance`` and ``freeze: false``, in that order."""
    unknown = set(body) - {"freeze", "set", "advance", "reset"}
    if unknown:
        raise AdminError(f"{sorted(unknown)[0]}: unknown field (expected freeze, set, advance, reset)")
    freeze, advance, reset = body.get("freeze"), body.get("advance"), body.get("reset", False)
    if freeze is not None and not isinstance(freeze, bool):
        raise AdminError("freeze: must be true or false")
    if not isinstance(reset, bool):
        raise AdminError("reset: must be true or false")
    when = parse_time(body["set"], "set") if body.get("set") is not None else None
    if advance is not None and (
        not isinstance(advance, (int, float)) or isinstance(advance, bool) or not 0 <= advance <= MAX_ADVANCE
    ):
        raise AdminError(f"advance: must be a number of seconds between 0 and {MAX_ADVANCE} (use set to go back)")
    if reset:
        clock.reset()
    if freeze is True:  # first, so that a frozen clock stands exactly at the time set
        clock.freeze()
    if when is not None:
        clock.set(when)
    if advance:
        clock.advance(float(advance))
    if freeze is False:
        clock.unfreeze()


@admin_endpoint
async def get_clock(request: Request) -> Response:
    return reply(clock_state(controllable(app_state(request))))


@admin_endpoint
async def post_clock(request: Request) -> Response:
    clock = controllable(app_state(request))
    apply_clock(clock, await read_object(request))
    return reply(clock_state(clock))
