"""``userForMobileFormat``: getWithVoted and getAnswerVoted list voters as the mobile app's user objects.

../shared/reference/notes/vote-semantics.md §4.4-4.5; the fields, their order and types in docs/compatibility.md.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from b24vote.storage.engine import Database
from b24vote.storage.tables import users
from tests.conftest import START, Portal
from tests.helpers.votes import ChatPoll, call, cast, send_poll

WEB_KEYS = ["ID", "NAME", "IMAGE", "WORK_POSITION"]
# (key, JSON type) in the order the mobile module's user object has them.
MOBILE_FIELDS = [
    ("id", int),
    ("login", str),
    ("name", str),
    ("lastName", str),
    ("secondName", str),
    ("fullName", str),
    ("email", str),
    ("workPhone", type(None)),
    ("workPosition", str),
    ("link", str),
    ("avatarSizeOriginal", str),
    ("avatarSize100", str),
    ("isAdmin", bool),
    ("isRootAdmin", bool),
    ("isCollaber", bool),
    ("isExtranet", bool),
    ("isGuest", bool),
    ("personalMobile", type(None)),
    ("personalPhone", type(None)),
    ("lastActivityDate", type(None)),
    ("timezone", type(None)),
    ("personalGender", type(None)),
    ("dateRegister", int),
]


@pytest.fixture
def voted(app_client: TestClient, portal: Portal, db: Database) -> ChatPoll:
    """Anna (admin, with an avatar and an e-mail) voted for the first answer of a public poll."""
    with db.write() as conn:
        conn.execute(update(users).where(users.c.id == portal.admin).values(personal_photo="https://x.test/a.png"))
    poll = send_poll(app_client, portal, anonymity=1)
    cast(app_client, portal, poll, poll.answer_ids[0])
    return poll


def assert_anna_on_mobile(user: dict[str, Any], portal: Portal) -> None:
    assert [(key, type(value)) for key, value in user.items()] == MOBILE_FIELDS
    assert user["id"] == portal.admin and user["fullName"] == "Anna Admin"
    assert (user["name"], user["lastName"], user["secondName"]) == ("Anna", "Admin", "")
    assert (user["email"], user["login"], user["workPosition"]) == ("anna@example.test",) * 2 + ("Administrator",)
    assert user["link"] == f"/company/personal/user/{portal.admin}/"
    assert user["avatarSizeOriginal"] == user["avatarSize100"] == "https://x.test/a.png"
    assert user["isAdmin"] is True and user["dateRegister"] == int(START.timestamp())


@pytest.mark.parametrize("mobile", [True, "true", "Y", 1])
def test_get_with_voted_lists_mobile_users(
    app_client: TestClient, portal: Portal, voted: ChatPoll, mobile: object
) -> None:
    result = call(
        app_client, portal, "vote.AttachedVote.getWithVoted", attachId=voted.attach_id, userForMobileFormat=mobile
    )
    (listed,) = result["voted"][str(voted.answer_ids[0])]
    assert_anna_on_mobile(listed, portal)
    assert list(result["voted"]) == [str(voted.answer_ids[0])]


@pytest.mark.parametrize("mobile", [None, False, "false", "N", 0, ""])
def test_without_the_flag_voters_keep_the_web_shape(
    app_client: TestClient, portal: Portal, voted: ChatPoll, mobile: object
) -> None:
    flag = {} if mobile is None else {"userForMobileFormat": mobile}
    result = call(app_client, portal, "vote.AttachedVote.getWithVoted", attachId=voted.attach_id, **flag)
    (listed,) = result["voted"][str(voted.answer_ids[0])]
    assert listed == {"ID": portal.admin, "NAME": "Anna Admin", "IMAGE": "https://x.test/a.png",
                      "WORK_POSITION": "Administrator"}  # fmt: skip
    items = call(
        app_client,
        portal,
        "vote.AttachedVote.getAnswerVoted",
        attachId=voted.attach_id,
        answerId=voted.answer_ids[0],
        **flag,
    )["items"]
    assert [list(user) for user in items] == [WEB_KEYS]


def test_get_answer_voted_lists_mobile_users_with_paging(
    app_client: TestClient, portal: Portal, voted: ChatPoll
) -> None:
    cast(app_client, portal, voted, voted.answer_ids[0], hook=portal.bob_hook)
    resp = app_client.post(
        portal.url("vote.AttachedVote.getAnswerVoted"),
        json={"attachId": voted.attach_id, "answerId": voted.answer_ids[0], "userForMobileFormat": True},
    ).json()
    assert resp["total"] == 2 and "next" not in resp
    anna, bob = resp["result"]["items"]
    assert_anna_on_mobile(anna, portal)
    # Bob has no avatar and no e-mail: what the portal would keep empty.
    assert (bob["id"], bob["fullName"], bob["login"], bob["email"]) == (portal.bob, "Boris Belov", None, "")
    assert bob["avatarSizeOriginal"] is None and bob["isAdmin"] is False


def test_anonymous_polls_list_nobody_in_either_shape(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, anonymity=2)
    cast(app_client, portal, poll, poll.answer_ids[0])
    with_voted = call(
        app_client, portal, "vote.AttachedVote.getWithVoted", attachId=poll.attach_id, userForMobileFormat=True
    )
    assert with_voted["voted"] == []
    items = call(
        app_client,
        portal,
        "vote.AttachedVote.getAnswerVoted",
        attachId=poll.attach_id,
        answerId=poll.answer_ids[0],
        userForMobileFormat=True,
    )["items"]
    assert items == []
