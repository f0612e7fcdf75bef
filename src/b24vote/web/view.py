"""What the results page shows, built from domain values only: no I/O, no HTML.

The same model renders the page (Jinja2) and feeds its live updates (:func:`live_payload`), so the two can
never disagree. Percentages are shown as people read them in chat polls (Bitrix24's poll in the chat, Telegram,
Discourse): whole numbers, ``67%``; the API's ``PERCENT`` (two decimals, :func:`b24vote.domain.polls.percent`)
is kept in the bar's accessible text and the answer's tooltip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from b24vote.domain.people import User
from b24vote.domain.polls import (
    IM_POLL_YEARS,
    MULTIPLE_CHOICE,
    Poll,
    Question,
    add_years,
    is_finished,
    is_open,
    percent,
)

__all__ = [
    "VOTERS_PER_PAGE",
    "AnswerView",
    "Download",
    "QuestionView",
    "ResultsView",
    "VoterPage",
    "VoterView",
    "build_results",
    "initials",
    "live_payload",
    "plural",
    "voter_page",
]

VOTERS_PER_PAGE = 50
_PHOTO_PREFIXES = ("https://", "http://", "/")


@dataclass(frozen=True, slots=True)
class VoterView:
    """One voter as the page lists them."""

    id: int
    name: str
    initials: str
    position: str
    photo: str | None


@dataclass(frozen=True, slots=True)
class VoterPage:
    """One page of an answer's voters; ``page`` counts from 1."""

    answer_id: int
    total: int
    page: int
    pages: int
    voters: tuple[VoterView, ...]

    @property
    def first(self) -> int:
        return (self.page - 1) * VOTERS_PER_PAGE + 1 if self.voters else 0

    @property
    def last(self) -> int:
        return self.first + len(self.voters) - 1 if self.voters else 0


@dataclass(frozen=True, slots=True)
class AnswerView:
    """An answer with its count, the API's rounded percentage, the bar's width and whether it leads."""

    id: int
    text: str
    counter: int
    percent: int | float
    bar: float
    voters: VoterPage | None
    leading: bool = False  # the most votes of its question (ties all lead); none while nobody voted

    @property
    def count_label(self) -> str:
        return plural(self.counter, "vote", "votes")

    @property
    def percent_label(self) -> str:
        """A whole number, rounded half away from zero: ``67%`` for 66.67."""
        return f"{Decimal(repr(self.bar)).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"

    @property
    def exact_label(self) -> str:
        """The API's ``PERCENT``, two decimals at most: ``66.67%``."""
        return f"{self.percent}%"


@dataclass(frozen=True, slots=True)
class QuestionView:
    """A question and its answers in display order."""

    id: int
    text: str
    counter: int
    multiple: bool
    answers: tuple[AnswerView, ...]


@dataclass(frozen=True, slots=True)
class Download:
    """A report link."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class ResultsView:
    """Everything the page shows about one poll."""

    title: str
    state: str  # "open", "stopped" (its end date has passed) or "closed" (inactive or not started yet)
    ends_at: datetime
    ended: bool
    total: int
    anonymous: bool
    questions: tuple[QuestionView, ...]
    downloads: tuple[Download, ...] = ()
    # False while the poll runs to the default end its creation set (ten years ahead): no date is worth showing.
    shows_end: bool = True

    @property
    def state_label(self) -> str:
        return {"open": "Open", "stopped": "Stopped"}.get(self.state, "Closed")

    @property
    def ends_label(self) -> str:
        if not self.shows_end:
            return ""
        return f"{'ended' if self.ended else 'closes'} {format_moment(self.ends_at)}"

    @property
    def total_label(self) -> str:
        return plural(self.total, "voter", "voters")


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def format_moment(moment: datetime) -> str:
    """``25 Nov 2026, 12:00 UTC+03:00`` in the portal's offset (the datetime arrives already shifted)."""
    offset = moment.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return f"{moment.day} {moment.strftime('%b %Y, %H:%M')} {zone}"


def initials(user: User) -> str:
    """Up to two letters for the avatar: first and last name, else the first two of the name."""
    parts = [p for p in (user.name.strip(), user.last_name.strip()) if p]
    if len(parts) == 2:
        return (parts[0][0] + parts[1][0]).upper()
    if parts:
        return parts[0][:2].upper()
    return "?"


