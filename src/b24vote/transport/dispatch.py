"""Run one call: the one place that decides where it runs, then find, authenticate, limit, check scope, handle.

Every call comes through :func:`execute`: a REST call, each command of ``batch`` and the report download
link. Where its transaction runs is decided once, in :func:`in_transaction`: SQLite reads inline on the
event loop's kept connection, SQLite writes on the group-commit writer, PostgreSQL on the asyncio driver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.util import await_only

from b24vote.errors import ErrorCode, MethodError, PlatformError
from b24vote.events.poll import queue_poll_events
from b24vote.limits.limiter import Entry
from b24vote.limits.operating import OperatingState
from b24vote.live import LiveEvent
from b24vote.methods.events import cause_of
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext, Caller, Method, Registry
from b24vote.methods.vote_access import named_attach
from b24vote.storage import reads
from b24vote.storage.ahead import Who, read_ahead
from b24vote.storage.raw import read_discarded, remembering
from b24vote.transport.auth import Credentials, authenticate, token_hash, webhook_user_id

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = [
    "SIGNED_READER",
    "Outcome",
    "admit_request",
    "call_context",
    "check_scope",
    "execute",
    "find_method",
    "in_transaction",
    "split_connector",
]

T = TypeVar("T")


@dataclass(slots=True)
class Outcome:
    """A method's value plus what the envelope needs to know about the call."""

    value: Any
    method: Method
    caller: Caller
    processing: float
    events: list[LiveEvent] = field(default_factory=list)
    operating: OperatingState | None = None
    queued: int = 0  # event deliveries the call queued


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


async def in_transaction(
    state: AppState, work: Callable[[Connection], T], *, write: bool, one_statement: bool = False
) -> T:
    """``work`` in one transaction, where a call of its kind runs: the only place that decides it.

    SQLite reads run inline on the event loop's kept connection (WAL readers never wait for a lock, and a
    thread hop costs more than the query), with no statement at all when the read model serves them and
    nothing committed since (``Database.read_inline``: ``work`` may then run twice); SQLite writes on the
    group-commit writer; PostgreSQL on psycopg's asyncio driver (``Database.run``), where a write whose changes
    are one statement (``one_statement``) runs in autocommit: that statement is atomic on its own, and the row
    locks it takes (a poll's counters, which every vote on the poll needs) are released when it ends instead of
    after a COMMIT the process sends once it gets round to it.
    """
    if not write and state.db.async_engine is None:
        return state.db.read_inline(work)
    return await state.db.run(work, write=write, autocommit=one_statement)


@dataclass(frozen=True, slots=True)
class Admitted:
    """Who is calling and what the limits said of the call; no entry for a caller they do not count."""

    caller: Caller
    entry: Entry | None


async def _admission(state: AppState, creds: Credentials, name: str, now: datetime, counted: bool) -> Admitted:
    """Authenticate in a short read of its own, then await the limits' check (before the call's transaction)."""
    caller = await in_transaction(state, lambda conn: authenticate(conn, creds, now), write=False)
    entry = await state.limits.enter_async(caller.limit_key, name, now.timestamp(), counted=counted)
    return Admitted(caller, entry)


async def admit_request(state: AppState, creds: Credentials, name: str, now: datetime) -> Caller:
    """A request that is no call of its own (``batch``): its caller, taken from the leaky bucket, or an error."""
    admitted = await _admission(state, creds, name.lower(), now, True)
    if admitted.entry is not None and not admitted.entry.admitted:
        raise PlatformError(ErrorCode.QUERY_LIMIT_EXCEEDED)
    return admitted.caller


@dataclass(frozen=True, slots=True)
class _Ahead:
    """What a call on PostgreSQL reads before it runs, in one statement (:mod:`b24vote.storage.ahead`)."""

    who: Who
    named: reads.Named | None
    ballot: bool


def _ahead(
    state: AppState, method: Method, creds: Credentials, params: dict[str, Any], ready: Admitted | None
) -> _Ahead | None:
    """The reads a PostgreSQL call can make ahead, or None. SQLite's read model serves them without this."""
    if not method.ahead or state.db.async_engine is None:
        return None
    if ready is not None:
        who = Who(viewer=ready.caller.user_id)
    elif creds.is_webhook:
        user = webhook_user_id(creds)
        if user is None:  # answered NO_AUTH_FOUND before anything is read
            return None
        who = Who(webhook_user=user)
    else:
        hashed = token_hash(creds)
        if hashed is None:
            return None
        who = Who(token_hash=hashed)
    try:
        named, _ = named_attach(Params(params), state.secret_key)
    except MethodError:  # the method answers it, after the checks that come before it
        named = None
    return _Ahead(who, named, method.ahead == "poll+ballot")


