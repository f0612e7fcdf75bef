"""The request journal: every REST call with its caller, masked parameters and outcome, bounded in size."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest
from starlette.testclient import TestClient

from b24vote.admin.journal import mask_params
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import oauth
from b24vote.storage.engine import Database
from tests.conftest import START, Portal
from tests.helpers.admin import admin, admin_client, admin_error
from tests.helpers.votes import call, send_poll
from tests.helpers.wire import assert_b24_error


@pytest.fixture
def client(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[TestClient]:
    with admin_client(settings, db, clock) as client:
        yield client


def _journal(client: TestClient, **query: object) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = admin(client, "GET", "/journal", params=query)["entries"]
    return entries


def test_entries_record_each_call(client: TestClient, portal: Portal, clock: FrozenClock) -> None:
    poll = send_poll(client, portal)
    clock.advance(2)
    client.post(portal.url("vote.AttachedVote.vote.json"), json={"attachId": poll.attach_id, "ballot": {"1": "x"}})
    assert_b24_error(client.get("/rest/1/not-a-code/user.current"), "NO_AUTH_FOUND", 401)
    sent, got, voted, refused = _journal(client)
    assert sent["method"] == "vote.Integration.Im.send" and sent["status"] == 200 and sent["error"] is None
    assert sent["caller"] == {"kind": "webhook", "user_id": portal.admin}
    assert sent["time"] == START.isoformat() and sent["params"]["chatId"] == portal.chat
    assert sent["params"]["IM_MESSAGE_VOTE_DATA"]["QUESTIONS"][0]["QUESTION"] == "Как дела?"
    assert got["method"] == "vote.AttachedVote.get" and got["params"]["entityId"] == poll.message_id
    assert voted["method"] == "vote.AttachedVote.vote" and voted["time"] == (START + timedelta(seconds=2)).isoformat()
    assert refused == refused | {"method": "user.current", "status": 401, "error": "NO_AUTH_FOUND"}
    assert [e["id"] for e in (sent, got, voted, refused)] == sorted(e["id"] for e in (sent, got, voted, refused))
    assert all(isinstance(e["duration_ms"], float) and e["fault"] is None for e in (sent, got, voted, refused))


def test_no_webhook_code_or_token_ever_shows(
    client: TestClient, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    with db.write() as conn:
        app, secret = oauth.add_app(conn, clock.now(), name="CI", scopes=["user", "vote"])
        tokens = oauth.issue_tokens(conn, clock.now(), app, portal.bob)
    poll = send_poll(client, portal)
    signed = call(client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]["signedAttachId"]
    client.get("/rest/user.current", params={"auth": tokens.access_token})
    client.post("/rest/user.current.json", data={"auth": tokens.access_token, "password": "hunter22"})
    client.post("/rest/server.time", json={"auth": tokens.refresh_token, "client_secret": secret})
    client.post(portal.url("vote.AttachedVote.get"), json={"signedAttachId": signed, "nested": {"code": "abc"}})
    client.post(portal.url("batch"), json={"cmd": {"a": f"vote.AttachedVote.get?signedAttachId={signed}&x=1"}})
    text = orjson.dumps(admin(client, "GET", "/journal")).decode()
    codes = [hook.rsplit("/", 1)[-1] for hook in (portal.hook, portal.bob_hook)]
    for secret_value in (*codes, tokens.access_token, tokens.refresh_token, secret, signed, "hunter22", "abc"):
        assert secret_value not in text
    entries = _journal(client, method="user.current")
    assert [e["caller"] for e in entries] == [{"kind": "oauth", "user_id": portal.bob}] * 2
    assert entries[1]["params"] == {"password": "***"}
    (batch,) = _journal(client, method="batch")
    assert batch["params"] == {"cmd": {"a": "vote.AttachedVote.get?signedAttachId=***&x=1"}}


def test_mask_params() -> None:
    given = {"AUTH": "t", "Code": "c", "list": [{"refresh_token": "r"}, "a=1&client_secret=s"], "keep": "x"}
    assert mask_params(given) == {
        "AUTH": "***",
        "Code": "***",
        "list": [{"refresh_token": "***"}, "a=1&client_secret=***"],
        "keep": "x",
    }


def test_filters(client: TestClient, portal: Portal, clock: FrozenClock) -> None:
    for method in ("server.time", "user.current", "im.chat.get", "user.get"):
        client.get(portal.url(method))
        clock.advance(60)
    assert [e["method"] for e in _journal(client, method="USER.*")] == ["user.current", "user.get"]
    since = (START + timedelta(seconds=60)).isoformat()
    assert [e["method"] for e in _journal(client, since=since)] == ["user.current", "im.chat.get", "user.get"]
    assert [e["method"] for e in _journal(client, since=since.replace("+00:00", "Z"), limit=2)] == [
        "im.chat.get",
        "user.get",
    ]
    resp = client.get(
        f"/_b24vote/journal?since={since}", headers={"Authorization": "Bearer admin-token-for-tests"}
    )  # an unescaped '+' arrives as a space, and still works
    assert len(resp.json()["entries"]) == 3
    admin_error(client, "GET", "/journal?limit=0", None, 400, "limit: must be an integer between 1 and 10000")
    admin_error(client, "GET", "/journal?since=yesterday", None, 400, "since: not an ISO 8601 time")
    admin_error(client, "GET", "/journal?user=1", None, 400, "user: unknown parameter")
    assert admin(client, "DELETE", "/journal") == {"entries": []}
    assert _journal(client) == []


def test_faults_show_in_the_journal(client: TestClient, portal: Portal) -> None:
    (rule,) = admin(client, "POST", "/faults", [{"method": "server.time", "error": "QUERY_LIMIT_EXCEEDED"}])["rules"]
    client.get(portal.url("server.time"))
    (entry,) = _journal(client)
    assert (entry["status"], entry["error"], entry["fault"]) == (503, "QUERY_LIMIT_EXCEEDED", rule["id"])


def test_xml_errors_and_broken_requests(client: TestClient, portal: Portal) -> None:
    client.get(portal.url("no.such.method.xml"))
    client.post(portal.url("server.time"), content=b"{broken", headers={"content-type": "application/json"})
    xml, broken = _journal(client)
    assert (xml["method"], xml["status"], xml["error"]) == ("no.such.method", 404, "ERROR_METHOD_NOT_FOUND")
    assert (broken["method"], broken["status"], broken["error"], broken["params"]) == (
        "server.time",
        400,
        "INVALID_REQUEST",
        None,
    )
    assert broken["caller"] == {"kind": "webhook", "user_id": portal.admin}


def test_bounded(settings: Settings, db: Database, clock: FrozenClock, portal: Portal) -> None:
    with admin_client(settings, db, clock, journal_size=3) as client:
        for _ in range(5):
            client.get(portal.url("server.time"))
        body = admin(client, "GET", "/journal")
        assert body["size"] == 3
        assert [e["id"] for e in body["entries"]] == [3, 4, 5]


def test_nothing_recorded_without_the_admin_api(app_client: TestClient, portal: Portal) -> None:
    app_client.get(portal.url("server.time"))
    assert len(app_client.app.state.b24.controls.journal.query()) == 0  # type: ignore[attr-defined]
