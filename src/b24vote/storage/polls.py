"""Repository for polls, attaches and ballots. Counters change only in the same transaction as ballots."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from b24vote.domain.poll_data import NewPoll
from b24vote.domain.polls import Attach, Poll, UserBallot
from b24vote.storage import reads
from b24vote.storage.raw import Prepared
from b24vote.storage.tables import (
    attaches,
    ballot_answers,
    ballot_questions,
    ballots,
    message_uuids,
    users,
    vote_answers,
    vote_questions,
    votes,
)

__all__ = [
    "BallotRows",
    "Counted",
    "Message",
    "add_attach",
    "ballot_answer_ids",
    "bind_uuid",
    "count",
    "create_poll",
    "delete_ballot",
    "find_attach_by_entity",
    "get_attach",
    "insert_ballot",
    "load_poll",
    "lock_voter",
    "mark_stop_handled",
    "message_for_uuid",
    "new_version",
    "remove_ballot",
    "report_rows",
    "reserve_uuid",
    "set_date_end",
    "store_ballot",
    "user_ballot",
    "voters_of_answer",
]


@dataclass(frozen=True, slots=True)
class Message:
    """The chat message a chat poll lives in."""

    id: int
    chat_id: int
    author_id: int


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


def _attach(row: Any) -> Attach:
    return Attach(
        id=row.id,
        vote_id=row.vote_id,
        module_id=row.module_id,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        uid=row.uid,
        created_by=row.created_by,
    )


def get_attach(conn: Connection, attach_id: int) -> Attach | None:
    row = conn.execute(select(attaches).where(attaches.c.id == attach_id)).first()
    return _attach(row) if row else None


def find_attach_by_entity(conn: Connection, module_id: str, entity_type: str, entity_id: int) -> Attach | None:
    """The first attach of an entity; module and type compare case-insensitively, as on the real server."""
    row = conn.execute(
        select(attaches)
        .where(
            attaches.c.module_key == module_id.lower(),
            attaches.c.entity_type_key == entity_type.lower(),
            attaches.c.entity_id == entity_id,
        )
        .order_by(attaches.c.id)
        .limit(1)
    ).first()
    return _attach(row) if row else None


def load_poll(conn: Connection, vote_id: int) -> Poll | None:
    vote = conn.execute(select(votes).where(votes.c.id == vote_id)).first()
    if vote is None:
        return None
    return reads.poll_of(vote_id, vote, reads.versioned_questions(conn, [vote_id]))


def user_ballot(conn: Connection, vote_id: int, user_id: int) -> UserBallot | None:
    return reads.ballot_of(conn, vote_id, user_id)


_VOTER_LOCK = Prepared(select(func.pg_advisory_xact_lock(bindparam("poll"), bindparam("voter"))))


def lock_voter(conn: Connection, vote_id: int, user_id: int) -> None:
    """Serialise one voter's writes on one poll (SQLite's write lock already does; PostgreSQL needs this)."""
    if conn.dialect.name == "postgresql":
        _VOTER_LOCK.rows(conn, poll=vote_id, voter=user_id)


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
class BallotRows:
    """The (question, answer) ids of a ballot's rows, stored or removed."""

    questions: frozenset[int] = frozenset()
    answers: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.questions and not self.answers


@dataclass(frozen=True, slots=True)
class Counted:
    """What :func:`count` left: the poll's new version and ballot counter, and the new counters of the question
    and answer rows it moved (by id), as the updates returned them."""

    version: int
    ballots: int
    questions: dict[int, int]
    answers: dict[int, int]


def count(conn: Connection, vote_id: int, removed: BallotRows, added: BallotRows) -> Counted:
    """Move the counters by a removed and an added ballot at once, and give the poll a new version.

    Call it last in the transaction: on PostgreSQL the counter rows stay locked until the commit, and every vote
    on the poll waits for them.
    """
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
    return Counted(version, polled[0][1], *moved)


_BALLOT_ID = Prepared(
    select(ballots.c.id).where(ballots.c.vote_id == bindparam("poll"), ballots.c.user_id == bindparam("voter"))
)
_DELETE_CHOICES = Prepared(
    delete(ballot_answers)
    .where(ballot_answers.c.ballot_id == bindparam("ballot"))
    .returning(ballot_answers.c.question_id, ballot_answers.c.answer_id)
)
_DELETE_BALLOT_QUESTIONS = Prepared(delete(ballot_questions).where(ballot_questions.c.ballot_id == bindparam("ballot")))
_DELETE_BALLOT = Prepared(delete(ballots).where(ballots.c.id == bindparam("ballot")))
_INSERT_BALLOT = Prepared(
    insert(ballots)
    .values(
        vote_id=bindparam("poll"), user_id=bindparam("voter"), visible=bindparam("shown"), date_vote=bindparam("at")
    )
    .returning(ballots.c.id)
)
_INSERT_BALLOT_QUESTION = Prepared(
    insert(ballot_questions)
    .values(ballot_id=bindparam("ballot"), question_id=bindparam("question"))
    .returning(ballot_questions.c.id)
)
_INSERT_CHOICE = Prepared(
    insert(ballot_answers).values(
        ballot_question_id=bindparam("ballot_question"),
        ballot_id=bindparam("ballot"),
        vote_id=bindparam("poll"),
        question_id=bindparam("question"),
        answer_id=bindparam("answer"),
        user_id=bindparam("voter"),
        visible=bindparam("shown"),
        message="",
    )
)


