"""The three ways of naming a poll, and the permission matrix of every AttachedVote method."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from b24vote.domain.polls import IM_ENTITY_TYPE
from b24vote.domain.signing import sign_attach
from tests.conftest import Portal
from tests.helpers.votes import ChatPoll, call, cast, send_poll
from tests.helpers.wire import assert_b24_error, assert_envelope

NO_PAYLOAD = "Bitrix\\Vote\\Attach All parameters in the constructor must have real class type"


@pytest.fixture
def poll(app_client: TestClient, portal: Portal) -> ChatPoll:
    return send_poll(app_client, portal)


def get(client: TestClient, portal: Portal, hook: str | None = None, **params: Any) -> Any:
    return client.post(portal.url("vote.AttachedVote.get", hook), json=params)


def test_by_attach_id(app_client: TestClient, portal: Portal, poll: ChatPoll) -> None:
    assert assert_envelope(get(app_client, portal, attachId=poll.attach_id))["attach"]["ID"] == poll.attach_id
    assert assert_envelope(get(app_client, portal, attachId=str(poll.attach_id)))["attach"]["ID"] == poll.attach_id


@pytest.mark.parametrize("module", ["im", "Im", "IM"])
def test_by_entity_case_insensitive(app_client: TestClient, portal: Portal, poll: ChatPoll, module: str) -> None:
    for entity_type in (IM_ENTITY_TYPE, IM_ENTITY_TYPE.lower()):
        resp = get(app_client, portal, moduleId=module, entityType=entity_type, entityId=poll.message_id)
        assert assert_envelope(resp)["attach"]["ID"] == poll.attach_id


def test_by_signed_id_and_uid(app_client: TestClient, portal: Portal, poll: ChatPoll) -> None:
    attach = call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]
    signed = attach["signedAttachId"]
    assert signed == sign_attach(poll.attach_id, "test-secret")
    assert assert_envelope(get(app_client, portal, signedAttachId=signed))["attach"]["ID"] == poll.attach_id
    uid = attach["resultUrl"].removeprefix("/vote-result/")
    assert len(uid) == 16 and uid.isalnum() and uid == uid.lower()
    assert assert_envelope(get(app_client, portal, signedAttachId=uid))["attach"]["ID"] == poll.attach_id


def test_attach_id_wins_over_the_other_sets(app_client: TestClient, portal: Portal, poll: ChatPoll) -> None:
    resp = get(
        app_client, portal, attachId=poll.attach_id, signedAttachId="1.bad", moduleId="im", entityType="x", entityId=5
    )
    assert assert_envelope(resp)["attach"]["ID"] == poll.attach_id


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"attachId": "abc"},
        {"moduleId": "im", "entityType": IM_ENTITY_TYPE},
        {"signedAttachId": ""},
        {"entityId": 5},
    ],
)
def test_no_way_given_is_the_code_100_error(app_client: TestClient, portal: Portal, params: dict[str, Any]) -> None:
    assert_b24_error(get(app_client, portal, **params), "100", 400, NO_PAYLOAD)


@pytest.mark.parametrize(
    "params",
    [
        {"attachId": 424242},
        {"attachId": 0},
        {"moduleId": "im", "entityType": IM_ENTITY_TYPE, "entityId": 424242},
        {"moduleId": "blog", "entityType": IM_ENTITY_TYPE, "entityId": 1},
        {"signedAttachId": "zzzzzzzzzzzzzzzz"},
        {"signedAttachId": "1.0000000000000000000000000000000000000000000000000000000000000000"},
        {"signedAttachId": "1.nothex"},
    ],
)
def test_unknown_poll(app_client: TestClient, portal: Portal, poll: ChatPoll, params: dict[str, Any]) -> None:
    assert_b24_error(get(app_client, portal, **params), "ATTACH_NOT_FOUND", 400, "Attach not found")


def test_signature_of_another_installation_is_refused(app_client: TestClient, portal: Portal, poll: ChatPoll) -> None:
    foreign = sign_attach(poll.attach_id, "another-installation")
    assert_b24_error(get(app_client, portal, signedAttachId=foreign), "ATTACH_NOT_FOUND", 400)
    other_id = sign_attach(poll.attach_id, "test-secret").replace(f"{poll.attach_id}.", f"{poll.attach_id + 1}.", 1)
    assert_b24_error(get(app_client, portal, signedAttachId=other_id), "ATTACH_NOT_FOUND", 400)


# --- permission matrix ---------------------------------------------------------------------------------------

OK, READ_DENIED, NOT_FOUND, EDIT_DENIED = "ok", "read-denied", "not-found", "edit-denied"
CALLERS = ["author", "member", "non-member", "signed-non-member", "tampered-signed"]
MATRIX = {
    #                                  author  member       non-member   signed-non-member tampered
    "vote.AttachedVote.get":            (OK, OK, READ_DENIED, OK, NOT_FOUND),
    "vote.AttachedVote.getWithVoted":   (OK, OK, READ_DENIED, OK, NOT_FOUND),
    "vote.AttachedVote.getAnswerVoted": (OK, OK, READ_DENIED, OK, NOT_FOUND),
    "vote.AttachedVote.vote":           (OK, OK, READ_DENIED, READ_DENIED, NOT_FOUND),
    "vote.AttachedVote.recall":         (OK, OK, READ_DENIED, READ_DENIED, NOT_FOUND),
    "vote.AttachedVote.stop":           (OK, EDIT_DENIED, READ_DENIED, READ_DENIED, NOT_FOUND),
    "vote.AttachedVote.resume":         (OK, EDIT_DENIED, READ_DENIED, READ_DENIED, NOT_FOUND),
}  # fmt: skip


@pytest.mark.parametrize("method", list(MATRIX))
@pytest.mark.parametrize("caller", CALLERS)
def test_permission_matrix(app_client: TestClient, portal: Portal, poll: ChatPoll, method: str, caller: str) -> None:
    expected = MATRIX[method][CALLERS.index(caller)]
    hook = {"author": portal.hook, "member": portal.bob_hook}.get(caller, portal.outsider_hook)
    signed = sign_attach(poll.attach_id, "test-secret")
    address: dict[str, Any] = {"attachId": poll.attach_id}
    if caller == "signed-non-member":
        address = {"signedAttachId": signed}
    elif caller == "tampered-signed":
        address = {"signedAttachId": signed[:-1] + ("0" if signed[-1] != "0" else "1")}
    extra: dict[str, Any] = {
        "vote.AttachedVote.vote": {"ballot": {str(poll.question_id): [poll.answer_ids[0]]}},
        "vote.AttachedVote.getAnswerVoted": {"answerId": poll.answer_ids[0]},
    }.get(method, {})
    resp = app_client.post(portal.url(method, hook), json={**address, **extra})
    if expected == OK:
        assert_envelope(resp)
    elif expected == READ_DENIED:
        assert_b24_error(resp, "0", 400, "Attach read access denied")
    elif expected == NOT_FOUND:
        assert_b24_error(resp, "ATTACH_NOT_FOUND", 400, "Attach not found")
    else:
        assert_b24_error(resp, "403", 400, "Access denied.")


def test_can_edit_only_for_the_author(app_client: TestClient, portal: Portal, poll: ChatPoll) -> None:
    assert call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]["canEdit"] is True
    bob = call(app_client, portal, "vote.AttachedVote.get", portal.bob_hook, attachId=poll.attach_id)["attach"]
    assert bob["canEdit"] is False
    signed = bob["signedAttachId"]
    outsider = call(app_client, portal, "vote.AttachedVote.get", portal.outsider_hook, signedAttachId=signed)["attach"]
    # Reading through a signed link grants no participation.
    assert (outsider["canEdit"], outsider["canVote"], outsider["canRevote"]) == (False, False, False)


def test_author_who_left_the_chat_loses_every_right(app_client: TestClient, portal: Portal, poll: ChatPoll) -> None:
    call(app_client, portal, "im.chat.user.delete", CHAT_ID=portal.chat, USER_ID=portal.admin)
    resp = app_client.post(portal.url("vote.AttachedVote.stop"), json={"attachId": poll.attach_id})
    assert_b24_error(resp, "0", 400, "Attach read access denied")


def test_member_added_later_can_vote(app_client: TestClient, portal: Portal, poll: ChatPoll) -> None:
    call(app_client, portal, "im.chat.user.add", CHAT_ID=portal.chat, USERS=[portal.outsider])
    attach = cast(app_client, portal, poll, poll.answer_ids[1], hook=portal.outsider_hook)["attach"]
    assert attach["isVoted"] is True
