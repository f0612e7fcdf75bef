"""``filter``, ``order`` and ``limit`` of event.offline.get and event.offline.list, through HTTP.

The queue (source key ``sync``) holds three ONAPPTEST records ten seconds apart (``event.test`` n=1..3, the
calling application's own calls made without the key) and then B24VOTE.POLL.STOP and .RESUME of a poll an
incoming webhook stops and resumes (the b24vote extension's events).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.events import App, install, rest
from tests.helpers.votes import call, send_poll
from tests.helpers.wire import assert_b24_error

SYNC = {"auth_connector": "sync"}
EVENTS = ("ONAPPTEST", "B24VOTE.POLL.STOP", "B24VOTE.POLL.RESUME")


@dataclass
class Queue:
    client: TestClient
    app: App

    def list(self, **params: Any) -> Any:
        return rest(self.client, self.app, "event.offline.list", **SYNC, **params)

    def get(self, **params: Any) -> Any:
        return rest(self.client, self.app, "event.offline.get", **SYNC, **params)

    def post(self, method: str, **params: Any) -> Any:
        return self.client.post(f"/rest/{method}", json={**SYNC, **params, "auth": self.app.token})


@pytest.fixture
def queue(settings: Settings, portal: Portal, db: Database, clock: FrozenClock) -> Iterator[Queue]:
    app = install(db, clock, portal.admin)
    with TestClient(create_app(settings.with_changes(poll_events=True), clock=clock, db=db)) as client:
        for event in EVENTS:
            rest(client, app, "event.bind", event=event, event_type="offline", **SYNC)
        for n in "123":
            rest(client, app, "event.test", n=n)
            clock.advance(10)
        poll = send_poll(client, portal)
        call(client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id)
        call(client, portal, "vote.AttachedVote.resume", attachId=poll.attach_id)
        yield Queue(client, app)


def names(records: list[dict[str, Any]]) -> list[str]:
    return [r["EVENT_NAME"] for r in records]


def test_list_filters_and_orders(queue: Queue) -> None:
    every = queue.list()
    assert names(every) == ["ONAPPTEST"] * 3 + ["B24VOTE.POLL.STOP", "B24VOTE.POLL.RESUME"]
    ids = [r["ID"] for r in every]
    assert [r["ID"] for r in queue.list(order={"ID": "desc"})] == ids[::-1]
    assert names(queue.list(filter={"=event_name": "b24vote.poll.stop"})) == ["B24VOTE.POLL.STOP"]
    assert names(queue.list(filter={"EVENT_NAME": "ONAPPTEST", ">ID": ids[0]})) == ["ONAPPTEST"] * 2
    assert [r["ID"] for r in queue.list(filter={"@ID": [ids[1], ids[3]]})] == [ids[1], ids[3]]
    assert [r["ID"] for r in queue.list(filter={"ID": [ids[0], ids[4]]})] == [ids[0], ids[4]]  # a list: one of
    assert names(queue.list(filter={"%EVENT_NAME": "poll."})) == ["B24VOTE.POLL.STOP", "B24VOTE.POLL.RESUME"]
    assert len(queue.list(filter={"ERROR": 0, "PROCESS_ID": ""})) == 5
    assert queue.list(filter={"ERROR": 1}) == []
    by_name = queue.list(order={"EVENT_NAME": "ASC", "ID": "DESC"})
    assert [(r["EVENT_NAME"], r["ID"]) for r in by_name] == [
        ("B24VOTE.POLL.RESUME", ids[4]),
        ("B24VOTE.POLL.STOP", ids[3]),
        ("ONAPPTEST", ids[2]),
        ("ONAPPTEST", ids[1]),
        ("ONAPPTEST", ids[0]),
    ]
    assert [r["ID"] for r in queue.list(order=["TIMESTAMP_X"])] == ids  # a list names fields, ascending
    resp = queue.post("event.offline.list", filter={">=ID": ids[2]})
    assert resp.json()["total"] == 3 and "next" not in resp.json()  # total counts the matching records


def test_list_filters_reservations(queue: Queue) -> None:
    reserved = queue.get(clear=0, limit=2)
    mine = queue.list(filter={"PROCESS_ID": reserved["process_id"]})
    assert [r["ID"] for r in mine] == [r["ID"] for r in reserved["events"]]
    assert len(queue.list(filter={"=PROCESS_ID": ""})) == 3


def test_get_filters_orders_and_limits(queue: Queue) -> None:
    every = queue.list()
    ids = [r["ID"] for r in every]
    second = every[1]["TIMESTAMP_X"]  # printed to the second with the portal's offset
    taken = queue.get(clear=0, filter={">=TIMESTAMP_X": second, "=EVENT_NAME": "ONAPPTEST"}, order={"ID": "DESC"})
    assert [r["ID"] for r in taken["events"]] == [ids[2], ids[1]]
    assert set(taken["events"][0]) == {
        "ID",
        "TIMESTAMP_X",
        "EVENT_NAME",
        "EVENT_DATA",
        "EVENT_ADDITIONAL",
        "MESSAGE_ID",
    }
    # Only the unreserved records match now; limit takes the first in the order asked for.
    rest_of = queue.get(clear=0, order={"EVENT_NAME": "DESC"}, limit=2)
    assert names(rest_of["events"]) == ["ONAPPTEST", "B24VOTE.POLL.STOP"]
    assert [r["ID"] for r in queue.get(filter={"TIMESTAMP_X": every[0]["TIMESTAMP_X"]})["events"]] == []
    assert names(queue.get()["events"]) == ["B24VOTE.POLL.RESUME"]  # the default order: oldest first


def test_get_with_a_process_id_reads_it_again_and_clears_it_whole(queue: Queue) -> None:
    reserved = queue.get(clear=0, limit=3)
    process_id, ids = reserved["process_id"], [r["ID"] for r in reserved["events"]]
    again = queue.get(clear=0, process_id=process_id, filter={">ID": ids[0]}, limit=1)
    assert again["process_id"] == process_id and [r["ID"] for r in again["events"]] == [ids[1]]
    assert len(queue.get(clear=0, process_id=process_id)["events"]) == 3  # nothing new joined the reservation
    # clear=1 with a process_id: the whole reservation goes, records past the limit included.
    cleared = queue.get(process_id=process_id, limit=1)
    assert cleared["process_id"] == process_id and len(cleared["events"]) == 1
    assert queue.list(filter={"PROCESS_ID": process_id}) == []
    assert len(queue.list()) == 2  # the unreserved ones are untouched
    # Without a process_id, clear=1 answers none and deletes exactly what it read.
    taken = queue.get(limit=1)
    assert taken["process_id"] is None and len(taken["events"]) == 1 and len(queue.list()) == 1


def test_an_empty_process_id_is_the_unreserved_queue(queue: Queue) -> None:
    """As in the rest module: a ``process_id`` given empty reads the unreserved records without reserving them,
    and with ``clear=1`` deletes every unreserved record once it read any."""
    looked = queue.get(clear=0, process_id="", limit=1)
    assert looked["process_id"] == "" and len(looked["events"]) == 1
    assert all(r["PROCESS_ID"] == "" for r in queue.list()) and len(queue.list()) == 5
    assert len(queue.get(process_id="", limit=1)["events"]) == 1
    assert queue.list() == []


BAD = [
    ("event.offline.get", {"filter": "ID"}, "The filter is not an array."),
    ("event.offline.list", {"filter": 5}, "The filter is not an array."),
    ("event.offline.get", {"filter": {"!ID": 1}}, "Filter operation not allowed: !"),
    ("event.offline.get", {"filter": {"!=ID": 1}}, "Filter operation not allowed: !="),
    ("event.offline.get", {"filter": {"@ID": 1}}, "Filter operation not allowed: @"),
    ("event.offline.get", {"filter": {"%EVENT_NAME": "A"}}, "Filter operation not allowed: %"),
    ("event.offline.list", {"filter": {"%TIMESTAMP_X": "2024"}}, "Filter operation not allowed: %"),
    ("event.offline.get", {"filter": {"PROCESS_ID": ""}}, "Filter field not allowed: PROCESS_ID"),
    ("event.offline.get", {"filter": {"=APP_ID": 1}}, "Filter field not allowed: APP_ID"),
    ("event.offline.list", {"filter": {"AUTH_CONNECTOR": ""}}, "Filter field not allowed: AUTH_CONNECTOR"),
    ("event.offline.list", {"filter": ["ID"]}, "Filter operation not allowed: 0"),  # the key 0: all operation
    ("event.offline.get", {"filter": {"=ID": [1, 2]}}, "The value of an argument '=ID' has an invalid type"),
    ("event.offline.list", {"filter": {">ID": [1]}}, "The value of an argument '>ID' has an invalid type"),
    (
        "event.offline.get",
        {"filter": {">TIMESTAMP_X": "yesterday"}},
        "The value of an argument '>TIMESTAMP_X' is not an ISO 8601 date and time",
    ),
    ("event.offline.get", {"order": "ID"}, "The order is not an array."),
    ("event.offline.get", {"order": {"PROCESS_ID": "ASC"}}, "Order field not allowed: PROCESS_ID"),
    ("event.offline.list", {"order": {"APP_ID": "ASC"}}, "Order field not allowed: APP_ID"),
    ("event.offline.list", {"order": ["id"]}, "Order field not allowed: id"),
    ("event.offline.list", {"order": {"ID": "UP"}}, "Order direction should be one of {ASC|DESC}"),
    ("event.offline.get", {"order": {"ID": ["ASC"]}}, "Order direction should be one of {ASC|DESC}"),
    ("event.offline.get", {"limit": 0}, "Value must be positive integer"),
    ("event.offline.get", {"limit": "many"}, "Value must be positive integer"),
    ("event.offline.get", {"limit": -5}, "Value must be positive integer"),
]


def test_bad_filter_order_and_limit(queue: Queue) -> None:
    for method, params, description in BAD:
        assert_b24_error(queue.post(method, **params), "ERROR_ARGUMENT", 400, description)
    assert all(r["PROCESS_ID"] == "" for r in queue.list()) and len(queue.list()) == 5  # nothing read away
