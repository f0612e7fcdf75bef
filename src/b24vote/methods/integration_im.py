"""vote.Integration.Im.send: create a poll and post it to a chat as a message of the caller.

Steps and errors follow Controller\\Integration\\Im::sendAction (../shared/reference/notes/vote-semantics.md
§4.1): every failure is a codeless error, sent as ``"error": "0"`` with HTTP 400.
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection

from b24vote.domain.poll_data import NewPoll, PollDataError, parse_poll_data
from b24vote.domain.polls import IM_ENTITY_TYPE, poll_end
from b24vote.errors import MethodError
from b24vote.methods import vote_texts as texts
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext, registry
from b24vote.methods.vote_access import int_value
from b24vote.methods.vote_language import texts_of
from b24vote.storage import people, polls

__all__ = ["post_poll"]

# The im module de-duplicates only lowercase UUIDv4 template ids (im/lib/Message/Uuid.php).
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_UUID_TTL = timedelta(hours=1)
_UID_ALPHABET = string.ascii_lowercase + string.digits


def _fail(ctx: CallContext, key: str, detail: str = "") -> MethodError:
    return MethodError(0, texts_of(ctx).im_send(key, detail))


def _arguments(params: Params) -> tuple[int, dict[str, Any], str | None]:
    raw_chat = params.raw("chatId")
    if raw_chat is None:
        raise MethodError(100, texts.missing_parameter("chatId"))
    chat_id = int_value(raw_chat)
    if chat_id is None:
        raise MethodError(100, texts.wrong_type(raw_chat, "chatId", "int"))
    data = params.raw("IM_MESSAGE_VOTE_DATA")
    if data is None:
        raise MethodError(100, texts.missing_parameter("IM_MESSAGE_VOTE_DATA"))
    if isinstance(data, list):
        data = {str(i): v for i, v in enumerate(data)}
    if not isinstance(data, dict):
        raise MethodError(100, texts.wrong_type(data, "IM_MESSAGE_VOTE_DATA", "array"))
    template = params.raw("templateId")
    return chat_id, data, (str(template) if isinstance(template, (str, int)) and template != "" else None)


def _message_params(conn: Connection, vote_id: int, poll: NewPoll) -> str:
    stored = polls.load_poll(conn, vote_id)
    if stored is None:  # pragma: no cover - created a moment ago in this transaction
        raise RuntimeError(f"vote {vote_id} vanished inside its transaction")
    return orjson.dumps(
        {
            "COMPONENT_ID": "VoteMessage",
            "COMPONENT_PARAMS": {
                "id": vote_id,
                "data": {
                    "ANONYMITY": poll.anonymity,
                    "OPTIONS": poll.options,
                    "QUESTIONS": [
                        {
                            "ID": q.id,
                            "QUESTION": q.text,
                            "FIELD_TYPE": q.field_type,
                            "ANSWERS": [
                                {"ID": a.id, "MESSAGE": a.message, "REACTION": a.reaction or None} for a in q.answers
                            ],
                        }
                        for q in stored.questions
                    ],
                },
            },
        }
    ).decode()


def _earlier_message(ctx: CallContext, template: str | None) -> int | None:
    """The message an earlier call with this UUID posted; raises while that call is still in flight."""
    if template is None or not _UUID4.match(template):
        return None
    if polls.reserve_uuid(ctx.conn, ctx.now, template):
        return None
    known = polls.message_for_uuid(ctx.conn, template)
    if known is None:
        return None
    message_id, created = known
    if message_id is None and ctx.now - created < _UUID_TTL:
        raise _fail(ctx, "VOTE_INTEGRATION_IM_MESSAGE_FAILED")
    return message_id


@registry.add("vote.Integration.Im.send", scope="vote", write=True)
def send(ctx: CallContext, params: Params) -> dict[str, int]:
    chat_id, data, template = _arguments(params)
    user_id = ctx.caller.user_id
    if user_id <= 0:
        raise MethodError(0, texts.IM_ACCESS_DENIED)
    try:
        poll = parse_poll_data(data, chat=True)
    except PollDataError as exc:
        raise _fail(ctx, exc.key, exc.detail) from exc
    # The vote is saved before the message is posted, so a repeated template id still leaves a new poll
    # behind and answers with the earlier message, as the real server does.
    vote_id = polls.create_poll(ctx.conn, ctx.now, author_id=user_id, poll=poll, date_end=poll_end(ctx.now, ctx.tz))
    earlier = _earlier_message(ctx, template)
    if earlier is not None:
        return {"messageId": earlier, "voteId": vote_id}
    if people.get_chat(ctx.conn, chat_id) is None or not people.is_member(ctx.conn, chat_id, user_id):
        raise _fail(ctx, "VOTE_INTEGRATION_IM_MESSAGE_FAILED")
    message_id = post_poll(ctx.conn, ctx.now, vote_id=vote_id, poll=poll, chat_id=chat_id, author_id=user_id)
    if template is not None and _UUID4.match(template):
        polls.bind_uuid(ctx.conn, template, message_id)
    return {"messageId": message_id, "voteId": vote_id}


def post_poll(conn: Connection, now: datetime, *, vote_id: int, poll: NewPoll, chat_id: int, author_id: int) -> int:
    """Post a created poll to a chat as a message of its author and attach it there; returns the message id."""
    message_id = people.add_message(
        conn,
        now,
        chat_id=chat_id,
        author_id=author_id,
        message=poll.questions[0].text,
        params=_message_params(conn, vote_id, poll),
    )
    polls.add_attach(
        conn,
        now,
        vote_id=vote_id,
        module_id="im",
        entity_type=IM_ENTITY_TYPE,
        entity_id=message_id,
        uid="".join(secrets.choice(_UID_ALPHABET) for _ in range(16)),
        created_by=author_id,
    )
    return message_id
