"""The two tables of a poll report as rows of cells; pure functions, no I/O.

Layout after Vote::exportExcel (../shared/reference/notes/vote-semantics.md §4.9): a summary table (a row
per question, then a row per answer with its counter and voters) and a statistics table (a row per ballot).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from b24vote.domain.polls import Answer, Poll

__all__ = [
    "DATE_FORMAT",
    "Cell",
    "Joined",
    "Labels",
    "Row",
    "Tables",
    "Voter",
    "cell_parts",
    "format_date",
    "statistics_head",
    "statistics_row",
    "summary_rows",
    "voter_label",
]

# The portal's default site format for date and time (DD.MM.YYYY HH:MI:SS).
DATE_FORMAT = "%d.%m.%Y %H:%M:%S"
SEPARATOR = ", "


@dataclass(frozen=True, slots=True)
class Joined:
    """A cell made of many parts joined by ``sep``, produced lazily so a huge voter list is never one string."""

    parts: Iterable[str]
    sep: str = SEPARATOR


Cell = str | int | Joined
Row = tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Labels:
    """The report's fixed texts (V_EXPORT_DATE, V_EXPORT_NAME, VOTE_ANONYMOUSLY, VOTE_GUEST)."""

    date: str
    name: str
    anonymous: str
    guest: str


@dataclass(frozen=True, slots=True)
class Voter:
    """Who cast a ballot, as far as the report needs to know."""

    user_id: int
    visible: bool
    name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class Tables:
    """A report ready to write: every iterable is lazy and may be read once."""

    vote_id: int
    summary: Iterable[Row]
    head: Row
    statistics: Iterable[Row]


def cell_parts(cell: Cell) -> Iterator[str]:
    """A cell's text, unescaped, in pieces: a joined cell alternates its parts and separators."""
    if isinstance(cell, Joined):
        for index, part in enumerate(cell.parts):
            if index:
                yield cell.sep
            yield part
    else:
        yield str(cell)


def voter_label(labels: Labels, voter: Voter, *, anonymous_poll: bool) -> str:
    """``Name LastName``; the anonymous label for anonymous polls and hidden ballots; the guest label for id 0."""
    if anonymous_poll or not voter.visible:
        return labels.anonymous
    if voter.user_id > 0:
        return " ".join(part for part in (voter.name, voter.last_name) if part) or labels.guest
    return labels.guest


def format_date(when: datetime, tz: timezone) -> str:
    """A vote date in the portal's time zone and date format."""
    return when.astimezone(tz).strftime(DATE_FORMAT)


def summary_rows(poll: Poll, voters_of: Callable[[Answer], Iterable[str]]) -> Iterator[Row]:
    """For each question a row ``[QUESTION, "", "", ""]``, then ``["", MESSAGE, COUNTER, voters]`` per answer."""
    for question in poll.questions:
        yield (question.text, "", "", "")
        for answer in question.answers:
            yield ("", answer.message, answer.counter, Joined(voters_of(answer)))


def statistics_head(poll: Poll, labels: Labels) -> Row:
    return (labels.date, labels.name, *(q.text for q in poll.questions))


def statistics_row(poll: Poll, date: str, label: str, chosen: Iterable[tuple[int, int]]) -> Row:
    """One ballot: date, voter, then per question the chosen answers' texts in the question's answer order."""
    picked = set(chosen)
    cells: list[Cell] = [date, label]
    for question in poll.questions:
        texts = [a.message for a in question.answers if (question.id, a.id) in picked]
        cells.append(SEPARATOR.join(texts))
    return tuple(cells)
