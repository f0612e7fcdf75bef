"""The emulator's hooks into the REST endpoint: fault rules before a call runs, the journal once it answered.

The application installs them only with the admin API enabled: :func:`before_call` as the endpoint's
``BeforeCall`` hook (it runs as soon as the method, the credentials and the parameters are known), and
:class:`RestRecorder` as an ASGI wrapper of the endpoint that journals every call and cuts the connection
of a call that a ``drop`` rule picked.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from b24vote.admin.journal import mask_params
from b24vote.errors import B24Error, ErrorCode, PlatformError
from b24vote.storage import oauth
from b24vote.storage.people import hash_secret
from b24vote.transport.auth import Credentials
from b24vote.transport.paths import parse_rest_path, rest_path

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["RestRecorder", "before_call"]

_KEY = "b24vote_call"
_XML_ERROR = re.compile(rb"<error>([^<]*)</error>")
_MAX_ERROR_BODY = 65536


@dataclass(slots=True)
class CallInfo:
    """What the endpoint learnt about a call, kept in the request's state for the journal."""

    creds: Credentials
    method: str
    params: Any
    fault: int | None = None
    drop: bool = False


async def before_call(scope: Scope, state: AppState, creds: Credentials, method: str, params: dict[str, Any]) -> None:
    """Note the call for the journal, then apply the first fault rule that fires for it (may raise)."""
    info = CallInfo(creds, method, mask_params(params))
    scope.setdefault("state", {})[_KEY] = info
    faults = state.controls.faults
    if not faults.active:
        return
    caller = await _caller_id(state, creds, method)
    picked = faults.pick(method, caller)
    if picked is None:
        return
    info.fault, fault = picked
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault.drop:
        info.drop = True
        raise PlatformError(ErrorCode.INTERNAL_SERVER_ERROR)  # RestRecorder sends only the start of it
    error = fault.error()
    if error is not None:
        raise error


async def _caller_id(state: AppState, creds: Credentials, method: str) -> int | None:
    """The calling user: from the webhook path; for a token, looked up only when a rule names a caller."""
    if creds.is_webhook:
        user = creds.webhook_user or ""
        return int(user) if user.isdecimal() else None
    token = creds.token
    if not token or len(token) > 256 or not state.controls.faults.wants_caller(method):
        return None

    def lookup() -> int | None:
        with state.db.read() as conn:
            grant = oauth.find_access(conn, token)
        return grant.user_id if grant else None

    return await run_in_threadpool(lookup)


@dataclass(slots=True)
class _Seen:
    status: int | None = None
    body: bytearray = field(default_factory=bytearray)
    dropped: bool = False

    def note(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        elif self.status is not None and self.status >= 400 and len(self.body) < _MAX_ERROR_BODY:
            self.body += message.get("body", b"")

    def error_code(self) -> str | None:
        if self.dropped:
            return "DROPPED"
        if self.status is None or self.status < 400:
            return None
        try:
            body = orjson.loads(bytes(self.body))
        except orjson.JSONDecodeError:
            found = _XML_ERROR.search(bytes(self.body))
            return found[1].decode("utf-8", "replace") if found else None
        return str(body.get("error")) if isinstance(body, dict) and "error" in body else None


class RestRecorder:
    """ASGI wrapper of the REST endpoint: journals each call and cuts the connection for ``drop`` faults."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: AppState = scope["app"].state.b24
        at, started = state.clock.now(), state.clock.monotonic()
        seen = _Seen()

        async def watch(message: Message) -> None:
            info = _info(scope)
            if info is not None and info.drop:
                await _cut(message, send, seen)
                return
            seen.note(message)
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            _record(state, scope, at, (state.clock.monotonic() - started) * 1000, seen)


def _info(scope: Scope) -> CallInfo | None:
    info = scope.get("state", {}).get(_KEY)
    return info if isinstance(info, CallInfo) else None


async def _cut(message: Message, send: Send, seen: _Seen) -> None:
    """Promise a body that never comes: the server closes the connection and the client sees it break."""
    if message["type"] != "http.response.start" or seen.dropped:
        return
    seen.dropped = True
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", b"4096")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"result":', "more_body": True})


def _record(state: AppState, scope: Scope, at: Any, duration_ms: float, seen: _Seen) -> None:
    info = _info(scope)
    if info is not None:
        creds, method, params = info.creds, info.method, info.params
    else:
        creds, method, params = _from_path(rest_path(scope))
    kind, user_id, token_hash = _caller(creds)
    state.controls.journal.record(
        time=at,
        kind=kind,
        user_id=user_id,
        method=method,
        params=params,
        status=None if seen.dropped else seen.status,
        error=seen.error_code(),
        duration_ms=duration_ms,
        fault=info.fault if info else None,
        token_hash=token_hash,
    )


def _from_path(path: str) -> tuple[Credentials, str, Any]:
    """Best effort for calls that failed before their parameters were read."""
    try:
        creds, method = parse_rest_path(path)
    except B24Error:
        return Credentials(), path.rsplit("/", 1)[-1], None
    return creds or Credentials(), method, None


def _caller(creds: Credentials) -> tuple[str, int | None, str | None]:
    if creds.is_webhook:
        user = creds.webhook_user or ""
        return "webhook", int(user) if user.isdecimal() else None, None
    if creds.token:
        return "oauth", None, hash_secret(creds.token)
    return "none", None, None
