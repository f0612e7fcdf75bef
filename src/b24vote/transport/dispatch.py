"""Run one REST call: find the method, authenticate, check the scope, run it in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from b24vote.errors import ErrorCode, PlatformError
from b24vote.limits.operating import OperatingState
from b24vote.live import LiveEvent
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext, Caller, Method, Registry
from b24vote.transport.auth import Credentials, authenticate

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["SIGNED_READER", "Outcome", "call_context", "check_scope", "execute", "execute_async", "find_method"]


@dataclass(slots=True)
class Outcome:
    """A method's value plus what the envelope needs to know about the call."""

    value: Any
    method: Method
    caller: Caller
    processing: float
    events: list[LiveEvent] = field(default_factory=list)
    operating: OperatingState | None = None


def find_method(registry: Registry, name: str) -> Method:
    method = registry.get(name)
    if method is None:
        raise PlatformError(ErrorCode.ERROR_METHOD_NOT_FOUND)
    return method


# Someone holding a result-page link or a downloadUrl: no user, and reading only through the signed id.
SIGNED_READER = Caller(user_id=0, scopes=frozenset({"vote"}), kind="signed", credential_id=0)


def call_context(state: AppState, conn: Connection, caller: Caller, now: datetime) -> CallContext:
    """What a method handler gets, for a caller inside ``conn``'s transaction."""
    return CallContext(
        conn=conn,
        caller=caller,
        now=now,
        settings=state.settings,
        secret_key=state.secret_key,
        tz=state.settings.timezone,
        open_read=state.db.read,
    )


def check_scope(method: Method, caller: Caller) -> None:
    if method.scope is not None and method.scope not in caller.scopes:
        if caller.kind == "oauth":
            raise PlatformError(
                ErrorCode.INSUFFICIENT_SCOPE,
                "The request requires higher privileges than provided by the access token",
            )
        raise PlatformError(ErrorCode.INSUFFICIENT_SCOPE)


def _prepare(state: AppState, name: str, in_batch: bool) -> Method:
    # The real REST server looks the method up before it checks the credentials.
    method = find_method(state.registry, name)
    if in_batch and not method.batchable:
        raise PlatformError(ErrorCode.ERROR_BATCH_METHOD_NOT_ALLOWED)
    return method


def _run(
    state: AppState,
    conn: Connection,
    method: Method,
    creds: Credentials,
    params: dict[str, Any],
    now: datetime,
    in_batch: bool,
) -> Outcome:
    """The call inside its transaction: authenticate, the limits, the scope, the handler."""
    stamp = now.timestamp()
    caller = authenticate(conn, creds, now)
    method_key = method.name.lower()
    entry = state.limits.enter(caller.limit_key, method_key, stamp, counted=not in_batch)
    if not entry.admitted:
        raise PlatformError(ErrorCode.QUERY_LIMIT_EXCEEDED)
    check_scope(method, caller)
    if entry.blocked:
        raise PlatformError(ErrorCode.OPERATION_TIME_LIMIT)
    ctx = call_context(state, conn, caller, now)
    started = state.clock.monotonic()
    try:
        value = method.handler(ctx, Params(params))
    finally:
        # A call that fails still spent its time (limits.md counts every executed call).
        processing = state.clock.monotonic() - started
        operating = state.limits.record(caller.limit_key, method_key, processing, stamp, entry)
    return Outcome(
        value=value,
        method=method,
        caller=caller,
        processing=processing,
        events=ctx.events,
        operating=operating,
    )


def execute(
    state: AppState,
    creds: Credentials,
    name: str,
    params: dict[str, Any],
    now: datetime | None = None,
    *,
    in_batch: bool = False,
    kept: bool = False,
) -> Outcome:
    """Blocking: run in a worker thread. Raises B24Error for anything answered as an error.

    ``in_batch``: a command of ``batch``, which took the request's place in the leaky bucket already.
    ``kept``: a read runs on this thread's kept connection (the event loop's, see ``Database.read_kept``).
    """
    method = _prepare(state, name, in_batch)
    transaction = state.db.write if method.write else state.db.read_kept if kept else state.db.read
    with transaction() as conn:
        return _run(state, conn, method, creds, params, now or state.clock.now(), in_batch)


async def execute_async(
    state: AppState, creds: Credentials, name: str, params: dict[str, Any], now: datetime | None = None
) -> Outcome:
    """:func:`execute` on the asyncio driver (PostgreSQL): the same code, with no worker thread."""
    method = _prepare(state, name, False)
    when = now or state.clock.now()
    return await state.db.run(lambda conn: _run(state, conn, method, creds, params, when, False), write=method.write)
