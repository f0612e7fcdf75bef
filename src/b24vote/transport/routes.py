"""The REST routes: ``/rest/{user}/{code}/{method}`` (webhooks) and ``/rest/{method}`` (OAuth).

:func:`rest_app` is a plain ASGI application: the application object hands it every ``/rest/`` request
before Starlette's router and middleware, which would cost more per call than a cached ``get`` itself.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from b24vote.errors import B24Error, ErrorCode, PlatformError
from b24vote.logs import log_unhandled
from b24vote.methods.registry import FileResult, Page
from b24vote.transport.auth import Credentials
from b24vote.transport.batch import run_batch
from b24vote.transport.decode import MAX_PARAMS, DecodeError, check_structure, decode_pairs
from b24vote.transport.dispatch import Outcome
from b24vote.transport.dispatch import execute as _execute  # one module-level name: bench/inprocess.py swaps it
from b24vote.transport.envelope import call_time, file_response
from b24vote.transport.formats import encode, response_format
from b24vote.transport.paths import parse_rest_path, rest_path

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["BeforeCall", "RestEndpoint", "read_params", "read_scope_params"]

log = logging.getLogger("b24vote.rest")
_INLINE_DECODE_BYTES = 64 * 1024
_LIMIT_CODES = frozenset({ErrorCode.QUERY_LIMIT_EXCEEDED.wire, ErrorCode.OPERATION_TIME_LIMIT.wire})
_ALLOWED = frozenset({"GET", "HEAD", "POST"})


class BeforeCall(Protocol):
    """A hook that sees each call once its credentials, method and parameters are known; raising answers it."""

    async def __call__(
        self, scope: Scope, state: AppState, creds: Credentials, method: str, params: dict[str, Any]
    ) -> None: ...


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    declared = _header(scope, b"content-length")
    if declared.isdecimal() and int(declared) > limit:
        raise PlatformError(ErrorCode.REQUEST_TOO_LARGE, f"Request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PlatformError(ErrorCode.REQUEST_TOO_LARGE, f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _form_pairs(raw: str) -> list[tuple[str, str]]:
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMS)
    except UnicodeDecodeError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, "Parameters are not valid UTF-8") from exc
    except ValueError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, f"Too many parameters (more than {MAX_PARAMS})") from exc
    return pairs


def _decode(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    try:
        return decode_pairs(pairs)
    except DecodeError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, str(exc)) from exc


async def read_params(request: Request, max_body: int) -> dict[str, Any]:
    """:func:`read_scope_params` for a Starlette request."""
    return await read_scope_params(request.scope, request.receive, max_body)


async def read_scope_params(scope: Scope, receive: Receive, max_body: int) -> dict[str, Any]:
    """Query string and body merged (the body wins), decoded the same way whatever the encoding."""
    raw_query: bytes = scope["query_string"]
    try:
        query = _form_pairs(raw_query.decode()) if raw_query else []
    except UnicodeDecodeError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, "Parameters are not valid UTF-8") from exc
    if scope["method"] != "POST":
        return _decode(query)
    body = await _read_body(scope, receive, max_body)
    ctype = _header(scope, b"content-type").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return _decode(query + await _multipart_pairs(scope, body))
    if ctype == "application/json" or (not ctype and body.lstrip()[:1] in (b"{", b"[")):
        return _merge_json(_decode(query) if query else {}, body)
    if len(body) > _INLINE_DECODE_BYTES:  # a big form is decoded off the event loop
        return await run_in_threadpool(_decode_form, query, body)
    return _decode_form(query, body)


def _decode_form(query: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, "Request body is not valid UTF-8") from exc
    return _decode(query + _form_pairs(text))


async def _multipart_pairs(scope: Scope, body: bytes) -> list[tuple[str, Any]]:
    request = Request(scope)
    request._body = body  # Request.form() parses what was read already
    try:
        form = await request.form(max_files=100, max_fields=MAX_PARAMS)
    except Exception as exc:  # python-multipart raises several types for broken bodies
        raise PlatformError(ErrorCode.INVALID_REQUEST, f"Malformed multipart body: {exc}") from exc
    pairs: list[tuple[str, Any]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            continue  # no vote method takes files
        pairs.append((key, value))
    await form.close()  # uploaded files are spooled to temporary files: release them now
    return pairs


def _merge_json(params: dict[str, Any], body: bytes) -> dict[str, Any]:
    if not body.strip():
        return params
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, f"Malformed JSON body: {exc}") from exc
    try:
        check_structure(data, MAX_PARAMS)  # the form limits hold for JSON too
    except DecodeError as exc:
        raise PlatformError(ErrorCode.INVALID_REQUEST, str(exc)) from exc
    if isinstance(data, list):
        data = {str(i): v for i, v in enumerate(data)}
    if not isinstance(data, dict):
        raise PlatformError(ErrorCode.INVALID_REQUEST, "JSON body must be an object")
    params.update(data)
    return params


async def _respond(
    send: Send, status: int, body: bytes, media_type: bytes, more: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", media_type), (b"content-length", str(len(body)).encode()), *(more or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _respond_error(send: Send, error: B24Error, fmt: str) -> None:
    await _respond(send, error.status, *encode(error.body(), fmt))


class RestEndpoint:
    """Every REST call: webhook or OAuth, any method of the registry, ``batch``; JSON or XML replies."""

    def __init__(self, before_call: BeforeCall | None = None) -> None:
        self.before_call = before_call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["app"]
        state: AppState = app.state.b24
        start = state.clock.now()
        path = rest_path(scope)
        fmt = response_format(path)
        if scope["method"] not in _ALLOWED:
            body = b'{"error":"ERROR_METHOD_NOT_ALLOWED","error_description":"HTTP method not allowed"}'
            await _respond(send, 405, body, b"application/json; charset=utf-8", [(b"allow", b"GET, HEAD, POST")])
            return
        try:
            if state.settings.require_https and scope["scheme"] != "https":
                raise PlatformError(ErrorCode.INVALID_REQUEST, "Https required")
            creds, method = parse_rest_path(path)
            params = await read_scope_params(scope, receive, state.settings.max_body_bytes)
            token = params.pop("auth", None)
            if creds is None:
                creds = Credentials(token=token if isinstance(token, str) else None)
            if self.before_call is not None:
                await self.before_call(scope, state, creds, method, params)
            if method.lower() == "batch":
                reply, events = await run_batch(state, creds, params, start)
                await state.live.publish(events)
                await _respond(send, 200, *encode(reply, fmt))
                return
            outcome = await _execute(state, creds, method, params, start)
            await state.live.publish(outcome.events)
        except ClientDisconnect:
            return  # nobody is left to answer
        except B24Error as exc:
            if exc.code in _LIMIT_CODES:
                app.state.metrics.limit_rejections.labels(exc.code).inc()
            await _respond_error(send, exc, fmt)
            return
        except Exception as exc:
            log_unhandled(log, exc, path.split("/")[-1])
            await _respond_error(send, PlatformError(ErrorCode.INTERNAL_SERVER_ERROR), fmt)
            return
        if outcome.method.name == "vote.AttachedVote.vote" and isinstance(outcome.value, dict):
            app.state.metrics.vote_stored()
        if isinstance(outcome.value, FileResult):
            await file_response(outcome.value)(scope, receive, send)
            return
        await _respond(send, 200, *encode(_success(state, outcome, start), fmt))


def _success(state: AppState, outcome: Outcome, start: datetime) -> dict[str, Any]:
    """The envelope of a successful call: result (with next/total for pages) and time."""
    value = outcome.value
    body: dict[str, Any]
    if isinstance(value, Page):
        body = {"result": value.result}
        if value.next is not None:
            body["next"] = value.next
        body["total"] = value.total
    else:
        body = {"result": value}
    body["time"] = call_time(state, start, outcome.processing, outcome.operating)
    return body
