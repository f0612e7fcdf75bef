"""``b24vote serve --seed FILE --admin-token TOKEN --ready-file PATH``: a ready world for any suite, one command."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from tests.helpers.server import BIN, base_env, free_port, stop

pytestmark = pytest.mark.slow

TOKEN = "suite-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEED = """
users:
  - {id: 1, name: Anna, admin: true}
  - {id: 2, name: Boris}
chats:
  - {id: 1, title: Team, owner: 1, members: [2]}
webhooks:
  - {user: 1, code: suite-anna-hook-01}
  - {user: 2}
polls:
  - {chat: 1, author: 1, question: "Lunch?", answers: [Pizza, Soup], ballots: {2: [1]}}
"""
WAIT = 30.0  # seconds a server has to write its ready file


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``b24vote serve ARGS`` as a process, stopped with SIGTERM at the end."""
    proc = subprocess.Popen([str(BIN), "serve", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop(proc)
        if proc.stdout:
            proc.stdout.close()


def wait_for_file(path: Path, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    """The ready file's JSON once this server wrote it (the test waits; a suite would read a named pipe)."""
    deadline = time.monotonic() + WAIT
    while True:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "server exited"
        assert time.monotonic() < deadline, f"no ready file within {WAIT}s"
        if path.exists() and path.read_bytes().startswith(b"{"):
            data: dict[str, Any] = orjson.loads(path.read_bytes())  # whole: it is written atomically
            if data["pid"] == proc.pid:
                return data
        time.sleep(0.05)


def output(proc: subprocess.Popen[bytes]) -> str:
    """Everything the stopped server printed."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    return proc.stdout.read().decode() if proc.stdout else ""


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    path = tmp_path / "seed.yaml"
    path.write_text(SEED)
    return path


def test_flags_serve_the_seeded_world_with_the_admin_api_on(tmp_path: Path, seed_file: Path) -> None:
    env = base_env(B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db", B24VOTE_RATE_LIMIT="off")
    port, ready = free_port(), tmp_path / "ready.json"
    args = ("--port", str(port), "--seed", str(seed_file), "--admin-token", TOKEN, "--ready-file", str(ready))
    with serving(env, *args) as proc:
        info = wait_for_file(ready, proc)
        base = f"http://127.0.0.1:{port}"
        assert info["url"] == base and info["pid"] == proc.pid and info["admin"] is True
        assert info["seed"]["users"] == [1, 2] and info["seed"]["chats"] == [1]
        hook = f"{base}/rest/1/suite-anna-hook-01/"
        assert httpx.get(hook + "user.current").json()["result"]["NAME"] == "Anna"
        attach = info["seed"]["polls"][0]["attach_id"]
        got = httpx.post(hook + "vote.AttachedVote.get", data={"attachId": attach}).json()["result"]["attach"]
        assert got["COUNTER"] == 1
        # Without B24VOTE_PUBLIC_URL the printed URLs point at the address served.
        assert info["seed"]["webhooks"][0]["url"] == hook
        # The seeded world is kept as snapshot "seed": a suite restores it before each test.
        snapshots = httpx.get(f"{base}/_b24vote/snapshots", headers=AUTH).json()["snapshots"]
        assert [s["name"] for s in snapshots] == ["seed"]
        httpx.post(f"{base}/_b24vote/reset", headers=AUTH).raise_for_status()
        assert httpx.get(hook + "user.current").status_code == 401
        httpx.post(f"{base}/_b24vote/snapshots/seed/restore", headers=AUTH).raise_for_status()
        assert httpx.get(hook + "user.current").json()["result"]["ID"] == "1"
        assert "seeded from" in output(proc)


def test_environment_equivalents_and_a_restart_keeps_the_world(tmp_path: Path, seed_file: Path) -> None:
    ready = tmp_path / "ready.json"
    env = base_env(
        B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db",
        B24VOTE_SEED=str(seed_file),
        B24VOTE_ADMIN_TOKEN=TOKEN,
        B24VOTE_READY_FILE=str(ready),
    )
    port = free_port()
    with serving(env, "--port", str(port)) as proc:
        first = wait_for_file(ready, proc)
        base = first["url"]
        hook = f"{base}/rest/1/suite-anna-hook-01/"
        httpx.post(hook + "im.chat.add", data={"TITLE": "Made by a test"}).raise_for_status()
        output(proc)
    ready.write_text("stale")  # left behind by a crash: the next start must not be announced by it
    with serving(env, "--port", str(port)) as proc:
        second = wait_for_file(ready, proc)
        assert second["seed"] is None, "a database that holds a portal is not seeded again"
        assert httpx.get(f"{base}/_b24vote/snapshots", headers=AUTH).json()["snapshots"][0]["name"] == "seed"
        assert "seed not applied: the portal is not new" in output(proc)


def test_a_named_pipe_is_told_once_the_server_answers(tmp_path: Path) -> None:
    env = base_env(B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db")
    pipe = tmp_path / "ready.pipe"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()), daemon=True)
    reader.start()
    port = free_port()
    with serving(env, "--port", str(port), "--ready-file", str(pipe)) as proc:
        reader.join(WAIT)
        if reader.is_alive():  # unblock the reader before failing
            pipe.write_bytes(b"")
            pytest.fail(f"nothing came through the pipe within {WAIT}s")
        info = orjson.loads(got[0])
        assert info["url"] == f"http://127.0.0.1:{port}" and info["seed"] is None and info["admin"] is False
        assert httpx.get(f"{info['url']}/healthz").text == "ok"
        assert proc.poll() is None
    assert pipe.exists(), "a named pipe is the suite's own and stays"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("users: [{name: Anna}]\nchats: [{title: T, owner: 9}]\n", "chats[0].owner: no such user 9"),
        ("polls: nope\n", "polls: must be a list"),
    ],
)
def test_a_bad_seed_stops_before_serving(tmp_path: Path, content: str, message: str) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(content)
    env = base_env(B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db")
    done = subprocess.run(
        [str(BIN), "serve", "--port", str(free_port()), "--seed", str(seed)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"{seed}: {message}" in done.stderr


def test_a_short_admin_token_is_refused_by_name(tmp_path: Path) -> None:
    env = base_env(B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db")
    done = subprocess.run(
        [str(BIN), "serve", "--admin-token", "short"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "B24VOTE_ADMIN_TOKEN='short': must be at least 8 characters" in done.stderr
