"""Reading a poll's report tables from the database, lazily: ballots come in batches as the writer asks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import timezone
from itertools import islice, repeat
from typing import Any

from sqlalchemy import Connection

from b24vote.domain.polls import Answer, Poll
from b24vote.reports.tables import (
    Labels,
    Row,
    Tables,
    Voter,
    format_date,
    statistics_head,
    statistics_row,
    summary_rows,
    voter_label,
)
from b24vote.storage import reports

__all__ = ["read_tables"]

BATCH = 1000


def _voter(row: Any) -> Voter:
    return Voter(user_id=row.user_id, visible=bool(row.visible), name=row.name, last_name=row.last_name)


def _voters_of(conn: Connection, poll: Poll, labels: Labels, batch: int) -> Callable[[Answer], Iterable[str]]:
    def voters(answer: Answer) -> Iterable[str]:
        if poll.anonymous:
            # Nothing about the voters is read: only how many there are.
            return repeat(labels.anonymous, reports.count_answer_ballots(conn, answer.id))
        return (
            voter_label(labels, _voter(row), anonymous_poll=False)
            for row in reports.answer_voters(conn, answer.id, batch)
        )

    return voters


def _statistics(conn: Connection, poll: Poll, tz: timezone, labels: Labels, batch: int) -> Iterator[Row]:
    # Anonymous polls list ballots in voting order: name order would tell who cast which row.
    listed = reports.ballots_by_date if poll.anonymous else reports.ballots_by_name
    rows = listed(conn, poll.id, batch)
    while chunk := list(islice(rows, batch)):
        chosen = reports.ballot_answer_ids(conn, [row.id for row in chunk])
        for row in chunk:
            label = voter_label(labels, _voter(row), anonymous_poll=poll.anonymous)
            yield statistics_row(poll, format_date(row.date_vote, tz), label, chosen.get(row.id, ()))


def read_tables(conn: Connection, poll: Poll, *, tz: timezone, labels: Labels, batch: int = BATCH) -> Tables:
    """The report of ``poll``; its iterables read from ``conn``, which must stay open while they are used."""
    return Tables(
        vote_id=poll.id,
        summary=summary_rows(poll, _voters_of(conn, poll, labels, batch)),
        head=statistics_head(poll, labels),
        statistics=_statistics(conn, poll, tz, labels, batch),
    )
