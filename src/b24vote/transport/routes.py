"""The REST routes: ``/rest/{user}/{code}/{method}`` (webhooks) and ``/rest/{method}`` (OAuth)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from b24vote.errors import B24Error, ErrorCode, PlatformError
from b24vote.methods.registry import FileResult, Page
from b24vote.state import AppState
from b24vote.transport.auth import Credentials
from b24vote.transport.decode import DecodeError, decode_pairs
from b24vote.transport.dispatch import Outcome, execute
from b24vote.transport.envelope import JSONResponse, Timing, error_response, time_block

__all__ = ["parse_rest_path", "read_params", "rest_endpoint"]

log = logging.getLogger("b24vote.rest")
_MAX_PARAMS = 5000


def parse_rest_path(path: str) -> tuple[Credentials | None, str]:
    """Split what follows ``/rest/`` into credentials (webhook) and a method name.

    Repeated and trailing slashes are tolerated (SDKs send ``/rest//method`` and ``…/code//method/``) and a
    ``.json`` suffix is dropped.
    """
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise PlatformError(ErrorCode.ERROR_METHOD_NOT_FOUND)
    method = parts[-1]
    if method.lower().endswith(".json"):
        method = method[: -len(".json")]
    elif method.lower().endswith(".xml"):
        raise PlatformError(ErrorCode.INVALID_REQUEST, "XML responses are not supported; use .json")
    if len(parts) == 1:
        return None, method
    if len(parts) == 3:
        return Credentials(webhook_user=parts[0], webhook_code=parts[1]), method
    raise PlatformError(ErrorCode.ERROR_METHOD_NOT_FOUND)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PlatformError(ErrorCode.REQUEST_TOO_LARGE, f"Request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PlatformError(ErrorCode.REQUEST_TOO_LARGE, f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # let request.form() reuse what was read
    return body


def _form_pairs(raw: str) -> list[tuple[str, str]]:
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, errors="strict", max_num_fields=_MAX_PARAMS)
    except UnicodeDecodeError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, "Parameters are not valid UTF-8") from exc
    except ValueError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, f"Too many parameters (more than {_MAX_PARAMS})") from exc
    return pairs


def _decode(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    try:
        return decode_pairs(pairs)
    except DecodeError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, str(exc)) from exc


async def read_params(request: Request, max_body: int) -> dict[str, Any]:
    """Query string and body merged (the body wins), decoded the same way whatever the encoding."""
    query = _form_pairs(request.url.query)
    if request.method != "POST":
        return _decode(query)
    body = await _read_body(request, max_body)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return _decode(query + await _multipart_pairs(request))
    if ctype == "application/json" or (not ctype and body.lstrip()[:1] in (b"{", b"[")):
        return _merge_json(_decode(query), body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, "Request body is not valid UTF-8") from exc
    return _decode(query + _form_pairs(text))


async def _multipart_pairs(request: Request) -> list[tuple[str, Any]]:
    try:
        form = await request.form(max_files=100, max_fields=_MAX_PARAMS)
    except Exception as exc:  # python-multipart raises several types for broken bodies
        raise PlatformError(ErrorCode.INVALID_REQUEST, f"Malformed multipart body: {exc}") from exc
    pairs: list[tuple[str, Any]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            continue  # no vote method takes files
        pairs.append((key, value))
    return pairs


def _merge_json(params: dict[str, Any], body: bytes) -> dict[str, Any]:
    if not body.strip():
        return params
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, f"Malformed JSON body: {exc}") from exc
    if isinstance(data, list):
        data = {str(i): v for i, v in enumerate(data)}
    if not isinstance(data, dict):
        raise PlatformError(ErrorCode.INVALID_REQUEST, "JSON body must be an object")
    params.update(data)
    return params


async def rest_endpoint(request: Request) -> Response:
    state: AppState = request.app.state.b24
    start = state.clock.now()
    try:
        creds, method = parse_rest_path(request.path_params.get("path", ""))
        params = await read_params(request, state.settings.max_body_bytes)
        token = params.pop("auth", None)
        if creds is None:
            creds = Credentials(token=token if isinstance(token, str) else None)
        outcome = await run_in_threadpool(execute, state, creds, method, params, start)
    except B24Error as exc:
        return error_response(exc)
    except Exception:
        log.exception("unhandled error in %s", request.url.path.split("/")[-1])
        return error_response(PlatformError(ErrorCode.INTERNAL_SERVER_ERROR))
    return _success(state, outcome, start)


def _success(state: AppState, outcome: Outcome, start: Any) -> Response:
    value = outcome.value
    if isinstance(value, FileResult):
        headers = {"Content-Disposition": f"attachment;filename={value.filename}", **value.headers}
        return StreamingResponse(value.chunks(), media_type=value.media_type, headers=headers)
    op = state.operating.add(
        outcome.caller.limit_key, outcome.method.name.lower(), outcome.processing, start.timestamp()
    )
    timing = Timing(
        start=start,
        finish=state.clock.now(),
        processing=outcome.processing,
        operating=op.used,
        operating_reset_at=op.reset_at,
    )
    body: dict[str, Any]
    if isinstance(value, Page):
        body = {"result": value.result}
        if value.next is not None:
            body["next"] = value.next
        body["total"] = value.total
    else:
        body = {"result": value}
    body["time"] = time_block(timing, state.settings.timezone)
    return JSONResponse(body)
