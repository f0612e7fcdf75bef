"""A live b24vote over HTTPS for the real SDKs: a test CA made with trustme, a fresh SQLite portal, demo data.

The SDKs build ``https://`` URLs themselves (../shared/reference/notes/clients.md), so the server is started
the way a user would run it for them: with a certificate, and the CA trusted through the standard variables
(``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``, ``NODE_EXTRA_CA_CERTS``) — never by patching an SDK.
"""

from __future__ import annotations

import gc
import json
import shutil
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import trustme

from b24vote.storage import people
from b24vote.storage.engine import Database
from tests.conftest import IN_CI
from tests.helpers.server import cli, demo_portal, running_server, server_log

# The emulator's admin API moves the server's clock (expired tokens without an hour's wait).
ADMIN_TOKEN = "clients-admin-token"

CONNECTOR = "Bitrix\\Vote\\Attachment\\ImMessageConnector"


@dataclass(frozen=True)
class Tls:
    """The test CA and the server's certificate for 127.0.0.1, as PEM files."""

    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class OAuthApp:
    client_id: str
    client_secret: str


@dataclass
class Live:
    """A running b24vote: its https base URL, the demo webhook, and the CLI bound to its database."""

    base: str
    env: dict[str, str]
    webhook_url: str
    chat_id: int
    user_ids: list[int]
    proc: Any
    ca: Path

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: what SDKs call the portal's domain."""
        return self.base.removeprefix("https://")

    @property
    def database_url(self) -> str:
        return self.env["B24VOTE_DATABASE_URL"]

    def cli(self, *args: str) -> str:
        return cli(*args, env=self.env).stdout

    def new_webhook(self, user: int = 1) -> str:
        """A fresh webhook, so a test gets its own rate-limit bucket."""
        return str(json.loads(self.cli("webhook", "add", "--user", str(user), "--json"))["url"])

    def new_app(self, name: str = "SDK test") -> OAuthApp:
        data = json.loads(self.cli("app", "add", "--name", name, "--json"))
        return OAuthApp(data["client_id"], data["client_secret"])

    def issue_token(self, app: OAuthApp, user: int = 1) -> dict[str, Any]:
        reply: dict[str, Any] = json.loads(self.cli("token", "issue", "--app", app.client_id, "--user", str(user)))
        return reply

    def _admin(self, body: dict[str, Any]) -> None:
        resp = httpx.post(
            f"{self.base}/_b24vote/clock",
            json=body,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            verify=ssl.create_default_context(cafile=str(self.ca)),
            timeout=10,
        )
        assert resp.status_code == 200, resp.text

    def advance_clock(self, seconds: float) -> None:
        """Move the server's clock forward (the emulator's admin API), as a wait of ``seconds`` would."""
        self._admin({"advance": seconds})

    @contextmanager
    def clock_ahead(self, seconds: float) -> Iterator[None]:
        """The server's clock ``seconds`` ahead for the block, then back on real time for the next test."""
        self.advance_clock(seconds)
        try:
            yield
        finally:
            self._admin({"reset": True})

    def refresh(self, app: OAuthApp, refresh_token: str) -> dict[str, Any]:
        """A new token pair from the server's token endpoint (so its expiry follows the server's clock)."""
        resp = httpx.get(
            f"{self.base}/oauth/token/",
            params={
                "grant_type": "refresh_token",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "refresh_token": refresh_token,
            },
            verify=ssl.create_default_context(cafile=str(self.ca)),
            timeout=10,
        )
        assert resp.status_code == 200, resp.text
        reply: dict[str, Any] = resp.json()
        return reply

    def log(self) -> str:
        return server_log(self.proc)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA(organization_name="b24vote test CA")
    issued = ca.issue_cert("127.0.0.1", "localhost")
    paths = Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(paths.ca))
    issued.private_key_pem.write_to_path(str(paths.key))
    paths.cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    return paths


