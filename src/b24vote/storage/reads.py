"""The hot read path: a poll with everything a call needs in a few prepared statements.

``get`` is the most frequent call. Its poll, attach, message and the caller's membership come in one query
and the caller's ballot in a second, both run straight on the driver's cursor (:mod:`b24vote.storage.raw`).
Questions and answers change only together with the vote's ``version`` (a fresh random number written in the
same transaction, see :func:`b24vote.storage.polls.new_version`), so they are read once per version and kept
in a per-process cache: a snapshot restored later brings its own versions back with its own rows, so a
cached version always names the rows it was read from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select

from b24vote.cache import BoundedCache
from b24vote.domain.polls import Answer, Attach, BallotChoice, Poll, Question, UserBallot
from b24vote.storage.raw import Prepared, PreparedIn, utc
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
    "QUESTIONS",
    "LoadedPoll",
    "WebhookRow",
    "ballot_of",
    "ballots_of",
    "load_by_attach_id",
    "load_by_entities",
    "load_by_entity",
    "load_by_uid",
    "poll_of",
    "remember_questions",
    "versioned_questions",
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
    votes.c.version,
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
_BY_ID = Prepared(_TARGET.where(attaches.c.id == bindparam("attach_id")))
_BY_UID = Prepared(_TARGET.where(attaches.c.uid == bindparam("uid")))
_BY_ENTITY = Prepared(
    _TARGET.where(
        attaches.c.module_key == bindparam("module"),
        attaches.c.entity_type_key == bindparam("entity_type"),
        attaches.c.entity_id == bindparam("entity_id"),
    )
    .order_by(attaches.c.id)
    .limit(1)
)
_IN_CHUNK = 50  # getMany takes at most 50 entity ids: one prepared form per length up to that
_BY_ENTITIES = PreparedIn(
    lambda names: _TARGET.where(
        attaches.c.module_key == bindparam("module"),
        attaches.c.entity_type_key == bindparam("entity_type"),
        attaches.c.entity_id.in_([bindparam(name) for name in names]),
    ).order_by(attaches.c.id),
    limit=_IN_CHUNK,
)

_QUESTION_COLUMNS = (
    select(
        votes.c.version,
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
    .select_from(
        votes.join(vote_questions, vote_questions.c.vote_id == votes.c.id).outerjoin(
            vote_answers, vote_answers.c.question_id == vote_questions.c.id
        )
    )
    .order_by(
        vote_questions.c.vote_id,
        vote_questions.c.c_sort,
        vote_questions.c.id,
        vote_answers.c.c_sort,
        vote_answers.c.id,
    )
)
_QUESTIONS = _QUESTION_COLUMNS.where(votes.c.id.in_(bindparam("vote_ids", expanding=True)))
_POLL_QUESTIONS = Prepared(_QUESTION_COLUMNS.where(votes.c.id == bindparam("vote_id")))

_BALLOT_COLUMNS = (
    ballots.c.vote_id,
    ballots.c.id.label("ballot_id"),
    ballot_answers.c.id,
    ballot_answers.c.ballot_question_id,
    ballot_answers.c.question_id,
    ballot_answers.c.answer_id,
    ballot_answers.c.message,
)
_BALLOT_FROM = ballots.outerjoin(ballot_answers, ballot_answers.c.ballot_id == ballots.c.id)
_BALLOTS = PreparedIn(
    lambda names: (
        select(*_BALLOT_COLUMNS)
        .select_from(_BALLOT_FROM)
        .where(ballots.c.vote_id.in_([bindparam(name) for name in names]), ballots.c.user_id == bindparam("user_id"))
        .order_by(ballot_answers.c.id)
    ),
    limit=_IN_CHUNK,
)
_BALLOT = Prepared(
    select(*_BALLOT_COLUMNS)
    .select_from(_BALLOT_FROM)
    .where(ballots.c.vote_id == bindparam("vote_id"), ballots.c.user_id == bindparam("user_id"))
    .order_by(ballot_answers.c.id)
)

_WEBHOOKS = Prepared(
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
    return [WebhookRow(r[0], r[1], r[2], bool(r[3])) for r in _WEBHOOKS.rows(conn, user_id=user_id)]


# Questions of a poll by (vote id, version).
QUESTIONS: BoundedCache[tuple[int, int], tuple[Question, ...]] = BoundedCache(limit=10_000)


def versioned_questions(conn: Connection, vote_ids: Sequence[int]) -> dict[int, tuple[int, tuple[Question, ...]]]:
    """(version, questions) of each poll, read from the database in one statement.

    The version is the one the same statement saw: on PostgreSQL (read committed) it may be newer than a vote
    row read earlier in the transaction, and the questions are cached, and must be rendered, under it.
    """
    if len(vote_ids) == 1:
        rows: Iterable[Sequence[Any]] = _POLL_QUESTIONS.rows(conn, vote_id=vote_ids[0])
    else:
        rows = conn.execute(_QUESTIONS, {"vote_ids": list(vote_ids)})
    found: dict[int, list[Question]] = {}
    versions: dict[int, int] = {}
    current: list[Answer] = []
    last: Sequence[Any] | None = None
    for row in rows:
        version, vote_id, question_id, answer_id = row[0], row[1], row[2], row[9]
        versions[vote_id] = version
        if last is None or question_id != last[2]:
            if last is not None:
                found.setdefault(last[1], []).append(_question(last, current))
            current, last = [], row
        if answer_id is not None:
            current.append(Answer(answer_id, question_id, row[10], row[11], row[12], utc(row[13]), row[14]))
    if last is not None:
        found.setdefault(last[1], []).append(_question(last, current))
    result = {vote_id: (versions[vote_id], tuple(qs)) for vote_id, qs in found.items()}
    for vote_id, (version, questions) in result.items():
        if version != 0:  # 0: rows written outside b24vote, never cached
            QUESTIONS.put((vote_id, version), questions)
    return result


def remember_questions(vote_id: int, version: int, questions: tuple[Question, ...]) -> None:
    """Cache questions known to be a poll's rows under ``version`` (a vote that wrote both: see polls.count)."""
    if version != 0:
        QUESTIONS.put((vote_id, version), questions)


