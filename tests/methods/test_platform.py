"""Platform methods: server.time, scope, methods, method.get, user.*, im.chat.*."""

from __future__ import annotations

from datetime import datetime

from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.storage import people
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.wire import assert_b24_error, assert_envelope


def call(client: TestClient, portal: Portal, method: str, hook: str | None = None, **params: object) -> object:
    return assert_envelope(client.post(portal.url(method, hook), json=params))


def test_server_time_follows_the_clock(app_client: TestClient, portal: Portal, clock: FrozenClock) -> None:
    assert call(app_client, portal, "server.time") == "2026-11-25T12:00:00+03:00"
    clock.advance(3600)
    assert call(app_client, portal, "server.time") == "2026-11-25T13:00:00+03:00"
    resp = app_client.post(portal.url("server.time")).json()
    assert resp["time"]["date_start"] == "2026-11-25T13:00:00+03:00"
    assert resp["time"]["start"] == datetime.fromisoformat("2026-11-25T13:00:00+03:00").timestamp()


def test_scope(app_client: TestClient, portal: Portal) -> None:
    assert call(app_client, portal, "scope") == ["im", "user", "vote"]
    assert call(app_client, portal, "scope", portal.narrow_hook) == ["user"]
    assert call(app_client, portal, "scope", portal.narrow_hook, full=True) == ["vote", "im", "user"]


def test_methods(app_client: TestClient, portal: Portal) -> None:
    narrow = call(app_client, portal, "methods", portal.narrow_hook)
    assert "user.current" in narrow and "server.time" in narrow and "im.chat.add" not in narrow
    assert call(app_client, portal, "methods", scope="im") == [
        "im.chat.add",
        "im.chat.get",
        "im.chat.user.add",
        "im.chat.user.delete",
        "im.chat.user.list",
        "im.message.delete",
    ]
    assert "im.chat.add" in call(app_client, portal, "methods", portal.narrow_hook, full=True)
    assert set(call(app_client, portal, "methods", scope="")) >= {"scope", "methods", "method.get"}


def test_method_get(app_client: TestClient, portal: Portal) -> None:
    assert call(app_client, portal, "method.get", portal.narrow_hook, name="user.get") == {
        "isExisting": True,
        "isAvailable": True,
    }
    assert call(app_client, portal, "method.get", portal.narrow_hook, name="im.chat.add") == {
        "isExisting": True,
        "isAvailable": False,
    }
    assert call(app_client, portal, "method.get", name="no.such") == {"isExisting": False, "isAvailable": False}
    assert call(app_client, portal, "method.get", name="User.Get") == {"isExisting": False, "isAvailable": False}
    assert call(app_client, portal, "method.get") == {"isExisting": False, "isAvailable": False}


def test_user_current_shape(app_client: TestClient, portal: Portal) -> None:
    user = call(app_client, portal, "user.current")
    assert user["ID"] == str(portal.admin)
    assert user["ACTIVE"] is True
    assert (user["NAME"], user["LAST_NAME"], user["WORK_POSITION"]) == ("Anna", "Admin", "Administrator")
    assert user["DATE_REGISTER"] == "2026-11-25T12:00:00+03:00"
    assert "PERSONAL_PHOTO" not in user  # fields without a value are left out
    bob = call(app_client, portal, "user.current", portal.bob_hook)
    assert bob["ID"] == str(portal.bob)


def test_user_get_filters(app_client: TestClient, portal: Portal) -> None:
    assert [u["ID"] for u in call(app_client, portal, "user.get", ID=portal.bob)] == [str(portal.bob)]
    assert [u["ID"] for u in call(app_client, portal, "user.get", FILTER={"NAME": "Cleo"})] == [str(portal.cleo)]
    names = [u["NAME"] for u in call(app_client, portal, "user.get", sort="NAME", order="DESC")]
    assert names == sorted(names, reverse=True)
    resp = app_client.post(portal.url("user.get"), json={"ID": 9999}).json()
    assert resp["result"] == [] and "total" not in resp


def test_user_get_pages_by_50(app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock) -> None:
    with db.write() as conn:
        for i in range(116):
            people.add_user(conn, clock.now(), name=f"User{i:03d}")
    first = app_client.post(portal.url("user.get")).json()
    assert (len(first["result"]), first["total"], first["next"]) == (50, 120, 50)
    assert list(first) == ["result", "next", "total", "time"]
    last = app_client.post(portal.url("user.get"), json={"start": 100}).json()
    assert (len(last["result"]), last["total"]) == (20, 120) and "next" not in last
    ids = [
        int(u["ID"])
        for page in (0, 50, 100)
        for u in app_client.post(portal.url("user.get"), json={"start": page}).json()["result"]
    ]
    assert ids == list(range(1, 121))


