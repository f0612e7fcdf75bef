"""``POST /_b24vote/tokens``: OAuth tokens without the browser flow, over HTTP, at the server's clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage.engine import Database
from b24vote.storage.tables import users
from tests.conftest import Portal
from tests.helpers.admin import BEARER, admin, admin_client, admin_error
from tests.helpers.events import local_handler
from tests.helpers.wire import TOKEN_FIELDS, assert_b24_error, assert_envelope


def _app(client: TestClient, **fields: str) -> str:
    seeded = admin(client, "POST", "/seed", {"apps": [{"name": "Kit", **fields}]})
    return str(seeded["apps"][0]["client_id"])


def test_a_token_acts_as_the_user_and_expires_by_the_servers_clock(
    settings: Settings, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    with admin_client(settings, db, clock) as client:
        client_id = _app(client, scopes="vote,user")
        admin(client, "POST", "/clock", {"set": "2031-05-01T12:00:00Z", "freeze": True})
        tokens = admin(client, "POST", "/tokens", {"client_id": client_id, "user": portal.bob})
        assert list(tokens) == TOKEN_FIELDS  # the token endpoint's reply, field for field
        assert (tokens["user_id"], tokens["scope"], tokens["expires_in"]) == (portal.bob, "user,vote", 3600)
        set_at = datetime(2031, 5, 1, 12, tzinfo=UTC).timestamp()
        assert tokens["expires"] == set_at + 3600  # an hour after the server's clock, not the real time
        assert tokens["client_endpoint"] == f"{settings.public_url}/rest/"
        me = assert_envelope(client.post("/rest/user.current", json={"auth": tokens["access_token"]}))
        assert me["ID"] == str(portal.bob)

        admin(client, "POST", "/clock", {"advance": 3601})
        expired = client.post("/rest/user.current", json={"auth": tokens["access_token"]})
        assert_b24_error(expired, "expired_token", 401)
        again = admin(client, "POST", "/tokens", {"client_id": client_id, "user": portal.bob})
        assert again["access_token"] != tokens["access_token"]
        assert assert_envelope(client.post("/rest/user.current", json={"auth": again["access_token"]}))["ID"]


def test_the_first_token_installs_the_app(settings: Settings, portal: Portal, db: Database, clock: FrozenClock) -> None:
    with admin_client(settings, db, clock) as client, local_handler() as handler:
        client_id = _app(client, install_handler=handler.url)
        admin(client, "POST", "/tokens", {"client_id": client_id, "user": portal.admin})
        admin(client, "POST", "/deliveries/send")
        installed = handler.next().form
        assert installed["event"] == "ONAPPINSTALL"
        assert installed["auth"]["domain"] == settings.public_url.removeprefix("http://")
        admin(client, "POST", "/tokens", {"client_id": client_id, "user": portal.bob})
        admin(client, "POST", "/deliveries/send")
        assert handler.nothing_more()  # installed already: no second ONAPPINSTALL


def test_bad_input_is_a_clear_error_never_a_500(
    settings: Settings, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    with admin_client(settings, db, clock) as client:
        client_id = _app(client)
        with db.write() as conn:
            conn.execute(update(users).where(users.c.id == portal.cleo).values(active=False))
        resp = client.post("/_b24vote/tokens", headers=BEARER, content=b"{not json")
        assert_b24_error(resp, "INVALID_REQUEST", 400)
        admin_error(client, "POST", "/tokens", [client_id, 1], 400, "JSON object")
        admin_error(client, "POST", "/tokens", {}, 400, "client_id: required")
        admin_error(client, "POST", "/tokens", {"client_id": "  ", "user": 1}, 400, "client_id: required")
        admin_error(client, "POST", "/tokens", {"client_id": 5, "user": 1}, 400, "client_id: required")
        for user in (None, "1", 0, -3, True, 1.5):
            admin_error(client, "POST", "/tokens", {"client_id": client_id, "user": user}, 400, "user: required")
        admin_error(client, "POST", "/tokens", {"client_id": client_id, "user": 1, "scope": "x"}, 400, "scope: unknown")
        found = admin_error(client, "POST", "/tokens", {"client_id": "local.nope.0", "user": 1}, 404, "client_id")
        assert found == "client_id: no such application: local.nope.0"
        admin_error(client, "POST", "/tokens", {"client_id": client_id, "user": 10**6}, 404, "no such active user")
        admin_error(client, "POST", "/tokens", {"client_id": client_id, "user": portal.cleo}, 404, "no such active")
        assert_b24_error(
            client.post("/_b24vote/tokens", json={"client_id": client_id, "user": 1}), "ADMIN_AUTH_REQUIRED", 401
        )
