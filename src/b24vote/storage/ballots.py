"""Ballots: the voter lock, a ballot's rows stored and removed, the caller's ballots read, an answer's voters.

Counters are moved separately, last in the transaction (:func:`b24vote.storage.polls.count`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, Select, and_, bindparam, delete, func, insert, select

from b24vote.domain.polls import BallotChoice, UserBallot
from b24vote.storage.raw import Prepared, PreparedIn
from b24vote.storage.tables import ballot_answers, ballot_questions, ballots

__all__ = [
    "BALLOT_ROWS",
    "BallotRows",
    "ballot_of",
    "ballots_from",
    "ballots_of",
    "ballots_select",
    "lock_voter",
    "remove_ballot",
    "store_ballot",
    "voters_of_answer",
]


_VOTER_LOCK = Prepared(select(func.pg_advisory_xact_lock(bindparam("poll"), bindparam("voter"))))


def lock_voter(conn: Connection, vote_id: int, user_id: int) -> None:
    """Serialise one voter's writes on one poll (SQLite's write lock already does; PostgreSQL needs this)."""
    if conn.dialect.name == "postgresql":
        _VOTER_LOCK.rows(conn, poll=vote_id, voter=user_id)


@dataclass(frozen=True, slots=True)
class BallotRows:
    """The (question, answer) ids of a ballot's rows, stored or removed."""

    questions: frozenset[int] = frozenset()
    answers: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.questions and not self.answers


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
    insert(ballot_answers)
    .values(
        ballot_question_id=bindparam("ballot_question"),
        ballot_id=bindparam("ballot"),
        vote_id=bindparam("poll"),
        question_id=bindparam("question"),
        answer_id=bindparam("answer"),
        user_id=bindparam("voter"),
        visible=bindparam("shown"),
        message="",
    )
    .returning(ballot_answers.c.id)
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
) -> tuple[UserBallot, BallotRows]:
    """Store a ballot's rows (not yet counted: see :func:`count`): the ballot as stored and the rows it added.

    The ballot is built from the ids the inserts return, in the order a read of it gives (choice ids ascending).
    """
    # The caller holds the voter lock and saw no ballot, so the unique (vote, user) constraint cannot fire
    # here; should it ever, the whole call fails and rolls back rather than count a vote twice.
    ((ballot_id,),) = _INSERT_BALLOT.rows(conn, poll=vote_id, voter=user_id, shown=visible, at=now)
    ballot = UserBallot(event_id=ballot_id)
    for qid, aids in chosen.items():
        ((bq,),) = _INSERT_BALLOT_QUESTION.rows(conn, ballot=ballot_id, question=qid)
        choice = {"ballot_question": bq, "ballot": ballot_id, "poll": vote_id, "question": qid, "voter": user_id}
        answers = ballot.choices.setdefault(qid, {})
        for aid in aids:
            ((choice_id,),) = _INSERT_CHOICE.rows(conn, **choice, answer=aid, shown=visible)
            answers[aid] = BallotChoice(choice_id, bq, aid)
    return ballot, BallotRows(frozenset(chosen), frozenset(a for answers in chosen.values() for a in answers))


def ballots_select(which: ColumnElement[bool]) -> Select[Any]:
    """The rows of the ballots ``which`` picks (a condition on ``ballots``): one per choice, by choice id; a ballot
    without choices gives one row with the choice columns null."""
    return (
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
        .where(which)
        .order_by(ballot_answers.c.id)
    )


BALLOT_ROWS = PreparedIn(
    lambda names: ballots_select(
        and_(ballots.c.vote_id.in_([bindparam(name) for name in names]), ballots.c.user_id == bindparam("user_id"))
    )
)


def ballots_of(conn: Connection, vote_ids: Sequence[int], user_id: int) -> dict[int, UserBallot]:
    """The user's ballots on these polls, keyed by vote id."""
    found: dict[int, UserBallot] = {}
    ballots_from(found, BALLOT_ROWS.rows(conn, vote_ids, user_id=user_id))
    return found


def ballot_of(conn: Connection, vote_id: int, user_id: int) -> UserBallot | None:
    """The user's ballot on one poll, or None."""
    return ballots_of(conn, (vote_id,), user_id).get(vote_id)


def ballots_from(found: dict[int, UserBallot], rows: Iterable[Sequence[Any]]) -> None:
    """Ballots from BALLOT_ROWS rows into ``found``, by vote id."""
    for vote_id, ballot_id, choice_id, ballot_question_id, question_id, answer_id, message in rows:
        ballot = found.setdefault(vote_id, UserBallot(event_id=ballot_id))
        if choice_id is not None:
            ballot.choices.setdefault(question_id, {})[answer_id] = BallotChoice(
                choice_id, ballot_question_id, answer_id, message
            )


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
