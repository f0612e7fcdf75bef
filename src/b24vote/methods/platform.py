"""Basic platform methods (server.time, scope, methods, method.get) and users (user.current, user.get)."""

from __future__ import annotations

from typing import Any

from b24vote.clock import iso
from b24vote.domain.people import KNOWN_SCOPES, User
from b24vote.methods.params import Params, php_int, to_list
from b24vote.methods.registry import CallContext, Page, registry
from b24vote.storage import people

__all__ = ["user_fields"]

LIST_LIMIT = 50  # Bitrix24 pages list methods by 50 (platform/list-methods-pecularities.md)


@registry.add("server.time", scope=None)
def server_time(ctx: CallContext, params: Params) -> str:
    return iso(ctx.now, ctx.tz)


@registry.add("scope", scope=None)
def scope(ctx: CallContext, params: Params) -> list[str]:
    if params.boolean("full"):
        return list(KNOWN_SCOPES)
    return sorted(ctx.caller.scopes)


@registry.add("methods", scope=None)
def methods(ctx: CallContext, params: Params) -> list[str]:
    basic = [m.name.lower() for m in registry if m.scope is None]
    if "scope" in params:
        wanted = params.string("scope").lower()
        if not wanted:
            return basic
        return [m.name.lower() for m in registry if m.scope == wanted]
    if params.boolean("full"):
        return [m.name.lower() for m in registry]
    return [m.name.lower() for m in registry if m.scope is None or m.scope in ctx.caller.scopes]


@registry.add("method.get", scope=None)
def method_get(ctx: CallContext, params: Params) -> dict[str, bool]:
    # The name is compared with the lower-case method names as given: "User.Get" does not exist.
    name = params.string("name")
    found = next((m for m in registry if m.name.lower() == name), None)
    available = found is not None and (found.scope is None or found.scope in ctx.caller.scopes)
    return {"isExisting": found is not None, "isAvailable": available}


def user_fields(user: User, ctx: CallContext) -> dict[str, Any]:
    """A user as user.get shows it with the ``user`` scope; fields without a value are left out."""
    fields: dict[str, Any] = {
        "ID": str(user.id),
        "XML_ID": "",
        "ACTIVE": user.active,
        "NAME": user.name,
        "LAST_NAME": user.last_name,
        "SECOND_NAME": user.second_name,
        "EMAIL": user.email,
        "DATE_REGISTER": iso(user.date_register, ctx.tz),
        "IS_ONLINE": "N",
        "TIME_ZONE": "",
        "PERSONAL_GENDER": "",
        "PERSONAL_PHOTO": user.personal_photo,
        "WORK_POSITION": user.work_position,
        "UF_DEPARTMENT": [1],
        "USER_TYPE": "employee",
    }
    return {k: v for k, v in fields.items() if v is not None}


@registry.add("user.current", scope="user")
def user_current(ctx: CallContext, params: Params) -> dict[str, Any]:
    user = people.get_user(ctx.conn, ctx.caller.user_id)
    if user is None:  # the credential's user was deleted inside this transaction's snapshot
        return {}
    return user_fields(user, ctx)


_TEXT_FILTERS = {"NAME": "name", "LAST_NAME": "last_name", "EMAIL": "email", "WORK_POSITION": "work_position"}
_SORTABLE = {"ID": "id", "NAME": "name", "LAST_NAME": "last_name", "EMAIL": "email"}


def _user_filter(params: Params) -> dict[str, Any]:
    """Filter keys may sit inside FILTER or at the top level; FILTER, when given, replaces the rest."""
    source = params.mapping("FILTER", any_case=True) if params.has("FILTER", any_case=True) else params.data
    return {
        key.upper().lstrip("="): value
        for key, value in source.items()
        if key.upper().lstrip("=") in {"ID", "ACTIVE", *_TEXT_FILTERS}
    }


def _active(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().upper() in ("Y", "TRUE", "1")


@registry.add("user.get", scope="user")
def user_get(ctx: CallContext, params: Params) -> Page | list[Any]:
    flt = _user_filter(params)
    start = max(params.integer("start"), 0)
    found, total = people.find_users(
        ctx.conn,
        ids=[php_int(v) for v in to_list(flt["ID"])] if "ID" in flt else None,
        active=_active(flt["ACTIVE"]) if "ACTIVE" in flt else None,
        equals={_TEXT_FILTERS[k]: str(v) for k, v in flt.items() if k in _TEXT_FILTERS},
        order_by=_SORTABLE.get(params.string("sort", any_case=True).upper(), "id"),
        descending=params.string("order", any_case=True).upper() == "DESC",
        offset=start,
        limit=LIST_LIMIT,
    )
    if total == 0:
        return []  # the real server skips the navigation data when nothing matched
    after = start + len(found)
    return Page([user_fields(u, ctx) for u in found], total=total, next=after if after < total else None)
