"""HTTPS: ``serve --ssl-certfile/--ssl-keyfile`` with a certificate made in the test, and B24VOTE_REQUIRE_HTTPS."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx2 as httpx
import pytest
import trustme
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.server import base_env, cli, running_server
from tests.helpers.wire import assert_b24_error, assert_envelope


@pytest.fixture
def strict(db: Database, clock: FrozenClock) -> Settings:
    return Settings.from_env({}, database_url=str(db.url), secret_key="k", rate_limit=None, require_https=True)


def test_plain_http_is_refused_when_https_is_required(
    strict: Settings, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    app = create_app(strict, clock=clock, db=db)
    with TestClient(app, raise_server_exceptions=False) as plain:
        assert_b24_error(plain.post(portal.url("server.time")), "INVALID_REQUEST", 400, "Https required")
        assert_b24_error(plain.post("/rest/server.time", json={"auth": "x"}), "INVALID_REQUEST", 400, "Https required")
        token = plain.get("/oauth/token/", params={"grant_type": "refresh_token"})
        assert token.status_code == 400 and token.json() == {
            "error": "invalid_request",
            "error_description": "Https required",
        }
        assert plain.get("/oauth/authorize/").status_code == 400
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as secure:
        assert_envelope(secure.post(portal.url("server.time")))


@pytest.mark.slow
def test_serve_over_tls_with_a_generated_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, cafile = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(cafile))
    env = base_env(B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db", B24VOTE_REQUIRE_HTTPS="1")
    url = cli("init", "--demo", "--json", env=env).stdout.split('"webhook_url":"')[1].split('"')[0]
    path = url.removeprefix("http://127.0.0.1:8000")
    extra = ("--ssl-certfile", str(certfile), "--ssl-keyfile", str(keyfile))
    trusting = ssl.create_default_context(cafile=str(cafile))
    with running_server(env, *extra, scheme="https", verify=trusting) as (base, _proc):
        with httpx.Client(verify=trusting) as client:
            me = assert_envelope(client.post(f"{base}{path}user.current.json"))
            assert me["ID"] == "1"
        with pytest.raises(httpx.TransportError), httpx.Client(verify=True) as untrusting:
            untrusting.post(f"{base}{path}server.time")
        # Plain HTTP to a TLS port is not answered as a REST call at all.
        with pytest.raises(httpx.TransportError), httpx.Client() as plain:
            plain.post(f"{base.replace('https', 'http')}{path}server.time", timeout=5)
