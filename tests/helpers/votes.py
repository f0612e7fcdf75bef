"""Helpers for tests of the vote methods: create chat polls and call methods over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from b24vote.domain.polls import IM_ENTITY_TYPE
from tests.conftest import Portal
from tests.helpers.wire import assert_envelope

ANSWERS = ("Отлично!", "Лучше всех!", "Какие дела??")


@dataclass(frozen=True)
class ChatPoll:
    message_id: int
    vote_id: int
    attach_id: int
    question_id: int
    answer_ids: tuple[int, ...]


def vote_data(
    question: str = "Как дела?",
    answers: tuple[str, ...] = ANSWERS,
    *,
    field_type: int = 0,
    anonymity: int | None = 1,
    options: int | None = 1,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "QUESTIONS": [{"QUESTION": question, "FIELD_TYPE": field_type, "ANSWERS": [{"MESSAGE": a} for a in answers]}]
    }
    if anonymity is not None:
        data["ANONYMITY"] = anonymity
    if options is not None:
        data["OPTIONS"] = options
    return data


def call(client: TestClient, portal: Portal, method: str, hook: str | None = None, **params: Any) -> Any:
    """A successful call's ``result``."""
    return assert_envelope(client.post(portal.url(method, hook), json=params))


def send_poll(
    client: TestClient, portal: Portal, hook: str | None = None, chat: int | None = None, **opts: Any
) -> ChatPoll:
    sent = call(
        client,
        portal,
        "vote.Integration.Im.send",
        hook,
        chatId=chat or portal.chat,
        IM_MESSAGE_VOTE_DATA=vote_data(**opts),
    )
    attach = call(
        client,
        portal,
        "vote.AttachedVote.get",
        hook,
        moduleId="im",
        entityType=IM_ENTITY_TYPE,
        entityId=sent["messageId"],
    )["attach"]
    (qid, question), *_ = attach["QUESTIONS"].items()
    return ChatPoll(
        message_id=sent["messageId"],
        vote_id=sent["voteId"],
        attach_id=attach["ID"],
        question_id=int(qid),
        answer_ids=tuple(int(a) for a in question["ANSWERS"]),
    )


def cast(client: TestClient, portal: Portal, poll: ChatPoll, *answers: int, hook: str | None = None) -> Any:
    return call(
        client,
        portal,
        "vote.AttachedVote.vote",
        hook,
        attachId=poll.attach_id,
        ballot={str(poll.question_id): list(answers)},
    )
