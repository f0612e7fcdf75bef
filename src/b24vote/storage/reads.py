"""The hot read path: a poll with everything a call needs in a few prepared statements.

``get`` is the most frequent call. Its poll, attach, message and the caller's membership come in one query,
questions and answers in a second, the caller's ballot in a third; the statements are built once at import so
SQLAlchemy only binds and runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select

from b24vote.domain.polls import Answer, Attach, BallotChoice, Poll, Question, UserBallot
from b24vote.storage.tables import (
    attaches,
    ballot_answers,
    ballots,
    chat_members,
    messages,
    users,
    vote_answers,
    vote_questions,
    votes,
    webhooks,
)

__all__ = [
    "LoadedPoll",
    "WebhookRow",
    "ballots_of",
    "load_by_attach_id",
    "load_by_entities",
    "load_by_entity",
    "load_by_uid",
    "poll_of",
    "questions_of",
    "webhooks_of",
]


@dataclass(frozen=True, slots=True)
class LoadedPoll:
    """An attach, its poll, and what the viewer may do with it."""

    attach: Attach
    poll: Poll
    chat_id: int | None  # chat polls: the message's chat
    message_author: int | None
    viewer_is_member: bool


_TARGET = select(
    attaches.c.id,
    attaches.c.vote_id,
    attaches.c.module_id,
    attaches.c.entity_type,
    attaches.c.entity_id,
    attaches.c.uid,
    attaches.c.created_by,
    votes.c.author_id,
    votes.c.anonymity,
    votes.c.options,
    votes.c.active,
    votes.c.date_start,
    votes.c.date_end,
    votes.c.counter,
    messages.c.chat_id,
    messages.c.author_id.label("message_author"),
    chat_members.c.user_id.label("member"),
).select_from(
    attaches.join(votes, votes.c.id == attaches.c.vote_id)
    .outerjoin(messages, and_(attaches.c.module_key == "im", messages.c.id == attaches.c.entity_id))
    .outerjoin(
        chat_members,
        and_(chat_members.c.chat_id == messages.c.chat_id, chat_members.c.user_id == bindparam("viewer")),
    )
)
_BY_ID = _TARGET.where(attaches.c.id == bindparam("attach_id"))
_BY_UID = _TARGET.where(attaches.c.uid == bindparam("uid"))
_BY_ENTITY = (
    _TARGET.where(
        attaches.c.module_key == bindparam("module"),
        attaches.c.entity_type_key == bindparam("entity_type"),
        attaches.c.entity_id == bindparam("entity_id"),
    )
    .order_by(attaches.c.id)
    .limit(1)
)
_BY_ENTITIES = _TARGET.where(
    attaches.c.module_key == bindparam("module"),
    attaches.c.entity_type_key == bindparam("entity_type"),
    attaches.c.entity_id.in_(bindparam("entity_ids", expanding=True)),
).order_by(attaches.c.id)

_QUESTIONS = (
    select(
        vote_questions.c.vote_id,
        vote_questions.c.id,
        vote_questions.c.c_sort,
        vote_questions.c.question,
        vote_questions.c.field_type,
        vote_questions.c.required,
        vote_questions.c.counter,
        vote_questions.c.timestamp_x,
        vote_answers.c.id.label("a_id"),
        vote_answers.c.c_sort.label("a_sort"),
        vote_answers.c.message.label("a_message"),
        vote_answers.c.counter.label("a_counter"),
        vote_answers.c.timestamp_x.label("a_timestamp"),
        vote_answers.c.reaction.label("a_reaction"),
    )
    .select_from(vote_questions.outerjoin(vote_answers, vote_answers.c.question_id == vote_questions.c.id))
    .where(vote_questions.c.vote_id.in_(bindparam("vote_ids", expanding=True)))
    .order_by(
        vote_questions.c.vote_id,
        vote_questions.c.c_sort,
        vote_questions.c.id,
        vote_answers.c.c_sort,
        vote_answers.c.id,
    )
)

_BALLOTS = (
    select(
        ballots.c.vote_id,
        ballots.c.id.label("ballot_id"),
        ballot_answers.c.id,
        ballot_answers.c.ballot_question_id,
        ballot_answers.c.question_id,
        ballot_answers.c.answer_id,
        ballot_answers.c.message,
    )
    .select_from(ballots.outerjoin(ballot_answers, ballot_answers.c.ballot_id == ballots.c.id))
    .where(ballots.c.vote_id.in_(bindparam("vote_ids", expanding=True)), ballots.c.user_id == bindparam("user_id"))
    .order_by(ballot_answers.c.id)
)

_WEBHOOKS = (
    select(webhooks.c.id, webhooks.c.code_hash, webhooks.c.scopes, users.c.active)
    .select_from(webhooks.join(users, users.c.id == webhooks.c.user_id))
    .where(webhooks.c.user_id == bindparam("user_id"), webhooks.c.active.is_(True))
)


@dataclass(frozen=True, slots=True)
class WebhookRow:
    id: int
    code_hash: str
    scopes: str
    user_active: bool


def webhooks_of(conn: Connection, user_id: int) -> list[WebhookRow]:
    """The active webhooks of a user, with whether the user is active, in one query."""
    return [
        WebhookRow(r.id, r.code_hash, r.scopes, bool(r.active)) for r in conn.execute(_WEBHOOKS, {"user_id": user_id})
    ]


def questions_of(conn: Connection, vote_ids: Sequence[int]) -> dict[int, tuple[Question, ...]]:
    """Questions with their answers in display order, keyed by vote id."""
    found: dict[int, list[Question]] = {}
    current: list[Answer] = []
    last: Any = None
    for row in conn.execute(_QUESTIONS, {"vote_ids": list(vote_ids)}):
        if last is None or row.id != last.id:
            if last is not None:
                found.setdefault(last.vote_id, []).append(_question(last, current))
            current, last = [], row
        if row.a_id is not None:
            current.append(
                Answer(row.a_id, row.id, row.a_sort, row.a_message, row.a_counter, row.a_timestamp, row.a_reaction)
            )
    if last is not None:
        found.setdefault(last.vote_id, []).append(_question(last, current))
    return {vote_id: tuple(qs) for vote_id, qs in found.items()}


def _question(row: Any, answers: list[Answer]) -> Question:
    return Question(
        id=row.id,
        vote_id=row.vote_id,
        c_sort=row.c_sort,
        text=row.question,
        field_type=row.field_type,
        counter=row.counter,
        timestamp=row.timestamp_x,
        answers=tuple(answers),
        required=bool(row.required),
    )


def poll_of(vote_id: int, row: Any, questions: dict[int, tuple[Question, ...]]) -> Poll:
    """A Poll from a row carrying the vote's columns and the questions loaded by :func:`questions_of`."""
    return Poll(
        id=vote_id,
        author_id=row.author_id,
        anonymity=row.anonymity,
        options=row.options,
        active=bool(row.active),
        date_start=row.date_start,
        date_end=row.date_end,
        counter=row.counter,
        questions=questions.get(vote_id, ()),
    )


