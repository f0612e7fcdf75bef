"""Polls: questions, answers, attaches and ballots as values, and the rules of voting.

Follows ../shared/reference/notes/vote-semantics.md (what a real portal does); pure functions only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from enum import IntEnum
from typing import Any

__all__ = [
    "ALLOW_REVOTE",
    "BLOG_ENTITY_TYPE",
    "HIDE_RESULT",
    "IM_ENTITY_TYPE",
    "IM_POLL_YEARS",
    "MULTIPLE_CHOICE",
    "Anonymity",
    "Answer",
    "Attach",
    "AttachedPoll",
    "BallotChoice",
    "FieldType",
    "Message",
    "Poll",
    "Question",
    "UserBallot",
    "add_years",
    "is_finished",
    "is_open",
    "listed_voters",
    "missing_required",
    "normalise_ballot",
    "percent",
    "poll_end",
    "recounted",
    "resume_end",
]

IM_ENTITY_TYPE = "Bitrix\\Vote\\Attachment\\ImMessageConnector"
BLOG_ENTITY_TYPE = "Bitrix\\Vote\\Attachment\\BlogPostConnector"

ALLOW_REVOTE = 1
HIDE_RESULT = 2

# Chat polls end ten calendar years after creation; `resume` reopens for one calendar year only.
IM_POLL_YEARS = 10
RESUME_YEARS = 1


class Anonymity(IntEnum):
    """Vote\\Anonymity: only ANONYMOUSLY (2) hides who voted."""

    UNDEFINED = 0
    PUBLICLY = 1
    ANONYMOUSLY = 2


class FieldType(IntEnum):
    """How a question is answered."""

    RADIO = 0
    CHECKBOX = 1
    DROPDOWN = 2
    MULTISELECT = 3


MULTIPLE_CHOICE = frozenset({FieldType.CHECKBOX, FieldType.MULTISELECT})


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer of a question, with its counter."""

    id: int
    question_id: int
    c_sort: int
    message: str
    counter: int
    timestamp: datetime
    reaction: str = ""
    message_type: str = "text"


@dataclass(frozen=True, slots=True)
class Question:
    """One question and its answers, in display order."""

    id: int
    vote_id: int
    c_sort: int
    text: str
    field_type: int
    counter: int
    timestamp: datetime
    answers: tuple[Answer, ...]
    required: bool = False


@dataclass(frozen=True, slots=True)
class Poll:
    """A vote: its settings, its dates, its questions and the number of ballots."""

    id: int
    author_id: int
    anonymity: int
    options: int
    active: bool
    date_start: datetime
    date_end: datetime
    counter: int
    questions: tuple[Question, ...]
    # Changes whenever a question's or an answer's row does (a fresh random number): names their content.
    version: int = 0

    @property
    def revote_allowed(self) -> bool:
        return bool(self.options & ALLOW_REVOTE)

    @property
    def anonymous(self) -> bool:
        return self.anonymity == Anonymity.ANONYMOUSLY

    def answer_ids(self) -> set[int]:
        return {a.id for q in self.questions for a in q.answers}


def recounted(
    poll: Poll, *, ballots: int, questions: Mapping[int, int], answers: Mapping[int, int], version: int
) -> Poll:
    """The poll with the counters a vote or a recall left: ``ballots`` for the poll, ``questions`` and ``answers``
    by id for the rows it moved (the others keep theirs), named ``version``."""

    def question(q: Question) -> Question:
        if q.id not in questions and not any(a.id in answers for a in q.answers):
            return q
        moved = tuple(replace(a, counter=answers[a.id]) if a.id in answers else a for a in q.answers)
        return replace(q, counter=questions.get(q.id, q.counter), answers=moved)

    return replace(poll, counter=ballots, questions=tuple(question(q) for q in poll.questions), version=version)


@dataclass(frozen=True, slots=True)
class Attach:
    """A poll attached to an entity: a chat message (``im``) or a feed post (``blog``)."""

    id: int
    vote_id: int
    module_id: str
    entity_type: str
    entity_id: int
    uid: str | None
    created_by: int


@dataclass(frozen=True, slots=True)
class Message:
    """The chat message a chat poll lives in."""

    id: int
    chat_id: int
    author_id: int


