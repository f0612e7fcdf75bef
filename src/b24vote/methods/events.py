"""event.bind, event.unbind, event.get, events, event.test (../shared/reference/bitrix24-docs-en/events/).

Every one works in an application's context only: an incoming webhook gets ``WRONG_AUTH_TYPE`` (403), as
placement.bind and event.get do on a portal. A user who is not an administrator binds, lists and unbinds only
their own online handlers; offline handlers are the administrators' (events/index.md, "Access Permissions").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from b24vote.domain.events import ONAPPTEST, ONOFFLINEEVENT, Handler, available_events, is_handler_url, is_known
from b24vote.errors import ErrorCode, MethodError, PlatformError
from b24vote.events.queue import Cause, queue_event
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext, registry
from b24vote.storage import events as handlers
from b24vote.storage import people

__all__ = ["app_of", "cause_of", "require_admin"]


def cause_of(ctx: CallContext) -> Cause:
    """The event's cause: this call, its user, the portal's address, and the calling application with the call's
    ``auth_connector`` (its own change stays out of its offline queue of that key: events/queue.py)."""
    app_id = ctx.caller.credential_id if ctx.caller.kind == "oauth" else None
    return Cause(ctx.now, ctx.caller.user_id or None, ctx.settings.public_url, app_id, ctx.auth_connector)


def app_of(ctx: CallContext) -> int:
    """The calling application's id; any other kind of caller is refused."""
    if ctx.caller.kind != "oauth":
        raise MethodError("WRONG_AUTH_TYPE", "Application context required", 403)
    return ctx.caller.credential_id


def _is_admin(ctx: CallContext) -> bool:
    user = people.get_user(ctx.conn, ctx.caller.user_id)
    return user is not None and user.is_admin


def require_admin(ctx: CallContext) -> int:
    """The calling application's id, when its user administers the portal (offline queue methods)."""
    app_id = app_of(ctx)
    if not _is_admin(ctx):
        raise PlatformError(ErrorCode.ACCESS_DENIED, "Access denied!")
    return app_id


def _event_name(ctx: CallContext, params: Params) -> str:
    name = params.string("event", any_case=True).strip().upper()
    if not is_known(name, ctx.settings.poll_events):
        raise MethodError("ERROR_EVENT_NOT_FOUND", "Event not found")
    return name


def _handler_url(params: Params) -> str:
    url = params.string("handler", any_case=True).strip()
    if not url:
        raise PlatformError(ErrorCode.ERROR_ARGUMENT, "Argument 'HANDLER' is null or empty")
    if not is_handler_url(url):
        raise PlatformError(ErrorCode.ERROR_ARGUMENT, "Argument 'HANDLER' must be an http or https URL")
    return url


def _offline(params: Params) -> bool:
    return params.string("event_type", any_case=True).strip().lower() == "offline"


def _auth_type(ctx: CallContext, params: Params, admin: bool) -> int | None:
    """``auth_type`` as given (None when absent); a user who is not an administrator may name only themselves."""
    if not params.has("auth_type", any_case=True):
        return None
    wanted = max(params.integer("auth_type", any_case=True), 0)
    if not admin and wanted not in (0, ctx.caller.user_id):
        raise PlatformError(ErrorCode.ACCESS_DENIED, "Access denied!")
    return wanted


def _min_timeout(params: Params) -> int:
    options = params.mapping("options", any_case=True)
    raw = options.get("minTimeout", 1)
    return max(Params({"t": raw}).integer("t", 1), 0)


@dataclass(frozen=True, slots=True)
class _Target:
    """What event.bind and event.unbind name: the application, the event, online URL or offline, ``auth_type``."""

    app_id: int
    admin: bool
    event: str
    offline: bool
    url: str
    auth_type: int | None


def _target(ctx: CallContext, params: Params) -> _Target:
    app_id, admin = app_of(ctx), _is_admin(ctx)
    event, offline = _event_name(ctx, params), _offline(params)
    if offline and not admin:
        raise PlatformError(ErrorCode.ACCESS_DENIED, "Access denied!")
    url = "" if offline else _handler_url(params)
    return _Target(app_id, admin, event, offline, url, _auth_type(ctx, params, admin))


@registry.add("event.bind", scope=None, write=True)
def event_bind(ctx: CallContext, params: Params) -> bool:
    t = _target(ctx, params)
    auth_type = t.auth_type
    if auth_type is None:
        auth_type = 0 if t.admin else ctx.caller.user_id  # a user's handlers act as that user
    connector = ctx.auth_connector
    handlers.app_token(ctx.conn, ctx.now, t.app_id)
    min_timeout = _min_timeout(params) if t.event == ONOFFLINEEVENT else 1
    owner = ctx.caller.user_id
    handler = Handler(0, t.app_id, t.event, t.url, auth_type, owner, t.offline, connector, min_timeout, None)
    if handlers.bind(ctx.conn, ctx.now, handler) is None:
        raise MethodError("ERROR_HANDLER_ALREADY_EXIST", "Handler already exists!")
    return True


@registry.add("event.unbind", scope=None, write=True)
def event_unbind(ctx: CallContext, params: Params) -> dict[str, int]:
    t = _target(ctx, params)
    owner = None if t.admin else ctx.caller.user_id
    connector = ctx.auth_connector if t.offline else None  # an offline handler is the one of the call's key
    count = handlers.unbind(ctx.conn, t.app_id, t.event, t.url, t.auth_type, t.offline, owner, connector)
    return {"count": count}


@registry.add("event.get", scope=None)
def event_get(ctx: CallContext, params: Params) -> list[dict[str, Any]]:
    app_id = app_of(ctx)
    owner = None if _is_admin(ctx) else ctx.caller.user_id
    return [
        {"event": h.event, "connector_id": h.auth_connector, "offline": 1}
        if h.offline
        else {"event": h.event, "handler": h.url, "auth_type": str(h.auth_type), "offline": 0}
        for h in handlers.handlers_of(ctx.conn, app_id, owner)
    ]


@registry.add("events", scope=None)
def events(ctx: CallContext, params: Params) -> list[str]:
    app_of(ctx)
    known = available_events(ctx.settings.poll_events)
    if params.has("SCOPE", any_case=True):
        wanted = params.string("SCOPE", any_case=True).strip().lower()
        return [e.name for e in known if (e.scope or "basic") == wanted]
    if params.boolean("FULL", any_case=True):
        return [e.name for e in known]
    return [e.name for e in known if e.scope is None or e.scope in ctx.caller.scopes]


@registry.add("event.test", scope=None, write=True)
def event_test(ctx: CallContext, params: Params) -> int:
    """ONAPPTEST to the calling application's handlers, with the call's parameters as ``data[QUERY]``."""
    app_id = app_of(ctx)
    ctx.queued += queue_event(ctx.conn, cause_of(ctx), ONAPPTEST, {"QUERY": params.data}, app_id=app_id)
    return 1