def test_chat_add_and_get(app_client: TestClient, portal: Portal) -> None:
    chat = call(
        app_client,
        portal,
        "im.chat.add",
        TITLE="Poll room",
        USERS=[portal.bob],
        ENTITY_TYPE="CRM",
        ENTITY_ID="deal|7",
        MESSAGE="hello",
    )
    assert isinstance(chat, int)
    assert call(app_client, portal, "im.chat.user.list", CHAT_ID=chat) == [portal.admin, portal.bob]
    assert call(app_client, portal, "im.chat.get", ENTITY_TYPE="CRM", ENTITY_ID="deal|7") == {"ID": chat}
    assert call(app_client, portal, "im.chat.get", ENTITY_TYPE="CRM", ENTITY_ID="nope") is None
    assert call(app_client, portal, "im.chat.get") is None
    lowercase = call(app_client, portal, "im.chat.add", title="lower", users=[portal.cleo])
    assert call(app_client, portal, "im.chat.user.list", chat_id=lowercase) == [portal.admin, portal.cleo]


def test_chat_add_default_title_and_bad_users(app_client: TestClient, portal: Portal) -> None:
    chat = call(app_client, portal, "im.chat.add", USERS=[portal.bob, 999])
    assert call(app_client, portal, "im.chat.user.list", CHAT_ID=chat) == [portal.admin, portal.bob]
    resp = app_client.post(portal.url("im.chat.add"), json={"USERS": [{"x": 1}]})
    assert_b24_error(resp, "INVALID_FORMAT", 400, "Parameter USERS has wrong type")
    resp = app_client.post(portal.url("im.chat.add"), json={"USERS": "2"})
    assert_b24_error(resp, "USERS_EMPTY", 400)


def test_chat_user_add_and_delete(app_client: TestClient, portal: Portal) -> None:
    assert call(app_client, portal, "im.chat.user.add", CHAT_ID=portal.chat, USERS=[portal.outsider]) is True
    assert portal.outsider in call(app_client, portal, "im.chat.user.list", CHAT_ID=portal.chat)
    again = app_client.post(portal.url("im.chat.user.add"), json={"CHAT_ID": portal.chat, "USERS": [portal.bob]})
    assert_b24_error(again, "WRONG_REQUEST", 400, "You don't have access or user already member in chat")
    # A member who is not the owner may leave but not remove others.
    kick = app_client.post(
        portal.url("im.chat.user.delete", portal.bob_hook), json={"CHAT_ID": portal.chat, "USER_ID": portal.cleo}
    )
    assert_b24_error(kick, "WRONG_REQUEST", 400, "You don't have access or user isn't member in chat")
    assert (
        call(app_client, portal, "im.chat.user.delete", portal.bob_hook, CHAT_ID=portal.chat, USER_ID=portal.bob)
        is True
    )
    assert call(app_client, portal, "im.chat.user.delete", CHAT_ID=portal.chat, USER_ID=portal.cleo) is True
    assert call(app_client, portal, "im.chat.user.list", CHAT_ID=portal.chat) == [portal.admin, portal.outsider]


def test_owner_leaving_passes_ownership(app_client: TestClient, portal: Portal) -> None:
    assert call(app_client, portal, "im.chat.user.delete", CHAT_ID=portal.chat, USER_ID=portal.admin) is True
    # Bob, the longest-standing member after Anna, may now remove Cleo.
    assert (
        call(app_client, portal, "im.chat.user.delete", portal.bob_hook, CHAT_ID=portal.chat, USER_ID=portal.cleo)
        is True
    )


def test_chat_errors(app_client: TestClient, portal: Portal) -> None:
    for method in ("im.chat.user.add", "im.chat.user.delete", "im.chat.user.list"):
        assert_b24_error(app_client.post(portal.url(method), json={}), "CHAT_ID_EMPTY", 400, "Chat ID can't be empty")
    resp = app_client.post(portal.url("im.chat.user.delete"), json={"CHAT_ID": portal.chat})
    assert_b24_error(resp, "USER_ID_EMPTY", 400, "User ID can't be empty")
    outsider_add = app_client.post(
        portal.url("im.chat.user.add", portal.outsider_hook), json={"CHAT_ID": portal.chat, "USERS": [portal.outsider]}
    )
    assert_b24_error(outsider_add, "WRONG_REQUEST", 400)
    # Non-members and unknown chats both see an empty list.
    assert call(app_client, portal, "im.chat.user.list", portal.outsider_hook, CHAT_ID=portal.chat) == []
    assert call(app_client, portal, "im.chat.user.list", CHAT_ID=424242) == []


def test_user_add_adds_only_new_members(app_client: TestClient, portal: Portal) -> None:
    before = call(app_client, portal, "im.chat.user.list", CHAT_ID=portal.chat)
    resp = app_client.post(
        portal.url("im.chat.user.add"), json={"CHAT_ID": portal.chat, "USERS": [portal.outsider, portal.bob]}
    )
    assert resp.status_code == 200  # the outsider is new, so the call succeeds and adds only them
    after = call(app_client, portal, "im.chat.user.list", CHAT_ID=portal.chat)
    assert after == [*before, portal.outsider]
