"""Repository for polls and their attaches: created, read, counted, ended. Counters move only with ballots."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Integer,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from b24vote.domain import polls as domain
from b24vote.domain.poll_data import NewPoll
from b24vote.domain.polls import Attach, BallotChoice, Poll, UserBallot
from b24vote.storage.ballots import BallotRows, ballot_of, remove_ballot, store_ballot
from b24vote.storage.questions import questions_of, remember_questions
from b24vote.storage.raw import Prepared
from b24vote.storage.rows import ATTACH_COLUMNS, POLL_COLUMNS, POLL_VERSION, attach_from, poll_from
from b24vote.storage.tables import (
    attaches,
    ballot_answers,
    ballot_questions,
    ballots,
    message_uuids,
    vote_answers,
    vote_questions,
    votes,
)
from b24vote.storage.types import UTCDateTime

__all__ = [
    "Cast",
    "add_attach",
    "bind_uuid",
    "cast_ballot",
    "count",
    "create_poll",
    "delete_ballot",
    "delete_poll",
    "find_attach_by_entity",
    "get_attach",
    "insert_ballot",
    "load_poll",
    "mark_stop_handled",
    "message_for_uuid",
    "new_version",
    "reserve_uuid",
    "set_date_end",
]


def new_version() -> int:
    """A poll's next ``version``: random, so that no two contents ever share one (not even across a reset or
    a restored snapshot, where ids and the emulator's frozen clock repeat)."""
    return secrets.randbits(62)


def create_poll(conn: Connection, now: datetime, *, author_id: int, poll: NewPoll, date_end: datetime) -> int:
    """Store a new poll with its questions and answers (sorted 10, 20, 30… as the vote module does)."""
    vote_id = conn.execute(
        insert(votes)
        .values(
            author_id=author_id,
            anonymity=poll.anonymity,
            options=poll.options,
            active=True,
            date_start=now,
            date_end=date_end,
            counter=0,
            timestamp_x=now,
            version=new_version(),
        )
        .returning(votes.c.id)
    ).scalar_one()
    for qi, question in enumerate(poll.questions, start=1):
        qid = conn.execute(
            insert(vote_questions)
            .values(
                vote_id=vote_id,
                c_sort=qi * 10,
                question=question.text,
                field_type=question.field_type,
                required=question.required,
                counter=0,
                timestamp_x=now,
            )
            .returning(vote_questions.c.id)
        ).scalar_one()
        for ai, answer in enumerate(question.answers, start=1):
            conn.execute(
                insert(vote_answers).values(
                    question_id=qid,
                    vote_id=vote_id,
                    c_sort=ai * 10,
                    message=answer.message,
                    reaction=answer.reaction,
                    counter=0,
                    timestamp_x=now,
                )
            )
    return int(vote_id)


def add_attach(
    conn: Connection,
    now: datetime,
    *,
    vote_id: int,
    module_id: str,
    entity_type: str,
    entity_id: int,
    uid: str | None,
    created_by: int,
) -> int:
    return int(
        conn.execute(
            insert(attaches)
            .values(
                vote_id=vote_id,
                module_id=module_id,
                entity_type=entity_type,
                module_key=module_id.lower(),
                entity_type_key=entity_type.lower(),
                entity_id=entity_id,
                uid=uid,
                created_by=created_by,
                date_create=now,
            )
            .returning(attaches.c.id)
        ).scalar_one()
    )


_ATTACH = Prepared(select(*ATTACH_COLUMNS).where(attaches.c.id == bindparam("attach_id")))
_ENTITY_ATTACH = Prepared(
    select(*ATTACH_COLUMNS)
    .where(
        attaches.c.module_key == bindparam("module"),
        attaches.c.entity_type_key == bindparam("entity_type"),
        attaches.c.entity_id == bindparam("entity_id"),
    )
    .order_by(attaches.c.id)
    .limit(1)
)
_POLL = Prepared(select(*POLL_COLUMNS).where(votes.c.id == bindparam("vote_id")))


def get_attach(conn: Connection, attach_id: int) -> Attach | None:
    """The attach with this id."""
    found = _ATTACH.rows(conn, attach_id=attach_id)
    return attach_from(found[0]) if found else None


def find_attach_by_entity(conn: Connection, module_id: str, entity_type: str, entity_id: int) -> Attach | None:
    """The first attach of an entity; module and type compare case-insensitively, as on the real server."""
    params = {"module": module_id.lower(), "entity_type": entity_type.lower(), "entity_id": entity_id}
    found = _ENTITY_ATTACH.rows(conn, **params)
    return attach_from(found[0]) if found else None


def load_poll(conn: Connection, vote_id: int) -> Poll | None:
    """The poll with this id, its questions from the cache or read now."""
    found = _POLL.rows(conn, vote_id=vote_id)
    if not found:
        return None
    return poll_from(found[0], 0, questions_of(conn, {vote_id: found[0][POLL_VERSION]}))