def _photo(user: User) -> str | None:
    # Only web addresses: a stored value such as "javascript:…" must never become a src.
    photo = (user.personal_photo or "").strip()
    return photo if photo.lower().startswith(_PHOTO_PREFIXES) and not photo.startswith("//") else None


def voter_page(answer_id: int, users: list[User], *, total: int, page: int) -> VoterPage:
    """A page of voters already read in display order; ``total`` is every visible voter of the answer."""
    pages = max(1, -(-total // VOTERS_PER_PAGE))
    listed = tuple(
        VoterView(u.id, u.full_name or f"User {u.id}", initials(u), u.work_position, _photo(u)) for u in users
    )
    return VoterPage(answer_id, total, min(max(page, 1), pages), pages, listed)


def _state(poll: Poll, now: datetime) -> str:
    if is_open(poll, now):
        return "open"
    return "stopped" if is_finished(poll, now) else "closed"


def _question(question: Question, voters: Mapping[int, VoterPage] | None) -> QuestionView:
    answers = []
    most = max((a.counter for a in question.answers), default=0)
    for answer in question.answers:
        raw, rounded = percent(answer.counter, question.counter)
        page = None if voters is None else voters.get(answer.id) or VoterPage(answer.id, 0, 1, 1, ())
        bar = min(float(raw), 100.0)
        leading = most > 0 and answer.counter == most
        answers.append(AnswerView(answer.id, answer.message, answer.counter, rounded, bar, page, leading))
    multiple = question.field_type in MULTIPLE_CHOICE
    return QuestionView(question.id, question.text, question.counter, multiple, tuple(answers))


def build_results(
    poll: Poll,
    now: datetime,
    tz: timezone,
    *,
    voters: Mapping[int, VoterPage] | None,
    downloads: tuple[Download, ...] = (),
) -> ResultsView:
    """The page model; ``voters`` (answer id → page) must be None for anonymous polls, and is ignored then."""
    shown = None if poll.anonymous else voters or {}
    questions = tuple(_question(q, shown) for q in poll.questions)
    # A single question (every chat poll) is the page's heading; several share a neutral one.
    title = questions[0].text if len(questions) == 1 else "Poll results"
    ended = is_finished(poll, now)
    return ResultsView(
        title=title,
        state=_state(poll, now),
        ends_at=poll.date_end.astimezone(tz),
        ended=ended,
        total=poll.counter,
        anonymous=poll.anonymous,
        questions=questions,
        downloads=downloads,
        # The default end is ten calendar years after the start: nobody needs to read it as a date.
        shows_end=ended or poll.date_end < add_years(poll.date_start, IM_POLL_YEARS - 1, UTC),
    )


def _voters_payload(page: VoterPage) -> dict[str, Any]:
    return {
        "total": page.total,
        "page": page.page,
        "pages": page.pages,
        "first": page.first,
        "last": page.last,
        "items": [
            {"id": v.id, "name": v.name, "initials": v.initials, "position": v.position, "photo": v.photo}
            for v in page.voters
        ],
    }


def _answer_payload(answer: AnswerView) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": answer.id,
        "counter": answer.counter,
        "count_label": answer.count_label,
        "percent": answer.percent,
        "percent_label": answer.percent_label,
        "exact_label": answer.exact_label,
        "leading": answer.leading,
        "bar": round(answer.bar, 3),
    }
    if answer.voters is not None:
        data["voters"] = _voters_payload(answer.voters)
    return data


def live_payload(view: ResultsView) -> dict[str, Any]:
    """The JSON a live update carries: counters, percentages and state; voters only when the poll names them."""
    return {
        "state": view.state,
        "state_label": view.state_label,
        "ends_at": view.ends_at.isoformat(),
        "ends_label": view.ends_label,
        "total": view.total,
        "total_label": view.total_label,
        "questions": [
            {
                "id": q.id,
                "counter": q.counter,
                "counter_label": plural(q.counter, "voter", "voters"),
                "answers": [_answer_payload(a) for a in q.answers],
            }
            for q in view.questions
        ],
    }
