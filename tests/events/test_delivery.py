"""Delivery as a portal does it: a form POST off the request path, in order per handler, retried on b24vote's
clock, kept in the database across a restart and sent once by several processes."""

from __future__ import annotations

import threading

from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import oauth
from b24vote.storage.engine import Database
from b24vote.storage.events import app_token
from tests.conftest import Portal
from tests.helpers.admin import admin, admin_client
from tests.helpers.events import install, local_handler, rest
from tests.helpers.wire import assert_envelope


def test_the_post_a_handler_receives(app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock) -> None:
    app = install(db, clock, portal.admin)
    with local_handler() as handler:
        rest(app_client, app, "event.bind", event="ONAPPTEST", handler=handler.url, auth_type=portal.bob)
        rest(app_client, app, "event.test", any="data", nested={"a": [1, 2]})
        got = handler.next()
    assert got.content_type == "application/x-www-form-urlencoded"
    assert list(got.form) == ["event", "event_handler_id", "data", "ts", "auth"]
    assert got.form["data"] == {"QUERY": {"any": "data", "nested": {"a": ["1", "2"]}}}
    assert got.form["ts"] == str(int(clock.now().timestamp()))
    auth = got.form["auth"]
    with db.write() as conn:
        assert auth["application_token"] == app_token(conn, clock.now(), app.id)
        assert auth["member_id"] == oauth.member_id(conn)
    assert auth["domain"] == "127.0.0.1:8000" and auth["status"] == "L" and auth["expires_in"] == "3600"
    assert "refresh_token" not in auth  # only ONAPPINSTALL and ONOFFLINEEVENT carry one
    # The access token acts as the user named by auth_type.
    me = assert_envelope(app_client.post("/rest/user.current", json={"auth": auth["access_token"]}))
    assert me["ID"] == str(portal.bob)


def test_a_failed_delivery_is_retried_when_the_clock_says(
    settings: Settings, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    with admin_client(settings, db, clock, event_retries=(60, 300)) as client, local_handler([500, 503]) as handler:
        rest(client, app, "event.bind", event="ONAPPTEST", handler=handler.url)
        rest(client, app, "event.test", n="1")
        assert handler.next().form["data"]["QUERY"]["n"] == "1"  # answered 500
        pending = admin(client, "GET", "/deliveries")["deliveries"]
        assert [(d["event"], d["attempts"]) for d in pending] == [("ONAPPTEST", 1)]
        admin(client, "POST", "/clock", {"advance": 60})
        assert handler.next().form["event"] == "ONAPPTEST"  # the retry, answered 503
        admin(client, "POST", "/clock", {"advance": 300})
        handler.next()  # the last retry, answered 200
        assert admin(client, "POST", "/deliveries/send")["deliveries"] == []
        entries = admin(client, "GET", "/journal?method=ONAPPTEST")["entries"]
    assert [(e["caller"]["kind"], e["params"]["attempt"], e["status"]) for e in entries] == [
        ("delivery", 1, 500),
        ("delivery", 2, 503),
        ("delivery", 3, 200),
    ]


def test_no_retry_by_default_and_failing_a_handler_on_purpose(
    settings: Settings, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    with admin_client(settings, db, clock) as client, local_handler() as handler:
        rest(client, app, "event.bind", event="ONAPPTEST", handler=handler.url)
        admin(client, "POST", "/deliveries/fail", {"handler": handler.url, "count": 1, "status": 502})
        rest(client, app, "event.test", n="1")
        rest(client, app, "event.test", n="2")
        admin(client, "POST", "/deliveries/send")
        assert handler.next().form["data"]["QUERY"]["n"] == "2"  # the first was failed without being sent
        admin(client, "POST", "/deliveries/send")  # waits for the send under way, journal entry included
        entries = admin(client, "GET", "/journal?method=ONAPPTEST")["entries"]
        assert [(e["status"], e["error"]) for e in entries] == [(502, "failed by the emulator controls"), (200, None)]
        assert admin(client, "GET", "/deliveries")["deliveries"] == []


def test_order_per_handler_and_a_slow_handler_blocks_nobody(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    slow_app, fast_app = install(db, clock, portal.admin), install(db, clock, portal.admin)
    hold = threading.Event()
    with local_handler(hold=hold) as slow, local_handler() as fast:
        rest(app_client, slow_app, "event.bind", event="ONAPPTEST", handler=slow.url)
        rest(app_client, fast_app, "event.bind", event="ONAPPTEST", handler=fast.url)
        for n in range(3):
            # The call returns while the slow handler holds its first delivery (it waits for `hold`).
            assert rest(app_client, slow_app, "event.test", n=str(n)) == 1
        rest(app_client, fast_app, "event.test", n="fast")
        assert fast.next().form["data"]["QUERY"]["n"] == "fast"
        assert slow.next().form["data"]["QUERY"]["n"] == "0"
        assert slow.nothing_more()  # the next one waits for the first to be answered
        hold.set()
        assert [slow.next().form["data"]["QUERY"]["n"] for _ in range(2)] == ["1", "2"]


def test_deliveries_survive_a_restart(settings: Settings, portal: Portal, db: Database, clock: FrozenClock) -> None:
    app = install(db, clock, portal.admin)
    with local_handler([500]) as handler:
        with admin_client(settings, db, clock, event_retries=(60,)) as client:
            rest(client, app, "event.bind", event="ONAPPTEST", handler=handler.url)
            rest(client, app, "event.test", n="1")
            handler.next()  # answered 500: a retry is queued in the database
        with admin_client(settings, db, clock, event_retries=(60,)) as client:
            assert [d["attempts"] for d in admin(client, "GET", "/deliveries")["deliveries"]] == [1]
            clock.advance(60)
            admin(client, "POST", "/deliveries/send")
            assert handler.next().form["data"]["QUERY"]["n"] == "1"
            assert admin(client, "GET", "/deliveries")["deliveries"] == []


def test_several_processes_send_each_delivery_once(
    settings: Settings, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    app = install(db, clock, portal.admin)
    with (
        local_handler() as handler,
        admin_client(settings, db, clock) as first,
        admin_client(settings, db, clock) as second,
    ):
        rest(first, app, "event.bind", event="ONAPPTEST", handler=handler.url)
        for n in range(5):
            rest(first, app, "event.test", n=str(n))
        # Both senders race over the same rows, each from its own client's event loop.
        threads = [
            threading.Thread(target=c.portal.call, args=(c.app.state.b24.sender.drain,))  # type: ignore[union-attr,attr-defined]
            for c in (first, second)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        got = [handler.next().form["data"]["QUERY"]["n"] for _ in range(5)]
        assert got == ["0", "1", "2", "3", "4"]
        assert admin(first, "POST", "/deliveries/send")["deliveries"] == []
        assert handler.nothing_more()
