"""A poll's questions and answers, read once per version and kept in a per-process cache.

Questions and answers change only together with the vote's ``version`` (a fresh random number written in the
same transaction, see :func:`b24vote.storage.polls.new_version`), so they are cached by (vote id, version): a
snapshot restored later brings its own versions back with its own rows, so a cached version always names the
rows it was read from. Version 0 (rows written outside b24vote) is never cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Connection, Select, bindparam, select

from b24vote.cache import BoundedCache
from b24vote.domain.polls import Answer, Question
from b24vote.storage.raw import PreparedIn, utc
from b24vote.storage.tables import vote_answers, vote_questions, votes

__all__ = [
    "QUESTIONS",
    "QUESTIONS_ORDER",
    "QUESTIONS_ROWS",
    "Versioned",
    "questions_of",
    "questions_select",
    "remember_questions",
    "versioned_questions",
]

Versioned: TypeAlias = dict[int, tuple[int, tuple[Question, ...]]]  # vote id → (version, questions)

# Questions of a poll by vote id, at the version read last.
QUESTIONS: BoundedCache[int, tuple[Question, ...]] = BoundedCache(limit=10_000)


def questions_select(which: ColumnElement[bool]) -> Select[Any]:
    """The questions and answers of the polls ``which`` picks (a condition on ``votes``), with each poll's version,
    in the order a poll lists them: one row per answer (a question without answers: one row, answer columns null).
    """
    return (
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
        .where(which)
        .order_by(*QUESTIONS_ORDER)
    )


QUESTIONS_ORDER = (
    vote_questions.c.vote_id,
    vote_questions.c.c_sort,
    vote_questions.c.id,
    vote_answers.c.c_sort,
    vote_answers.c.id,
)
QUESTIONS_ROWS = PreparedIn(lambda names: questions_select(votes.c.id.in_([bindparam(name) for name in names])))


def versioned_questions(conn: Connection, vote_ids: Sequence[int]) -> Versioned:
    """(version, questions) of each poll, read from the database in one statement, and cached.

    The version is the one the same statement saw: on PostgreSQL (read committed) it may be newer than a vote
    row read earlier in the transaction, and the questions are cached, and must be rendered, under it.
    """
    found: dict[int, list[Question]] = {}
    versions: dict[int, int] = {}
    current: list[Answer] = []
    last: Sequence[Any] | None = None
    for row in QUESTIONS_ROWS.rows(conn, vote_ids):
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
        remember_questions(vote_id, version, questions)
    return result


def remember_questions(vote_id: int, version: int, questions: tuple[Question, ...]) -> None:
    """Cache questions known to be a poll's rows under ``version`` (a vote that wrote both: see polls.count)."""
    if version != 0:
        QUESTIONS.put(vote_id, version, questions)


def questions_of(conn: Connection, wanted: dict[int, int]) -> Versioned:
    """(version, questions) of the polls ``{vote id: version}``, from the cache where the version is known."""
    found: Versioned = {}
    missing = []
    for vote_id, version in wanted.items():
        hit = QUESTIONS.get(vote_id, version)
        if hit is None:
            missing.append(vote_id)
        else:
            found[vote_id] = (version, hit)
    if missing:
        found.update(versioned_questions(conn, sorted(missing)))
    return found


def _question(row: Sequence[Any], answers: list[Answer]) -> Question:
    """A question from a QUESTIONS_ROWS row: (version, vote_id, id, c_sort, question, field_type, required,
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
