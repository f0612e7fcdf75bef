"""The ``attach`` object and the voter DTO exactly as the real server formats them.

Key order and JSON types follow the method specs' result examples and
../shared/reference/notes/vote-semantics.md §2: ids and counters inside QUESTIONS/ANSWERS are strings, except
counters the current call changed, which are ints; an empty map is ``[]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from b24vote.cache import BoundedCache
from b24vote.clock import iso
from b24vote.domain.people import User
from b24vote.domain.polls import Answer, AttachedPoll, Poll, Question, UserBallot, is_finished, is_open, percent
from b24vote.domain.signing import sign_attach
from b24vote.methods.registry import CallContext
from b24vote.methods.vote_access import can_edit, can_read

__all__ = [
    "Touched",
    "download_url",
    "format_attach",
    "mobile_voter_dto",
    "result_url",
    "voter_dto",
    "voting_questions",
]

DOWNLOAD_PATH = "/bitrix/services/main/ajax.php?action=vote.AttachedVote.download&SITE_ID=s1&signedAttachId="


@dataclass(slots=True)
class Touched:
    """Counters changed by this call; they are rendered as ints, the rest as the strings a fresh read gives."""

    questions: set[int] = field(default_factory=set)
    answers: set[int] = field(default_factory=set)


def result_url(target: AttachedPoll, signed: str) -> str:
    """``resultUrl``: the result page of the attach's UID, or of its signed id when it has none (feed polls)."""
    return "/vote-result/" + (target.attach.uid or signed)


def download_url(ctx: CallContext, target: AttachedPoll, signed: str | None = None) -> str:
    """``downloadUrl``: the report of the attach, reachable with its signed id alone."""
    return DOWNLOAD_PATH + (signed or sign_attach(target.attach.id, ctx.secret_key))


def _counter(value: int, touched: bool) -> int | str:
    return value if touched else str(value)


def _answer(ctx: CallContext, attach_id: int, question: Question, answer: Answer, touched: Touched) -> dict[str, Any]:
    field_name = f"bx_vote_event[{attach_id}][BALLOT][{question.id}]"
    raw, rounded = percent(answer.counter, question.counter)
    return {
        "ID": str(answer.id),
        "ACTIVE": "Y",
        "TIMESTAMP_X": iso(answer.timestamp, ctx.tz),
        "QUESTION_ID": str(question.id),
        "C_SORT": str(answer.c_sort),
        "IMAGE_ID": None,
        "MESSAGE": answer.message,
        "MESSAGE_TYPE": answer.message_type,
        "COUNTER": _counter(answer.counter, answer.id in touched.answers),
        "FIELD_TYPE": str(question.field_type),
        "FIELD_WIDTH": "0",
        "FIELD_HEIGHT": "0",
        "FIELD_PARAM": None,
        "COLOR": "",
        "REACTION": answer.reaction,
        "~FIELD_NAME": field_name,
        "FIELD_NAME": field_name,
        "MESSAGE_FIELD_NAME": f"bx_vote_event[{attach_id}][MESSAGE][{question.id}][{answer.id}]",
        "~PERCENT": raw,
        "PERCENT": rounded,
    }


def _question(ctx: CallContext, attach_id: int, question: Question, touched: Touched) -> dict[str, Any]:
    answers = {str(a.id): _answer(ctx, attach_id, question, a, touched) for a in question.answers}
    return {
        "ID": str(question.id),
        "ACTIVE": "Y",
        "TIMESTAMP_X": iso(question.timestamp, ctx.tz),
        "VOTE_ID": str(question.vote_id),
        "C_SORT": str(question.c_sort),
        "COUNTER": _counter(question.counter, question.id in touched.questions),
        "QUESTION": question.text,
        "QUESTION_TYPE": "text",
        "IMAGE_ID": None,
        "DIAGRAM": "Y",
        "DIAGRAM_TYPE": "histogram",
        "REQUIRED": "Y" if question.required else "N",
        "FIELD_TYPE": str(question.field_type),
        "FIELD_NAME": f"bx_vote_event[{attach_id}][BALLOT][{question.id}]",
        "IMAGE": None,
        "ANSWERS": answers or [],
    }


# QUESTIONS as a read renders them, by (attach id, vote id, time zone) at the poll's version; never mutated once
# stored.
_RENDERED: BoundedCache[tuple[int, int, tzinfo], dict[str, Any] | list[Any]] = BoundedCache(limit=10_000)


