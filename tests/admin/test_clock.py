"""The controllable clock: everything time-based follows /_b24vote/clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from b24vote.clock import ControllableClock, FrozenClock, SystemClock
from b24vote.config import RateLimit, Settings
from b24vote.storage import oauth
from b24vote.storage.engine import Database
from tests.conftest import START, Portal
from tests.helpers.admin import admin, admin_client, admin_error
from tests.helpers.votes import call, send_poll
from tests.helpers.wire import assert_b24_error, assert_envelope


@pytest.fixture
def client(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[TestClient]:
    with admin_client(settings, db, clock) as client:
        yield client


def _time_block(client: TestClient, portal: Portal) -> dict[str, object]:
    resp = client.get(portal.url("server.time"))
    assert_envelope(resp)
    time: dict[str, object] = resp.json()["time"]
    return time


def test_freeze_set_advance(client: TestClient, clock: FrozenClock, portal: Portal) -> None:
    assert admin(client, "GET", "/clock") == {"now": START.isoformat(), "frozen": False}
    later = admin(client, "POST", "/clock", {"set": "2031-05-01T12:00:00+03:00"})
    assert later == {"now": "2031-05-01T09:00:00+00:00", "frozen": False}
    clock.advance(5)  # unfrozen, the controllable clock runs with the clock underneath
    assert admin(client, "GET", "/clock")["now"] == "2031-05-01T09:00:05+00:00"
    assert admin(client, "POST", "/clock", {"freeze": True, "advance": 60}) == {
        "now": "2031-05-01T09:01:05+00:00",
        "frozen": True,
    }
    clock.advance(5)  # frozen: nothing moves it but the admin API
    assert _time_block(client, portal)["date_start"] == "2031-05-01T12:01:05+03:00"
    assert admin(client, "POST", "/clock", {"freeze": False})["frozen"] is False
    clock.advance(1)
    assert admin(client, "GET", "/clock")["now"] == "2031-05-01T09:01:06+00:00"
    assert admin(client, "POST", "/clock", {"reset": True})["now"] == clock.now().isoformat()


def test_time_block_follows(client: TestClient, portal: Portal) -> None:
    admin(client, "POST", "/clock", {"set": "2030-01-01T00:00:00Z", "freeze": True})
    time = _time_block(client, portal)
    assert time["date_start"] == "2030-01-01T03:00:00+03:00"
    assert time["start"] == datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    result = assert_envelope(client.get(portal.url("server.time")))
    assert result.startswith("2030-01-01T03:00:00")


def test_advancing_expires_an_oauth_token(client: TestClient, db: Database, clock: FrozenClock, portal: Portal) -> None:
    with db.write() as conn:
        app, _ = oauth.add_app(conn, clock.now(), name="CI", scopes=["user", "vote", "im"])
        tokens = oauth.issue_tokens(conn, clock.now(), app, portal.bob)
    me = assert_envelope(client.get("/rest/user.current", params={"auth": tokens.access_token}))
    assert me["ID"] == str(portal.bob)
    admin(client, "POST", "/clock", {"advance": 3601})
    assert_b24_error(client.get("/rest/user.current", params={"auth": tokens.access_token}), "expired_token", 401)


def test_ten_years_finish_a_chat_poll(client: TestClient, portal: Portal) -> None:
    poll = send_poll(client, portal)
    assert call(client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]["isFinished"] is False
    admin(client, "POST", "/clock", {"advance": 3653 * 24 * 3600})
    assert call(client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]["isFinished"] is True


def test_advancing_drains_the_leaky_bucket(
    settings: Settings, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    with admin_client(settings, db, clock, rate_limit=RateLimit(2, 1)) as client:
        assert [client.get(portal.url("user.current")).status_code for _ in range(3)] == [200, 200, 503]
        admin(client, "POST", "/clock", {"advance": 2})
        assert [client.get(portal.url("user.current")).status_code for _ in range(3)] == [200, 200, 503]


def test_bad_clock_input(client: TestClient) -> None:
    admin_error(client, "POST", "/clock", {"set": "2030-01-01T00:00:00"}, 400, "set: needs a time zone offset")
    admin_error(client, "POST", "/clock", {"set": "tomorrow"}, 400, "set: not an ISO 8601 time")
    admin_error(client, "POST", "/clock", {"set": 5}, 400, "set: must be an ISO 8601 time")
    admin_error(client, "POST", "/clock", {"advance": -1}, 400, "advance: must be a number of seconds")
    admin_error(client, "POST", "/clock", {"advance": "10"}, 400, "advance: must be a number")
    admin_error(client, "POST", "/clock", {"freeze": "yes"}, 400, "freeze: must be true or false")
    admin_error(client, "POST", "/clock", {"speed": 2}, 400, "speed: unknown field")
    assert admin(client, "GET", "/clock")["frozen"] is False  # nothing was half-applied


def test_controllable_clock() -> None:
    base = FrozenClock(START)
    clock = ControllableClock.wrap(base)
    assert ControllableClock.wrap(clock) is clock
    clock.freeze()
    base.advance(10)
    assert clock.now() == START and clock.frozen
    clock.advance(30)
    mono = clock.monotonic()
    clock.unfreeze()
    assert clock.now() == START + timedelta(seconds=30)  # the offset is kept when it runs again
    base.advance(1)
    assert clock.now() == START + timedelta(seconds=31)
    clock.set(START - timedelta(days=1))
    assert clock.now() == START - timedelta(days=1)
    assert clock.monotonic() >= mono  # going back in wall time never turns the monotonic counter back
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2030, 1, 1))  # noqa: DTZ001 - the naive time is the point
    with pytest.raises(ValueError, match="negative"):
        clock.advance(-1)
    clock.reset()
    assert clock.now() == base.now() and not clock.frozen


def test_system_clock_is_wrapped_by_default(settings: Settings, db: Database) -> None:
    from b24vote.app import create_app

    app = create_app(settings, db=db)
    assert isinstance(app.state.b24.clock, ControllableClock)
    assert isinstance(app.state.b24.clock.base, SystemClock)
