"""Queries behind the results report: ballots and the voters of each answer, streamed in batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, func, select

from b24vote.storage.tables import ballot_answers, ballots, users

__all__ = ["answer_voters", "ballot_answer_ids", "ballots_by_date", "ballots_by_name", "count_answer_ballots"]


def ballots_by_date(conn: Connection, vote_id: int, batch: int = 1000) -> Iterator[Any]:
    """A poll's ballots in voting order, with the same columns as :func:`ballots_by_name`.

    Used for anonymous polls: listing their ballots by voter name would let anyone who knows the voters
    match each row to a person.
    """
    query = (
        select(ballots.c.id, ballots.c.user_id, ballots.c.visible, ballots.c.date_vote, users.c.name, users.c.last_name)
        .join(users, users.c.id == ballots.c.user_id)
        .where(ballots.c.vote_id == vote_id)
        .order_by(ballots.c.date_vote, ballots.c.id)
    )
    yield from conn.execution_options(yield_per=batch).execute(query)


def answer_voters(conn: Connection, answer_id: int, batch: int = 1000) -> Iterator[Any]:
    """Who chose an answer (user id, visibility, name, last name), in the report's name order."""
    query = (
        select(ballot_answers.c.user_id, ballot_answers.c.visible, users.c.name, users.c.last_name)
        .join(users, users.c.id == ballot_answers.c.user_id)
        .where(ballot_answers.c.answer_id == answer_id)
        .order_by(users.c.last_name, users.c.name, ballot_answers.c.user_id)
    )
    yield from conn.execution_options(yield_per=batch).execute(query)


def count_answer_ballots(conn: Connection, answer_id: int) -> int:
    """How many ballots chose an answer, visible or not."""
    query = select(func.count()).select_from(ballot_answers).where(ballot_answers.c.answer_id == answer_id)
    return int(conn.execute(query).scalar_one())


def ballots_by_name(conn: Connection, vote_id: int, batch: int = 1000) -> Iterator[Any]:
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
