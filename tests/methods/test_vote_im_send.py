"""vote.Integration.Im.send: creating chat polls, every error, templateId de-duplication."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from b24vote.storage.engine import Database
from b24vote.storage.tables import messages, votes
from tests.conftest import Portal
from tests.helpers.votes import call, send_poll, vote_data
from tests.helpers.wire import assert_b24_error, assert_envelope

METHOD = "vote.Integration.Im.send"


def send(client: TestClient, portal: Portal, hook: str | None = None, **params: Any) -> Any:
    return client.post(portal.url(METHOD, hook), json=params)


def count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_creates_a_message_and_a_poll(app_client: TestClient, portal: Portal, db: Database) -> None:
    result = assert_envelope(send(app_client, portal, chatId=portal.chat, IM_MESSAGE_VOTE_DATA=vote_data()))
    assert list(result) == ["messageId", "voteId"]
    assert all(isinstance(v, int) for v in result.values())
    with db.read() as conn:
        row = conn.execute(select(messages).where(messages.c.id == result["messageId"])).one()
    assert (row.chat_id, row.author_id, row.message) == (portal.chat, portal.admin, "Как дела?")
    assert '"COMPONENT_ID":"VoteMessage"' in row.params


def test_attach_is_separate_from_vote(app_client: TestClient, portal: Portal) -> None:
    first = send_poll(app_client, portal)
    # A second vote without an attach (a duplicate templateId leaves one) shifts the sequences apart.
    template = "0b8e6a52-3c1f-4d2e-9a7b-5f6e7d8c9b0a"
    call(app_client, portal, METHOD, chatId=portal.chat, IM_MESSAGE_VOTE_DATA=vote_data(), templateId=template)
    call(app_client, portal, METHOD, chatId=portal.chat, IM_MESSAGE_VOTE_DATA=vote_data(), templateId=template)
    third = send_poll(app_client, portal)
    assert first.attach_id == first.vote_id
    assert third.attach_id != third.vote_id
    attach = call(app_client, portal, "vote.AttachedVote.get", attachId=third.attach_id)["attach"]
    assert (attach["ID"], attach["VOTE_ID"], attach["entityId"]) == (third.attach_id, third.vote_id, third.message_id)


def test_defaults_are_public_and_no_revote(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, anonymity=None, options=None)
    attach = call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]
    assert (attach["ANONYMITY"], attach["OPTIONS"]) == (1, 0)
    assert attach["canRevote"] is False and attach["canVote"] is True


def test_trims_and_drops_empty_answers(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, question="  Lunch?  ", answers=(" Pizza ", "   ", "Soup"))
    question = call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]["QUESTIONS"]
    (q,) = question.values()
    assert q["QUESTION"] == "Lunch?"
    assert [a["MESSAGE"] for a in q["ANSWERS"].values()] == ["Pizza", "Soup"]
    assert [a["C_SORT"] for a in q["ANSWERS"].values()] == ["10", "20"]


def test_form_encoding_equals_json(app_client: TestClient, portal: Portal) -> None:
    form = {
        "chatId": str(portal.chat),
        "IM_MESSAGE_VOTE_DATA[QUESTIONS][0][QUESTION]": "Q?",
        "IM_MESSAGE_VOTE_DATA[QUESTIONS][0][FIELD_TYPE]": "1",
        "IM_MESSAGE_VOTE_DATA[QUESTIONS][0][ANSWERS][0][MESSAGE]": "a",
        "IM_MESSAGE_VOTE_DATA[QUESTIONS][0][ANSWERS][1][MESSAGE]": "b",
        "IM_MESSAGE_VOTE_DATA[ANONYMITY]": "2",
        "IM_MESSAGE_VOTE_DATA[OPTIONS]": "1",
    }
    via_form = assert_envelope(app_client.post(portal.url(METHOD), data=form))
    via_json = assert_envelope(
        send(
            app_client,
            portal,
            chatId=portal.chat,
            IM_MESSAGE_VOTE_DATA=vote_data("Q?", ("a", "b"), field_type=1, anonymity=2),
        )
    )

    def shape(message_id: int) -> Any:
        attach = call(
            app_client,
            portal,
            "vote.AttachedVote.getMany",
            moduleId="im",
            entityType="Bitrix\\Vote\\Attachment\\ImMessageConnector",
            entityIds=[message_id],
        )["items"][0]
        questions = [
            (q["QUESTION"], q["FIELD_TYPE"], [a["MESSAGE"] for a in q["ANSWERS"].values()])
            for q in attach["QUESTIONS"].values()
        ]
        return attach["ANONYMITY"], attach["OPTIONS"], questions

    assert shape(via_form["messageId"]) == shape(via_json["messageId"])


RU = {
    "empty": "Введите вопрос и варианты ответов",
    "many_q": "Максимальное количество вопросов: 1",
    "min": "Минимальное количество ответов: 2",
    "max": "Максимальное количество ответов: 10",
}


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"QUESTIONS": []}, RU["empty"]),
        ({}, RU["empty"]),
        ({"QUESTIONS": [{"QUESTION": "", "ANSWERS": []}]}, RU["empty"]),
        ({"QUESTIONS": [vote_data()["QUESTIONS"][0], vote_data("Second?")["QUESTIONS"][0]]}, RU["many_q"]),
        (vote_data(answers=("only",)), RU["min"]),
        (vote_data(answers=("only", "  ")), RU["min"]),
        (vote_data(answers=tuple(str(i) for i in range(11))), RU["max"]),
        (
            {"QUESTIONS": [{"QUESTION": "Q?", "ANSWERS": [{"MESSAGE": " "}]}]},
            "Не указаны варианты ответа на вопрос «Q?»",
        ),
        (
            {"QUESTIONS": [{"QUESTION": " ", "ANSWERS": [{"MESSAGE": "a"}, {"MESSAGE": "b"}]}]},
            "Не указан текст вопроса",
        ),
    ],
)
def test_poll_data_errors(
    app_client: TestClient, portal: Portal, db: Database, data: dict[str, Any], text: str
) -> None:
    assert_b24_error(send(app_client, portal, chatId=portal.chat, IM_MESSAGE_VOTE_DATA=data), "0", 400, text)
    assert count(db, votes) == 0


def test_ten_answers_are_allowed(app_client: TestClient, portal: Portal) -> None:
    send_poll(app_client, portal, answers=tuple(f"option {i}" for i in range(10)))


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({}, "Could not find value for parameter {chatId}"),
        (
            {"chatId": "abc", "IM_MESSAGE_VOTE_DATA": vote_data()},
            "Invalid value {abc} to match with parameter {chatId}. Should be value of type int.",
        ),
        ({"chatId": 1}, "Could not find value for parameter {IM_MESSAGE_VOTE_DATA}"),
        (
            {"chatId": 1, "IM_MESSAGE_VOTE_DATA": "x"},
            "Invalid value {x} to match with parameter {IM_MESSAGE_VOTE_DATA}. Should be value of type array.",
        ),
    ],
)
def test_binder_errors(app_client: TestClient, portal: Portal, params: dict[str, Any], text: str) -> None:
    assert_b24_error(send(app_client, portal, **params), "100", 400, text)


def test_caller_must_be_a_member(app_client: TestClient, portal: Portal, db: Database) -> None:
    resp = send(app_client, portal, portal.outsider_hook, chatId=portal.chat, IM_MESSAGE_VOTE_DATA=vote_data())
    assert_b24_error(resp, "0", 400, "Недостаточно прав для создания опроса")
    resp = send(app_client, portal, chatId=999_999, IM_MESSAGE_VOTE_DATA=vote_data())
    assert_b24_error(resp, "0", 400, "Недостаточно прав для создания опроса")
    # Nothing half-written: the failed calls left no poll and no message behind.
    assert count(db, votes) == 0
    assert count(db, messages) == 0


def test_scope_is_checked(app_client: TestClient, portal: Portal) -> None:
    resp = send(app_client, portal, portal.narrow_hook, chatId=portal.chat, IM_MESSAGE_VOTE_DATA=vote_data())
    assert_b24_error(resp, "insufficient_scope", 403)


def test_template_uuid_v4_deduplicates(app_client: TestClient, portal: Portal, db: Database) -> None:
    template = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
    first = call(app_client, portal, METHOD, chatId=portal.chat, IM_MESSAGE_VOTE_DATA=vote_data(), templateId=template)
    again = call(app_client, portal, METHOD, chatId=portal.chat, IM_MESSAGE_VOTE_DATA=vote_data(), templateId=template)
    assert again["messageId"] == first["messageId"]
    assert again["voteId"] != first["voteId"]  # the real server saves the poll before it finds the duplicate
    assert count(db, messages) == 1


@pytest.mark.parametrize(
    "template",
    ["9F1C2D3E-4B5A-4C6D-8E7F-0A1B2C3D4E5F", "9f1c2d3e-4b5a-1c6d-8e7f-0a1b2c3d4e5f", "my-request-1", "12345"],
)
def test_other_templates_do_not_deduplicate(
    app_client: TestClient, portal: Portal, db: Database, template: str
) -> None:
    first = call(app_client, portal, METHOD, chatId=portal.chat, IM_MESSAGE_VOTE_DATA=vote_data(), templateId=template)
    again = call(app_client, portal, METHOD, chatId=portal.chat, IM_MESSAGE_VOTE_DATA=vote_data(), templateId=template)
    assert again["messageId"] != first["messageId"]
    assert count(db, messages) == 2
