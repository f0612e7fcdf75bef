"""Secrets stay secret: stored only as hashes, compared in constant time, never logged; and signedAttachId is
keyed by a secret made once per installation."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import inspect
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.domain.signing import sign_attach
from b24vote.state import load_secret_key
from b24vote.storage import oauth, passwords
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from tests.conftest import Portal
from tests.helpers.server import cli, demo_portal, running_server, server_log
from tests.helpers.votes import call, send_poll
from tests.helpers.wire import assert_b24_error, assert_envelope

PASSWORD = "correct horse battery"
ADMIN_TOKEN = "admin-token-0123456789"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def code_of(hook: str) -> str:
    return hook.rsplit("/", 1)[-1]


def dump_database(db: Database) -> str:
    """Every value of every row of every table (found by inspection, so tables added later are read too)."""
    values: list[str] = []
    with db.read() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from the database
                values.extend(bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v) for v in row)
    return "\n".join(values)


def token_call(client: TestClient, **params: str) -> dict[str, Any]:
    resp = client.post("/oauth/token/", data=params)
    assert resp.status_code == 200, resp.text
    reply: dict[str, Any] = resp.json()
    return reply


def test_secrets_are_stored_only_as_hashes(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    with db.write() as conn:
        app, client_secret = oauth.add_app(conn, clock.now(), name="Stored", scopes=["user", "vote"])
        code = oauth.add_code(conn, clock.now(), app.id, portal.admin)
        passwords.set_password(conn, clock.now(), portal.admin, PASSWORD)
    grant = {"client_id": app.client_id, "client_secret": client_secret}
    first = token_call(app_client, grant_type="authorization_code", code=code, **grant)
    second = token_call(app_client, grant_type="refresh_token", refresh_token=first["refresh_token"], **grant)
    assert_envelope(app_client.post("/rest/user.current", json={"auth": second["access_token"]}))
    hashed = {
        "webhook code": code_of(portal.hook),
        "client secret": client_secret,
        "authorization code": code,
        "access token": first["access_token"],
        "refresh token": first["refresh_token"],
        "new access token": second["access_token"],
        "new refresh token": second["refresh_token"],
    }
    stored = dump_database(db)
    for what, secret in {**hashed, "password": PASSWORD}.items():
        assert secret not in stored, f"the {what} is stored in the clear"
    for what in ("webhook code", "client secret", "new access token", "new refresh token"):
        assert sha256(hashed[what]) in stored, f"the {what} is not stored as its SHA-256"
    assert sha256(PASSWORD) not in stored  # passwords get a salted, slow hash (scrypt)


# --- constant-time comparison ------------------------------------------------------------------------------------


class CompareSpy:
    """Stands in for hmac.compare_digest and remembers both sides of every comparison."""

    def __init__(self) -> None:
        self.real = hmac.compare_digest
        self.seen: list[tuple[str, str]] = []

    def __call__(self, a: Any, b: Any) -> bool:
        def text(v: Any) -> str:
            return v.decode("latin-1") if isinstance(v, bytes) else str(v)

        self.seen.append((text(a), text(b)))
        return self.real(a, b)

    def compared(self, value: str) -> bool:
        return any(value in pair for pair in self.seen)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> CompareSpy:
    found = CompareSpy()
    monkeypatch.setattr(hmac, "compare_digest", found)
    return found


def test_every_secret_is_checked_with_compare_digest(
    settings: Settings, db: Database, clock: FrozenClock, portal: Portal, spy: CompareSpy
) -> None:
    """Through the public surface, so that a rewritten lookup is held to the same rule."""
    with db.write() as conn:
        app, client_secret = oauth.add_app(conn, clock.now(), name="Spied", scopes=["user", "vote"])
        code = oauth.add_code(conn, clock.now(), app.id, portal.admin)
    with TestClient(create_app(settings.with_changes(admin_token=ADMIN_TOKEN), clock=clock, db=db)) as client:
        poll = send_poll(client, portal)
        signed = call(client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]["signedAttachId"]
        checks: dict[str, str] = {"webhook code": sha256(code_of(portal.hook))}
        assert_b24_error(client.post(f"/rest/{portal.admin}/{'0' * 16}/user.current"), "NO_AUTH_FOUND", 401)
        checks["a wrong webhook code"] = sha256("0" * 16)
        grant = {"client_id": app.client_id, "client_secret": client_secret}
        first = token_call(client, grant_type="authorization_code", code=code, **grant)
        checks |= {"client secret": sha256(client_secret), "authorization code": sha256(code)}
        token_call(client, grant_type="refresh_token", refresh_token=first["refresh_token"], **grant)
        checks["refresh token"] = sha256(first["refresh_token"])
        assert_envelope(client.get("/rest/user.current", params={"auth": first["access_token"]}))
        checks["access token"] = sha256(first["access_token"])
        assert_envelope(
            client.post(portal.url("vote.AttachedVote.get", portal.outsider_hook), json={"signedAttachId": signed})
        )
        checks["signedAttachId"] = signed.split(".")[1]
        assert client.get("/_b24vote/clock", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
        checks["admin token"] = ADMIN_TOKEN
    missing = [what for what, value in checks.items() if not spy.compared(value)]
    assert not missing, f"compared without hmac.compare_digest: {missing}"


# --- the signing key ---------------------------------------------------------------------------------------------


def _installation(folder: Path, name: str) -> tuple[Settings, Database]:
    db = Database(f"sqlite:///{folder}/{name}.db", sqlite_synchronous="NORMAL")
    migrate(db)
    return Settings.from_env({}, database_url=str(db.url), rate_limit=None), db


def test_each_installation_makes_its_own_key_once(tmp_path: Path) -> None:
    (config_a, db_a), (config_b, db_b) = _installation(tmp_path, "a"), _installation(tmp_path, "b")
    try:
        key_a, key_b = load_secret_key(config_a, db_a), load_secret_key(config_b, db_b)
        assert re.fullmatch(r"[0-9a-f]{128}", key_a) and re.fullmatch(r"[0-9a-f]{128}", key_b)
        assert key_a != key_b
        assert load_secret_key(config_a, db_a) == key_a  # a restart reads the same key back
        assert sign_attach(1, key_a) != sign_attach(1, key_b)
        assert load_secret_key(config_a.with_changes(secret_key="set-by-operator"), db_a) == "set-by-operator"
    finally:
        db_a.dispose()
        db_b.dispose()


def _signed_id(config: Settings, db: Database, clock: FrozenClock, portal: Portal) -> str:
    with TestClient(create_app(config, clock=clock, db=db)) as client:
        poll = send_poll(client, portal)
        attach = call(client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]
        return str(attach["signedAttachId"])


def test_signed_ids_survive_a_restart_and_not_another_installation(
    db: Database, clock: FrozenClock, portal: Portal, tmp_path: Path
) -> None:
    config = Settings.from_env({}, database_url=str(db.url), rate_limit=None)  # no B24VOTE_SECRET_KEY
    signed = _signed_id(config, db, clock, portal)
    with TestClient(create_app(config, clock=clock, db=db)) as restarted:
        resp = restarted.post(
            portal.url("vote.AttachedVote.get", portal.outsider_hook), json={"signedAttachId": signed}
        )
        assert assert_envelope(resp)["attach"]["signedAttachId"] == signed
    other_config, other_db = _installation(tmp_path, "other")
    try:
        other_signed = sign_attach(int(signed.split(".")[0]), load_secret_key(other_config, other_db))
    finally:
        other_db.dispose()
    assert other_signed != signed
    with TestClient(create_app(config, clock=clock, db=db)) as client:
        resp = client.post(portal.url("vote.AttachedVote.get"), json={"signedAttachId": other_signed})
        assert_b24_error(resp, "ATTACH_NOT_FOUND", 400)


# --- logs of a real server ---------------------------------------------------------------------------------------


class Secrets:
    """Everything secret the log test handles, by name."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def add(self, name: str, value: str) -> str:
        assert value, name
        self.values[name] = value
        return value


