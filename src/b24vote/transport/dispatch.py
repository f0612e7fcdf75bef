"""Run one REST call: find the method, authenticate, check the scope, run it in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from b24vote.errors import ErrorCode, PlatformError
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext, Caller, Method, Registry
from b24vote.transport.auth import Credentials, authenticate

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["Outcome", "check_scope", "execute", "find_method"]


@dataclass(slots=True)
class Outcome:
    """A method's value plus what the envelope needs to know about the call."""

    value: Any
    method: Method
    caller: Caller
    processing: float
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def find_method(registry: Registry, name: str) -> Method:
    method = registry.get(name)
    if method is None:
        raise PlatformError(ErrorCode.ERROR_METHOD_NOT_FOUND)
    return method


def check_scope(method: Method, caller: Caller) -> None:
    if method.scope is not None and method.scope not in caller.scopes:
        raise PlatformError(ErrorCode.INSUFFICIENT_SCOPE)


def execute(
    state: AppState, creds: Credentials, name: str, params: dict[str, Any], now: datetime | None = None
) -> Outcome:
    """Blocking: run in a worker thread. Raises B24Error for anything answered as an error."""
    # The real REST server looks the method up before it checks the credentials.
    method = find_method(state.registry, name)
    transaction = state.db.write if method.write else state.db.read
    with transaction() as conn:
        caller = authenticate(conn, creds)
        check_scope(method, caller)
        ctx = CallContext(
            conn=conn,
            caller=caller,
            now=now or state.clock.now(),
            settings=state.settings,
            secret_key=state.secret_key,
            tz=state.settings.timezone,
            open_read=state.db.read,
        )
        started = state.clock.monotonic()
        value = method.handler(ctx, Params(params))
        processing = state.clock.monotonic() - started
    return Outcome(value=value, method=method, caller=caller, processing=processing, events=ctx.events)
