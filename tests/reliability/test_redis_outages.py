"""Redis failing under two real server processes on PostgreSQL: unreachable at start-up, frozen, restarted.

Redis carries the shared limits and the live events between processes; neither may stop calls. The limits let
calls through while Redis is away (logged), live events reach other processes' pages again once it is back,
and both come back in the same processes, without a restart.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import orjson
import pytest
import redis

from tests.helpers.server import base_env, running_server, server_log
from tests.helpers.services import fresh_pg_database
from tests.reliability.helpers import (
    Ledger,
    PrivateRedis,
    World,
    check_database,
    load,
    make_world,
    private_redis,
    wait_until,
)

pytestmark = pytest.mark.slow

USERS = 40
DOWN_SECONDS = 6  # an outage longer than the load needs to show calls go on without Redis
CALL_BOUND = 15  # the limits' Redis timeout is 2 s and the live publish's 2 s: a call may wait for both, once


def _env(url: str, redis_url: str) -> dict[str, str]:
    return base_env(
        B24VOTE_DATABASE_URL=url,
        B24VOTE_REDIS_URL=redis_url,
        B24VOTE_RATE_LIMIT="100000/100000",  # on (so every call goes to Redis) and never refusing
        B24VOTE_SECRET_KEY="redis-outages",
    )


class Reader:
    """Reads a results page's event stream in a thread; ``events`` gets each payload."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self.thread.start()

    def _read(self, url: str) -> None:
        try:
            with httpx.stream("GET", url, timeout=httpx.Timeout(10, read=60)) as resp:
                for line in resp.iter_lines():
                    if self.stop.is_set():
                        return
                    if line.startswith("data: "):
                        self.events.put(orjson.loads(line[6:]))
        except httpx.TransportError:
            pass

    def drain(self) -> None:
        while not self.events.empty():
            self.events.get_nowait()


def _result_url(base: str, world: World) -> str:
    attach = httpx.post(
        f"{base}{world.first_hook}/vote.AttachedVote.get", json={"attachId": world.attach_id}, timeout=10
    ).json()["result"]["attach"]
    return f"{base}{attach['resultUrl']}/events"


def _relayed(world: World, voter_base: str, reader: Reader, seconds: float) -> bool:
    """A vote taken by one process reaches a page served by the other within ``seconds`` (votes again each second:
    the relay of the other process may still be waiting to subscribe again)."""
    uids = list(world.hooks)[-5:]
    deadline = time.monotonic() + seconds
    turn = 0
    with httpx.Client(timeout=CALL_BOUND) as client:
        while time.monotonic() < deadline:
            reader.drain()
            uid = uids[turn % len(uids)]
            turn += 1
            ballot = {world.question_id: [world.answers[turn % 4]]}
            resp = client.post(
                f"{voter_base}{world.hooks[uid]}/vote.AttachedVote.vote",
                json={"attachId": world.attach_id, "ballot": ballot},
            )
            assert resp.status_code == 200, resp.text
            try:
                reader.events.get(timeout=1)
                return True
            except queue.Empty:
                continue
    return False


def _healthz_latencies(base: str, seconds: float) -> list[float]:
    took = []
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < deadline:
            started = time.monotonic()
            assert client.get(f"{base}/healthz").status_code == 200
            took.append(time.monotonic() - started)
            time.sleep(0.1)
    return took


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


def _limit_keys(server: PrivateRedis) -> list[bytes]:
    client = redis.Redis(port=server.port, socket_timeout=2)
    try:
        return list(client.scan_iter(match="b24vote:*limits:bucket:*", count=1000))
    finally:
        client.close()


def test_redis_unreachable_at_start_up(pg_url: str) -> None:
    """Both processes start and serve with Redis down; once it is up, limits and live events use it."""
    world = make_world(pg_url, USERS)
    with private_redis(start=False) as server:
        env = _env(pg_url, server.url)
        with running_server(env) as (base_a, proc_a), running_server(env) as (base_b, proc_b):
            world.make_poll(base_a)
            ledger = Ledger()
            with load([base_a, base_b], world, ledger, threads=4, calls=100, seconds=30) as running:
                running.finish()
            assert ledger.acknowledged == 100 and not ledger.errors and not ledger.problems
            assert ledger.slowest < CALL_BOUND
            reader = Reader(_result_url(base_b, world))
            server.start()
            assert _relayed(world, base_a, reader, 20)  # the relay of process B subscribed once Redis came up
            assert wait_until(lambda: bool(_limit_keys(server)), 10)  # the buckets live in Redis again
            reader.stop.set()
            for proc in (proc_a, proc_b):
                assert proc.poll() is None
                assert "Application startup failed" not in server_log(proc)
        check_database(pg_url, world, ledger)


def test_redis_frozen_then_restarted_under_load(pg_url: str) -> None:
    """Redis stops answering (SIGSTOP) for seven seconds, then dies and comes back empty, while votes run."""
    world = make_world(pg_url, USERS)
    with private_redis() as server:
        env = _env(pg_url, server.url)
        with running_server(env) as (base_a, proc_a), running_server(env) as (base_b, proc_b):
            world.make_poll(base_a)
            reader = Reader(_result_url(base_b, world))
            assert _relayed(world, base_a, reader, 10)
            ledger = Ledger()
            with load([base_a, base_b], world, ledger, threads=8, calls=100_000, seconds=150):
                assert wait_until(lambda: ledger.acknowledged >= 100, 20)
                assert server.proc is not None
                os.kill(server.proc.pid, signal.SIGSTOP)
                try:
                    # Calls wait for Redis's timeouts; the event loop must not: /healthz answers at once.
                    stalls = _healthz_latencies(base_a, 7)  # longer than a check waits for Redis (2 × 2 s)
                finally:
                    os.kill(server.proc.pid, signal.SIGCONT)
                assert max(stalls) < 1.5, stalls
                seen = ledger.acknowledged
                assert wait_until(lambda: ledger.acknowledged >= seen + 50, 30)
                server.stop()  # SIGKILL: the scripts, buckets and subscriptions are gone
                down_since, seen = time.monotonic(), ledger.acknowledged
                assert wait_until(lambda: ledger.acknowledged >= seen + 50, 30)  # served without Redis
                time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - down_since)))
                server.start()
                seen = ledger.acknowledged
                assert wait_until(lambda: ledger.acknowledged >= seen + 50, 30)
            assert not ledger.errors and not ledger.problems, (ledger.errors, ledger.problems[:3])
            assert ledger.slowest < CALL_BOUND, ledger.slowest
            assert _relayed(world, base_a, reader, 20)  # live events cross processes again
            assert wait_until(lambda: bool(_limit_keys(server)), 10)
            reader.stop.set()
            for proc in (proc_a, proc_b):
                assert proc.poll() is None
        check_database(pg_url, world, ledger)
