"""Naming a poll (attachId, entity triple, signedAttachId) and who may read or edit it.

Follows ../shared/reference/notes/vote-semantics.md §1: the three parameter sets are tried in order; a
missing attach is ATTACH_NOT_FOUND; a reader without access gets the codeless "Attach read access denied".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from b24vote.domain.polls import IM_ENTITY_TYPE, Attach, Poll
from b24vote.domain.signing import unsign_attach
from b24vote.errors import MethodError
from b24vote.methods import vote_texts as texts
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext
from b24vote.storage import people, polls
from b24vote.storage.polls import Message

__all__ = ["Target", "can_edit", "can_read", "int_value", "require_payload", "resolve", "resolve_readable"]


@dataclass(frozen=True, slots=True)
class Target:
    """The poll a call is about."""

    attach: Attach
    poll: Poll
    message: Message | None
    via_signed: bool


def int_value(value: Any) -> int | None:
    """What PHP's binder accepts for an ``int`` parameter: ints and integer strings."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.lstrip("+-").isdigit():
            return int(stripped)
    return None


def _string(value: Any) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != "":
        return str(value)
    return None


def _find(ctx: CallContext, params: Params) -> tuple[Attach | None, bool]:
    attach_id = int_value(params.raw("attachId"))
    if attach_id is not None:
        return polls.get_attach(ctx.conn, attach_id), False
    module, entity_type = _string(params.raw("moduleId")), _string(params.raw("entityType"))
    entity_id = int_value(params.raw("entityId"))
    if module is not None and entity_type is not None and entity_id is not None:
        return polls.find_attach_by_entity(ctx.conn, module, entity_type, entity_id), False
    signed = _string(params.raw("signedAttachId"))
    if signed is not None:
        if "." in signed:
            unsigned = unsign_attach(signed, ctx.secret_key)
            return (polls.get_attach(ctx.conn, unsigned) if unsigned is not None else None), True
        return polls.find_attach_by_uid(ctx.conn, signed), True
    raise MethodError(100, texts.NO_PAYLOAD)


def _has_payload(params: Params) -> bool:
    if int_value(params.raw("attachId")) is not None:
        return True
    triple = (_string(params.raw("moduleId")), _string(params.raw("entityType")), int_value(params.raw("entityId")))
    return all(v is not None for v in triple) or _string(params.raw("signedAttachId")) is not None


def require_payload(params: Params) -> None:
    """The binder's check, made before the method's other parameters: one of the three sets is given."""
    if not _has_payload(params):
        raise MethodError(100, texts.NO_PAYLOAD)


def resolve(ctx: CallContext, params: Params) -> Target:
    """The named poll, or the binder's / ATTACH_NOT_FOUND error. No access check."""
    attach, via_signed = _find(ctx, params)
    poll = polls.load_poll(ctx.conn, attach.vote_id) if attach is not None else None
    if attach is None or poll is None:
        raise MethodError("ATTACH_NOT_FOUND", texts.ATTACH_NOT_FOUND)
    message = polls.get_message(ctx.conn, attach.entity_id) if attach.module_id.lower() == "im" else None
    return Target(attach, poll, message, via_signed)


def resolve_readable(ctx: CallContext, params: Params, *, signed_grants_read: bool) -> Target:
    """:func:`resolve` plus the read check; a valid signed id skips it where the real server does."""
    target = resolve(ctx, params)
    if not (signed_grants_read and target.via_signed) and not can_read(ctx, target):
        raise MethodError(0, texts.READ_DENIED)
    return target


def can_read(ctx: CallContext, target: Target) -> bool:
    """Chat polls: members of the message's chat. Feed polls: every active user."""
    user_id = ctx.caller.user_id
    if user_id <= 0:
        return False
    if target.attach.entity_type.lower() == IM_ENTITY_TYPE.lower() or target.attach.module_id.lower() == "im":
        return target.message is not None and people.is_member(ctx.conn, target.message.chat_id, user_id)
    user = people.get_user(ctx.conn, user_id)
    return user is not None and user.active


def can_edit(ctx: CallContext, target: Target) -> bool:
    """Chat polls: the message's author while in the chat. Feed polls: whoever created the poll."""
    user_id = ctx.caller.user_id
    if target.message is not None:
        return target.message.author_id == user_id and can_read(ctx, target)
    return target.attach.created_by == user_id and can_read(ctx, target)
