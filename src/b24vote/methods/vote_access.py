"""Naming a poll (attachId, entity triple, signedAttachId) and who may read or edit it.

Follows ../shared/reference/notes/vote-semantics.md §1: the three parameter sets are tried in order; a
missing attach is ATTACH_NOT_FOUND; a reader without access gets the codeless "Attach read access denied".
"""

from __future__ import annotations

from typing import Any

from b24vote.domain.polls import AttachedPoll
from b24vote.domain.signing import unsign_attach
from b24vote.errors import MethodError
from b24vote.methods import vote_texts as texts
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext
from b24vote.storage import reads

__all__ = [
    "can_edit",
    "can_read",
    "int_value",
    "named_attach",
    "require_payload",
    "resolve",
    "resolve_readable",
]


def int_value(value: Any) -> int | None:
    """What PHP's binder accepts for an ``int`` parameter: ints and integer strings."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else None  # beyond PHP's int: not an int (and not SQL's)
    if isinstance(value, float) and value.is_integer():
        return int(value) if abs(value) < 2**63 else None
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.lstrip("+-").isdecimal():
            return int_value(int(stripped))
    return None


def _string(value: Any) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != "":
        return str(value)
    return None


def named_attach(params: Params, secret_key: str) -> tuple[reads.Named | None, bool]:
    """How the parameters name a poll, and whether a signed id names it: None for a signed id that fails its check.

    Raises the binder's error when no set of parameters names one.
    """
    attach_id = int_value(params.raw("attachId"))
    if attach_id is not None:
        return reads.by_attach_id(attach_id), False
    module, entity_type = _string(params.raw("moduleId")), _string(params.raw("entityType"))
    entity_id = int_value(params.raw("entityId"))
    if module is not None and entity_type is not None and entity_id is not None:
        return reads.by_entity(module, entity_type, entity_id), False
    signed = _string(params.raw("signedAttachId"))
    if signed is not None:
        if "." in signed:
            unsigned = unsign_attach(signed, secret_key)
            return (reads.by_attach_id(unsigned) if unsigned is not None else None), True
        return reads.by_uid(signed), True
    raise MethodError(100, texts.NO_PAYLOAD)


def _find(ctx: CallContext, params: Params) -> tuple[AttachedPoll | None, bool]:
    """The named poll, if any, and whether a signed id named it."""
    named, via_signed = named_attach(params, ctx.secret_key)
    return (reads.load(ctx.conn, named, ctx.caller.user_id) if named is not None else None), via_signed


def _has_payload(params: Params) -> bool:
    if int_value(params.raw("attachId")) is not None:
        return True
    triple = (_string(params.raw("moduleId")), _string(params.raw("entityType")), int_value(params.raw("entityId")))
    return all(v is not None for v in triple) or _string(params.raw("signedAttachId")) is not None


def require_payload(params: Params) -> None:
    """The binder's check, made before the method's other parameters: one of the three sets is given."""
    if not _has_payload(params):
        raise MethodError(100, texts.NO_PAYLOAD)


def resolve(ctx: CallContext, params: Params) -> tuple[AttachedPoll, bool]:
    """The named poll and whether a signed id named it, or the binder's / ATTACH_NOT_FOUND error. No access check."""
    target, via_signed = _find(ctx, params)
    if target is None:
        raise MethodError("ATTACH_NOT_FOUND", texts.ATTACH_NOT_FOUND)
    return target, via_signed


def resolve_readable(ctx: CallContext, params: Params, *, signed_grants_read: bool) -> AttachedPoll:
    """:func:`resolve` plus the read check; a valid signed id skips it where the real server does."""
    target, via_signed = resolve(ctx, params)
    if not (signed_grants_read and via_signed) and not can_read(ctx, target):
        raise MethodError(0, texts.READ_DENIED)
    return target


def can_read(ctx: CallContext, target: AttachedPoll) -> bool:
    """Chat polls: members of the message's chat. Feed polls: every (authenticated, active) user."""
    if ctx.caller.user_id <= 0:
        return False
    if target.attach.module_id.lower() == "im":
        return target.message is not None and target.viewer_is_member
    return True


def can_edit(ctx: CallContext, target: AttachedPoll) -> bool:
    """Chat polls: the message's author while in the chat. Feed polls: whoever created the poll."""
    user_id = ctx.caller.user_id
    if target.message is not None:
        return target.message.author_id == user_id and can_read(ctx, target)
    return target.attach.created_by == user_id and can_read(ctx, target)