@dataclass(slots=True)
class _Call:
    """One call about to run in its transaction (:meth:`run`)."""

    state: AppState
    method: Method
    params: dict[str, Any]
    now: datetime
    creds: Credentials
    counted: bool  # False for a command of batch, which took the request's place in the leaky bucket
    ready: Admitted | None  # known before the transaction: checked already, or a caller the limits skip
    awaiting: bool  # the limits' check is awaited from inside the transaction (PostgreSQL's greenlet)
    connector: str = ""  # auth_connector (see :func:`split_connector`)
    ahead: _Ahead | None = None

    def run(self, conn: Connection) -> Outcome:
        """The call inside its transaction: its reads ahead (PostgreSQL), then :meth:`_run`."""
        plan = self.ahead
        if plan is None:
            return self._run(conn)
        memo = read_ahead(conn, who=plan.who, named=plan.named, ballot=plan.ballot)
        with remembering(conn, memo):
            return self._run(conn)

    def _run(self, conn: Connection) -> Outcome:
        """Authenticate and the limits, the scope, the handler."""
        state, method = self.state, self.method
        # Kept for a second run of a read (Database.read_inline): the call was counted by the limits once.
        admitted = self.ready = self.ready or self._admit(conn)
        caller, entry = admitted.caller, admitted.entry
        if entry is not None and not entry.admitted:
            raise PlatformError(ErrorCode.QUERY_LIMIT_EXCEEDED)
        check_scope(method, caller)
        if entry is not None and entry.blocked:
            raise PlatformError(ErrorCode.OPERATION_TIME_LIMIT)
        ctx = call_context(state, conn, caller, self.now)
        ctx.auth_connector = self.connector
        started = state.clock.monotonic()
        try:
            value = method.handler(ctx, Params(self.params))
            if ctx.events and state.settings.poll_events:  # the b24vote extension, off by default
                ctx.queued += queue_poll_events(ctx.conn, cause_of(ctx), method.name, ctx.events)
        finally:
            # A call that fails still spent its time (limits.md counts every executed call).
            processing = state.clock.monotonic() - started
            operating = None
            if entry is not None and not read_discarded(conn):  # a discarded read runs again: counted then
                stamp = self.now.timestamp()
                operating = state.limits.record(caller.limit_key, method.name.lower(), processing, stamp, entry)
        return Outcome(value, method, caller, processing, ctx.events, operating, ctx.queued)

    def _admit(self, conn: Connection) -> Admitted:
        caller = authenticate(conn, self.creds, self.now)
        key, name, stamp, limits = caller.limit_key, self.method.name.lower(), self.now.timestamp(), self.state.limits
        if self.awaiting:
            return Admitted(caller, await_only(limits.enter_async(key, name, stamp, counted=self.counted)))
        return Admitted(caller, limits.enter(key, name, stamp, counted=self.counted))


def split_connector(creds: Credentials, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``auth_connector`` is part of an OAuth call's authorisation, not a parameter of its method: the rest module's
    OAuth check takes it out of the query (an incoming webhook's stays a parameter, and means nothing)."""
    if creds.is_webhook or "auth_connector" not in params:
        return "", params
    rest = dict(params)
    value = rest.pop("auth_connector")
    return ("" if value is None or isinstance(value, (dict, list)) else str(value).strip()[:255]), rest


def _prepare(state: AppState, name: str, in_batch: bool) -> Method:
    # The real REST server looks the method up before it checks the credentials.
    method = find_method(state.registry, name)
    if in_batch and not method.batchable:
        raise PlatformError(ErrorCode.ERROR_BATCH_METHOD_NOT_ALLOWED)
    return method


async def execute(
    state: AppState,
    creds: Credentials,
    name: str,
    params: dict[str, Any],
    now: datetime | None = None,
    *,
    in_batch: bool = False,
    caller: Caller | None = None,
) -> Outcome:
    """Run a call in one transaction (see :func:`in_transaction`). Raises B24Error for anything answered as an error.

    ``in_batch``: a command of ``batch``, which took the request's place in the leaky bucket already.
    ``caller``: someone known already (a signed link): neither authenticated nor counted by the limits.
    With the limits in Redis the check is awaited, so that the event loop serves other calls during the round
    trip: on PostgreSQL from inside the call's transaction (the driver's greenlet), on SQLite between a short
    authenticating read and the call's transaction.
    """
    method = _prepare(state, name, in_batch)
    when = now or state.clock.now()
    ready = None if caller is None else Admitted(caller, None)
    postgres = state.db.async_engine is not None
    awaits = ready is None and state.limits.awaits
    if awaits and not postgres:
        ready = await _admission(state, creds, method.name.lower(), when, not in_batch)
    connector, params = split_connector(creds, params)
    ahead = _ahead(state, method, creds, params, ready)
    call = _Call(state, method, params, when, creds, not in_batch, ready, awaits and postgres, connector, ahead)
    # The poll-event extension writes its deliveries next to the vote: then the vote needs its transaction.
    one_statement = method.one_statement and not state.settings.poll_events
    outcome = await in_transaction(state, call.run, write=method.write, one_statement=one_statement)
    if outcome.queued:  # committed: the deliveries can be sent
        state.sender.wake()
    return outcome
