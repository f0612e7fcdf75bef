"""The admin API exists only with B24VOTE_ADMIN_TOKEN and answers only the right bearer token."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from b24vote.admin.routes import ADMIN_ROUTES
from b24vote.clock import FrozenClock
from b24vote.config import Settings, SettingsError
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.admin import BEARER, TOKEN, admin, admin_client, admin_error
from tests.helpers.wire import assert_b24_error, assert_envelope

PATHS = sorted({(r.method, r.path.replace("{name}", "base").replace("{rule_id}", "1")) for r in ADMIN_ROUTES})


@pytest.mark.parametrize(("method", "path"), [*PATHS, ("GET", "/nothing-here")])
def test_absent_without_a_token(app_client: TestClient, method: str, path: str) -> None:
    resp = app_client.request(method, f"/_b24vote{path}", headers=BEARER)
    assert_b24_error(resp, "ERROR_NOT_FOUND", 404)


@pytest.mark.parametrize(("method", "path"), [*PATHS, ("GET", "/nothing-here")])
def test_every_route_needs_the_bearer_token(
    settings: Settings, db: Database, clock: FrozenClock, method: str, path: str
) -> None:
    with admin_client(settings, db, clock) as client:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
            {"Authorization": f"Bearer {TOKEN}x"},
        ):
            resp = client.request(method, f"/_b24vote{path}", headers=headers)
            assert_b24_error(resp, "ADMIN_AUTH_REQUIRED", 401)
            assert resp.headers["www-authenticate"].startswith("Bearer")


def test_with_the_token(settings: Settings, db: Database, clock: FrozenClock) -> None:
    with admin_client(settings, db, clock) as client:
        assert admin(client, "GET", "/clock") == {"now": clock.now().isoformat(), "frozen": False}
        assert client.get("/_b24vote/clock", headers={"authorization": f"bearer {TOKEN}"}).status_code == 200
        assert_b24_error(client.get("/_b24vote/nothing-here", headers=BEARER), "ERROR_NOT_FOUND", 404)
        resp = client.put("/_b24vote/clock", headers=BEARER)
        assert resp.status_code == 405 and resp.json()["error"] == "ERROR_METHOD_NOT_ALLOWED"


def test_bad_input_is_a_json_error_never_a_500(settings: Settings, db: Database, clock: FrozenClock) -> None:
    with admin_client(settings, db, clock) as client:
        for method, path in (("POST", "/clock"), ("POST", "/faults"), ("POST", "/reset"), ("POST", "/seed")):
            resp = client.request(method, f"/_b24vote{path}", headers=BEARER, content=b"{not json")
            assert_b24_error(resp, "INVALID_REQUEST", 400)
        admin_error(client, "POST", "/clock", [1, 2], 400, "JSON object")
        admin_error(client, "POST", "/reset", {"seed": "full"}, 400, "seed: must be one of empty, demo")
        admin_error(client, "POST", "/reset", {"wipe": True}, 400, "wipe: unknown field")


def test_body_size_is_limited(settings: Settings, db: Database, clock: FrozenClock) -> None:
    with admin_client(settings, db, clock, max_body_bytes=100) as client:
        resp = client.post("/_b24vote/seed", headers=BEARER, content=b"users: []\n" + b"#" * 200)
        assert_b24_error(resp, "REQUEST_TOO_LARGE", 413)


def test_rest_calls_are_unchanged_with_the_admin_api_on(
    settings: Settings, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    with admin_client(settings, db, clock) as client:
        me = assert_envelope(client.get(portal.url("user.current")))
        assert me["ID"] == str(portal.admin)
        assert_b24_error(client.get("/rest/1/wrong-code/user.current"), "NO_AUTH_FOUND", 401)


def test_the_setting() -> None:
    assert Settings.from_env({}).admin_token is None
    assert Settings.from_env({"B24VOTE_ADMIN_TOKEN": "  "}).admin_token is None
    assert Settings.from_env({"B24VOTE_ADMIN_TOKEN": "long-enough"}).admin_token == "long-enough"
    with pytest.raises(SettingsError, match="B24VOTE_ADMIN_TOKEN"):
        Settings.from_env({"B24VOTE_ADMIN_TOKEN": "short"})
    assert Settings.from_env({}).journal_size == 10_000
    with pytest.raises(SettingsError, match="B24VOTE_JOURNAL_SIZE"):
        Settings.from_env({"B24VOTE_JOURNAL_SIZE": "0"})