def delete_poll(conn: Connection, vote_id: int) -> None:
    """Remove a poll with everything it holds: its ballots, counters, questions, answers and attaches.

    Children first, in the caller's transaction: nothing of the poll is left, whatever the foreign keys do.
    """
    its_ballots = select(ballots.c.id).where(ballots.c.vote_id == vote_id)
    for child in (ballot_answers, ballot_questions):  # by ballot: the index both tables have
        conn.execute(delete(child).where(child.c.ballot_id.in_(its_ballots)))
    for table in (ballots, vote_answers, vote_questions, attaches):
        conn.execute(delete(table).where(table.c.vote_id == vote_id))
    conn.execute(delete(votes).where(votes.c.id == vote_id))


def _counter_update(table: Any) -> Prepared:
    """One row's counter moved by ``delta``, never below zero; returns the row's id and new counter."""
    moved = table.c.counter + bindparam("delta")
    statement = update(table).where(table.c.id == bindparam("row_id")).values(counter=case((moved > 0, moved), else_=0))
    if table is votes:  # the vote's row also names the new content of its questions and answers
        statement = statement.values(version=bindparam("new_version"))
    return Prepared(statement.returning(table.c.id, table.c.counter))


_VOTE_COUNTER = _counter_update(votes)
_QUESTION_COUNTER = _counter_update(vote_questions)
_ANSWER_COUNTER = _counter_update(vote_answers)


@dataclass(frozen=True, slots=True)
class _Counted:
    """What :func:`_move_counters` left: the poll's new version and ballot counter, and the new counters of the
    question and answer rows it moved (by id), as the updates returned them."""

    version: int
    ballots: int
    questions: dict[int, int]
    answers: dict[int, int]


def _move_counters(conn: Connection, vote_id: int, removed: BallotRows, added: BallotRows) -> _Counted:
    """Move the counters by a removed and an added ballot at once, and give the poll a new version."""
    version = new_version()
    ballots_delta = (0 if added.empty else 1) - (0 if removed.empty else 1)
    polled = _VOTE_COUNTER.rows(conn, row_id=vote_id, delta=ballots_delta, new_version=version)
    if len(polled) != 1:
        raise RuntimeError(f"poll {vote_id} vanished inside its transaction")  # pragma: no cover
    moved: tuple[dict[int, int], dict[int, int]] = ({}, {})
    for statement, gone, came, into in (
        (_QUESTION_COUNTER, removed.questions, added.questions, moved[0]),
        (_ANSWER_COUNTER, removed.answers, added.answers, moved[1]),
    ):
        for row in sorted(gone | came):
            delta = (row in came) - (row in gone)
            if delta:
                into.update(statement.rows(conn, row_id=row, delta=delta))
    return _Counted(version, polled[0][1], *moved)


def count(conn: Connection, poll: Poll, removed: BallotRows, added: BallotRows) -> Poll:
    """Move the counters by a removed and an added ballot at once; the poll as they left it, not read again.

    Call it last in the transaction: on PostgreSQL the counter rows stay locked until the commit, and every vote
    on the poll waits for them (re-reading the poll here would hold them two more round trips).

    SQLite runs one writer at a time, so ``poll`` as this transaction read it is still the poll but for the rows
    the updates moved and returned: the result is exact, and its questions are cached under the new version. On
    PostgreSQL another vote may commit between that read and the updates: the moved rows are exact, the others
    may lag by such votes, so the result carries version 0 (never cached) and the next read takes the rows fresh.
    """
    counted = _move_counters(conn, poll.id, removed, added)
    exact = conn.dialect.name == "sqlite"
    recounted = domain.recounted(
        poll,
        ballots=counted.ballots,
        questions=counted.questions,
        answers=counted.answers,
        version=counted.version if exact else 0,
    )
    if exact:
        remember_questions(recounted.id, recounted.version, recounted.questions)
    return recounted


@dataclass(frozen=True, slots=True)
class Cast:
    """A ballot stored and counted: the ballot as stored, the rows it replaced and added, the poll as the
    counters left it (see :func:`count`)."""

    ballot: UserBallot
    removed: BallotRows
    added: BallotRows
    poll: Poll


def cast_ballot(conn: Connection, now: datetime, poll: Poll, user_id: int, chosen: dict[int, list[int]]) -> Cast | None:
    """Store the voter's ballot of ``chosen`` answers (question id → answer ids, in order), replacing their ballot
    if the poll allows re-voting, and count it, last in the transaction. None: the voter has a ballot and the poll
    allows no re-vote (nothing changed).

    Under the voter's lock, so that one voter's calls never interleave. SQLite runs the statements one by one
    (each costs microseconds); PostgreSQL runs the same rules server-side in one round trip (``b24vote_cast``,
    migrations 0010 and 0011: there the counters move first, see 0011).
    """
    visible = not poll.anonymous
    if conn.dialect.name == "postgresql":
        return _cast_on_server(conn, now, poll, user_id, chosen, visible)
    # SQLite: the write transaction (BEGIN IMMEDIATE) is the voter's lock; ballots.lock_voter is PostgreSQL's.
    existing = ballot_of(conn, poll.id, user_id)
    if existing is not None and not poll.revote_allowed:
        return None
    removed = remove_ballot(conn, poll.id, user_id) if existing is not None else BallotRows()
    ballot, added = store_ballot(conn, now, vote_id=poll.id, user_id=user_id, chosen=chosen, visible=visible)
    return Cast(ballot, removed, added, count(conn, poll, removed, added))


