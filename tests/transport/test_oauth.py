"""OAuth 2.0 through HTTP: applications, the authorization-code flow, the token endpoint, tokens on REST calls."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import orjson
import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from b24vote.cli import app as cli
from b24vote.clock import FrozenClock
from b24vote.storage import oauth, passwords
from b24vote.storage.engine import Database
from b24vote.storage.tables import oauth_tokens, users
from tests.conftest import Portal
from tests.helpers.server import base_env, free_port, running_server
from tests.helpers.server import cli as cli_run
from tests.helpers.wire import TOKEN_FIELDS, assert_b24_error, assert_envelope

CALLBACK = "https://app.example/b24/callback?tenant=7"
PASSWORD = "correct horse battery"


@dataclass
class App:
    client_id: str
    secret: str


def make_app(
    db: Database, clock: FrozenClock, scopes: tuple[str, ...] = ("im", "user", "vote"), uri: str = CALLBACK
) -> App:
    with db.write() as conn:
        app, secret = oauth.add_app(conn, clock.now(), name="Poll helper", scopes=scopes, redirect_uri=uri)
    return App(app.client_id, secret)


@pytest.fixture
def app(db: Database, clock: FrozenClock, portal: Portal) -> App:
    with db.write() as conn:
        passwords.set_password(conn, clock.now(), portal.admin, PASSWORD)
    return make_app(db, clock)


def oauth_error(resp: httpx.Response, code: str, status: int) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert list(body) == ["error", "error_description"] and body["error"] == code, body


def exchange(client: TestClient, app: App, code: str) -> httpx.Response:
    """The authorization-code grant at the token endpoint."""
    return client.get(
        "/oauth/token/",
        params={
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "client_secret": app.secret,
            "code": code,
        },
    )


def issue(client: TestClient, app: App, code: str) -> dict[str, object]:
    resp = exchange(client, app, code)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def refresh(client: TestClient, app: App, token: object, how: str = "get") -> httpx.Response:
    params = {
        "grant_type": "refresh_token",
        "client_id": app.client_id,
        "client_secret": app.secret,
        "refresh_token": str(token),
    }
    if how == "form":
        return client.post("/oauth/token/", data=params)
    if how == "json":
        return client.post("/oauth/token/", json=params)
    return client.get("/oauth/token/", params=params)


def sign_in_and_allow(client: TestClient, app: App, state: str = "xyz") -> str:
    """The browser part: log-in form, consent page, redirect; returns the redirect's Location."""
    page = client.get("/oauth/authorize/", params={"client_id": app.client_id, "state": state})
    assert page.status_code == 200 and 'name="password"' in page.text
    consent = client.post(
        "/oauth/authorize/",
        data={"action": "login", "client_id": app.client_id, "state": state, "login": "1", "password": PASSWORD},
    )
    assert consent.status_code == 200 and "Allow access?" in consent.text, consent.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', consent.text)
    assert csrf
    done = client.post(
        "/oauth/authorize/",
        data={"action": "allow", "client_id": app.client_id, "state": state, "csrf": csrf[1]},
        follow_redirects=False,
    )
    assert done.status_code == 302, done.text
    return done.headers["location"]