def _cached_questions(conn: Connection, wanted: dict[int, int]) -> dict[int, tuple[int, tuple[Question, ...]]]:
    """(version, questions) of the polls ``{vote id: version}``, from the cache where the version is known."""
    found: dict[int, tuple[int, tuple[Question, ...]]] = {}
    missing = []
    for vote_id, version in wanted.items():
        hit = QUESTIONS.get((vote_id, version))
        if hit is None:
            missing.append(vote_id)
        else:
            found[vote_id] = (version, hit)
    if missing:
        found.update(versioned_questions(conn, sorted(missing)))
    return found


def _question(row: Sequence[Any], answers: list[Answer]) -> Question:
    """A question from a _QUESTION_COLUMNS row: (version, vote_id, id, c_sort, question, field_type, required,
    counter, timestamp_x, …)."""
    return Question(
        id=row[2],
        vote_id=row[1],
        c_sort=row[3],
        text=row[4],
        field_type=row[5],
        counter=row[7],
        timestamp=utc(row[8]),
        answers=tuple(answers),
        required=bool(row[6]),
    )


def poll_of(vote_id: int, row: Any, questions: dict[int, tuple[int, tuple[Question, ...]]]) -> Poll:
    """A Poll from a row carrying the vote's columns and what :func:`versioned_questions` read."""
    version, listed = questions.get(vote_id, (0, ()))
    return Poll(
        id=vote_id,
        author_id=row.author_id,
        anonymity=row.anonymity,
        options=row.options,
        active=bool(row.active),
        date_start=row.date_start,
        date_end=row.date_end,
        counter=row.counter,
        questions=listed,
        version=version,
    )


# Positions in a _TARGET row.
(_ID, _VOTE_ID, _MODULE, _ENTITY_TYPE, _ENTITY_ID, _UID, _CREATED_BY, _AUTHOR, _ANONYMITY) = range(9)
(_OPTIONS, _ACTIVE, _DATE_START, _DATE_END, _COUNTER, _VERSION, _CHAT, _MESSAGE_AUTHOR, _MEMBER) = range(9, 18)


