"""Run ``batch``: every command through the ordinary dispatch (``execute``), each in its own transaction.

The batch is one request for the leaky bucket and is not counted in operating time itself; each command
is checked and counted against its own method's budget (../shared/reference/bitrix24-docs/platform/limits.md).
Commands act with the batch caller's credentials; an ``auth`` inside a command is ignored, and so is an
``auth_connector``: the batch call's own ``auth_connector`` applies to every command (the rest module keeps the
authorisation of the batch request for its commands).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from b24vote.errors import B24Error, ErrorCode, PlatformError
from b24vote.live import LiveEvent
from b24vote.logs import log_unhandled
from b24vote.methods.batch import (
    MAX_COMMANDS,
    commands,
    halt_requested,
    php_array,
    resolve_references,
    split_command,
)
from b24vote.methods.registry import FileResult, Page
from b24vote.transport.auth import Credentials
from b24vote.transport.decode import MAX_PARAMS, DecodeError, decode_pairs
from b24vote.transport.dispatch import Outcome, admit_request, execute
from b24vote.transport.envelope import call_time

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["run_batch"]

log = logging.getLogger("b24vote.batch")


def _params(query: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_PARAMS)
        return decode_pairs(pairs)
    except (ValueError, DecodeError) as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, str(exc)) from exc


def _error_body(exc: B24Error) -> dict[str, Any]:
    body = exc.body()
    if exc.code == ErrorCode.INSUFFICIENT_SCOPE.wire:
        # Inside batch the REST module raises insufficient_scope without a description.
        body["error_description"] = ""
    return body


class _Results:
    """The batch's five maps, in the REST module's own names (``$result``, ``$next``, … refer to them)."""

    def __init__(self) -> None:
        self.maps: dict[str, dict[str, Any]] = {"result": {}, "next": {}, "total": {}, "time": {}, "error": {}}
        self.events: list[LiveEvent] = []  # published once the whole batch has run

    def success(self, key: str, outcome: Outcome, time: dict[str, Any]) -> None:
        value = outcome.value
        if isinstance(value, Page):
            self.maps["result"][key] = value.result
            if value.next is not None:
                self.maps["next"][key] = value.next
            self.maps["total"][key] = value.total
        else:
            self.maps["result"][key] = value
        self.maps["time"][key] = time
        self.events.extend(outcome.events)

    def body(self) -> dict[str, Any]:
        m = self.maps
        return {
            "result": php_array(m["result"]),
            "result_error": php_array(m["error"]),
            "result_total": php_array(m["total"]),
            "result_next": php_array(m["next"]),
            "result_time": php_array(m["time"]),
        }


async def _run_one(state: AppState, creds: Credentials, call: str, results: _Results, key: str, connector: Any) -> None:
    method, query = split_command(call)
    start = state.clock.now()
    params = resolve_references(_params(query), results.maps)
    params.pop("auth", None)
    params.pop("auth_connector", None)
    if connector is not None:
        params["auth_connector"] = connector
    outcome = await execute(state, creds, method, params, start, in_batch=True)
    if isinstance(outcome.value, FileResult):
        raise PlatformError(ErrorCode.ERROR_BATCH_METHOD_NOT_ALLOWED)
    results.success(key, outcome, call_time(state, start, outcome.processing, outcome.operating))


async def run_batch(
    state: AppState, creds: Credentials, params: dict[str, Any], start: datetime
) -> tuple[dict[str, Any], list[LiveEvent]]:
    """The whole batch reply (``{"result": {five maps}, "time": …}``) and the live events of its commands;
    raises only for errors of the batch call itself."""
    await admit_request(state, creds, "batch", start)
    halt = halt_requested(params)
    results = _Results()
    began = state.clock.monotonic()
    for index, (key, call) in enumerate(commands(params)):
        try:
            if index >= MAX_COMMANDS:
                raise PlatformError(ErrorCode.ERROR_BATCH_LENGTH_EXCEEDED)
            if not isinstance(call, str):
                continue  # the REST module skips what is not a command string
            await _run_one(state, creds, call, results, key, params.get("auth_connector"))
        except B24Error as exc:
            results.maps["error"][key] = _error_body(exc)
        except Exception as exc:
            log_unhandled(log, exc, f"batch command {key}")
            results.maps["error"][key] = PlatformError(ErrorCode.INTERNAL_SERVER_ERROR).body()
        if key in results.maps["error"] and halt:
            break
    time = call_time(state, start, state.clock.monotonic() - began, None)
    return {"result": results.body(), "time": time}, results.events
