"""Run one REST call: find the method, authenticate, check the scope, run it in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.util import await_only

from b24vote.errors import ErrorCode, PlatformError
from b24vote.limits.limiter import Entry
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


@dataclass(frozen=True, slots=True)
class Admitted:
    """Who is calling and what the limits said of the call (:func:`_run` raises their errors)."""

    caller: Caller
    entry: Entry


Admit = Callable[[Connection], Admitted]


def _run(
    state: AppState,
    conn: Connection,
    method: Method,
    params: dict[str, Any],
    now: datetime,
    admit: Admit,
) -> Outcome:
    """The call inside its transaction: authenticate and the limits (``admit``), the scope, the handler."""
    stamp = now.timestamp()
    method_key = method.name.lower()
    caller, entry = (admitted := admit(conn)).caller, admitted.entry
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


def _checked(
    state: AppState, method: Method, creds: Credentials, now: datetime, in_batch: bool, *, awaiting: bool = False
) -> Admit:
    """Authenticate and check the limits inside the call's transaction. The store answers synchronously, or with
    ``awaiting`` (PostgreSQL with an asyncio limit store) the greenlet the driver runs the call in awaits its
    answer while the event loop goes on."""

    def admit(conn: Connection) -> Admitted:
        caller = authenticate(conn, creds, now)
        key, name, stamp = caller.limit_key, method.name.lower(), now.timestamp()
        if awaiting:
            return Admitted(caller, await_only(state.limits.enter_async(key, name, stamp)))
        return Admitted(caller, state.limits.enter(key, name, stamp, counted=not in_batch))

    return admit


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
    when = now or state.clock.now()
    transaction = state.db.write if method.write else state.db.read_kept if kept else state.db.read
    with transaction() as conn:
        return _run(state, conn, method, params, when, _checked(state, method, creds, when, in_batch))


async def execute_async(
    state: AppState, creds: Credentials, name: str, params: dict[str, Any], now: datetime | None = None
) -> Outcome:
    """:func:`execute` without blocking the event loop: PostgreSQL on its asyncio driver, SQLite writes on the
    group-commit writer, and SQLite reads inline when the limits' check has to be awaited (Redis).

    With a Redis limit store the event loop serves other calls while the check travels: on PostgreSQL the
    call's own transaction awaits it in place (the driver already runs the call in a greenlet); on SQLite the
    caller is authenticated in a short read of its own and the check awaited before the call's transaction,
    which may run in another thread or share the loop's kept connection with other calls.
    """
    method = _prepare(state, name, False)
    when = now or state.clock.now()
    postgres = state.db.async_engine is not None
    admit = _checked(state, method, creds, when, False, awaiting=postgres and state.limits.awaits)
    if state.limits.awaits and not postgres:
        with state.db.read_kept() as conn:
            caller = authenticate(conn, creds, when)
        entry = await state.limits.enter_async(caller.limit_key, method.name.lower(), when.timestamp())
        admitted = Admitted(caller, entry)
        admit = lambda _conn: admitted  # noqa: E731 - the answer is known before the transaction
    if not postgres and not method.write:
        with state.db.read_kept() as conn:
            return _run(state, conn, method, params, when, admit)
    return await state.db.run(lambda conn: _run(state, conn, method, params, when, admit), write=method.write)
