"""event.bind, event.unbind, event.get, events, event.test: rights, results and errors, through HTTP."""

from __future__ import annotations

from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.events import install, local_handler, rest
from tests.helpers.wire import assert_b24_error

EVENT_METHODS = (
    "event.bind",
    "event.unbind",
    "event.get",
    "events",
    "event.test",
    "event.offline.get",
    "event.offline.clear",
    "event.offline.error",
    "event.offline.list",
)


def test_an_incoming_webhook_has_no_application_context(app_client: TestClient, portal: Portal) -> None:
    for method in EVENT_METHODS:
        resp = app_client.post(portal.url(method), json={"event": "ONAPPTEST", "handler": "http://127.0.0.1/h"})
        assert_b24_error(resp, "WRONG_AUTH_TYPE", 403, "Application context required")


def test_bind_get_unbind(app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock) -> None:
    app = install(db, clock, portal.admin)
    url = "http://127.0.0.1:9/handler/"
    assert rest(app_client, app, "event.bind", event="onAppTest", handler=url) is True
    assert rest(app_client, app, "event.bind", EVENT="ONAPPTEST", HANDLER=url, AUTH_TYPE=portal.bob) is True
    assert rest(app_client, app, "event.get") == [
        {"event": "ONAPPTEST", "handler": url, "auth_type": "0", "offline": 0},
        {"event": "ONAPPTEST", "handler": url, "auth_type": str(portal.bob), "offline": 0},
    ]
    assert rest(app_client, app, "event.unbind", event="ONAPPTEST", handler=url, auth_type=0) == {"count": 1}
    assert rest(app_client, app, "event.unbind", event="ONAPPTEST", handler=url) == {"count": 1}
    assert rest(app_client, app, "event.get") == []
    other = install(db, clock, portal.admin)
    rest(app_client, other, "event.bind", event="ONAPPTEST", handler=url)
    assert rest(app_client, app, "event.get") == []  # each application sees its own handlers


def test_bind_errors(app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock) -> None:
    app = install(db, clock, portal.admin)

    def bind(**params: object) -> object:
        return app_client.post("/rest/event.bind", json={**params, "auth": app.token})

    assert_b24_error(bind(event="ONCRMLEADADD", handler="http://x/"), "ERROR_EVENT_NOT_FOUND", 400, "Event not found")
    assert_b24_error(bind(handler="http://x/"), "ERROR_EVENT_NOT_FOUND", 400)
    assert_b24_error(bind(event="ONAPPTEST"), "ERROR_ARGUMENT", 400, "Argument 'HANDLER' is null or empty")
    assert_b24_error(bind(event="ONAPPTEST", handler="ftp://x/"), "ERROR_ARGUMENT", 400)
    assert_b24_error(bind(event="ONAPPTEST", handler={"a": 1}), "ERROR_ARGUMENT", 400)
    assert bind(event="ONAPPTEST", handler="http://x/").status_code == 200
    assert_b24_error(bind(event="ONAPPTEST", handler="http://x/"), "ERROR_HANDLER_ALREADY_EXIST", 400)
    # The poll events are an extension, off unless B24VOTE_POLL_EVENTS is set.
    assert_b24_error(bind(event="B24VOTE.POLL.VOTE", handler="http://x/"), "ERROR_EVENT_NOT_FOUND", 400)


def test_a_user_who_is_not_an_administrator(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    admin, bob = install(db, clock, portal.admin), install(db, clock, portal.bob)
    url = "http://127.0.0.1:9/h"
    rest(app_client, bob, "event.bind", event="ONAPPTEST", handler=url)
    assert rest(app_client, bob, "event.get") == [
        {"event": "ONAPPTEST", "handler": url, "auth_type": str(portal.bob), "offline": 0}
    ]
    for method, extra in (
        ("event.bind", {"handler": url, "auth_type": portal.cleo}),
        ("event.bind", {"event_type": "offline"}),
        ("event.unbind", {"event_type": "offline"}),
        ("event.unbind", {"handler": url, "auth_type": portal.cleo}),
    ):
        resp = app_client.post(f"/rest/{method}", json={"event": "ONAPPTEST", **extra, "auth": bob.token})
        assert_b24_error(resp, "ACCESS_DENIED", 403, "Access denied!")
    for method in ("event.offline.get", "event.offline.list", "event.offline.clear", "event.offline.error"):
        resp = app_client.post(f"/rest/{method}", json={"process_id": "x", "auth": bob.token})
        assert_b24_error(resp, "ACCESS_DENIED", 403, "Access denied!")
    assert rest(app_client, admin, "event.get") == []


def test_events_lists_what_this_portal_sends(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    basic = ["ONAPPUNINSTALL", "ONAPPINSTALL", "ONAPPTEST", "ONOFFLINEEVENT"]
    assert rest(app_client, app, "events") == basic
    assert rest(app_client, app, "events", FULL=True) == basic
    assert rest(app_client, app, "events", SCOPE="vote") == []
    assert rest(app_client, app, "events", SCOPE="basic", FULL=True) == basic


def test_event_test_returns_one_and_reaches_only_the_callers_handlers(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    mine, theirs = install(db, clock, portal.admin), install(db, clock, portal.admin)
    with local_handler() as handler, local_handler() as other:
        rest(app_client, mine, "event.bind", event="ONAPPTEST", handler=handler.url)
        rest(app_client, theirs, "event.bind", event="ONAPPTEST", handler=other.url)
        assert rest(app_client, mine, "event.test", any="data") == 1
        got = handler.next()
        assert got.form["event"] == "ONAPPTEST"
        assert got.form["data"] == {"QUERY": {"any": "data"}}
        assert other.nothing_more()
