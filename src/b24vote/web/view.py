"""What the results page shows, built from domain values only: no I/O, no HTML.

The same model renders the page (Jinja2) and feeds its live updates (:func:`live_payload`), so the two can
never disagree. Percentages are shown as people read them in chat polls (Bitrix24's poll in the chat, Telegram,
Discourse): whole numbers, ``67%``; the API's ``PERCENT`` (two decimals, :func:`b24vote.domain.polls.percent`)
is kept in the bar's accessible text and the answer's tooltip. Every text comes from the portal language's
catalogue (:mod:`b24vote.web.page_texts`).

When the viewer is known (their own results link, :func:`b24vote.domain.signing.sign_viewer`), the answers
they chose are marked: ``mine`` holds them, and it is None for everyone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
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
from b24vote.web.page_texts import PageTexts

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
    count_label: str  # "2 votes", "2 голоса"
    exact_label: str  # the API's PERCENT, two decimals at most: "66.67%" ("66,67%" in Russian)
    leading: bool = False  # the most votes of its question (ties all lead); none while nobody voted
    mine: bool = False  # the viewer chose it (only ever true on the viewer's own link)

    @property
    def percent_label(self) -> str:
        """A whole number, rounded half away from zero: ``67%`` for 66.67."""
        return f"{Decimal(repr(self.bar)).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"


@dataclass(frozen=True, slots=True)
class QuestionView:
    """A question and its answers in display order."""

    id: int
    text: str
    counter: int
    counter_label: str
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

    texts: PageTexts
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
    # None unless the viewer is known (their own link); then whether they have a ballot on this poll.
    viewer_voted: bool | None = None

    @property
    def state_label(self) -> str:
        return self.texts.states.get(self.state, self.texts.states["closed"])

    @property
    def ends_label(self) -> str:
        if not self.shows_end:
            return ""
        return (self.texts.ended if self.ended else self.texts.closes).format(when=self.texts.moment(self.ends_at))

    @property
    def total_label(self) -> str:
        return self.texts.count(self.total, self.texts.voters)

    @property
    def viewer_label(self) -> str:
        if self.viewer_voted is None:
            return ""
        return self.texts.viewer_voted if self.viewer_voted else self.texts.viewer_not_voted


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


def voter_page(answer_id: int, users: list[User], *, total: int, page: int, texts: PageTexts) -> VoterPage:
    """A page of voters already read in display order; ``total`` is every visible voter of the answer."""
    pages = max(1, -(-total // VOTERS_PER_PAGE))
    listed = tuple(
        VoterView(u.id, u.full_name or texts.unnamed.format(id=u.id), initials(u), u.work_position, _photo(u))
        for u in users
    )
    return VoterPage(answer_id, total, min(max(page, 1), pages), pages, listed)


def _state(poll: Poll, now: datetime) -> str:
    if is_open(poll, now):
        return "open"
    return "stopped" if is_finished(poll, now) else "closed"


def _question(
    question: Question, voters: Mapping[int, VoterPage] | None, mine: AbstractSet[int], texts: PageTexts
) -> QuestionView:
    answers = []
    most = max((a.counter for a in question.answers), default=0)
    for answer in question.answers:
        raw, rounded = percent(answer.counter, question.counter)
        page = None if voters is None else voters.get(answer.id) or VoterPage(answer.id, 0, 1, 1, ())
        answers.append(
            AnswerView(
                id=answer.id,
                text=answer.message,
                counter=answer.counter,
                percent=rounded,
                bar=min(float(raw), 100.0),
                voters=page,
                count_label=texts.count(answer.counter, texts.votes),
                exact_label=f"{texts.number(rounded)}%",
                leading=most > 0 and answer.counter == most,
                mine=answer.id in mine,
            )
        )
    multiple = question.field_type in MULTIPLE_CHOICE
    counter_label = texts.count(question.counter, texts.voters)
    return QuestionView(question.id, question.text, question.counter, counter_label, multiple, tuple(answers))


def build_results(
    poll: Poll,
    now: datetime,
    tz: timezone,
    *,
    voters: Mapping[int, VoterPage] | None,
    texts: PageTexts,
    downloads: tuple[Download, ...] = (),
    mine: AbstractSet[int] | None = None,
) -> ResultsView:
    """The page model; ``voters`` (answer id → page) must be None for anonymous polls, and is ignored then.

    ``mine`` is the answer ids the viewer chose, given only when the viewer is known: an empty set means they
    have not voted, None that the page does not know who is looking.
    """
    shown = None if poll.anonymous else voters or {}
    questions = tuple(_question(q, shown, mine or frozenset(), texts) for q in poll.questions)
    # A single question (every chat poll) is the page's heading; several share a neutral one.
    title = questions[0].text if len(questions) == 1 else texts.several_questions
    ended = is_finished(poll, now)
    return ResultsView(
        texts=texts,
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
        viewer_voted=None if mine is None else bool(mine),
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


def _answer_payload(answer: AnswerView, viewer: bool) -> dict[str, Any]:
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
    if viewer:
        data["mine"] = answer.mine
    if answer.voters is not None:
        data["voters"] = _voters_payload(answer.voters)
    return data


def live_payload(view: ResultsView) -> dict[str, Any]:
    """The JSON a live update carries: counters, percentages and state; voters only when the poll names them,
    and the viewer's own choices (``mine``, ``viewer``) only on the viewer's own link."""
    viewer = view.viewer_voted is not None
    data: dict[str, Any] = {
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
                "counter_label": q.counter_label,
                "answers": [_answer_payload(a, viewer) for a in q.answers],
            }
            for q in view.questions
        ],
    }
    if viewer:
        data["viewer"] = {"voted": view.viewer_voted, "label": view.viewer_label}
    return data
