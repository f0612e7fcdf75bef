"""Validating the data of a new poll, as Vote::checkData and the IM integration do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from b24vote.domain.polls import Anonymity, FieldType

__all__ = ["NewAnswer", "NewPoll", "NewQuestion", "PollDataError", "parse_poll_data"]

MAX_CHAT_ANSWERS = 10
MIN_CHAT_ANSWERS = 2


class PollDataError(ValueError):
    """The poll data breaks a rule; ``key`` names the rule (the vote module's language key)."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(key)
        self.key = key
        self.detail = detail


@dataclass(frozen=True, slots=True)
class NewAnswer:
    message: str
    reaction: str = ""


@dataclass(frozen=True, slots=True)
class NewQuestion:
    text: str
    field_type: int
    answers: tuple[NewAnswer, ...]
    required: bool = False


@dataclass(frozen=True, slots=True)
class NewPoll:
    questions: tuple[NewQuestion, ...]
    anonymity: int
    options: int


def _items(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    return []


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value).strip()


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value.strip())
    return default


def _question(raw: Any) -> NewQuestion | None:
    if not isinstance(raw, dict):
        return None
    text = _text(raw.get("QUESTION"))
    answers = tuple(
        NewAnswer(_text(a.get("MESSAGE")), _text(a.get("REACTION")))
        for a in _items(raw.get("ANSWERS"))
        if isinstance(a, dict) and _text(a.get("MESSAGE"))
    )
    if not text and not answers:
        return None  # neither text nor answers: skipped, not an error
    if not answers:
        raise PollDataError("VOTE_ANSWERS_EMPTY", text)
    if not text:
        raise PollDataError("VOTE_QUESTION_EMPTY")
    field_type = _int(raw.get("FIELD_TYPE"), FieldType.RADIO)
    if field_type not in tuple(FieldType):
        field_type = FieldType.RADIO
    required = _text(raw.get("REQUIRED")).upper() in ("Y", "1", "TRUE")
    return NewQuestion(text, field_type, answers, required)


def parse_poll_data(raw: dict[str, Any], *, chat: bool) -> NewPoll:
    """Trim, drop empty answers and skip empty questions, then apply the chat-poll limits when ``chat``."""
    questions = tuple(q for q in (_question(r) for r in _items(raw.get("QUESTIONS"))) if q is not None)
    if not questions:
        raise PollDataError("VOTE_INTEGRATION_IM_QUESTIONS_EMPTY")
    if chat:
        if len(questions) > 1:
            raise PollDataError("VOTE_INTEGRATION_IM_TO_MANY_QUESTIONS")
        if len(questions[0].answers) < MIN_CHAT_ANSWERS:
            raise PollDataError("VOTE_INTEGRATION_IM_MIN_ANSWERS")
        if len(questions[0].answers) > MAX_CHAT_ANSWERS:
            raise PollDataError("VOTE_INTEGRATION_IM_TO_MANY_ANSWERS")
    anonymity = _int(raw.get("ANONYMITY"), Anonymity.PUBLICLY)
    if anonymity not in tuple(Anonymity):
        anonymity = Anonymity.PUBLICLY
    options = _int(raw.get("OPTIONS"), 0) & 3
    return NewPoll(questions, anonymity, options)