_CAST = Prepared(
    select(
        func.b24vote_cast(
            bindparam("poll", type_=Integer),
            bindparam("voter", type_=Integer),
            bindparam("shown", type_=Boolean),
            bindparam("at", type_=UTCDateTime),
            bindparam("revote", type_=Boolean),
            cast(bindparam("questions"), ARRAY(Integer)),
            cast(bindparam("answers"), ARRAY(Integer)),
            cast(bindparam("version"), BigInteger),
        )
    ),
    writes=True,
)


def _cast_on_server(
    conn: Connection, now: datetime, poll: Poll, user_id: int, chosen: dict[int, list[int]], visible: bool
) -> Cast | None:
    pairs = [(qid, aid) for qid, aids in chosen.items() for aid in aids]
    ((reply,),) = _CAST.rows(
        conn,
        poll=poll.id,
        voter=user_id,
        shown=visible,
        at=now,
        revote=poll.revote_allowed,
        questions=[q for q, _ in pairs],
        answers=[a for _, a in pairs],
        version=new_version(),
    )
    if reply.get("refused"):
        return None
    ballot = UserBallot(event_id=int(reply["ballot"]))
    for choice_id, ballot_question_id, question_id, answer_id in reply["choices"]:
        ballot.choices.setdefault(question_id, {})[answer_id] = BallotChoice(choice_id, ballot_question_id, answer_id)
    removed = BallotRows(frozenset(reply["gone_questions"]), frozenset(reply["gone_answers"]))
    added = BallotRows(frozenset(chosen), frozenset(a for _, a in pairs))
    # Other votes may commit between this transaction's read of the poll and its counters: the moved rows are
    # exact, the others may lag, so the poll carries version 0 and is never cached (as count() does here).
    recounted = domain.recounted(
        poll,
        ballots=int(reply["counter"]),
        questions={int(k): int(v) for k, v in reply["questions"].items()},
        answers={int(k): int(v) for k, v in reply["answers"].items()},
        version=0,
    )
    return Cast(ballot, removed, added, recounted)


def delete_ballot(conn: Connection, vote_id: int, user_id: int) -> BallotRows:
    """Remove a voter's ballot and take it off the counters (recall; tests and benchmarks)."""
    removed = remove_ballot(conn, vote_id, user_id)
    if not removed.empty:
        _move_counters(conn, vote_id, removed, BallotRows())
    return removed


def insert_ballot(
    conn: Connection, now: datetime, *, vote_id: int, user_id: int, chosen: dict[int, list[int]], visible: bool
) -> BallotRows:
    """Store a first ballot and count it (tests and benchmarks; ``vote`` counts last, see :func:`count`)."""
    _, added = store_ballot(conn, now, vote_id=vote_id, user_id=user_id, chosen=chosen, visible=visible)
    _move_counters(conn, vote_id, BallotRows(), added)
    return added


def set_date_end(conn: Connection, vote_id: int, date_end: datetime) -> None:
    conn.execute(update(votes).where(votes.c.id == vote_id).values(date_end=date_end, timestamp_x=date_end))


def mark_stop_handled(conn: Connection, vote_id: int) -> bool:
    """True the first time only: the chat is told about a stop once per poll."""
    result = conn.execute(
        update(votes)
        .where(votes.c.id == vote_id, votes.c.stop_event_handled.is_(False))
        .values(stop_event_handled=True)
    )
    return result.rowcount == 1


def reserve_uuid(conn: Connection, now: datetime, uuid: str) -> bool:
    """Claim a message UUID; False when it was claimed before."""
    try:
        with conn.begin_nested():
            conn.execute(insert(message_uuids).values(uuid=uuid, message_id=None, date_create=now))
    except IntegrityError:
        return False
    return True


def message_for_uuid(conn: Connection, uuid: str) -> tuple[int | None, datetime] | None:
    row = conn.execute(
        select(message_uuids.c.message_id, message_uuids.c.date_create).where(message_uuids.c.uuid == uuid)
    ).first()
    return (row.message_id, row.date_create) if row else None


def bind_uuid(conn: Connection, uuid: str, message_id: int) -> None:
    conn.execute(update(message_uuids).where(message_uuids.c.uuid == uuid).values(message_id=message_id))
