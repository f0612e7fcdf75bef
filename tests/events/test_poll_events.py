"""The b24vote extension: B24VOTE.POLL.* events, off by default, on with B24VOTE_POLL_EVENTS."""

from __future__ import annotations

from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.events import install, local_handler, rest
from tests.helpers.votes import call, cast, send_poll


def test_poll_events_when_enabled(settings: Settings, portal: Portal, db: Database, clock: FrozenClock) -> None:
    app = install(db, clock, portal.admin)
    with (
        TestClient(create_app(settings.with_changes(poll_events=True), clock=clock, db=db)) as client,
        local_handler() as handler,
    ):
        assert rest(client, app, "events", SCOPE="vote") == [
            "B24VOTE.POLL.VOTE",
            "B24VOTE.POLL.RECALL",
            "B24VOTE.POLL.STOP",
            "B24VOTE.POLL.RESUME",
            "B24VOTE.POLL.DELETE",
        ]
        for name in ("VOTE", "RECALL", "STOP", "DELETE"):
            rest(client, app, "event.bind", event=f"B24VOTE.POLL.{name}", handler=handler.url)
        poll = send_poll(client, portal)
        cast(client, portal, poll, poll.answer_ids[0], hook=portal.bob_hook)
        voted = handler.next().form
        assert voted["event"] == "B24VOTE.POLL.VOTE"
        assert voted["data"]["FIELDS"]["ATTACH_ID"] == str(poll.attach_id)
        assert voted["data"]["FIELDS"]["USER_ID"] == str(portal.bob)
        call(client, portal, "vote.AttachedVote.recall", portal.bob_hook, attachId=poll.attach_id)
        assert handler.next().form["event"] == "B24VOTE.POLL.RECALL"
        call(client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id)
        assert handler.next().form["event"] == "B24VOTE.POLL.STOP"
        call(client, portal, "im.message.delete", MESSAGE_ID=poll.message_id)
        deleted = handler.next().form
        assert deleted["event"] == "B24VOTE.POLL.DELETE"
        assert deleted["data"]["FIELDS"]["ATTACH_ID"] == str(poll.attach_id)
        assert deleted["data"]["FIELDS"]["USER_ID"] == str(portal.admin)


def test_poll_events_are_off_by_default(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    assert rest(app_client, app, "events", SCOPE="vote") == []
