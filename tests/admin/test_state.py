"""Reset and snapshots through the admin API, on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage.engine import Database
from b24vote.storage.tables import users
from tests.conftest import Portal
from tests.helpers.admin import admin, admin_client, admin_error, portal_rows
from tests.helpers.votes import call, cast, send_poll
from tests.helpers.wire import assert_b24_error, assert_envelope


@pytest.fixture
def client(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[TestClient]:
    with admin_client(settings, db, clock) as client:
        yield client


def test_reset_to_empty(client: TestClient, db: Database, portal: Portal) -> None:
    send_poll(client, portal)
    assert admin(client, "POST", "/reset") == {"seed": "empty"}
    assert portal_rows(db) == 0
    assert_b24_error(client.get(portal.url("user.current")), "NO_AUTH_FOUND", 401)


def test_reset_to_demo(client: TestClient, db: Database, portal: Portal) -> None:
    demo = admin(client, "POST", "/reset", {"seed": "demo"})
    # Ids continue after the four users and two chats the reset removed: they never come back.
    assert demo["seed"] == "demo" and demo["user_ids"] == [5, 6, 7] and demo["chat_id"] == 3
    path = demo["webhook_url"].removeprefix("http://127.0.0.1:8000")
    assert assert_envelope(client.get(path + "user.current.json"))["NAME"] == "Anna"
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 3


def test_reset_clears_the_in_process_controls(client: TestClient, portal: Portal) -> None:
    admin(client, "POST", "/clock", {"freeze": True, "advance": 3600})
    admin(client, "POST", "/faults", [{"method": "*", "error": "QUERY_LIMIT_EXCEEDED"}])
    client.get(portal.url("user.current"))
    admin(client, "POST", "/reset")
    assert admin(client, "GET", "/clock")["frozen"] is False
    assert admin(client, "GET", "/faults") == {"rules": []}
    assert admin(client, "GET", "/journal")["entries"] == []


def _set_controls(client: TestClient, portal: Portal) -> None:
    admin(client, "POST", "/clock", {"freeze": True, "advance": 3600})
    admin(client, "POST", "/faults", [{"method": "user.get", "error": "QUERY_LIMIT_EXCEEDED"}])
    client.get(portal.url("user.current"))


def test_restore_keeps_the_controls_unless_asked_to_reset_them(client: TestClient, portal: Portal) -> None:
    admin(client, "POST", "/snapshots/base")
    _set_controls(client, portal)
    admin(client, "POST", "/snapshots/base/restore", {"controls": "keep"})
    admin(client, "POST", "/snapshots/base/restore")
    assert admin(client, "GET", "/clock")["frozen"] is True
    assert len(admin(client, "GET", "/faults")["rules"]) == 1
    assert len(admin(client, "GET", "/journal")["entries"]) == 1

    restored = admin(client, "POST", "/snapshots/base/restore", {"controls": "reset"})
    assert restored["name"] == "base"
    assert admin(client, "GET", "/clock")["frozen"] is False
    assert admin(client, "GET", "/faults") == {"rules": []}
    assert admin(client, "GET", "/journal")["entries"] == []


def test_restore_options_are_checked(client: TestClient, portal: Portal) -> None:
    admin(client, "POST", "/snapshots/base")
    _set_controls(client, portal)
    admin_error(client, "POST", "/snapshots/base/restore", {"controls": True}, 400, "controls: must be one of")
    admin_error(client, "POST", "/snapshots/base/restore", {"seed": "demo"}, 400, "seed: unknown field")
    admin_error(client, "POST", "/reset", {"controls": "reset"}, 400, "controls: unknown field (expected seed)")
    # A refused call changes nothing, and a missing snapshot leaves the controls as they were.
    admin_error(client, "POST", "/snapshots/missing/restore", {"controls": "reset"}, 404, "no snapshot")
    assert len(admin(client, "GET", "/faults")["rules"]) == 1
    assert len(admin(client, "GET", "/journal")["entries"]) == 1


def _answers(client: TestClient, portal: Portal, attach_id: int) -> dict[str, int]:
    attach = call(client, portal, "vote.AttachedVote.get", attachId=attach_id)["attach"]
    (question,) = attach["QUESTIONS"].values()
    return {aid: int(a["COUNTER"]) for aid, a in question["ANSWERS"].items()} | {"total": int(attach["COUNTER"])}


def test_snapshot_round_trip(client: TestClient, db: Database, portal: Portal) -> None:
    poll = send_poll(client, portal)
    cast(client, portal, poll, poll.answer_ids[0])
    cast(client, portal, poll, poll.answer_ids[1], hook=portal.bob_hook)
    before = _answers(client, portal, poll.attach_id)
    rows = portal_rows(db)
    saved = admin(client, "POST", "/snapshots/base")
    assert saved["name"] == "base" and sum(saved["rows"].values()) == rows and saved["rows"]["vote_ballots"] == 2

    cast(client, portal, poll, poll.answer_ids[2])  # re-vote (the poll allows it)
    call(client, portal, "vote.AttachedVote.recall", portal.bob_hook, attachId=poll.attach_id)
    later = send_poll(client, portal)
    assert later.vote_id == poll.vote_id + 1
    assert _answers(client, portal, poll.attach_id) != before

    restored = admin(client, "POST", "/snapshots/base/restore")
    assert restored["name"] == "base"
    assert portal_rows(db) == rows
    assert _answers(client, portal, poll.attach_id) == before
    again = send_poll(client, portal)  # ids continue past every id handed out, on both backends
    assert (again.vote_id, again.attach_id, again.message_id) == (
        later.vote_id + 1,
        later.attach_id + 1,
        later.message_id + 1,
    )
    user = call(client, portal, "user.current")
    assert user["ID"] == str(portal.admin)  # webhooks came back too


def test_restore_survives_a_reset_and_can_be_repeated(client: TestClient, portal: Portal) -> None:
    poll = send_poll(client, portal)
    admin(client, "POST", "/snapshots/one")
    admin(client, "POST", "/reset")
    for _ in range(2):
        admin(client, "POST", "/snapshots/one/restore")
        cast(client, portal, poll, poll.answer_ids[0])
        assert _answers(client, portal, poll.attach_id)["total"] == 1


def test_overwrite_list_and_delete(client: TestClient, portal: Portal) -> None:
    admin(client, "POST", "/snapshots/a-1")
    send_poll(client, portal)
    admin(client, "POST", "/snapshots/B_2")
    first = admin(client, "POST", "/snapshots/a-1")  # overwrite: now with the poll
    assert first["rows"]["votes"] == 1
    listed = admin(client, "GET", "/snapshots")["snapshots"]
    assert [s["name"] for s in listed] == ["B_2", "a-1"]
    assert all(s["rows"]["votes"] == 1 for s in listed)
    assert admin(client, "DELETE", "/snapshots/a-1") == {"deleted": "a-1"}
    assert [s["name"] for s in admin(client, "GET", "/snapshots")["snapshots"]] == ["B_2"]


def test_unknown_and_bad_snapshot_names(client: TestClient) -> None:
    admin_error(client, "POST", "/snapshots/missing/restore", None, 404, "no snapshot named 'missing'")
    admin_error(client, "DELETE", "/snapshots/missing", None, 404, "no snapshot named 'missing'")
    admin_error(client, "POST", "/snapshots/bad.name", None, 400, "must be 1 to 64 characters")
    admin_error(client, "POST", f"/snapshots/{'x' * 65}", None, 400, "must be 1 to 64 characters")
    admin(client, "POST", f"/snapshots/{'x' * 64}")


def test_restore_clears_limit_counters(settings: Settings, db: Database, clock: FrozenClock, portal: Portal) -> None:
    with admin_client(settings, db, clock, rate_limit=settings.rate_limit or _limit()) as client:
        admin(client, "POST", "/snapshots/base")
        statuses = [client.get(portal.url("user.current")).status_code for _ in range(3)]
        assert statuses == [200, 200, 503]
        admin(client, "POST", "/snapshots/base/restore")
        assert client.get(portal.url("user.current")).status_code == 200


def _limit() -> object:
    from b24vote.config import RateLimit

    return RateLimit(2, 0.001)