def _loaded(row: Any, questions: dict[int, tuple[Question, ...]]) -> LoadedPoll:
    attach = Attach(row.id, row.vote_id, row.module_id, row.entity_type, row.entity_id, row.uid, row.created_by)
    poll = poll_of(row.vote_id, row, questions)
    return LoadedPoll(attach, poll, row.chat_id, row.message_author, row.member is not None)


def _load(conn: Connection, statement: Any, params: dict[str, Any]) -> list[LoadedPoll]:
    rows = conn.execute(statement, params).all()
    if not rows:
        return []
    questions = questions_of(conn, sorted({r.vote_id for r in rows}))
    return [_loaded(r, questions) for r in rows]


def load_by_attach_id(conn: Connection, attach_id: int, viewer: int) -> LoadedPoll | None:
    found = _load(conn, _BY_ID, {"attach_id": attach_id, "viewer": viewer})
    return found[0] if found else None


def load_by_uid(conn: Connection, uid: str, viewer: int) -> LoadedPoll | None:
    found = _load(conn, _BY_UID, {"uid": uid, "viewer": viewer})
    return found[0] if found else None


def load_by_entity(conn: Connection, module: str, entity_type: str, entity_id: int, viewer: int) -> LoadedPoll | None:
    params = {"module": module.lower(), "entity_type": entity_type.lower(), "entity_id": entity_id, "viewer": viewer}
    found = _load(conn, _BY_ENTITY, params)
    return found[0] if found else None


def load_by_entities(
    conn: Connection, module: str, entity_type: str, entity_ids: Iterable[int], viewer: int
) -> dict[int, LoadedPoll]:
    """The first attach of each entity, keyed by entity id."""
    params = {
        "module": module.lower(),
        "entity_type": entity_type.lower(),
        "entity_ids": list(set(entity_ids)),
        "viewer": viewer,
    }
    found: dict[int, LoadedPoll] = {}
    for loaded in _load(conn, _BY_ENTITIES, params):
        found.setdefault(loaded.attach.entity_id, loaded)
    return found


def ballots_of(conn: Connection, vote_ids: Sequence[int], user_id: int) -> dict[int, UserBallot]:
    """The user's ballots on these polls, keyed by vote id."""
    found: dict[int, UserBallot] = {}
    for row in conn.execute(_BALLOTS, {"vote_ids": list(vote_ids), "user_id": user_id}):
        ballot = found.setdefault(row.vote_id, UserBallot(event_id=row.ballot_id))
        if row.id is not None:
            ballot.choices.setdefault(row.question_id, {})[row.answer_id] = BallotChoice(
                row.id, row.ballot_question_id, row.answer_id, row.message
            )
    return found
