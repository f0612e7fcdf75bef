"""Emulator controls against a real server process: dropped connections, latency, ``b24vote admin``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import orjson
import pytest

from tests.helpers.server import BIN, base_env, cli, running_server

pytestmark = pytest.mark.slow

TOKEN = "server-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A served demo portal with the admin API on: (base URL, webhook path, environment)."""
    path = tmp_path_factory.mktemp("admin") / "b24vote.db"
    env = base_env(B24VOTE_DATABASE_URL=f"sqlite:///{path}", B24VOTE_ADMIN_TOKEN=TOKEN, B24VOTE_RATE_LIMIT="off")
    url = orjson.loads(cli("init", "--demo", "--json", env=env).stdout)["webhook_url"]
    with running_server(env) as (base, _proc):
        yield base, url.removeprefix("http://127.0.0.1:8000"), env


def _faults(base: str, rules: list[dict[str, object]]) -> None:
    httpx.delete(f"{base}/_b24vote/faults", headers=AUTH).raise_for_status()
    httpx.post(f"{base}/_b24vote/faults", headers=AUTH, json=rules).raise_for_status()


def test_a_dropped_connection_is_a_transport_error(server: tuple[str, str, dict[str, str]]) -> None:
    base, hook, _ = server
    _faults(base, [{"method": "server.time", "drop": True, "count": 1}])
    with httpx.Client(base_url=base, timeout=10) as client:
        with pytest.raises(httpx.TransportError):
            client.get(hook + "server.time")
        assert client.get(hook + "server.time").status_code == 200
    entries = httpx.get(f"{base}/_b24vote/journal", headers=AUTH, params={"method": "server.time"}).json()["entries"]
    assert (entries[-2]["status"], entries[-2]["error"]) == (None, "DROPPED")
    assert entries[-1]["status"] == 200


def test_latency_delays_the_answer(server: tuple[str, str, dict[str, str]]) -> None:
    base, hook, _ = server
    _faults(base, [{"method": "user.current", "latency_ms": 400, "count": 1}])
    with httpx.Client(base_url=base, timeout=10) as client:
        started = time.monotonic()
        resp = client.get(hook + "user.current")
        assert time.monotonic() - started >= 0.4
        assert resp.status_code == 200 and resp.json()["result"]["ID"] == "1"


def _admin(env: dict[str, str], base: str, *args: str) -> str:
    return cli("admin", *args, "--url", base, env=env).stdout


def test_admin_commands(server: tuple[str, str, dict[str, str]], tmp_path: Path) -> None:
    base, hook, env = server
    frozen = orjson.loads(_admin(env, base, "clock", "--set", "2030-01-01T00:00:00Z", "--freeze", "--json"))
    assert frozen == {"now": "2030-01-01T00:00:00+00:00", "frozen": True}
    assert "2030-01-01T00:01:00+00:00 (frozen)" in _admin(env, base, "clock", "--advance", "60")
    assert httpx.get(f"{base}{hook}server.time").json()["time"]["date_start"] == "2030-01-01T03:01:00+03:00"
    _admin(env, base, "clock", "--reset")

    _admin(env, base, "faults", "clear")
    added = _admin(env, base, "faults", "add", "--method", "user.*", "--error", "QUERY_LIMIT_EXCEEDED", "--count", "1")
    assert "user.* → QUERY_LIMIT_EXCEEDED" in added and "left 1" in added
    assert httpx.get(f"{base}{hook}user.current").status_code == 503
    assert "left 0, fired 1" in _admin(env, base, "faults", "list")
    assert "no fault rules" in _admin(env, base, "faults", "clear") + _admin(env, base, "faults", "list")

    _admin(env, base, "journal", "--clear")
    httpx.get(f"{base}{hook}user.current")
    text = _admin(env, base, "journal", "--method", "user.*")
    assert " 200 user.current webhook:1" in text
    entries = orjson.loads(_admin(env, base, "journal", "--limit", "1", "--json"))["entries"]
    assert [e["method"] for e in entries] == ["user.current"]


def test_admin_commands_fail_clearly(server: tuple[str, str, dict[str, str]]) -> None:
    import subprocess

    base, _, env = server
    for args, expected in (
        (["--token", "wrong-token"], "401: ADMIN_AUTH_REQUIRED"),
        (["--set", "not-a-time"], "400: INVALID_REQUEST: set: not an ISO 8601 time"),
    ):
        done = subprocess.run(
            [str(BIN), "admin", "clock", "--url", base, *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1 and expected in done.stderr.replace("\n", " "), done.stderr
    no_token = {k: v for k, v in env.items() if k != "B24VOTE_ADMIN_TOKEN"}
    done = subprocess.run(
        [str(BIN), "admin", "journal", "--url", base], env=no_token, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "B24VOTE_ADMIN_TOKEN" in done.stderr