def code_from(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


def test_authorization_code_flow(app_client: TestClient, app: App, portal: Portal) -> None:
    location = sign_in_and_allow(app_client, app)
    assert location.startswith("https://app.example/b24/callback?tenant=7&code=")
    query = parse_qs(urlsplit(location).query)
    assert list(query) == ["tenant", "code", "state", "domain", "member_id", "scope", "server_domain"]
    assert query["state"] == ["xyz"] and query["domain"] == ["127.0.0.1:8000"] and query["scope"] == ["im,user,vote"]
    assert re.fullmatch(r"[a-z0-9]{32}", query["code"][0]) and re.fullmatch(r"[0-9a-f]{32}", query["member_id"][0])

    tokens = issue(app_client, app, query["code"][0])
    assert list(tokens) == TOKEN_FIELDS
    assert tokens["expires_in"] == 3600 and tokens["expires"] == 1795597200 + 3600
    assert tokens["client_endpoint"] == tokens["server_endpoint"] == "http://127.0.0.1:8000/rest/"
    assert tokens["scope"] == "im,user,vote" and tokens["user_id"] == portal.admin and tokens["status"] == "L"
    assert tokens["member_id"] == query["member_id"][0] and tokens["domain"] == "127.0.0.1:8000"

    me = assert_envelope(app_client.get("/rest/user.current.json", params={"auth": tokens["access_token"]}))
    assert me["ID"] == str(portal.admin)
    # The code is single-use.
    oauth_error(
        exchange(app_client, app, query["code"][0]),
        "invalid_grant",
        400,
    )
    # Once allowed, a signed-in user goes straight back to the application.
    again = app_client.get("/oauth/authorize/", params={"client_id": app.client_id}, follow_redirects=False)
    assert again.status_code == 302 and "state=" not in again.headers["location"]


def test_auth_is_read_from_query_json_form_and_double_slash_paths(
    app_client: TestClient, app: App, portal: Portal
) -> None:
    token = str(issue(app_client, app, code_from(sign_in_and_allow(app_client, app)))["access_token"])
    assert assert_envelope(app_client.post(f"/rest/user.current.json?auth={token}"))["ID"] == "1"
    assert assert_envelope(app_client.post("/rest/user.current", json={"auth": token}))["ID"] == "1"
    assert assert_envelope(app_client.post("/rest/user.current.json", data={"auth": token}))["ID"] == "1"
    assert assert_envelope(app_client.post("/rest//user.current", json={"auth": token}))["ID"] == "1"


def test_refresh_rotates_the_pair(app_client: TestClient, app: App) -> None:
    first = issue(app_client, app, code_from(sign_in_and_allow(app_client, app)))
    resp = refresh(app_client, app, first["refresh_token"], "form")
    assert resp.status_code == 200
    second = resp.json()
    assert list(second) == TOKEN_FIELDS
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    oauth_error(refresh(app_client, app, first["refresh_token"]), "invalid_grant", 400)
    third = refresh(app_client, app, second["refresh_token"], "json").json()
    for pair in (second, third):
        assert assert_envelope(app_client.post("/rest/server.time", json={"auth": pair["access_token"]}))


def test_expired_access_token_then_refresh(app_client: TestClient, app: App, clock: FrozenClock) -> None:
    tokens = issue(app_client, app, code_from(sign_in_and_allow(app_client, app)))
    clock.advance(3599)
    assert_envelope(app_client.post("/rest/server.time", json={"auth": tokens["access_token"]}))
    clock.advance(1)
    resp = app_client.post("/rest/server.time", json={"auth": tokens["access_token"]})
    assert_b24_error(resp, "expired_token", 401, "The access token provided has expired")
    renewed = refresh(app_client, app, tokens["refresh_token"]).json()
    assert renewed["expires"] == 1795597200 + 3600 + 3600
    assert_envelope(app_client.post("/rest/server.time", json={"auth": renewed["access_token"]}))
    clock.advance(180 * 86400)
    oauth_error(refresh(app_client, app, renewed["refresh_token"]), "invalid_grant", 400)


def test_authorization_code_lives_thirty_seconds(app_client: TestClient, app: App, clock: FrozenClock) -> None:
    code = code_from(sign_in_and_allow(app_client, app))
    clock.advance(30)
    oauth_error(
        exchange(app_client, app, code),
        "invalid_grant",
        400,
    )


def test_token_endpoint_errors(app_client: TestClient, app: App, db: Database, clock: FrozenClock) -> None:
    other = make_app(db, clock)
    code = code_from(sign_in_and_allow(app_client, app))
    base = {"client_id": app.client_id, "client_secret": app.secret}
    oauth_error(app_client.get("/oauth/token/", params=base), "invalid_request", 400)
    oauth_error(app_client.get("/oauth/token/", params={**base, "grant_type": "password"}), "invalid_request", 400)
    oauth_error(app_client.get("/oauth/token/", params={"grant_type": "refresh_token"}), "invalid_request", 400)
    wrong_secret = {"grant_type": "authorization_code", "client_id": app.client_id, "client_secret": "x", "code": code}
    oauth_error(app_client.get("/oauth/token/", params=wrong_secret), "invalid_client", 401)
    unknown = {**wrong_secret, "client_id": "local.0.0", "client_secret": app.secret}
    oauth_error(app_client.post("/oauth/token/", data=unknown), "invalid_client", 401)
    # A code is bound to the application it was issued to.
    foreign = {"grant_type": "authorization_code", "client_id": other.client_id, "client_secret": other.secret}
    oauth_error(app_client.post("/oauth/token/", data={**foreign, "code": code}), "invalid_grant", 400)
    oauth_error(
        app_client.post("/oauth/token/", data={**base, "grant_type": "authorization_code", "code": "nope"}),
        "invalid_grant",
        400,
    )
    oauth_error(
        app_client.post("/oauth/token/", data={**base, "grant_type": "authorization_code"}), "invalid_request", 400
    )
    tokens = issue(app_client, app, code)
    oauth_error(refresh(app_client, App(other.client_id, other.secret), tokens["refresh_token"]), "invalid_grant", 400)
    oauth_error(refresh(app_client, app, "not-a-token"), "invalid_grant", 400)
    resp = app_client.post("/oauth/token/", content=b"{broken", headers={"content-type": "application/json"})
    oauth_error(resp, "invalid_request", 400)
    # b24phpsdk's doubled slash reaches the same endpoint.
    ok = app_client.get(
        "http://testserver//oauth/token/",
        params={**base, "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"


def test_rest_auth_errors(app_client: TestClient, app: App, db: Database, clock: FrozenClock, portal: Portal) -> None:
    assert_b24_error(app_client.post("/rest/server.time"), "NO_AUTH_FOUND", 401)
    resp = app_client.post("/rest/server.time", json={"auth": "0" * 70})
    assert_b24_error(resp, "invalid_token", 401, "Unable to get application by token")
    assert_b24_error(app_client.post("/rest/server.time", json={"auth": "x" * 5000}), "invalid_token", 401)
    tokens = issue(app_client, app, code_from(sign_in_and_allow(app_client, app)))
    with db.write() as conn:
        conn.execute(update(users).where(users.c.id == portal.admin).values(active=False))
    resp = app_client.post("/rest/server.time", json={"auth": tokens["access_token"]})
    assert_b24_error(resp, "authorization_error", 401)


def test_scopes_follow_the_application(
    app_client: TestClient, app: App, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    narrow = make_app(db, clock, scopes=("user",))
    tokens = issue(app_client, narrow, code_from(sign_in_and_allow(app_client, narrow)))
    auth = {"auth": tokens["access_token"]}
    assert tokens["scope"] == "user"
    assert assert_envelope(app_client.post("/rest/scope", json=auth)) == ["user"]
    listed = assert_envelope(app_client.post("/rest/methods", json=auth))
    assert "user.current" in listed and "batch" in listed and "im.chat.add" not in listed
    assert assert_envelope(app_client.post("/rest/method.get", json={**auth, "name": "im.chat.add"})) == {
        "isExisting": True,
        "isAvailable": False,
    }
    resp = app_client.post("/rest/im.chat.add", json={**auth, "USERS": [portal.bob]})
    assert_b24_error(
        resp, "insufficient_scope", 403, "The request requires higher privileges than provided by the access token"
    )


def test_tokens_are_stored_hashed(app_client: TestClient, app: App, db: Database) -> None:
    tokens = issue(app_client, app, code_from(sign_in_and_allow(app_client, app)))
    with db.read() as conn:
        row = conn.execute(select(oauth_tokens)).one()
    assert row.access_hash == hashlib.sha256(str(tokens["access_token"]).encode()).hexdigest()
    assert row.refresh_hash == hashlib.sha256(str(tokens["refresh_token"]).encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{70}", str(tokens["access_token"]))


def test_authorize_page_errors(app_client: TestClient, app: App, db: Database, clock: FrozenClock) -> None:
    unknown = app_client.get("/oauth/authorize/", params={"client_id": "local.nope.1"})
    assert unknown.status_code == 400 and "Unknown application" in unknown.text
    wrong_uri = app_client.get(
        "/oauth/authorize/", params={"client_id": app.client_id, "redirect_uri": "https://evil.example/"}
    )
    assert wrong_uri.status_code == 400 and "redirect" in wrong_uri.text
    bad_login = {"action": "login", "client_id": app.client_id, "state": "<s>", "login": "1", "password": "wrong"}
    failed = app_client.post("/oauth/authorize/", data=bad_login)
    assert failed.status_code == 401 and "Wrong login or password." in failed.text and "&lt;s&gt;" in failed.text
    by_mail = app_client.post(
        "/oauth/authorize/", data={**bad_login, "login": "anna@example.test", "password": PASSWORD}
    )
    assert by_mail.status_code == 200 and "Allow access?" in by_mail.text
    forged = app_client.post("/oauth/authorize/", data={"action": "allow", "client_id": app.client_id, "csrf": "0"})
    assert forged.status_code == 400
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', by_mail.text)
    assert csrf
    denied = app_client.post("/oauth/authorize/", data={"action": "deny", "client_id": app.client_id, "csrf": csrf[1]})
    assert denied.status_code == 403
    # Without a redirect address the code is shown on the page.
    manual = make_app(db, clock, uri="")
    page = app_client.post(
        "/oauth/authorize/", data={"action": "allow", "client_id": manual.client_id, "csrf": csrf[1]}
    )
    code = re.search(r'<code id="code">([a-z0-9]{32})</code>', page.text)
    assert page.status_code == 200 and code
    assert issue(app_client, manual, code[1])["user_id"] == 1


def test_cli_app_add_token_issue_and_password(db: Database, app_client: TestClient, portal: Portal) -> None:
    runner = CliRunner()
    url = db.url.render_as_string(hide_password=False)

    def run(*args: str) -> str:
        result = runner.invoke(cli, [*args, "--database-url", url])
        assert result.exit_code == 0, result.output
        return result.stdout

    created = orjson.loads(run("app", "add", "--name", "CI", "--scope", "user", "--redirect-uri", CALLBACK, "--json"))
    assert re.fullmatch(r"local\.[0-9a-f]{14}\.\d{8}", created["client_id"]) and len(created["client_secret"]) == 50
    assert created["scopes"] == ["user"] and created["redirect_uri"] == CALLBACK
    plain = run("app", "add", "--name", "Other")
    assert plain.startswith("client_id: local.") and "\nclient_secret: " in plain
    tokens = orjson.loads(run("token", "issue", "--app", created["client_id"], "--user", str(portal.bob)))
    assert list(tokens) == TOKEN_FIELDS and tokens["expires_in"] == 3600 and tokens["user_id"] == portal.bob
    me = assert_envelope(app_client.post("/rest/user.current", json={"auth": tokens["access_token"]}))
    assert me["ID"] == str(portal.bob)
    again = orjson.loads(run("token", "issue", "--app", created["client_id"], "--user", str(portal.bob), "--json"))
    assert list(again) == TOKEN_FIELDS and again["access_token"] != tokens["access_token"]
    assert orjson.loads(run("user", "password", str(portal.cleo), "--password", "long enough", "--json")) == {
        "user_id": portal.cleo,
        "password_set": True,
    }
    failures = [
        ["token", "issue", "--app", "local.none.0", "--user", "1"],
        ["token", "issue", "--app", created["client_id"], "--user", "999"],
        ["app", "add", "--name", "x", "--scope", "crm"],
        ["app", "add", "--name", "x", "--redirect-uri", "javascript:alert(1)"],
        ["user", "password", "999", "--password", "long enough"],
        ["user", "password", "1", "--password", "short"],
    ]
    for args in failures:
        result = runner.invoke(cli, [*args, "--database-url", url])
        assert result.exit_code == 1, (args, result.output)


@pytest.mark.slow
def test_full_flow_against_a_real_server(tmp_path: Path) -> None:
    """A real HTTP client following every redirect, from the log-in form to the application's callback."""
    received: list[str] = []

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"app got it")

        def log_message(self, format: str, *args: object) -> None:
            pass

    callback = HTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=callback.serve_forever, daemon=True).start()
    port = free_port()
    env = base_env(
        B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db", B24VOTE_PUBLIC_URL=f"http://127.0.0.1:{port}"
    )
    try:
        cli_run("init", "--demo", env=env)
        cli_run("user", "password", "1", "--password", PASSWORD, env=env)
        redirect = f"http://127.0.0.1:{callback.server_port}/done"
        created = orjson.loads(
            cli_run("app", "add", "--name", "Real", "--redirect-uri", redirect, "--json", env=env).stdout
        )
        with running_server(env, port=port) as (base, _proc), httpx.Client(follow_redirects=True) as client:
            assert base == f"http://127.0.0.1:{port}"
            login = client.get(f"{base}/oauth/authorize/", params={"client_id": created["client_id"], "state": "s1"})
            assert login.status_code == 200
            form = {
                "action": "login",
                "client_id": created["client_id"],
                "state": "s1",
                "login": "1",
                "password": PASSWORD,
            }
            consent = client.post(f"{base}/oauth/authorize/", data=form)
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', consent.text)
            assert consent.status_code == 200 and csrf
            allow = {"action": "allow", "client_id": created["client_id"], "state": "s1", "csrf": csrf[1]}
            landed = client.post(f"{base}/oauth/authorize/", data=allow)
            assert landed.status_code == 200 and landed.text == "app got it"
            assert [r.status_code for r in landed.history] == [302]
            query = parse_qs(urlsplit(received[0]).query)
            assert query["state"] == ["s1"] and query["server_domain"] == [f"127.0.0.1:{port}"]

            # b24jssdk: the token URL is server_endpoint without "/rest/" plus "/oauth/token/", form-encoded POST.
            grant = {"client_id": created["client_id"], "client_secret": created["client_secret"]}
            first = client.post(
                f"{base}/oauth/token/", data={**grant, "grant_type": "authorization_code", "code": query["code"][0]}
            ).json()
            token_url = first["server_endpoint"].removesuffix("/rest/") + "/oauth/token/"
            me = client.post(first["client_endpoint"] + "user.current", json={"auth": first["access_token"]})
            assert assert_envelope(me)["ID"] == "1"
            second = client.post(
                token_url, data={**grant, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
            ).json()
            assert list(second) == TOKEN_FIELDS
            me = client.get(second["client_endpoint"] + "user.current.json", params={"auth": second["access_token"]})
            assert assert_envelope(me)["ID"] == "1"
    finally:
        callback.shutdown()
        callback.server_close()
