"""The columns an attach and a poll are read with, and the one mapping of each from a raw row.

Rows come from :class:`b24vote.storage.raw.Prepared` (plain tuples): statements put ``ATTACH_COLUMNS`` and
``POLL_COLUMNS`` side by side and the mappers read them by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from b24vote.domain.polls import Attach, Poll, Question
from b24vote.storage.raw import utc
from b24vote.storage.tables import attaches, votes

__all__ = ["ATTACH_COLUMNS", "POLL_COLUMNS", "POLL_VERSION", "attach_from", "poll_from"]

ATTACH_COLUMNS = (
    attaches.c.id,
    attaches.c.vote_id,
    attaches.c.module_id,
    attaches.c.entity_type,
    attaches.c.entity_id,
    attaches.c.uid,
    attaches.c.created_by,
)
POLL_COLUMNS = (
    votes.c.id,
    votes.c.author_id,
    votes.c.anonymity,
    votes.c.options,
    votes.c.active,
    votes.c.date_start,
    votes.c.date_end,
    votes.c.counter,
    votes.c.version,
)
POLL_VERSION = 8  # the row's version, which names the questions to read, after the POLL_COLUMNS' start


def attach_from(row: Sequence[Any]) -> Attach:
    """An Attach from a row starting with ``ATTACH_COLUMNS``."""
    return Attach(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


def poll_from(row: Sequence[Any], at: int, questions: dict[int, tuple[int, tuple[Question, ...]]]) -> Poll:
    """A Poll from the ``POLL_COLUMNS`` at position ``at`` of a row, with the (version, questions) read for it.

    Its version is the one its questions were read under (see :func:`b24vote.storage.questions.questions_of`).
    """
    vote_id = row[at]
    version, listed = questions.get(vote_id, (0, ()))
    return Poll(
        id=vote_id,
        author_id=row[at + 1],
        anonymity=row[at + 2],
        options=row[at + 3],
        active=bool(row[at + 4]),
        date_start=utc(row[at + 5]),
        date_end=utc(row[at + 6]),
        counter=row[at + 7],
        questions=listed,
        version=version,
    )
