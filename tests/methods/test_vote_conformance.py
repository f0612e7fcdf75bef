"""Every vote method's reply has the keys and JSON types of the method spec's ``resultExample``.

../shared/reference/bitrix24-docs/method-specs/vote.*.json; values may differ, shapes may not. Every test
runs on an English and on a Russian portal (``B24VOTE_LANGUAGE``): the language changes texts, never shapes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from b24vote.config import LANGUAGES
from b24vote.storage.engine import Database
from b24vote.storage.tables import users
from tests.conftest import Portal
from tests.helpers.votes import ChatPoll, cast, send_poll

# The key structure and JSON types of each method spec's resultExample, extracted by fixtures/make_shapes.py
# from ../shared/reference/bitrix24-docs/method-specs so that this test runs wherever the repo is checked out.
SHAPES = json.loads((Path(__file__).parents[1] / "fixtures" / "method_shapes.json").read_text())
_ID_KEY = re.compile(r"\d+")


def spec(method: str) -> Any:
    return SHAPES[method]


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def assert_same_shape(ours: Any, theirs: Any, path: str = "$") -> None:
    """Same keys at every level and the same JSON types; maps keyed by ids compare value shapes."""
    assert kind(ours) == kind(theirs), f"{path}: {kind(ours)} != {kind(theirs)} ({ours!r:.80} vs {theirs!r:.80})"
    if isinstance(theirs, dict):
        if theirs and all(_ID_KEY.fullmatch(k) for k in theirs):
            assert ours and all(_ID_KEY.fullmatch(k) for k in ours), f"{path}: expected a map keyed by ids"
            examples = list(theirs.values())
            for i, (key, value) in enumerate(ours.items()):
                # Position by position: the vote example's touched counters are ints, the others strings.
                example = examples[i] if len(examples) == len(ours) else examples[0]
                assert_same_shape(value, example, f"{path}.{key}")
            return
        if path.endswith(".time"):
            assert set(theirs) <= set(ours), f"{path}: missing {set(theirs) - set(ours)}"
        else:
            assert list(ours) == list(theirs), f"{path}: keys {list(ours)} != {list(theirs)}"
        for key in theirs:
            assert_same_shape(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list) and theirs:
        assert ours, f"{path}: empty list where the example has items"
        for i, item in enumerate(ours):
            assert_same_shape(item, theirs[0], f"{path}[{i}]")


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    language: str = request.param
    return language


@pytest.fixture
def voted_poll(app_client: TestClient, portal: Portal, db: Database) -> ChatPoll:
    """The example's situation: a public poll with re-voting, the caller voted for the first answer."""
    with db.write() as conn:
        conn.execute(update(users).values(personal_photo="https://example.test/avatar.png"))
    poll = send_poll(app_client, portal, anonymity=1, options=1)
    cast(app_client, portal, poll, poll.answer_ids[0])
    return poll


def body(resp: Any) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_im_send(app_client: TestClient, portal: Portal) -> None:
    from tests.helpers.votes import vote_data

    resp = app_client.post(
        portal.url("vote.Integration.Im.send"), json={"chatId": portal.chat, "IM_MESSAGE_VOTE_DATA": vote_data()}
    )
    assert_same_shape(body(resp), spec("vote.Integration.Im.send"))


def test_get(app_client: TestClient, portal: Portal, voted_poll: ChatPoll) -> None:
    resp = body(app_client.post(portal.url("vote.AttachedVote.get"), json={"attachId": voted_poll.attach_id}))
    # The doc example shows the result without its envelope.
    assert_same_shape(resp["result"], spec("vote.AttachedVote.get"))


def test_get_many(app_client: TestClient, portal: Portal, voted_poll: ChatPoll) -> None:
    resp = app_client.post(
        portal.url("vote.AttachedVote.getMany"),
        json={
            "moduleId": "im",
            "entityType": "Bitrix\\Vote\\Attachment\\ImMessageConnector",
            "entityIds": [voted_poll.message_id],
        },
    )
    assert_same_shape(body(resp), spec("vote.AttachedVote.getMany"))


def test_get_with_voted(app_client: TestClient, portal: Portal, voted_poll: ChatPoll) -> None:
    resp = app_client.post(portal.url("vote.AttachedVote.getWithVoted"), json={"attachId": voted_poll.attach_id})
    assert_same_shape(body(resp), spec("vote.AttachedVote.getWithVoted"))


def test_get_answer_voted(app_client: TestClient, portal: Portal, voted_poll: ChatPoll) -> None:
    resp = app_client.post(
        portal.url("vote.AttachedVote.getAnswerVoted"),
        json={"attachId": voted_poll.attach_id, "answerId": voted_poll.answer_ids[0]},
    )
    assert_same_shape(body(resp), spec("vote.AttachedVote.getAnswerVoted"))


def test_vote(app_client: TestClient, portal: Portal, voted_poll: ChatPoll) -> None:
    resp = app_client.post(
        portal.url("vote.AttachedVote.vote", portal.bob_hook),
        json={"attachId": voted_poll.attach_id, "ballot": {str(voted_poll.question_id): [voted_poll.answer_ids[0]]}},
    )
    assert_same_shape(body(resp), spec("vote.AttachedVote.vote"))


def test_recall(app_client: TestClient, portal: Portal, voted_poll: ChatPoll) -> None:
    resp = app_client.post(portal.url("vote.AttachedVote.recall"), json={"attachId": voted_poll.attach_id})
    assert_same_shape(body(resp), spec("vote.AttachedVote.recall"))


@pytest.mark.parametrize("method", ["vote.AttachedVote.stop", "vote.AttachedVote.resume"])
def test_stop_resume(app_client: TestClient, portal: Portal, voted_poll: ChatPoll, method: str) -> None:
    resp = app_client.post(portal.url(method), json={"attachId": voted_poll.attach_id})
    assert_same_shape(body(resp), spec(method))


def test_download_error(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.post(portal.url("vote.AttachedVote.download"), json={"attachId": 424242})
    assert resp.status_code == 400
    assert_same_shape(resp.json(), spec("vote.AttachedVote.download"))
    assert resp.json() == {"error": "ATTACH_NOT_FOUND", "error_description": "Attach not found"}
