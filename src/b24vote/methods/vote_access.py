"""Naming a poll (attachId, entity triple, signedAttachId) and who may read or edit it.

Follows ../shared/reference/notes/vote-semantics.md §1: the three parameter sets are tried in order; a
missing attach is ATTACH_NOT_FOUND; a reader without access gets the codeless "Attach read access denied".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from b24vote.domain import polls as domain
from b24vote.domain.polls import Attach, Poll
from b24vote.domain.signing import unsign_attach
from b24vote.errors import MethodError
from b24vote.methods import vote_texts as texts
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext
from b24vote.storage import polls, reads
from b24vote.storage.polls import Message

__all__ = [
    "Target",
    "can_edit",
    "can_read",
    "int_value",
    "recounted",
    "require_payload",
    "resolve",
    "resolve_readable",
    "target_of",
]


@dataclass(frozen=True, slots=True)
class Target:
    """The poll a call is about, loaded for the calling user."""

    attach: Attach
    poll: Poll
    message: Message | None
    via_signed: bool
    member: bool = False  # the caller is in the message's chat (chat polls)


def target_of(loaded: reads.LoadedPoll | None, via_signed: bool) -> Target | None:
    if loaded is None:
        return None
    message = None
    if loaded.chat_id is not None and loaded.message_author is not None:
        message = Message(loaded.attach.entity_id, loaded.chat_id, loaded.message_author)
    return Target(loaded.attach, loaded.poll, message, via_signed, loaded.viewer_is_member)


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


def _find(ctx: CallContext, params: Params) -> Target | None:
    viewer = ctx.caller.user_id
    attach_id = int_value(params.raw("attachId"))
    if attach_id is not None:
        return target_of(reads.load_by_attach_id(ctx.conn, attach_id, viewer), False)
    module, entity_type = _string(params.raw("moduleId")), _string(params.raw("entityType"))
    entity_id = int_value(params.raw("entityId"))
    if module is not None and entity_type is not None and entity_id is not None:
        return target_of(reads.load_by_entity(ctx.conn, module, entity_type, entity_id, viewer), False)
    signed = _string(params.raw("signedAttachId"))
    if signed is not None:
        if "." in signed:
            unsigned = unsign_attach(signed, ctx.secret_key)
            loaded = reads.load_by_attach_id(ctx.conn, unsigned, viewer) if unsigned is not None else None
            return target_of(loaded, True)
        return target_of(reads.load_by_uid(ctx.conn, signed, viewer), True)
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
    target = _find(ctx, params)
    if target is None:
        raise MethodError("ATTACH_NOT_FOUND", texts.ATTACH_NOT_FOUND)
    return target


def recounted(ctx: CallContext, target: Target, counted: polls.Counted) -> Target:
    """The target after this call moved its counters (``polls.count``), without reading it again.

    SQLite runs one writer at a time, so what this transaction read of the poll at its start is still the poll
    but for the rows ``count`` moved and read back: the result is exact, and its questions are cached under the
    new version. On PostgreSQL another vote may commit between that read and the counter update: the moved rows
    are exact, the others may lag by such votes, so the result carries version 0 (never cached) and the next
    read takes the rows fresh. Re-reading here instead would keep the poll's counter rows locked for two more
    round trips while every other vote on the poll waits.
    """
    exact = ctx.conn.dialect.name == "sqlite"
    poll = domain.recounted(
        target.poll,
        ballots=counted.ballots,
        questions=counted.questions,
        answers=counted.answers,
        version=counted.version if exact else 0,
    )
    if exact:
        reads.remember_questions(poll.id, poll.version, poll.questions)
    return replace(target, poll=poll)


def resolve_readable(ctx: CallContext, params: Params, *, signed_grants_read: bool) -> Target:
    """:func:`resolve` plus the read check; a valid signed id skips it where the real server does."""
    target = resolve(ctx, params)
    if not (signed_grants_read and target.via_signed) and not can_read(ctx, target):
        raise MethodError(0, texts.READ_DENIED)
    return target


def can_read(ctx: CallContext, target: Target) -> bool:
    """Chat polls: members of the message's chat. Feed polls: every (authenticated, active) user."""
    if ctx.caller.user_id <= 0:
        return False
    if target.attach.module_id.lower() == "im":
        return target.message is not None and target.member
    return True


def can_edit(ctx: CallContext, target: Target) -> bool:
    """Chat polls: the message's author while in the chat. Feed polls: whoever created the poll."""
    user_id = ctx.caller.user_id
    if target.message is not None:
        return target.message.author_id == user_id and can_read(ctx, target)
    return target.attach.created_by == user_id and can_read(ctx, target)
