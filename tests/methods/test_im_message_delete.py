"""im.message.delete: a chat poll goes with its message, with its ballots and counters, in one transaction.

../shared/reference/bitrix24-docs-en/chats/im-message-delete.md and vote/index.md ("How to Delete a Poll").
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.domain.polls import IM_ENTITY_TYPE
from b24vote.storage.engine import Database
from b24vote.storage.tables import (
    attaches,
    ballot_answers,
    ballot_questions,
    ballots,
    messages,
    vote_answers,
    vote_questions,
    votes,
)
from tests.conftest import Portal
from tests.helpers.admin import admin, admin_client
from tests.helpers.results import OpenStream, links
from tests.helpers.votes import ChatPoll, call, cast, send_poll
from tests.helpers.wire import assert_b24_error, assert_envelope

CANT_EDIT = "Time has expired for modification or you don't have access"
READS = ("get", "getWithVoted", "download")
WRITES = ("vote", "recall", "stop", "resume")


def delete(client: TestClient, portal: Portal, message_id: object, hook: str | None = None, **extra: Any) -> Any:
    return client.post(portal.url("im.message.delete", hook), json={"MESSAGE_ID": message_id, **extra})


def rows_of(db: Database, poll: ChatPoll) -> dict[str, int]:
    """How many rows of each table still belong to the poll."""
    counted = {
        "votes": select(func.count()).select_from(votes).where(votes.c.id == poll.vote_id),
        "questions": select(func.count()).select_from(vote_questions).where(vote_questions.c.vote_id == poll.vote_id),
        "answers": select(func.count()).select_from(vote_answers).where(vote_answers.c.vote_id == poll.vote_id),
        "attaches": select(func.count()).select_from(attaches).where(attaches.c.vote_id == poll.vote_id),
        "ballots": select(func.count()).select_from(ballots).where(ballots.c.vote_id == poll.vote_id),
        "ballot questions": select(func.count())
        .select_from(ballot_questions)
        .where(ballot_questions.c.question_id == poll.question_id),
        "choices": select(func.count()).select_from(ballot_answers).where(ballot_answers.c.vote_id == poll.vote_id),
        "message": select(func.count()).select_from(messages).where(messages.c.id == poll.message_id),
    }
    with db.read() as conn:
        return {name: int(conn.execute(query).scalar_one()) for name, query in counted.items()}


def addresses(poll: ChatPoll, signed: str, uid: str) -> list[dict[str, Any]]:
    """The three ways of naming a poll (the signed one also as the result page's bare UID)."""
    return [
        {"attachId": poll.attach_id},
        {"moduleId": "im", "entityType": IM_ENTITY_TYPE, "entityId": poll.message_id},
        {"signedAttachId": signed},
        {"signedAttachId": uid},
    ]


def test_the_author_deletes_the_poll_with_its_message(app_client: TestClient, portal: Portal, db: Database) -> None:
    poll = send_poll(app_client, portal, options=1)
    kept = send_poll(app_client, portal)
    for hook, answer in ((portal.hook, 0), (portal.bob_hook, 1)):
        cast(app_client, portal, poll, poll.answer_ids[answer], hook=hook)
    cast(app_client, portal, kept, kept.answer_ids[2], hook=portal.bob_hook)
    attach = call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]
    assert rows_of(db, poll)["choices"] == 2
    kept_before = rows_of(db, kept)

    resp = delete(app_client, portal, poll.message_id)
    assert assert_envelope(resp) is True and list(resp.json()) == ["result", "time"]

    assert set(rows_of(db, poll).values()) == {0}
    assert rows_of(db, kept) == kept_before
    uid = attach["resultUrl"].removeprefix("/vote-result/")
    for address in addresses(poll, attach["signedAttachId"], uid):
        for method in (*READS, *WRITES):
            params = (
                {**address, "ballot": {str(poll.question_id): [poll.answer_ids[0]]}} if method == "vote" else address
            )
            got = app_client.post(portal.url(f"vote.AttachedVote.{method}"), json=params)
            assert_b24_error(got, "ATTACH_NOT_FOUND", 400)
            assert got.json()["error_description"] == "Attach not found"
        voters = app_client.post(
            portal.url("vote.AttachedVote.getAnswerVoted"), json={**address, "answerId": poll.answer_ids[0]}
        )
        assert_b24_error(voters, "ATTACH_NOT_FOUND", 400)
    many = {"moduleId": "im", "entityType": IM_ENTITY_TYPE}
    assert (
        call(app_client, portal, "vote.AttachedVote.getMany", entityIds=[kept.message_id, poll.message_id], **many)
        == []
    )
    (still,) = call(app_client, portal, "vote.AttachedVote.getMany", entityIds=[kept.message_id], **many)["items"]
    assert still["COUNTER"] == 1
    assert app_client.get(attach["resultUrl"]).status_code == 404
    report = app_client.get(attach["downloadUrl"])
    assert report.status_code != 200 and "filename" not in report.headers.get("content-disposition", "")