def _authorization_code(client: httpx.Client, base: str, client_id: str) -> str:
    """The consent flow of an application without a redirect address: the code is shown on the page."""
    ask = {"client_id": client_id, "state": "s"}
    assert client.get(f"{base}/oauth/authorize/", params=ask).status_code == 200
    login = {"action": "login", **ask, "login": "1", "password": PASSWORD}
    consent = client.post(f"{base}/oauth/authorize/", data=login)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', consent.text)
    assert csrf, consent.text
    shown = client.post(f"{base}/oauth/authorize/", data={"action": "allow", **ask, "csrf": csrf[1]})
    found = re.search(r"<code id=\"code\">([^<]+)</code>", shown.text)
    assert found, shown.text
    return found[1]


def _read_stream_start(client: httpx.Client, url: str) -> None:
    with client.stream("GET", url, timeout=10) as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_bytes():
            if b"event: results" in chunk:
                break


@pytest.fixture(scope="module")
def logged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("logs")
    prepared = demo_portal(folder, B24VOTE_LOG_LEVEL="debug", B24VOTE_ADMIN_TOKEN=ADMIN_TOKEN, B24VOTE_RATE_LIMIT="off")
    port, base, env, demo = prepared.port, prepared.base, prepared.env, prepared.demo
    cli("user", "password", "1", "--password", PASSWORD, env=env)
    created = json.loads(cli("app", "add", "--name", "Logged", "--json", env=env).stdout)
    issued = json.loads(cli("token", "issue", "--app", created["client_id"], "--user", "1", env=env).stdout)
    with running_server(env, port=port) as (_, proc):
        yield base, proc, {"hook": demo["webhook_url"], **created, **issued}


