"""Outgoing webhooks: made by ``b24vote webhook add --outgoing`` or the seed's ``outgoing`` section, delivered
with the short webhook ``auth`` block and their own ``application_token``."""

from __future__ import annotations

import orjson
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import oauth
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.admin import admin, admin_client
from tests.helpers.events import LocalHandler, local_handler, run_cli
from tests.helpers.votes import cast, send_poll

VOTE = "B24VOTE.POLL.VOTE"


def _cli(db: Database, *args: str) -> tuple[int, str, str]:
    return run_cli(db, "webhook", "add", *args, env={"B24VOTE_POLL_EVENTS": "1"})


def _vote_reaches(client: TestClient, portal: Portal, handler: LocalHandler, db: Database, token: str) -> None:
    poll = send_poll(client, portal)
    cast(client, portal, poll, poll.answer_ids[0], hook=portal.bob_hook)
    got = handler.next().form
    assert got["event"] == VOTE and got["data"]["FIELDS"]["ATTACH_ID"] == str(poll.attach_id)
    with db.read() as conn:
        member = oauth.member_id(conn)
    rest = "http://127.0.0.1:8000/rest/"
    assert got["auth"] == {
        "domain": "127.0.0.1:8000",
        "client_endpoint": rest,
        "server_endpoint": rest,
        "member_id": member,
        "application_token": token,
    }


def test_the_command_makes_an_outgoing_webhook_that_receives_events(
    settings: Settings, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    with local_handler() as handler, local_handler() as other:
        code, out, _ = _cli(db, "--user", str(portal.admin), "--outgoing", handler.url, "--event", "b24vote.poll.vote")
        assert code == 0
        token = out.strip()
        assert len(token) == 32 and int(token, 16) >= 0
        again = _cli(db, "--user", str(portal.cleo), "--outgoing", handler.url, "--event", VOTE)
        assert again[0] == 1 and "sends B24VOTE.POLL.VOTE to this URL already" in again[2]
        code, out, _ = _cli(db, "--user", str(portal.cleo), "--outgoing", other.url, "--event", VOTE, "--json")
        second = orjson.loads(out)
        assert code == 0 and second["event"] == VOTE and second["application_token"] != token
        with TestClient(create_app(settings.with_changes(poll_events=True), clock=clock, db=db)) as client:
            _vote_reaches(client, portal, handler, db, token)
            assert other.next().form["auth"]["application_token"] == second["application_token"]


def test_the_command_names_what_is_wrong(portal: Portal, db: Database) -> None:
    user = str(portal.admin)
    assert _cli(db, "--user", user, "--outgoing", "ftp://x/", "--event", VOTE)[2].endswith(
        "--outgoing: must be an http:// or https:// URL\n"
    )
    assert (
        "--event: 'ONNOTHING' is not an event"
        in _cli(db, "--user", user, "--outgoing", "http://h/", "--event", "ONNOTHING")[2]
    )
    assert "--user: no such user 999" in _cli(db, "--user", "999", "--outgoing", "http://h/", "--event", VOTE)[2]
    assert "go together" in _cli(db, "--user", user, "--event", VOTE)[2]


def test_the_seed_makes_outgoing_webhooks(settings: Settings, portal: Portal, db: Database, clock: FrozenClock) -> None:
    with admin_client(settings, db, clock, poll_events=True) as client, local_handler() as handler:
        doc = {"outgoing": [{"user": portal.admin, "url": handler.url, "event": VOTE}]}
        made = admin(client, "POST", "/seed", doc)["outgoing"]
        assert [(m["user"], m["event"]) for m in made] == [(portal.admin, VOTE)]
        _vote_reaches(client, portal, handler, db, made[0]["application_token"])
        bad = {"outgoing": [{"user": portal.admin, "url": handler.url, "event": "ONNOTHING"}]}
        error = admin(client, "POST", "/seed", bad, status=400)
        assert error["error_description"].startswith("outgoing[0].event: 'ONNOTHING' is not an event")