def _questions(ctx: CallContext, target: AttachedPoll, touched: Touched) -> dict[str, Any] | list[Any]:
    poll, attach_id = target.poll, target.attach.id
    fresh = poll.version != 0 and not touched.questions and not touched.answers  # 0: written outside b24vote
    key = (attach_id, poll.id, ctx.tz)
    if fresh and (found := _RENDERED.get(key, poll.version)) is not None:
        return found
    rendered: dict[str, Any] | list[Any] = {
        str(q.id): _question(ctx, attach_id, q, touched) for q in poll.questions
    } or []
    if fresh:
        _RENDERED.put(key, poll.version, rendered)
    return rendered


def answer_map(ballot: UserBallot | None) -> dict[str, Any] | list[Any]:
    """``userAnswerMap``: the caller's choices keyed by question and answer id, or ``[]``."""
    if ballot is None or not ballot.choices:
        return []
    return {
        str(qid): {
            str(aid): {
                "EVENT_ID": str(choice.event_answer_id),
                "EVENT_QUESTION_ID": str(choice.event_question_id),
                "ANSWER_ID": str(aid),
                "ID": str(choice.event_answer_id),
                "MESSAGE": choice.message,
            }
            for aid, choice in answers.items()
        }
        for qid, answers in ballot.choices.items()
    }


def format_attach(
    ctx: CallContext, target: AttachedPoll, *, ballot: UserBallot | None, touched: Touched | None = None
) -> dict[str, Any]:
    """The attach object as get, getMany, getWithVoted, vote and recall return it, for the calling user.

    ``ballot``: the caller's ballot on the poll (None: not voted), loaded by the caller.
    """
    poll, attach = target.poll, target.attach
    touched = touched or Touched()
    participate = can_read(ctx, target) and is_open(poll, ctx.now)
    signed = sign_attach(attach.id, ctx.secret_key)
    return {
        "ID": attach.id,
        "VOTE_ID": poll.id,
        "COUNTER": poll.counter,
        "QUESTIONS": _questions(ctx, target, touched),
        "ANONYMITY": poll.anonymity,
        "OPTIONS": poll.options,
        "userAnswerMap": answer_map(ballot),
        "canEdit": can_edit(ctx, target),
        "canVote": participate and ballot is None,
        "canRevote": participate and poll.revote_allowed,
        "isVoted": ballot is not None,
        "signedAttachId": signed,
        "resultUrl": result_url(target, signed),
        "downloadUrl": download_url(ctx, target, signed),
        "entityId": attach.entity_id,
        "isFinished": is_finished(poll, ctx.now),
    }


def voter_dto(user: User) -> dict[str, Any]:
    """A voter as getWithVoted and getAnswerVoted list them."""
    return {
        "ID": user.id,
        "NAME": user.full_name,
        "IMAGE": user.personal_photo,
        "WORK_POSITION": user.work_position,
    }


def mobile_voter_dto(user: User) -> dict[str, Any]:
    """A voter as getWithVoted and getAnswerVoted list them with ``userForMobileFormat``: the mobile app's user.

    The mobile module's user object (notes/vote-semantics.md §4.4; its fields and order in docs/compatibility.md),
    camelCase keys, every one present; what b24vote does not keep about a user is null.
    """
    return {
        "id": user.id,
        "login": user.email or None,
        "name": user.name,
        "lastName": user.last_name,
        "secondName": user.second_name,
        "fullName": user.full_name,
        "email": user.email,
        "workPhone": None,
        "workPosition": user.work_position,
        "link": f"/company/personal/user/{user.id}/",
        "avatarSizeOriginal": user.personal_photo,
        "avatarSize100": user.personal_photo,
        "isAdmin": user.is_admin,
        "isRootAdmin": False,
        "isCollaber": False,
        "isExtranet": False,
        "isGuest": False,
        "personalMobile": None,
        "personalPhone": None,
        "lastActivityDate": None,
        "timezone": None,
        "personalGender": None,
        "dateRegister": int(user.date_register.timestamp()),
    }


def voting_questions(poll: Poll) -> dict[str, Any]:
    """QUESTIONS as the ``voting`` live event carries them: counters as ints, percentages, no voter lists."""
    return {
        str(q.id): {
            "ANSWERS": {
                str(a.id): {"PERCENT": percent(a.counter, q.counter)[1], "USERS": [], "COUNTER": a.counter}
                for a in q.answers
            },
            "COUNTER": q.counter,
        }
        for q in poll.questions
    }