def _loaded(row: Sequence[Any], questions: dict[int, tuple[int, tuple[Question, ...]]]) -> LoadedPoll:
    """A LoadedPoll from a _TARGET row, typed (SQLAlchemy) or raw (:class:`Prepared`); its version is the one
    its questions were read under."""
    vote_id = row[_VOTE_ID]
    version, listed = questions.get(vote_id, (0, ()))
    attach = Attach(row[_ID], vote_id, row[_MODULE], row[_ENTITY_TYPE], row[_ENTITY_ID], row[_UID], row[_CREATED_BY])
    poll = Poll(
        id=vote_id,
        author_id=row[_AUTHOR],
        anonymity=row[_ANONYMITY],
        options=row[_OPTIONS],
        active=bool(row[_ACTIVE]),
        date_start=utc(row[_DATE_START]),
        date_end=utc(row[_DATE_END]),
        counter=row[_COUNTER],
        questions=listed,
        version=version,
    )
    return LoadedPoll(attach, poll, row[_CHAT], row[_MESSAGE_AUTHOR], row[_MEMBER] is not None)


def _complete(conn: Connection, rows: Sequence[Sequence[Any]]) -> list[LoadedPoll]:
    if not rows:
        return []
    questions = _cached_questions(conn, {r[_VOTE_ID]: r[_VERSION] for r in rows})
    return [_loaded(r, questions) for r in rows]


def _first(conn: Connection, statement: Prepared, **params: Any) -> LoadedPoll | None:
    found = _complete(conn, statement.rows(conn, **params))
    return found[0] if found else None


def load_by_attach_id(conn: Connection, attach_id: int, viewer: int) -> LoadedPoll | None:
    return _first(conn, _BY_ID, attach_id=attach_id, viewer=viewer)


def load_by_uid(conn: Connection, uid: str, viewer: int) -> LoadedPoll | None:
    return _first(conn, _BY_UID, uid=uid, viewer=viewer)


def load_by_entity(conn: Connection, module: str, entity_type: str, entity_id: int, viewer: int) -> LoadedPoll | None:
    params = {"module": module.lower(), "entity_type": entity_type.lower(), "entity_id": entity_id, "viewer": viewer}
    return _first(conn, _BY_ENTITY, **params)


def load_by_entities(
    conn: Connection, module: str, entity_type: str, entity_ids: Iterable[int], viewer: int
) -> dict[int, LoadedPoll]:
    """The first attach of each entity, keyed by entity id."""
    wanted = sorted(set(entity_ids))
    if not wanted:
        return {}
    rows = _BY_ENTITIES.rows(conn, wanted, module=module.lower(), entity_type=entity_type.lower(), viewer=viewer)
    found: dict[int, LoadedPoll] = {}
    for loaded in _complete(conn, rows):
        found.setdefault(loaded.attach.entity_id, loaded)
    return found


def _ballot_rows(found: dict[int, UserBallot], rows: Iterable[Sequence[Any]]) -> None:
    for vote_id, ballot_id, choice_id, ballot_question_id, question_id, answer_id, message in rows:
        ballot = found.setdefault(vote_id, UserBallot(event_id=ballot_id))
        if choice_id is not None:
            ballot.choices.setdefault(question_id, {})[answer_id] = BallotChoice(
                choice_id, ballot_question_id, answer_id, message
            )


def ballot_of(conn: Connection, vote_id: int, user_id: int) -> UserBallot | None:
    """The user's ballot on one poll, or None."""
    found: dict[int, UserBallot] = {}
    _ballot_rows(found, _BALLOT.rows(conn, vote_id=vote_id, user_id=user_id))
    return found.get(vote_id)


def ballots_of(conn: Connection, vote_ids: Sequence[int], user_id: int) -> dict[int, UserBallot]:
    """The user's ballots on these polls, keyed by vote id."""
    if len(vote_ids) == 1:
        ballot = ballot_of(conn, vote_ids[0], user_id)
        return {vote_ids[0]: ballot} if ballot is not None else {}
    found: dict[int, UserBallot] = {}
    if vote_ids:
        _ballot_rows(found, _BALLOTS.rows(conn, vote_ids, user_id=user_id))
    return found
