"""event.offline.get/clear/error/list with process_id, and ONOFFLINEEVENT, through HTTP.

The queue is filled by ``event.test`` made without a source key into a queue bound with one (``sync``): the
rest module keeps an application's own change out of its queue of the call's key, the empty key included
(tests/events/test_auth_connector.py).
"""

from __future__ import annotations

from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.events.queue import message_id
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.events import install, local_handler, rest
from tests.helpers.wire import assert_b24_error

SYNC = {"auth_connector": "sync"}


def test_reserve_then_clear_with_process_id(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    rest(app_client, app, "event.bind", event="ONAPPTEST", event_type="offline", **SYNC)
    assert rest(app_client, app, "event.get") == [{"event": "ONAPPTEST", "connector_id": "sync", "offline": 1}]
    rest(app_client, app, "event.test", n="1")
    reserved = rest(app_client, app, "event.offline.get", clear=0, **SYNC)
    process_id = reserved["process_id"]
    assert len(process_id) == 32
    events = reserved["events"]
    assert [(e["EVENT_NAME"], e["EVENT_DATA"]) for e in events] == [("ONAPPTEST", {"QUERY": {"n": "1"}})]
    assert events[0]["MESSAGE_ID"] == message_id("ONAPPTEST", {"QUERY": {"n": "1"}})
    assert rest(app_client, app, "event.offline.get", clear=0, **SYNC)["events"] == []  # hidden from others
    again = rest(app_client, app, "event.offline.get", clear=0, process_id=process_id, **SYNC)
    assert again["process_id"] == process_id and [e["ID"] for e in again["events"]] == [e["ID"] for e in events]
    listed = rest(app_client, app, "event.offline.list", **SYNC)
    assert [(e["PROCESS_ID"], e["ERROR"]) for e in listed] == [(process_id, "0")]
    assert rest(app_client, app, "event.offline.clear", process_id=process_id, **SYNC) is True
    assert rest(app_client, app, "event.offline.list", **SYNC) == []


def test_a_failed_record_goes_back_to_the_queue_flagged(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    """event.offline.error unreserves the process's records with the error flag: only ``error=1`` reads them."""
    app = install(db, clock, portal.admin)
    rest(app_client, app, "event.bind", event="ONAPPTEST", event_type="offline", **SYNC)
    rest(app_client, app, "event.test", n="1")
    rest(app_client, app, "event.test", n="2")
    reserved = rest(app_client, app, "event.offline.get", clear=0, **SYNC)
    process_id, (first, second) = reserved["process_id"], reserved["events"]
    assert rest(app_client, app, "event.offline.error", process_id=process_id, message_id=[first["MESSAGE_ID"]], **SYNC)
    listed = {e["ID"]: (e["PROCESS_ID"], e["ERROR"]) for e in rest(app_client, app, "event.offline.list", **SYNC)}
    assert listed == {first["ID"]: ("", "1"), second["ID"]: (process_id, "0")}
    assert rest(app_client, app, "event.offline.get", **SYNC)["events"] == []  # error=0: unflagged ones only
    failed = rest(app_client, app, "event.offline.get", error=1, **SYNC)
    assert failed["process_id"] is None and [e["ID"] for e in failed["events"]] == [first["ID"]]
    rest(app_client, app, "event.offline.clear", process_id=process_id, **SYNC)
    assert rest(app_client, app, "event.offline.list", **SYNC) == []


def test_clear_by_id_or_message_id(app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock) -> None:
    app = install(db, clock, portal.admin)
    rest(app_client, app, "event.bind", event="ONAPPTEST", event_type="offline", **SYNC)
    for n in "123":
        rest(app_client, app, "event.test", n=n)
    reserved = rest(app_client, app, "event.offline.get", clear=0, **SYNC)
    process_id, (one, two, three) = reserved["process_id"], reserved["events"]

    def left() -> list[str]:
        return [e["ID"] for e in rest(app_client, app, "event.offline.list", **SYNC)]

    rest(app_client, app, "event.offline.clear", process_id=process_id, id=[int(one["ID"])], **SYNC)
    assert left() == [two["ID"], three["ID"]]
    # message_id is read first: the id list is not looked at.
    params = {"process_id": process_id, "message_id": [two["MESSAGE_ID"]], "id": [three["ID"]], **SYNC}
    rest(app_client, app, "event.offline.clear", **params)
    assert left() == [three["ID"]]
    rest(app_client, app, "event.offline.clear", process_id="another", **SYNC)  # not this process: nothing
    assert left() == [three["ID"]]
    rest(app_client, app, "event.offline.clear", process_id=process_id, id=[], **SYNC)  # an empty list: all
    assert left() == []


def test_clear_and_error_refuse_bad_arguments(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)

    def post(method: str, **params: object) -> object:
        return app_client.post(f"/rest/{method}", json={**params, "auth": app.token})

    missing = "Argument 'PROCESS_ID' is null or empty"
    assert_b24_error(post("event.offline.clear"), "ERROR_ARGUMENT", 400, missing)
    assert_b24_error(post("event.offline.error", message_id=["x"]), "ERROR_ARGUMENT", 400, missing)
    integers = "Value must be array of integers"
    assert_b24_error(post("event.offline.clear", process_id="p", id=[0]), "ERROR_ARGUMENT", 400, integers)
    assert_b24_error(post("event.offline.clear", process_id="p", id="5"), "ERROR_ARGUMENT", 400, integers)
    messages = "Value must be array of MESSAGE_ID values"
    assert_b24_error(post("event.offline.clear", process_id="p", message_id=["short"]), "ERROR_ARGUMENT", 400, messages)
    assert_b24_error(post("event.offline.error", process_id="p"), "ERROR_ARGUMENT", 400, messages)
    assert_b24_error(post("event.offline.error", process_id="p", message_id="x"), "ERROR_ARGUMENT", 400, messages)


def test_get_clears_by_default_and_connectors_keep_their_own_queue(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    rest(app_client, app, "event.bind", event="ONAPPTEST", event_type="offline", **SYNC)
    rest(app_client, app, "event.test", n="1")
    assert rest(app_client, app, "event.offline.get")["events"] == []  # only records without a source
    assert rest(app_client, app, "event.offline.list") == []
    taken = rest(app_client, app, "event.offline.get", **SYNC)
    assert taken["process_id"] is None and len(taken["events"]) == 1
    assert rest(app_client, app, "event.offline.get", **SYNC)["events"] == []
    resp = app_client.post("/rest/event.offline.clear", json={"auth": app.token})
    assert resp.status_code == 400 and resp.json()["error"] == "ERROR_ARGUMENT"


def test_the_same_state_again_refreshes_its_record(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    """The queue keeps an object's newest state: the same event and data again keep the record and its ID."""
    app = install(db, clock, portal.admin)
    rest(app_client, app, "event.bind", event="ONAPPTEST", event_type="offline", **SYNC)
    rest(app_client, app, "event.test", n="1")
    before = rest(app_client, app, "event.offline.list", **SYNC)
    clock.advance(5)
    rest(app_client, app, "event.test", n="1")
    after = rest(app_client, app, "event.offline.list", **SYNC)
    assert [e["ID"] for e in after] == [e["ID"] for e in before]
    assert after[0]["TIMESTAMP_X"] != before[0]["TIMESTAMP_X"]
    rest(app_client, app, "event.test", n="2")
    assert len(rest(app_client, app, "event.offline.list", **SYNC)) == 2


def test_onofflineevent_tells_a_handler_that_the_queue_grew(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    with local_handler() as handler:
        rest(app_client, app, "event.bind", event="ONAPPTEST", event_type="offline", **SYNC)
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