@contextmanager
def live_server(tls: Tls, folder: Path, **settings: str) -> Iterator[Live]:
    """b24vote serving HTTPS on a free port with a new demo portal; B24VOTE_PUBLIC_URL is that https base."""
    prepared = demo_portal(folder, scheme="https", B24VOTE_ADMIN_TOKEN=ADMIN_TOKEN, **settings)
    port, base, env, demo = prepared.port, prepared.base, prepared.env, prepared.demo
    assert demo["webhook_url"].startswith(f"{base}/rest/1/")
    tls_args = ("--ssl-certfile", str(tls.cert), "--ssl-keyfile", str(tls.key))
    with running_server(env, *tls_args, scheme="https", port=port) as (started, proc):
        assert started == base
        yield Live(base, env, demo["webhook_url"], demo["chat_id"], demo["user_ids"], proc, tls.ca)
        # An SDK exception kept in a reference cycle holds its keep-alive TLS connection open, and uvicorn's
        # graceful shutdown would wait its full 10 s for it: collect such cycles before stopping the server.
        gc.collect()


@pytest.fixture(scope="session")
def live(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The portal most client tests use; the rate limit is off so the SDKs' own pacing does not slow the suite."""
    with live_server(tls, tmp_path_factory.mktemp("live"), B24VOTE_RATE_LIMIT="off") as server:
        yield server


@pytest.fixture(scope="session")
def limited(tls: Tls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A portal with a leaky bucket of 5 requests draining 1 per second, to meet QUERY_LIMIT_EXCEEDED."""
    with live_server(tls, tmp_path_factory.mktemp("limited"), B24VOTE_RATE_LIMIT="5/1") as server:
        yield server


@dataclass(frozen=True)
class Crowd:
    """A chat poll with more voters for one answer than fit on one page of 50."""

    attach_id: int
    answer_id: int
    voter_ids: list[int]


@pytest.fixture(scope="session")
def crowd(live: Live, tls: Tls) -> Crowd:
    """60 extra chat members, each voting over HTTP with a webhook of their own (made in the database directly:
    60 CLI runs would take half a minute)."""
    db = Database(live.database_url)
    now = datetime.now(UTC)
    try:
        with db.write() as conn:
            users = [people.add_user(conn, now, name=f"Voter{n:02d}", last_name="Crowd") for n in range(60)]
            people.add_members(conn, now, live.chat_id, users)
            codes = [people.add_webhook(conn, now, user_id=uid, scopes=["vote"])[1] for uid in users]
    finally:
        db.dispose()
    data = {"QUESTIONS": [{"QUESTION": "Crowd?", "FIELD_TYPE": 0, "ANSWERS": [{"MESSAGE": "yes"}, {"MESSAGE": "no"}]}]}
    context = ssl.create_default_context(cafile=str(tls.ca))
    with httpx.Client(base_url=live.base, verify=context, timeout=15) as http:
        hook = live.webhook_url.removeprefix(live.base).rstrip("/")
        sent = http.post(
            f"{hook}/vote.Integration.Im.send", json={"chatId": live.chat_id, "IM_MESSAGE_VOTE_DATA": data}
        )
        message_id = sent.json()["result"]["messageId"]
        got = http.post(
            f"{hook}/vote.AttachedVote.get", json={"moduleId": "im", "entityType": CONNECTOR, "entityId": message_id}
        )
        attach = got.json()["result"]["attach"]
        ((question_id, question),) = attach["QUESTIONS"].items()
        answer_id = int(next(iter(question["ANSWERS"])))
        for uid, code in zip(users, codes, strict=True):
            voted = http.post(
                f"/rest/{uid}/{code}/vote.AttachedVote.vote",
                json={"attachId": attach["ID"], "ballot": {question_id: [answer_id]}},
            )
            assert voted.status_code == 200, voted.text
    return Crowd(attach["ID"], answer_id, users)


@pytest.fixture
def trust_ca(tls: Tls, monkeypatch: pytest.MonkeyPatch) -> Tls:
    """Trust the test CA in this process the way a user would: the standard environment variables."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca))
    return tls


def require_tool(name: str) -> str:
    """The tool's path; a missing tool skips locally and fails under CI=true (nothing may skip there)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(f"{message} (required under CI=true)")
        pytest.skip(message)
    return path


def count_status(log: str, status: int) -> int:
    """How many requests in the server's access log were answered with ``status``."""
    return sum(1 for line in log.splitlines() if "b24vote.access" in line and f" {status} " in line)