def test_who_may_delete(app_client: TestClient, portal: Portal, db: Database) -> None:
    annas = send_poll(app_client, portal)
    boris = send_poll(app_client, portal, hook=portal.bob_hook)
    cast(app_client, portal, annas, annas.answer_ids[0], hook=portal.bob_hook)
    # A member who did not write the message may not; nothing of the poll changes.
    refused = delete(app_client, portal, annas.message_id, portal.bob_hook)
    assert_b24_error(refused, "CANT_EDIT_MESSAGE", 403)
    assert refused.json()["error_description"] == CANT_EDIT
    assert rows_of(db, annas)["choices"] == 1
    # A portal administrator may delete another user's message, and an author their own.
    assert assert_envelope(delete(app_client, portal, boris.message_id)) is True
    again = send_poll(app_client, portal, hook=portal.bob_hook)
    assert assert_envelope(delete(app_client, portal, again.message_id, portal.bob_hook)) is True
    # A deleted or unknown message is refused the same way.
    assert_b24_error(delete(app_client, portal, again.message_id, portal.bob_hook), "CANT_EDIT_MESSAGE", 403)
    assert_b24_error(delete(app_client, portal, 424242), "CANT_EDIT_MESSAGE", 403)


def test_an_author_who_left_the_chat_may_not(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, hook=portal.bob_hook)
    call(app_client, portal, "im.chat.user.delete", portal.bob_hook, CHAT_ID=portal.chat, USER_ID=portal.bob)
    assert_b24_error(delete(app_client, portal, poll.message_id, portal.bob_hook), "CANT_EDIT_MESSAGE", 403)


@pytest.mark.parametrize("bad", [None, 0, -3, "", "abc", [], {"a": 1}])
def test_a_missing_message_id(app_client: TestClient, portal: Portal, bad: object) -> None:
    resp = app_client.post(portal.url("im.message.delete"), json={} if bad is None else {"MESSAGE_ID": bad})
    assert_b24_error(resp, "MESSAGE_ID_ERROR", 400)
    assert resp.json()["error_description"] == "Message ID can't be empty"


@pytest.mark.parametrize("name", ["message_id", "Message_Id", "ID", "id"])
def test_the_parameter_name_is_case_insensitive_and_id_is_accepted(
    app_client: TestClient, portal: Portal, name: str
) -> None:
    poll = send_poll(app_client, portal)
    assert call(app_client, portal, "im.message.delete", **{name: str(poll.message_id)}) is True


def test_a_message_without_a_poll(app_client: TestClient, portal: Portal, db: Database) -> None:
    chat = call(app_client, portal, "im.chat.add", TITLE="Talk", USERS=[portal.bob], MESSAGE="Hello")
    with db.read() as conn:
        message_id = conn.execute(select(messages.c.id).where(messages.c.chat_id == chat)).scalar_one()
    assert call(app_client, portal, "im.message.delete", MESSAGE_ID=message_id) is True
    with db.read() as conn:
        assert conn.execute(select(messages.c.id).where(messages.c.chat_id == chat)).first() is None


def test_in_batch(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    cmd = {
        "gone": f"im.message.delete?MESSAGE_ID={poll.message_id}",
        "after": f"vote.AttachedVote.get?attachId={poll.attach_id}",
        "twice": f"im.message.delete?MESSAGE_ID={poll.message_id}",
    }
    result = call(app_client, portal, "batch", cmd=cmd)
    assert result["result"] == {"gone": True}
    errors = result["result_error"]
    assert errors["after"] == {"error": "ATTACH_NOT_FOUND", "error_description": "Attach not found"}
    assert errors["twice"] == {"error": "CANT_EDIT_MESSAGE", "error_description": CANT_EDIT}


def test_open_results_pages_are_told_the_poll_is_gone(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    stream = OpenStream(app_client, links(app_client, portal, poll).result_url + "/events")
    try:
        stream.next_event()
        call(app_client, portal, "im.message.delete", MESSAGE_ID=poll.message_id)
        assert stream.next_event("gone") == {}
        assert stream.ended()
    finally:
        stream.close()


def test_the_journal_records_the_deletion_and_what_followed(
    settings: Settings, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    with admin_client(settings, db, clock) as client:
        poll = send_poll(client, portal)
        admin(client, "DELETE", "/journal")
        delete(client, portal, poll.message_id)
        client.post(portal.url("vote.AttachedVote.get"), json={"attachId": poll.attach_id})
        deleted, read = admin(client, "GET", "/journal")["entries"]
    assert (deleted["method"], deleted["status"], deleted["error"]) == ("im.message.delete", 200, None)
    assert deleted["params"] == {"MESSAGE_ID": poll.message_id}
    assert (read["method"], read["status"], read["error"]) == ("vote.AttachedVote.get", 400, "ATTACH_NOT_FOUND")
