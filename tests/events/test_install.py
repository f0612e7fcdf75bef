"""ONAPPINSTALL on an application's first grant (consent flow) or first token (``b24vote token issue``), sent
to the install handler of its settings; ONAPPUNINSTALL on ``b24vote app remove``."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import func, select
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import passwords
from b24vote.storage.engine import Database
from b24vote.storage.tables import event_handlers
from tests.conftest import Portal
from tests.helpers.admin import admin, admin_client
from tests.helpers.events import App, LocalHandler, Received, local_handler, rest, run_cli
from tests.helpers.wire import assert_envelope
from tests.transport.test_oauth import PASSWORD, code_from, issue, sign_in_and_allow
from tests.transport.test_oauth import App as Client

INSTALLED = {"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "ru"}


def _sent_forms(client: TestClient, handler: LocalHandler) -> list[dict[str, Any]]:
    """Send everything due, wait for those sends, and return what the handler received since the last look."""
    received: list[Received] = []
    admin(client, "POST", "/deliveries/send")
    while not handler.nothing_more():
        received.append(handler.next())
    return [r.form for r in received]


def _issue_token(db: Database, client_id: str, user: int) -> dict[str, str]:
    code, out, err = run_cli(db, "token", "issue", "--app", client_id, "--user", str(user))
    assert code == 0, err
    return dict(orjson.loads(out))


def _acts_as(client: TestClient, token: str) -> str:
    return str(assert_envelope(client.post("/rest/user.current", json={"auth": token}))["ID"])


def test_the_first_grant_of_the_consent_flow_installs_the_app(
    settings: Settings, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    with db.write() as conn:
        passwords.set_password(conn, clock.now(), portal.admin, PASSWORD)
    with admin_client(settings, db, clock) as client, local_handler() as handler:
        args = ("app", "add", "--name", "Installer", "--redirect-uri", "https://app.example/cb")
        code, out, err = run_cli(db, *args, "--install-handler", handler.url, "--json")
        assert code == 0, err
        made = orjson.loads(out)
        assert made["install_handler"] == handler.url
        app = Client(made["client_id"], made["client_secret"])
        tokens = issue(client, app, code_from(sign_in_and_allow(client, app)))
        got = handler.next().form
        assert got["event"] == "ONAPPINSTALL" and got["data"] == INSTALLED
        auth = got["auth"]
        assert {"access_token", "refresh_token", "application_token", "member_id", "domain"} <= set(auth)
        assert _acts_as(client, auth["access_token"]) == str(portal.admin)
        caller = App(made["id"], str(tokens["access_token"]))
        assert rest(client, caller, "event.get") == []  # the install handler is the settings', not a binding
        # A second grant is not an installation: only the ONAPPTEST that follows reaches the handler.
        rest(client, caller, "event.bind", event="ONAPPTEST", handler=handler.url)
        again = client.get("/oauth/authorize/", params={"client_id": app.client_id}, follow_redirects=False)
        assert again.status_code == 302  # signed in, granted already: straight back with a code
        rest(client, caller, "event.test")
        assert [f["event"] for f in _sent_forms(client, handler)] == ["ONAPPTEST"]


def test_token_issue_installs_an_app_of_the_seed_and_app_remove_uninstalls_it(
    settings: Settings, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    with admin_client(settings, db, clock) as client, local_handler() as handler:
        seeded = admin(client, "POST", "/seed", {"apps": [{"name": "Seeded", "install_handler": handler.url}]})
        client_id = seeded["apps"][0]["client_id"]
        first = _issue_token(db, client_id, portal.bob)
        installed = _sent_forms(client, handler)
        assert [r["event"] for r in installed] == ["ONAPPINSTALL"]
        assert _acts_as(client, installed[0]["auth"]["access_token"]) == str(portal.bob)
        app_token = installed[0]["auth"]["application_token"]
        _issue_token(db, client_id, portal.admin)  # installed already: no second ONAPPINSTALL
        app = App(0, first["access_token"])
        rest(client, app, "event.bind", event="ONAPPUNINSTALL", handler=handler.url)
        assert _sent_forms(client, handler) == []

        code, out, err = run_cli(db, "app", "remove", client_id, "--clean", "--json")
        assert code == 0 and orjson.loads(out) == {"client_id": client_id, "removed": True, "events": 1}, err
        (gone,) = _sent_forms(client, handler)
        assert gone["event"] == "ONAPPUNINSTALL" and gone["data"] == {"LANGUAGE_ID": "ru", "CLEAN": "1"}
        assert gone["auth"]["application_token"] == app_token and "access_token" not in gone["auth"]
        refused = client.post("/rest/user.current", json={"auth": first["access_token"]})
        assert refused.status_code == 401
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(event_handlers)).scalar() == 0
        assert run_cli(db, "app", "remove", client_id)[2].endswith(f"no such application: {client_id}\n")
