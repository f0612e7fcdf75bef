"""event.offline.get/clear/error/list with process_id, and ONOFFLINEEVENT, through HTTP."""

from __future__ import annotations

from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.events import install, local_handler, rest


def test_reserve_then_clear_with_process_id(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    rest(app_client, app, "event.bind", event="ONAPPTEST", event_type="offline")
    assert rest(app_client, app, "event.get") == [{"event": "ONAPPTEST", "handler": "", "auth_type": "0", "offline": 1}]
    rest(app_client, app, "event.test", n="1")
    reserved = rest(app_client, app, "event.offline.get", clear=0)
    process_id = reserved["process_id"]
    assert [(e["EVENT_NAME"], e["EVENT_DATA"]) for e in reserved["events"]] == [("ONAPPTEST", {"QUERY": {"n": "1"}})]
    assert rest(app_client, app, "event.offline.get", clear=0)["events"] == []  # hidden from other readers
    again = rest(app_client, app, "event.offline.get", clear=0, process_id=process_id)
    assert [e["ID"] for e in again["events"]] == [e["ID"] for e in reserved["events"]]
    listed = rest(app_client, app, "event.offline.list")
    assert [(e["PROCESS_ID"], e["ERROR"]) for e in listed] == [(process_id, "0")]
    assert rest(app_client, app, "event.offline.error", process_id=process_id, message_id=[""]) is True
    assert rest(app_client, app, "event.offline.list")[0]["ERROR"] == "1"
    assert rest(app_client, app, "event.offline.clear", process_id=process_id) is True
    assert rest(app_client, app, "event.offline.list") == []


def test_get_clears_by_default_and_connectors_keep_their_own_queue(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    rest(app_client, app, "event.bind", event="ONAPPTEST", event_type="offline", auth_connector="sync")
    rest(app_client, app, "event.test", n="1")
    assert rest(app_client, app, "event.offline.get")["events"] == []  # only records without a source
    taken = rest(app_client, app, "event.offline.get", auth_connector="sync")
    assert taken["process_id"] is None and len(taken["events"]) == 1
    assert rest(app_client, app, "event.offline.get", auth_connector="sync")["events"] == []
    resp = app_client.post("/rest/event.offline.clear", json={"auth": app.token})
    assert resp.status_code == 400 and resp.json()["error"] == "ERROR_ARGUMENT"


def test_onofflineevent_tells_a_handler_that_the_queue_grew(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    with local_handler() as handler:
        rest(app_client, app, "event.bind", event="ONAPPTEST", event_type="offline")
        rest(app_client, app, "event.bind", event="ONOFFLINEEVENT", handler=handler.url, options={"minTimeout": 30})
        rest(app_client, app, "event.test", n="1")
        got = handler.next()
        assert got.form["event"] == "ONOFFLINEEVENT" and "data" not in got.form  # empty data, as PHP sends it
        assert "refresh_token" in got.form["auth"]
        rest(app_client, app, "event.test", n="2")  # within minTimeout: no second notification
        clock.advance(30)
        rest(app_client, app, "event.test", n="3")
        assert handler.next().form["event"] == "ONOFFLINEEVENT"
        assert handler.nothing_more()