@pytest.mark.slow
def test_no_secret_reaches_the_log(logged_server: tuple[str, Any, dict[str, str]]) -> None:
    base, proc, given = logged_server
    s = Secrets()
    hook = given["hook"]
    s.add("webhook code", hook.rstrip("/").rsplit("/", 1)[-1])
    client_id, secret = given["client_id"], s.add("client secret", given["client_secret"])
    s.add("issued access token", given["access_token"])
    s.add("issued refresh token", given["refresh_token"])
    s.add("password", PASSWORD)
    s.add("admin token", ADMIN_TOKEN)
    with httpx.Client(timeout=10, follow_redirects=True) as client:
        # Webhook calls, also with the code after a mistyped user id.
        assert_envelope(client.get(f"{hook}user.current.json"))
        client.get(hook.replace("/rest/1/", "/rest/1x/") + "user.current")
        data = {"QUESTIONS": [{"QUESTION": "Q", "ANSWERS": [{"MESSAGE": "a"}, {"MESSAGE": "b"}]}]}
        sent = assert_envelope(
            client.post(f"{hook}vote.Integration.Im.send", json={"chatId": 1, "IM_MESSAGE_VOTE_DATA": data})
        )
        get = {
            "moduleId": "im",
            "entityType": "Bitrix\\Vote\\Attachment\\ImMessageConnector",
            "entityId": sent["messageId"],
        }
        attach = assert_envelope(client.post(f"{hook}vote.AttachedVote.get", json=get))["attach"]
        signed = attach["signedAttachId"]
        s.add("signedAttachId", signed.split(".")[1])
        s.add("result page code", attach["resultUrl"].rsplit("/", 1)[-1])
        # OAuth: the token endpoint in its three encodings, the code grant and the refresh grant.
        grant = {"client_id": client_id, "client_secret": secret}
        code = s.add("authorization code", _authorization_code(client, base, client_id))
        first = client.get(
            f"{base}/oauth/token/", params={**grant, "grant_type": "authorization_code", "code": code}
        ).json()
        refresh = {**grant, "grant_type": "refresh_token"}
        second = client.post(f"{base}/oauth/token/", data={**refresh, "refresh_token": first["refresh_token"]}).json()
        third = client.post(f"{base}/oauth/token/", json={**refresh, "refresh_token": second["refresh_token"]}).json()
        for n, pair in enumerate((first, second, third)):
            s.add(f"access token {n}", pair["access_token"])
            s.add(f"refresh token {n}", pair["refresh_token"])
        access = third["access_token"]
        # REST calls with a token in the query, a JSON body and a form body.
        assert_envelope(client.get(f"{base}/rest/user.current.json", params={"auth": access}))
        assert_envelope(client.post(f"{base}/rest/user.current", json={"auth": access}))
        assert_envelope(client.post(f"{base}/rest/user.current", data={"auth": access}))
        client.get(f"{base}/rest/user.current", params={"auth": "not-a-token-" + access[:8]})
        # batch, in a body and in a query string, with secrets inside the commands.
        commands = {"g": f"vote.AttachedVote.get?signedAttachId={signed}", "me": f"user.current?auth={access}"}
        assert_envelope(client.post(f"{hook}batch", json={"cmd": commands}))
        assert_envelope(
            client.get(f"{base}/rest/batch", params={"auth": access, **{f"cmd[{k}]": v for k, v in commands.items()}})
        )
        # The results page, its stream, the report link and the admin API.
        assert client.get(base + attach["resultUrl"]).status_code == 200
        _read_stream_start(client, base + attach["resultUrl"] + "/events")
        assert client.get(base + attach["downloadUrl"]).status_code == 200
        admin = client.get(f"{base}/_b24vote/clock", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert admin.status_code == 200
    log = server_log(proc)
    assert "user.current" in log and "/oauth/token/" in log and "/vote-result/***" in log
    leaked = [name for name, value in s.values.items() if value in log]
    assert not leaked, f"in the server log: {leaked}"
