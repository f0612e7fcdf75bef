"""Seeding from a JSON or YAML document, over HTTP; errors name the bad path and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.domain.polls import Anonymity
from b24vote.storage.engine import Database
from tests.helpers.admin import BEARER, admin, admin_client, admin_error, portal_rows
from tests.helpers.wire import assert_envelope

EXAMPLE = Path(__file__).parents[2] / "examples" / "seed.yaml"


@pytest.fixture
def client(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[TestClient]:
    with admin_client(settings, db, clock) as client:
        yield client


def _seed_yaml(client: TestClient, text: str, status: int = 200) -> dict[str, object]:
    resp = client.post("/_b24vote/seed", headers=BEARER | {"content-type": "application/yaml"}, content=text)
    assert resp.status_code == status, resp.text
    body: dict[str, object] = resp.json()
    return body


def test_the_example_file(client: TestClient) -> None:
    made = _seed_yaml(client, EXAMPLE.read_text())
    assert made["users"] == [1, 2, 3] and made["chats"] == [1]
    hooks = made["webhooks"]
    assert isinstance(hooks, list) and hooks[0]["url"] == "http://127.0.0.1:8000/rest/1/ci-anna-webhook-01/"
    (app,) = made["apps"]  # type: ignore[misc]
    assert app["client_id"].startswith("local.") and len(app["client_secret"]) == 50
    lunch, days = made["polls"]  # type: ignore[misc]

    hook = "/rest/1/ci-anna-webhook-01/"
    attach = assert_envelope(client.post(hook + "vote.AttachedVote.get", json={"attachId": lunch["attach_id"]}))
    attach = attach["attach"]
    question = attach["QUESTIONS"][str(lunch["question_id"])]
    counters = [int(question["ANSWERS"][str(a)]["COUNTER"]) for a in lunch["answer_ids"]]
    assert counters == [1, 1, 0] and int(attach["COUNTER"]) == 2
    assert int(attach["ANONYMITY"]) == Anonymity.PUBLICLY and int(attach["OPTIONS"]) == 1
    assert attach["canRevote"] is True and attach["isVoted"] is False

    attach = assert_envelope(client.post(hook + "vote.AttachedVote.get", json={"attachId": days["attach_id"]}))
    question = attach["attach"]["QUESTIONS"][str(days["question_id"])]
    assert int(question["FIELD_TYPE"]) == 1
    assert [int(question["ANSWERS"][str(a)]["COUNTER"]) for a in days["answer_ids"]] == [1, 0, 1]
    chosen = attach["attach"]["userAnswerMap"][str(days["question_id"])]
    assert sorted(int(a) for a in chosen) == [days["answer_ids"][0], days["answer_ids"][2]]

    bob = hooks[1]["url"].removeprefix("http://127.0.0.1:8000")
    assert assert_envelope(client.get(bob + "user.current"))["ID"] == "2"
    assert assert_envelope(client.post(hook + "im.chat.user.list", json={"CHAT_ID": 1})) == [1, 2, 3]


def test_json_body_and_ids_continue(client: TestClient) -> None:
    doc = {"users": [{"id": 5, "name": "Eve"}, {"name": "Next"}], "chats": [{"title": "Room", "owner": 5}]}
    made = admin(client, "POST", "/seed", doc)
    assert made["users"] == [5, 6] and made["chats"] == [1]
    again = admin(
        client, "POST", "/seed", {"users": [{"name": "Later"}], "webhooks": [{"user": 7, "code": "abcdefgh"}]}
    )
    assert again["users"] == [7]
    assert assert_envelope(client.get("/rest/7/abcdefgh/user.current"))["NAME"] == "Later"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("- just a list", "the document must be a mapping"),
        ("users: [1", "neither valid JSON nor YAML"),
        ("people: []", "people: unknown section"),
        ("users: {}", "users: must be a list"),
        ("users: [{last_name: X}]", "users[0].name: required"),
        ("users: [{name: A, id: -1}]", "users[0].id: must be a positive integer id"),
        ("users: [{name: A, nick: a}]", "users[0].nick: unknown field"),
        ("users: [{name: A}]\nchats: [{title: T, owner: 1, members: [1, 9]}]", "chats[0].members[1]: no such user 9"),
        (
            "users: [{name: A}]\nchats: [{title: T, owner: 1}, {title: U, owner: 1, members: [9]}]",
            "chats[1].members[0]: no such user 9",
        ),
        ("chats: [{title: T}]", "chats[0].owner: required"),
        ("users: [{id: 1, name: A}, {id: 1, name: B}]", "users[1].id: user 1 exists already"),
        ("webhooks: [{user: 3}]", "webhooks[0].user: no such user 3"),
        ("users: [{name: A}]\nwebhooks: [{user: 1, code: short}]", "webhooks[0].code: must be 8 to 64"),
        ("users: [{name: A}]\nwebhooks: [{user: 1, scopes: [crm]}]", "webhooks[0].scopes: unknown scope(s): crm"),
        (
            "users: [{name: A}]\nwebhooks: [{user: 1, code: samecode1}, {user: 1, code: samecode1}]",
            "webhooks[1].code: another webhook has this code",
        ),
        ("apps: [{name: X, redirect_uri: ftp://x}]", "apps[0].redirect_uri: must be an http"),
        ("polls: [{chat: 1, author: 1, question: Q, answers: [A]}]", "polls[0].answers: must be a list of 2 to 10"),
        ("polls: [{chat: 1, author: 1, question: Q, answers: [A, B]}]", "polls[0].chat: no such chat 1"),
        (
            "users: [{name: A}, {name: B}]\nchats: [{title: T, owner: 1}]\n"
            "polls: [{chat: 1, author: 2, question: Q, answers: [A, B]}]",
            "polls[0].author: user 2 is not a member of chat 1",
        ),
        (
            "users: [{name: A}, {name: B}]\nchats: [{title: T, owner: 1}]\n"
            "polls: [{chat: 1, author: 1, question: Q, answers: [A, B], ballots: {2: [0]}}]",
            "polls[0].ballots.2: user 2 is not a member of chat 1",
        ),
        (
            "polls: [{chat: 1, author: 1, question: Q, answers: [A, B], ballots: {1: [2]}}]",
            "polls[0].ballots.1[0]: no answer 2 (indexes run from 0 to 1)",
        ),
        (
            "users: [{name: A}]\nchats: [{title: T, owner: 1}]\n"
            "polls: [{chat: 1, author: 1, question: Q, answers: [A, B], ballots: {1: [0, 1]}}]",
            "polls[0].ballots.1: one answer only",
        ),
        (
            "polls: [{chat: 1, author: 1, question: Q, answers: [A, B], anonymity: secret}]",
            "polls[0].anonymity: must be public or anonymous",
        ),
        (
            "polls: [{chat: 1, author: 1, question: Q, answers: [A, B], options: [fast]}]",
            "polls[0].options: must be a list of revote, hide_result",
        ),
        ("polls: [{chat: 1, author: 1, question: '', answers: [A, B]}]", "polls[0].question: must not be empty"),
    ],
)
def test_errors_name_the_path_and_change_nothing(client: TestClient, db: Database, doc: str, message: str) -> None:
    body = _seed_yaml(client, doc, 400)
    assert body["error"] == "INVALID_REQUEST"
    assert message in str(body["error_description"]), body
    assert portal_rows(db) == 0


def test_json_content_type_is_parsed_as_json(client: TestClient) -> None:
    resp = client.post("/_b24vote/seed", headers=BEARER | {"content-type": "application/json"}, content=b"users: []")
    assert resp.status_code == 400 and "neither valid JSON nor YAML" in resp.json()["error_description"]
    admin_error(client, "POST", "/seed", [], 400, "the document must be a mapping")


_LANGUAGE_WORLD = """
language: en
users: [{id: 1, name: Anna, admin: true}, {id: 2, name: Boris}]
chats: [{id: 1, title: Team, owner: 1, members: [2]}]
webhooks: [{user: 1, code: seed-lang-anna-01}, {user: 2, code: seed-lang-boris-01}]
polls: [{chat: 1, author: 1, question: "Lunch?", answers: [Pizza, Soup]}]
"""


def _vote_on_stopped(client: TestClient, poll: dict[str, object]) -> str:
    assert_envelope(
        client.post("/rest/1/seed-lang-anna-01/vote.AttachedVote.stop", json={"attachId": poll["attach_id"]})
    )
    answers = poll["answer_ids"]
    assert isinstance(answers, list)
    resp = client.post(
        "/rest/2/seed-lang-boris-01/vote.AttachedVote.vote",
        json={"attachId": poll["attach_id"], "ballot": {str(poll["question_id"]): [answers[0]]}},
    )
    assert resp.status_code == 400, resp.text
    return str(resp.json()["error_description"])


def test_the_seed_document_sets_the_portals_language(
    client: TestClient, settings: Settings, db: Database, clock: FrozenClock
) -> None:
    assert settings.language == "ru"
    made = _seed_yaml(client, _LANGUAGE_WORLD)
    assert made["language"] == "en"
    (poll,) = made["polls"]  # type: ignore[misc]
    assert _vote_on_stopped(client, poll) == "The poll is inactive."  # at once, in the running server
    with admin_client(settings, db, clock) as again:  # and in a server started later on this database
        assert_envelope(
            again.post("/rest/1/seed-lang-anna-01/vote.AttachedVote.resume", json={"attachId": poll["attach_id"]})
        )
        assert _vote_on_stopped(again, poll) == "The poll is inactive."


def test_a_language_nobody_speaks_is_refused(client: TestClient) -> None:
    admin_error(client, "POST", "/seed", {"language": "fr"}, 400, "language: 'fr' is not one of en, ru")
