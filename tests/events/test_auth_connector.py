"""``auth_connector``: a source key that divides an application's offline queue and keeps the application's own
changes out of the queue of the key its call carries (offline-events.md, "How to Avoid Cycles"), through HTTP
and batch. The changes are the b24vote extension's poll events, the application's own calls ``event.test``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.events import App, install, local_handler, rest
from tests.helpers.votes import ChatPoll, call, send_poll
from tests.helpers.wire import assert_envelope

STOP, RESUME = "B24VOTE.POLL.STOP", "B24VOTE.POLL.RESUME"


@dataclass
class World:
    client: TestClient
    portal: Portal
    app: App  # the portal administrator's application, author of the poll
    other: App  # another application of the same administrator
    poll: ChatPoll

    def as_app(self, method: str, app: App | None = None, **params: Any) -> Any:
        return rest(self.client, app or self.app, method, **params)

    def toggle(self, app: App | None = None, **params: Any) -> None:
        """Stop the poll and resume it: one STOP and one RESUME, by ``app`` (else the administrator's webhook)."""
        for method in ("vote.AttachedVote.stop", "vote.AttachedVote.resume"):
            if app is None:
                call(self.client, self.portal, method, attachId=self.poll.attach_id, **params)
            else:
                self.as_app(method, app, attachId=self.poll.attach_id, **params)

    def queue(self, connector: str = "") -> list[str]:
        """The application's queue of ``connector``, read away: the event names."""
        key = {"auth_connector": connector} if connector else {}
        return [e["EVENT_NAME"] for e in self.as_app("event.offline.get", **key)["events"]]


@pytest.fixture
def world(settings: Settings, portal: Portal, db: Database, clock: FrozenClock) -> Iterator[World]:
    app, other = install(db, clock, portal.admin), install(db, clock, portal.admin)
    with TestClient(create_app(settings.with_changes(poll_events=True), clock=clock, db=db)) as client:
        yield World(client, portal, app, other, send_poll(client, portal))


def bind_offline(world: World, connector: str = "") -> None:
    key = {"auth_connector": connector} if connector else {}
    for event in (STOP, RESUME):
        world.as_app("event.bind", event=event, event_type="offline", **key)


def test_a_call_with_the_key_is_kept_out_of_that_queue(world: World) -> None:
    bind_offline(world, "sync")
    world.toggle(world.app, auth_connector="sync")
    assert world.queue("sync") == []  # the connector's own change
    world.toggle(world.app)  # the same application without the key
    assert world.queue("sync") == [STOP, RESUME]
    world.toggle(world.app, auth_connector="other")  # another key
    assert world.queue("sync") == [STOP, RESUME]
    world.toggle(world.other, auth_connector="sync")  # the same key from another application
    assert world.queue("sync") == [STOP, RESUME]
    world.toggle(auth_connector="sync")  # an incoming webhook: no application, the key is a plain parameter
    assert world.queue("sync") == [STOP, RESUME]


def test_the_empty_key_is_a_key_too(world: World) -> None:
    """As the rest module compares them: an application's calls without a key stay out of its queue without one."""
    bind_offline(world)
    world.toggle(world.app)
    assert world.queue() == []
    world.toggle(world.app, auth_connector="sync")
    assert world.queue() == [STOP, RESUME]
    world.toggle(world.other)
    world.toggle()
    assert world.queue() == [STOP, RESUME]  # the newest state of each: the webhook's changes repeat the other's


def test_no_onofflineevent_for_a_change_kept_out(world: World) -> None:
    bind_offline(world, "sync")
    with local_handler() as handler:
        world.as_app("event.bind", event="ONOFFLINEEVENT", handler=handler.url, options={"minTimeout": 0})
        world.toggle(world.app, auth_connector="sync")
        assert world.queue("sync") == []
        world.toggle()
        assert handler.next().form["event"] == "ONOFFLINEEVENT"


def test_online_handlers_get_the_change_and_the_key_is_no_parameter(world: World) -> None:
    with local_handler() as handler:
        world.as_app("event.bind", event="ONAPPTEST", handler=handler.url)
        world.as_app("event.test", n="1", auth_connector="sync")
        got = handler.next().form
    assert got["data"] == {"QUERY": {"n": "1"}}  # auth_connector is part of the authorisation, as auth is


def batch(world: World, commands: dict[str, str], **params: Any) -> dict[str, Any]:
    body = {"cmd": commands, "halt": 0, **params, "auth": world.app.token}
    reply: dict[str, Any] = assert_envelope(world.client.post("/rest/batch", json=body))
    assert reply["result_error"] == [], reply
    return reply


def test_batch_uses_the_key_of_the_batch_call(world: World) -> None:
    bind_offline(world, "sync")
    attach = urlencode({"attachId": world.poll.attach_id})
    toggle = {"stop": f"vote.AttachedVote.stop?{attach}", "resume": f"vote.AttachedVote.resume?{attach}"}
    batch(world, toggle, auth_connector="sync")
    assert world.queue("sync") == []
    # A key inside a command is ignored, as an auth inside one is: the batch call had none.
    batch(world, {k: f"{v}&auth_connector=sync" for k, v in toggle.items()})
    taken = batch(world, {"get": "event.offline.get?clear=0"}, auth_connector="sync")
    assert [e["EVENT_NAME"] for e in taken["result"]["get"]["events"]] == [STOP, RESUME]


def test_bind_and_unbind_an_offline_handler_per_key(world: World) -> None:
    world.as_app("event.bind", event=STOP, event_type="offline")
    world.as_app("event.bind", event=STOP, event_type="offline", auth_connector="sync")
    assert world.as_app("event.get") == [
        {"event": STOP, "connector_id": "", "offline": 1},
        {"event": STOP, "connector_id": "sync", "offline": 1},
    ]
    assert world.as_app("event.unbind", event=STOP, event_type="offline", auth_connector="sync") == {"count": 1}
    assert world.as_app("event.get") == [{"event": STOP, "connector_id": "", "offline": 1}]
    assert world.as_app("event.unbind", event=STOP, event_type="offline", auth_connector="sync") == {"count": 0}
    assert world.as_app("event.unbind", event=STOP, event_type="offline") == {"count": 1}
