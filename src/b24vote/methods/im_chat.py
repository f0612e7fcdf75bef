"""Chats and messages (scope ``im``): im.chat.add, im.chat.get, im.chat.user.add/delete/list, im.message.delete.

Parameter names are case-insensitive here, as in the im module's REST service.
"""

from __future__ import annotations

from typing import Any

from b24vote.errors import MethodError
from b24vote.methods.params import Params, php_int
from b24vote.methods.registry import CallContext, registry
from b24vote.methods.vote_removal import delete_polls_of_message
from b24vote.storage import people

__all__: list[str] = []

_COLORS = {
    "RED",
    "GREEN",
    "MINT",
    "LIGHT_BLUE",
    "DARK_BLUE",
    "PURPLE",
    "AQUA",
    "PINK",
    "LIME",
    "BROWN",
    "AZURE",
    "KHAKI",
    "SAND",
    "MARENGO",
    "GRAY",
    "GRAPHITE",
}


def _chat_id(params: Params) -> int:
    chat_id = params.integer("CHAT_ID", any_case=True)
    if chat_id <= 0:
        raise MethodError("CHAT_ID_EMPTY", "Chat ID can't be empty")
    return chat_id


def _user_ids(params: Params) -> list[int]:
    ids: list[int] = []
    for value in params.array("USERS", any_case=True):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            raise MethodError("INVALID_FORMAT", "Parameter USERS has wrong type")
        uid = php_int(value)
        if uid > 0:
            ids.append(uid)
    return ids


@registry.add("im.chat.add", scope="im", write=True)
def chat_add(ctx: CallContext, params: Params) -> int:
    raw_users = params.raw("USERS", any_case=True)
    if raw_users is not None and not isinstance(raw_users, (list, dict)):
        raise MethodError("USERS_EMPTY", "Please select users before creating a new chat")
    invited = [uid for uid in _user_ids(params) if people.get_user(ctx.conn, uid) is not None]
    owner = ctx.caller.user_id
    requested_owner = params.integer("OWNER_ID", any_case=True)
    if requested_owner > 0 and requested_owner in invited:
        owner = requested_owner
    members = [ctx.caller.user_id, *invited]
    title = params.string("TITLE", any_case=True).strip() or _default_title(ctx, members)
    color = params.string("COLOR", any_case=True).upper()
    chat_type = "O" if params.string("TYPE", any_case=True).upper() == "OPEN" else "C"
    chat_id = people.add_chat(
        ctx.conn,
        ctx.now,
        title=title[:255],
        owner_id=owner,
        type_=chat_type,
        description=params.string("DESCRIPTION", any_case=True),
        color=color if color in _COLORS else "",
        entity_type=params.string("ENTITY_TYPE", any_case=True) or None,
        entity_id=params.string("ENTITY_ID", any_case=True) or None,
    )
    people.add_members(ctx.conn, ctx.now, chat_id, members)
    first = params.string("MESSAGE", any_case=True).strip()
    if first:
        people.add_message(ctx.conn, ctx.now, chat_id=chat_id, author_id=ctx.caller.user_id, message=first)
    return chat_id


def _default_title(ctx: CallContext, member_ids: list[int]) -> str:
    names = []
    for uid in dict.fromkeys(member_ids):
        user = people.get_user(ctx.conn, uid)
        if user is not None:
            names.append(user.full_name)
    return "Chat with " + ", ".join(names)


@registry.add("im.chat.get", scope="im")
def chat_get(ctx: CallContext, params: Params) -> dict[str, Any] | None:
    entity_type = params.string("ENTITY_TYPE", any_case=True)
    entity_id = params.string("ENTITY_ID", any_case=True)
    if not entity_type or not entity_id:
        return None
    chat = people.find_chat_by_entity(ctx.conn, entity_type, entity_id)
    return {"ID": chat.id} if chat else None


@registry.add("im.chat.user.add", scope="im", write=True)
def chat_user_add(ctx: CallContext, params: Params) -> bool:
    chat_id = _chat_id(params)
    chat = people.get_chat(ctx.conn, chat_id)
    ids = [uid for uid in _user_ids(params) if people.get_user(ctx.conn, uid) is not None]
    if chat is None or not people.is_member(ctx.conn, chat_id, ctx.caller.user_id) or not ids:
        raise MethodError("WRONG_REQUEST", "You don't have access or user already member in chat")
    if not people.add_members(ctx.conn, ctx.now, chat_id, ids):
        raise MethodError("WRONG_REQUEST", "You don't have access or user already member in chat")
    return True


@registry.add("im.chat.user.delete", scope="im", write=True)
def chat_user_delete(ctx: CallContext, params: Params) -> bool:
    chat_id = _chat_id(params)
    user_id = params.integer("USER_ID", any_case=True)
    if user_id <= 0:
        raise MethodError("USER_ID_EMPTY", "User ID can't be empty")
    chat = people.get_chat(ctx.conn, chat_id)
    caller = ctx.caller.user_id
    allowed = (
        chat is not None
        and people.is_member(ctx.conn, chat_id, caller)
        and (user_id == caller or chat.owner_id == caller)
    )
    if not allowed or not people.remove_member(ctx.conn, chat_id, user_id):
        raise MethodError("WRONG_REQUEST", "You don't have access or user isn't member in chat")
    if chat is not None and chat.owner_id == user_id:
        remaining = people.chat_member_ids(ctx.conn, chat_id)
        if remaining:  # ownership passes to the longest-standing member, as when an owner leaves in the UI
            people.set_chat_owner(ctx.conn, chat_id, remaining[0])
    return True


@registry.add("im.chat.user.list", scope="im")
def chat_user_list(ctx: CallContext, params: Params) -> list[int]:
    chat_id = _chat_id(params)
    if not people.is_member(ctx.conn, chat_id, ctx.caller.user_id):
        return []  # no access and no such chat look the same: an empty list, no error
    return people.chat_member_ids(ctx.conn, chat_id)


@registry.add("im.message.delete", scope="im", write=True)
def message_delete(ctx: CallContext, params: Params) -> bool:
    """Delete a chat message and the poll it holds (bitrix24-docs-en/chats/im-message-delete.md)."""
    # The error texts are the im module's own, in English on every portal.
    raw = params.raw("MESSAGE_ID", any_case=True)
    message_id = php_int(raw if raw is not None else params.raw("ID", any_case=True))
    if message_id <= 0:
        raise MethodError("MESSAGE_ID_ERROR", "Message ID can't be empty")
    message = people.get_message(ctx.conn, message_id)
    caller = ctx.caller.user_id
    user = people.get_user(ctx.conn, caller)
    allowed = message is not None and (
        (message.author_id == caller and people.is_member(ctx.conn, message.chat_id, caller))
        or (user is not None and user.is_admin)
    )
    if not allowed:
        raise MethodError("CANT_EDIT_MESSAGE", "Time has expired for modification or you don't have access", 403)
    for event in delete_polls_of_message(ctx.conn, message_id):
        ctx.emit(event)
    people.delete_message(ctx.conn, message_id)
    return True
