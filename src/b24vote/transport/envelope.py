"""The Bitrix24 response envelope: ``{"result": …, "time": {…}}`` and the error body."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response, StreamingResponse

from b24vote.clock import iso
from b24vote.errors import B24Error
from b24vote.limits.operating import OperatingState
from b24vote.methods.registry import FileResult

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["JSONResponse", "Timing", "call_time", "error_response", "file_response", "json_response", "time_block"]


class JSONResponse(Response):
    """A JSON response encoded with orjson (UTF-8, key order kept)."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@dataclass(frozen=True, slots=True)
class Timing:
    """What the ``time`` block reports for one call."""

    start: datetime
    finish: datetime
    processing: float
    operating: float
    operating_reset_at: int


def time_block(timing: Timing, tz: timezone) -> dict[str, Any]:
    """The ``time`` object every reply carries; SDKs refuse a reply without all of its keys."""
    start = timing.start.timestamp()
    finish = timing.finish.timestamp()
    return {
        "start": start,
        "finish": finish,
        "duration": finish - start,
        "processing": timing.processing,
        "date_start": iso(timing.start, tz),
        "date_finish": iso(timing.finish, tz),
        "operating_reset_at": timing.operating_reset_at,
        "operating": timing.operating,
    }


def call_time(state: AppState, start: datetime, processing: float, operating: OperatingState | None) -> dict[str, Any]:
    """The ``time`` block of a call that started at ``start``; one the limits do not count shows no operating time."""
    op = operating or state.limits.idle(start.timestamp())
    timing = Timing(start, state.clock.now(), processing, op.used, op.reset_at)
    return time_block(timing, state.settings.timezone)


def file_response(result: FileResult) -> StreamingResponse:
    """A file download, with the real server's ``Content-Disposition`` (no quotes, no space)."""
    headers = {"Content-Disposition": f"attachment;filename={result.filename}", **result.headers}
    return StreamingResponse(result.chunks(), media_type=result.media_type, headers=headers)


def json_response(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def error_response(error: B24Error) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)
