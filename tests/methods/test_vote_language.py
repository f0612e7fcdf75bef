"""The portal's language (``B24VOTE_LANGUAGE``): every text the vote module writes, on an English and a Russian portal.

Expected texts are written out here, not read from the catalogues: those the reference quotes are copied from
it (../shared/reference/bitrix24-docs-en/vote/*.md, ../shared/reference/bitrix24-docs/vote/*.md), the others
are the wording docs/compatibility.md lists.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from b24vote.config import LANGUAGES
from b24vote.methods.vote_download import report_labels
from b24vote.methods.vote_language import CATALOGUES
from b24vote.storage.engine import Database
from b24vote.storage.tables import messages
from tests.conftest import Portal
from tests.helpers.reports import cast as cast_answers
from tests.helpers.reports import chat_poll, csv_rows, html_rows, xlsx_rows
from tests.helpers.votes import call, send_poll, vote_data
from tests.helpers.wire import assert_b24_error

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "inactive": "The poll is inactive.",
        "empty": "Please enter a question and answer options",
        "many_q": "Maximum number of questions: 1",
        "min": "Minimum number of answers: 2",
        "max": "Maximum number of answers: 10",
        "no_answers": "No answer options given for the question “Q?”",
        "no_question": "The question text is not given",
        "not_member": "Insufficient rights to create a survey",
        "stop": "[USER={user}]Anna Admin[/USER] stopped the poll [CONTEXT=chat{chat}/{message}]Как дела?[/CONTEXT]",
        "date": "Date",
        "name": "User",
        "anonymous": "Anonymous",
        "guest": "Guest",
    },
    "ru": {
        "inactive": "Опрос неактивен.",
        "empty": "Введите вопрос и варианты ответов",
        "many_q": "Максимальное количество вопросов: 1",
        "min": "Минимальное количество ответов: 2",
        "max": "Максимальное количество ответов: 10",
        "no_answers": "Не указаны варианты ответа на вопрос «Q?»",
        "no_question": "Не указан текст вопроса",
        "not_member": "Недостаточно прав для создания опроса",
        "stop": "[USER={user}]Anna Admin[/USER] завершил(а) опрос [CONTEXT=chat{chat}/{message}]Как дела?[/CONTEXT]",
        "date": "Дата",
        "name": "Пользователь",
        "anonymous": "Анонимно",
        "guest": "Гость",
    },
}


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    language: str = request.param
    return language


@pytest.fixture
def texts(language: str) -> dict[str, str]:
    return TEXTS[language]


def test_every_language_has_a_catalogue_with_the_same_keys() -> None:
    assert set(CATALOGUES) == set(LANGUAGES) == set(TEXTS)
    keys = {language: set(catalogue.poll_data) for language, catalogue in CATALOGUES.items()}
    assert keys["en"] == keys["ru"]


def test_voting_on_a_stopped_poll(app_client: TestClient, portal: Portal, texts: dict[str, str]) -> None:
    poll = send_poll(app_client, portal)
    call(app_client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id)
    resp = app_client.post(
        portal.url("vote.AttachedVote.vote", portal.bob_hook),
        json={"attachId": poll.attach_id, "ballot": {str(poll.question_id): [poll.answer_ids[0]]}},
    )
    assert_b24_error(resp, "403", 400, texts["inactive"])  # HTTP 400, as the source sends it


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"QUESTIONS": []}, "empty"),
        ({"QUESTIONS": [vote_data()["QUESTIONS"][0], vote_data("Second?")["QUESTIONS"][0]]}, "many_q"),
        (vote_data(answers=("only",)), "min"),
        (vote_data(answers=tuple(str(i) for i in range(11))), "max"),
        ({"QUESTIONS": [{"QUESTION": "Q?", "ANSWERS": [{"MESSAGE": " "}]}]}, "no_answers"),
        ({"QUESTIONS": [{"QUESTION": " ", "ANSWERS": [{"MESSAGE": "a"}, {"MESSAGE": "b"}]}]}, "no_question"),
    ],
)
def test_im_send_poll_data_errors(
    app_client: TestClient, portal: Portal, texts: dict[str, str], data: dict[str, Any], key: str
) -> None:
    resp = app_client.post(
        portal.url("vote.Integration.Im.send"), json={"chatId": portal.chat, "IM_MESSAGE_VOTE_DATA": data}
    )
    assert_b24_error(resp, "0", 400, texts[key])


def test_im_send_outside_the_chat(app_client: TestClient, portal: Portal, texts: dict[str, str]) -> None:
    resp = app_client.post(
        portal.url("vote.Integration.Im.send", portal.outsider_hook),
        json={"chatId": portal.chat, "IM_MESSAGE_VOTE_DATA": vote_data()},
    )
    assert_b24_error(resp, "0", 400, texts["not_member"])


def test_framework_texts_are_the_same_in_every_language(app_client: TestClient, portal: Portal) -> None:
    """The binder's, the attach's and AccessDeniedException's texts are English on every portal."""
    poll = send_poll(app_client, portal)
    resp = app_client.post(portal.url("vote.AttachedVote.get"), json={"attachId": 424242})
    assert_b24_error(resp, "ATTACH_NOT_FOUND", 400, "Attach not found")
    resp = app_client.post(portal.url("vote.AttachedVote.stop", portal.bob_hook), json={"attachId": poll.attach_id})
    assert_b24_error(resp, "403", 400, "Access denied.")
    resp = app_client.post(portal.url("vote.AttachedVote.vote"), json={"attachId": poll.attach_id})
    assert_b24_error(resp, "100", 400, "Could not find value for parameter {ballot}")


def test_stop_message(app_client: TestClient, portal: Portal, db: Database, texts: dict[str, str]) -> None:
    poll = send_poll(app_client, portal)
    call(app_client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id)
    with db.read() as conn:
        posted = conn.execute(select(messages.c.message).where(messages.c.system.is_(True))).scalars().all()
    assert posted == [texts["stop"].format(user=portal.admin, chat=portal.chat, message=poll.message_id)]


def test_report_headers_and_anonymous_voters(
    app_client: TestClient, portal: Portal, language: str, texts: dict[str, str]
) -> None:
    attach = chat_poll(app_client, portal, [("Секретно?", 0, ["Да", "Нет"])], anonymity=2)
    cast_answers(app_client, portal.hook, attach, "Да")
    readers = {"xls": html_rows, "csv": csv_rows, "xlsx": xlsx_rows}
    for fmt, read in readers.items():
        resp = app_client.post(portal.url("vote.AttachedVote.download"), json={"attachId": attach["ID"], "format": fmt})
        rows = read(resp.content)
        assert rows[1] == ["", "Да", "1", texts["anonymous"]], fmt
        assert rows[4] == [texts["date"], texts["name"], "Секретно?"], fmt
        assert rows[5][1] == texts["anonymous"], fmt
    # The downloadUrl route (no credentials, the signed id) answers in the portal's language too.
    rows = html_rows(app_client.get(attach["downloadUrl"]).content)
    assert rows[4] == [texts["date"], texts["name"], "Секретно?"]
    assert report_labels(language).guest == texts["guest"]  # a voter without a user: never made over REST
