"""The results page's event stream in real server processes: shutdown with streams open, and Redis fan-out."""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from b24vote.domain.polls import IM_ENTITY_TYPE
from tests.helpers.server import base_env, cli, running_server, server_log
from tests.helpers.services import REDIS_URL, redis_problem, require
from tests.helpers.wire import assert_envelope

pytestmark = pytest.mark.slow


def _demo(env: dict[str, str]) -> dict[int, str]:
    """The demo portal plus a webhook for Boris; user id → webhook path."""
    first = orjson.loads(cli("init", "--demo", "--json", env=env).stdout)["webhook_url"]
    second = orjson.loads(cli("webhook", "add", "--user", "2", "--json", env=env).stdout)["url"]
    return {1: "/" + first.split("/", 3)[3], 2: "/" + second.split("/", 3)[3]}


def _poll(base: str, hook: str) -> dict[str, Any]:
    data = {"QUESTIONS": [{"QUESTION": "Stream?", "ANSWERS": [{"MESSAGE": "Yes"}, {"MESSAGE": "No"}]}]}
    sent = assert_envelope(
        httpx.post(f"{base}{hook}vote.Integration.Im.send", json={"chatId": 1, "IM_MESSAGE_VOTE_DATA": data})
    )
    found = assert_envelope(
        httpx.post(
            f"{base}{hook}vote.AttachedVote.get",
            json={"moduleId": "im", "entityType": IM_ENTITY_TYPE, "entityId": sent["messageId"]},
        )
    )
    attach: dict[str, Any] = found["attach"]
    return attach


def _vote(base: str, hook: str, attach: dict[str, Any]) -> None:
    (qid, question), *_ = attach["QUESTIONS"].items()
    ballot = {qid: [next(iter(question["ANSWERS"]))]}
    assert_envelope(
        httpx.post(f"{base}{hook}vote.AttachedVote.vote", json={"attachId": attach["ID"], "ballot": ballot})
    )


class Reader:
    """Reads an event stream in a thread; ``events`` gets each ``results`` payload, then None when it ends."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self.thread.start()

    def _read(self, url: str) -> None:
        try:
            with httpx.stream("GET", url, timeout=httpx.Timeout(30, read=60)) as resp:
                for line in resp.iter_lines():
                    if line.startswith("data: "):
                        self.events.put(orjson.loads(line[6:]))
        except httpx.TransportError:
            pass
        finally:
            self.events.put(None)

    def next(self, timeout: float) -> dict[str, Any] | None:
        return self.events.get(timeout=timeout)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield base_env(B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db", B24VOTE_RATE_LIMIT="off")


def test_open_streams_do_not_hold_up_a_graceful_shutdown(sqlite_env: dict[str, str]) -> None:
    hooks = _demo(sqlite_env)
    with running_server(sqlite_env) as (base, proc):
        attach = _poll(base, hooks[1])
        readers = [Reader(f"{base}{attach['resultUrl']}/events") for _ in range(3)]
        for reader in readers:
            assert reader.next(5) is not None
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        took = time.monotonic() - started
        for reader in readers:
            assert reader.next(5) is None  # the stream ended
        output = server_log(proc)
    assert code in (0, -signal.SIGTERM)
    assert took < 3, f"shutdown took {took:.1f} s with streams open"
    assert "timeout graceful shutdown exceeded" not in output
    assert "Traceback" not in output


def test_a_vote_in_one_process_reaches_a_page_served_by_another(tmp_path: Path) -> None:
    require("Redis", redis_problem())
    env = base_env(
        B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db",
        B24VOTE_RATE_LIMIT="off",
        B24VOTE_REDIS_URL=REDIS_URL,
    )
    hooks = _demo(env)
    with running_server(env) as (base_a, _), running_server(env) as (base_b, _):
        attach = _poll(base_a, hooks[1])
        reader = Reader(f"{base_b}{attach['resultUrl']}/events")
        first = reader.next(5)
        assert first is not None and first["total"] == 0
        started = time.monotonic()
        _vote(base_a, hooks[2], attach)
        second = reader.next(5)
        took = time.monotonic() - started
        assert second is not None and second["total"] == 1
        assert [v["name"] for v in second["questions"][0]["answers"][0]["voters"]["items"]] == ["Boris Belov"]
        assert took < 1.5, f"the other process saw the vote after {took:.2f} s"