@dataclass(frozen=True, slots=True)
class AttachedPoll:
    """An attach and its poll as one viewer sees them: the chat message (chat polls) and the viewer's membership."""

    attach: Attach
    poll: Poll
    message: Message | None
    viewer_is_member: bool  # the viewer is in the message's chat (chat polls)


@dataclass(frozen=True, slots=True)
class BallotChoice:
    """One chosen answer of a stored ballot (the ids are the event rows' ids)."""

    event_answer_id: int
    event_question_id: int
    answer_id: int
    message: str = ""


@dataclass(slots=True)
class UserBallot:
    """A user's stored ballot: question id → answer id → choice."""

    event_id: int
    choices: dict[int, dict[int, BallotChoice]] = field(default_factory=dict)


def is_open(poll: Poll, now: datetime) -> bool:
    """The "green lamp": active and within its dates; only then can anyone vote or recall.

    The end is exclusive so that a poll stopped at this very instant is closed, agreeing with ``isFinished``.
    """
    return poll.active and poll.date_start <= now < poll.date_end


def is_finished(poll: Poll, now: datetime) -> bool:
    return poll.date_end <= now


def add_years(moment: datetime, years: int, tz: tzinfo) -> datetime:
    """``moment`` plus calendar years on the portal's calendar, as PHP's ``DateTime::add`` counts them.

    The same wall time on the same day ``years`` later in the portal's time zone; 29 February of a year without
    one overflows to 1 March, as PHP normalises the date (notes/vote-semantics.md §4.1, §4.8).
    """
    local = moment.astimezone(tz)
    try:
        moved = local.replace(year=local.year + years)
    except ValueError:  # 29 February, and the target year has none
        moved = local.replace(year=local.year + years, month=3, day=1)
    return moved.astimezone(moment.tzinfo)


def poll_end(now: datetime, tz: tzinfo) -> datetime:
    """When a new chat (or feed) poll ends: ten calendar years from now."""
    return add_years(now, IM_POLL_YEARS, tz)


def resume_end(now: datetime, tz: tzinfo) -> datetime:
    """The end ``resume`` sets: one calendar year from now (not the ten a new poll gets)."""
    return add_years(now, RESUME_YEARS, tz)


def _ids(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    return [value]


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


def normalise_ballot(poll: Poll, ballot: dict[str, Any]) -> dict[int, list[int]]:
    """Keep what the real server keeps of a ballot.

    Unknown questions and answers are ignored; a single-choice question keeps only its first valid answer
    in ballot order; multiple-choice questions keep every valid answer once. Questions left with no answer
    are dropped.
    """
    by_id = {q.id: q for q in poll.questions}
    result: dict[int, list[int]] = {}
    for raw_qid, raw_answers in ballot.items():
        qid = _as_id(raw_qid)
        question = by_id.get(qid) if qid is not None else None
        if question is None or question.id in result:
            continue
        valid = {a.id for a in question.answers}
        chosen: list[int] = []
        for raw in _ids(raw_answers):
            aid = _as_id(raw)
            if aid is not None and aid in valid and aid not in chosen:
                chosen.append(aid)
        if question.field_type not in MULTIPLE_CHOICE:
            chosen = chosen[:1]
        if chosen:
            result[question.id] = chosen
    return result


def listed_voters(poll: Poll, answer: Answer) -> int:
    """How many voters of an answer may be listed: all of them (the counter equals the ballot rows), or
    none on an anonymous poll, whose ballots are all stored hidden."""
    return 0 if poll.anonymous else answer.counter


def missing_required(poll: Poll, chosen: dict[int, list[int]]) -> Question | None:
    """The first required question the ballot leaves unanswered."""
    return next((q for q in poll.questions if q.required and q.id not in chosen), None)


def _php_round(value: float, places: int = 2) -> float:
    # PHP rounds half away from zero on the decimal it prints, so 1.005 → 1.01 (float round() gives 1.0).
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value


def percent(answer_counter: int, question_counter: int) -> tuple[int | float, int | float]:
    """(``~PERCENT``, ``PERCENT``): answer / question × 100, raw and rounded to two decimals."""
    if question_counter <= 0:
        return 0, 0
    raw = answer_counter * 100 / question_counter
    return _number(raw), _number(_php_round(raw))