def remove_ballot(conn: Connection, vote_id: int, user_id: int) -> BallotRows:
    """Remove a voter's ballot rows (not yet off the counters: see :func:`count`)."""
    found = _BALLOT_ID.rows(conn, poll=vote_id, voter=user_id)
    if not found:
        return BallotRows()
    ballot_id = found[0][0]
    # Children first: the cascade would otherwise remove the rows whose ids the counters need.
    rows = _DELETE_CHOICES.rows(conn, ballot=ballot_id)
    _DELETE_BALLOT_QUESTIONS.run(conn, ballot=ballot_id)
    if _DELETE_BALLOT.run(conn, ballot=ballot_id) != 1:
        raise RuntimeError("ballot vanished under the voter lock")  # pragma: no cover
    return BallotRows(frozenset(q for q, _ in rows), frozenset(a for _, a in rows))


def store_ballot(
    conn: Connection, now: datetime, *, vote_id: int, user_id: int, chosen: dict[int, list[int]], visible: bool
) -> BallotRows:
    """Store a ballot's rows (not yet counted: see :func:`count`)."""
    # The caller holds the voter lock and saw no ballot, so the unique (vote, user) constraint cannot fire
    # here; should it ever, the whole call fails and rolls back rather than count a vote twice.
    ((ballot_id,),) = _INSERT_BALLOT.rows(conn, poll=vote_id, voter=user_id, shown=visible, at=now)
    for qid, aids in chosen.items():
        ((bq,),) = _INSERT_BALLOT_QUESTION.rows(conn, ballot=ballot_id, question=qid)
        choice = {"ballot_question": bq, "ballot": ballot_id, "poll": vote_id, "question": qid, "voter": user_id}
        _INSERT_CHOICE.run_many(conn, [{**choice, "answer": aid, "shown": visible} for aid in aids])
    return BallotRows(frozenset(chosen), frozenset(a for answers in chosen.values() for a in answers))


def delete_ballot(conn: Connection, vote_id: int, user_id: int) -> BallotRows:
    """Remove a voter's ballot and take it off the counters (recall; tests and benchmarks)."""
    removed = remove_ballot(conn, vote_id, user_id)
    if not removed.empty:
        count(conn, vote_id, removed, BallotRows())
    return removed


def insert_ballot(
    conn: Connection, now: datetime, *, vote_id: int, user_id: int, chosen: dict[int, list[int]], visible: bool
) -> BallotRows:
    """Store a first ballot and count it (tests and benchmarks; ``vote`` counts last, see :func:`count`)."""
    added = store_ballot(conn, now, vote_id=vote_id, user_id=user_id, chosen=chosen, visible=visible)
    count(conn, vote_id, BallotRows(), added)
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


def _voters_page(order: Any) -> Prepared:
    """A page of an answer's visible voters by user id, in ``order`` (ascending or descending)."""
    return Prepared(
        select(ballot_answers.c.user_id)
        .where(ballot_answers.c.answer_id == bindparam("answer"), ballot_answers.c.visible.is_(True))
        .order_by(order)
        .offset(bindparam("skip", type_=Integer))
        .limit(bindparam("take", type_=Integer))
    )


_VOTERS_FROM_START = _voters_page(ballot_answers.c.user_id)
_VOTERS_FROM_END = _voters_page(ballot_answers.c.user_id.desc())


def voters_of_answer(
    conn: Connection, answer_id: int, *, offset: int, limit: int, total: int | None = None
) -> list[int]:
    """Ids of the visible voters of an answer, in user-id order.

    With ``total`` (the answer's materialised counter) a page in the back half is read from the end of the
    index, so the last page of a big answer costs what the first one does instead of an OFFSET scan.
    """
    if total is not None and offset > total // 2:
        back_limit = min(limit, total - offset)
        if back_limit <= 0:
            return []
        rows = _VOTERS_FROM_END.rows(conn, answer=answer_id, skip=total - offset - back_limit, take=back_limit)
        return [int(r[0]) for r in rows][::-1]
    return [int(r[0]) for r in _VOTERS_FROM_START.rows(conn, answer=answer_id, skip=offset, take=limit)]


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


def report_rows(conn: Connection, vote_id: int, batch: int = 1000) -> Iterator[Any]:
    """Ballots with their voter, ordered by last name and name, fetched in batches (for reports)."""
    query = (
        select(ballots.c.id, ballots.c.user_id, ballots.c.visible, ballots.c.date_vote, users.c.name, users.c.last_name)
        .join(users, users.c.id == ballots.c.user_id)
        .where(ballots.c.vote_id == vote_id)
        .order_by(users.c.last_name, users.c.name, ballots.c.user_id)
    )
    result = conn.execution_options(yield_per=batch).execute(query)
    yield from result


def ballot_answer_ids(conn: Connection, ballot_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    """(question id, answer id) pairs of each ballot."""
    found: dict[int, list[tuple[int, int]]] = {}
    if not ballot_ids:
        return found
    rows = conn.execute(
        select(ballot_answers.c.ballot_id, ballot_answers.c.question_id, ballot_answers.c.answer_id)
        .where(ballot_answers.c.ballot_id.in_(ballot_ids))
        .order_by(ballot_answers.c.id)
    )
    for r in rows:
        found.setdefault(r.ballot_id, []).append((r.question_id, r.answer_id))
    return found
