"""The leaky bucket and operating time through HTTP, on the in-process store and on Redis."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
import redis
import redis.asyncio
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import RateLimit, Settings
from b24vote.limits.bucket import BucketState, take
from b24vote.limits.limiter import Limiter
from b24vote.limits.operating import OperatingState
from b24vote.limits.redis_store import RedisLimitStore
from b24vote.limits.stores import MemoryLimitStore
from b24vote.storage.engine import Database
from tests.conftest import START, Portal
from tests.helpers.services import REDIS_URL, redis_problem, require
from tests.helpers.wire import assert_b24_error, assert_envelope


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """The Redis URL for the Redis half (None for in-process); Redis is required under CI=true."""
    if request.param == "memory":
        return None
    require("Redis", redis_problem())
    return REDIS_URL


class SteppingClock(FrozenClock):
    """Wall time moves only when told to; every method call measures ``step`` seconds of processing."""

    def __init__(self, start: datetime, step: float) -> None:
        super().__init__(start)
        self.step = step
        self._ticks = 0.0

    def monotonic(self) -> float:
        self._ticks += self.step
        return self._ticks


@contextmanager
def client_for(db: Database, clock: FrozenClock, redis_url: str | None, **settings: object) -> Iterator[TestClient]:
    """An application with these limits; its counters start empty (Redis ones included)."""
    config = Settings.from_env({}, database_url=str(db.url), secret_key="k", redis_url=redis_url, **settings)
    app = create_app(config, clock=clock, db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.b24.limits.store.clear()
        yield client
        app.state.b24.limits.store.clear()


def statuses(client: TestClient, url: str, n: int) -> list[int]:
    return [client.post(url).status_code for _ in range(n)]


def test_bucket_boundary(db: Database, clock: FrozenClock, portal: Portal, backend: str | None) -> None:
    with client_for(db, clock, backend, rate_limit=RateLimit(5, 2)) as client:
        assert statuses(client, portal.url("server.time"), 5) == [200] * 5
        assert_b24_error(client.post(portal.url("server.time")), "QUERY_LIMIT_EXCEEDED", 503, "Too many requests")
        # Another webhook has its own bucket.
        assert statuses(client, portal.url("server.time", portal.bob_hook), 5) == [200] * 5
        clock.advance(0.5)  # drains exactly one request at 2/s
        assert statuses(client, portal.url("server.time"), 2) == [200, 503]
        clock.advance(10)
        assert statuses(client, portal.url("server.time"), 6) == [200] * 5 + [503]


def test_batch_counts_as_one_request(db: Database, clock: FrozenClock, portal: Portal, backend: str | None) -> None:
    with client_for(db, clock, backend, rate_limit=RateLimit(2, 1)) as client:
        body = {"cmd": {f"k{i}": "server.time" for i in range(10)}}
        for _ in range(2):
            assert len(assert_envelope(client.post(portal.url("batch"), json=body))["result"]) == 10
        assert_b24_error(client.post(portal.url("batch"), json=body), "QUERY_LIMIT_EXCEEDED", 503)


def test_processes_share_one_redis_budget(db: Database, clock: FrozenClock, portal: Portal) -> None:
    require("Redis", redis_problem())
    with (
        client_for(db, clock, REDIS_URL, rate_limit=RateLimit(4, 1)) as one,
        client_for(db, clock, REDIS_URL, rate_limit=RateLimit(4, 1)) as two,
    ):
        seen = [c.post(portal.url("server.time")).status_code for c in (one, two, one, two, one, two)]
    assert seen == [200, 200, 200, 200, 503, 503]


def test_operating_time(db: Database, portal: Portal, backend: str | None) -> None:
    clock = SteppingClock(START, step=100)
    with client_for(db, clock, backend, operating_limit=480, rate_limit=None) as client:
        url = portal.url("user.current")
        reset_at = int(START.timestamp()) + 600
        for used in (100, 200, 300, 400, 500):  # the call that crosses the limit still completes
            time = client.post(url).json()["time"]
            assert (time["operating"], time["operating_reset_at"], time["processing"]) == (used, reset_at, 100)
        assert_b24_error(client.post(url), "OPERATION_TIME_LIMIT", 429, "Method is blocked due to operation time limit")
        # Other methods of the same webhook, and the same method of another webhook, are not blocked.
        assert client.post(portal.url("scope")).json()["time"]["operating"] == 100
        assert client.post(portal.url("user.current", portal.bob_hook)).status_code == 200
        # Inside a batch the command is blocked alone; the batch is not counted itself.
        result = client.post(portal.url("batch"), json={"cmd": {"me": "user.current", "t": "server.time"}}).json()
        assert result["result"]["result_error"]["me"]["error"] == "OPERATION_TIME_LIMIT"
        assert result["result"]["result_time"]["t"]["operating"] == 100 and result["time"]["operating"] == 0
        clock.advance(599)
        assert client.post(url).status_code == 429
        clock.advance(1)  # the one-minute bucket of the first five calls drops out
        time = client.post(url).json()["time"]
        assert (time["operating"], time["operating_reset_at"]) == (100, reset_at + 600)


def test_operating_buckets_expire_one_minute_at_a_time(db: Database, portal: Portal, backend: str | None) -> None:
    clock = SteppingClock(START, step=100)
    with client_for(db, clock, backend, operating_limit=480, rate_limit=None) as client:
        url = portal.url("server.time")
        statuses(client, url, 3)
        clock.advance(90)  # the next minute: a second bucket
        last = client.post(url).json()["time"]
        assert (last["operating"], last["operating_reset_at"]) == (400, int(START.timestamp()) + 600)
        assert client.post(url).status_code == 200  # 500 now
        assert client.post(url).status_code == 429
        clock.advance(510)  # the first bucket (300 s) expires; the second (200 s) still counts
        time = client.post(url).json()["time"]
        assert (time["operating"], time["operating_reset_at"]) == (300, int(START.timestamp()) + 690)


def test_limits_off(db: Database, portal: Portal) -> None:
    clock = SteppingClock(START, step=100)
    with client_for(db, clock, None, operating_limit=None, rate_limit=None) as client:
        assert statuses(client, portal.url("server.time"), 80) == [200] * 80
        assert client.post(portal.url("server.time")).json()["time"]["operating"] == 0


def test_a_broken_redis_lets_requests_through(db: Database, clock: FrozenClock, portal: Portal) -> None:
    with client_for(db, clock, None, rate_limit=RateLimit(1, 1)) as client:
        limits = client.app.state.b24.limits  # type: ignore[attr-defined]
        limits.store = RedisLimitStore(redis.Redis.from_url("redis://127.0.0.1:9/0"), "b24vote:test:")
        assert statuses(client, portal.url("server.time"), 3) == [200] * 3
        assert client.post(portal.url("server.time")).json()["time"]["operating"] == 0
        limits.store = MemoryLimitStore()


def test_settings() -> None:
    assert Settings.from_env({"B24VOTE_OPERATING_LIMIT": "off"}).operating_limit is None
    assert Settings.from_env({"B24VOTE_RATE_LIMIT": "off"}).rate_limit is None
    assert Settings.from_env({}).rate_limit == RateLimit(50, 2)
    assert Settings.from_env({"B24VOTE_REQUIRE_HTTPS": "1"}).require_https is True
    assert Settings.from_env({}).require_https is False


@given(
    burst=st.integers(1, 100),
    drain=st.floats(0.01, 100),
    gaps=st.lists(st.floats(-5, 30, allow_nan=False), max_size=200),
)
def test_bucket_stays_within_bounds(burst: int, drain: float, gaps: list[float]) -> None:
    state: BucketState | None = None
    now = 1_000_000.0
    admitted = 0
    for gap in gaps:
        now += gap
        passed, state = take(state, now, burst, drain)
        admitted += passed
        assert 0 <= state.level <= burst
    if gaps and all(g == 0 for g in gaps):
        assert admitted == min(len(gaps), burst)


def _redis_store(name: str, *, with_asyncio: bool = False) -> RedisLimitStore:
    """A store under a prefix of this test's own; ``with_asyncio``: with the client ``enter_async`` needs."""
    require("Redis", redis_problem())
    aclient = redis.asyncio.Redis.from_url(REDIS_URL) if with_asyncio else None
    return RedisLimitStore(redis.Redis.from_url(REDIS_URL), f"b24vote:test-{name}:{os.getpid()}:", aclient)


@given(
    steps=st.lists(
        st.tuples(
            st.floats(0, 90, allow_nan=False),  # seconds since the previous step
            st.booleans(),  # counted in the bucket (False: a batch command)
            st.floats(0, 40, allow_nan=False),  # seconds the call then runs
        ),
        max_size=40,
    )
)
def test_both_stores_agree_on_entering_and_recording(steps: list[tuple[float, bool, float]]) -> None:
    shared = _redis_store("agree")
    shared.clear()
    local = MemoryLimitStore()
    now = 1_700_000_000.0
    try:
        for gap, counted, seconds in steps:
            now += gap
            bucket = (3.0, 0.5) if counted else None
            admitted, before = local.enter("w:1", "server.time", now, bucket)
            shared_admitted, shared_before = shared.enter("w:1", "server.time", now, bucket)
            assert shared_admitted == admitted
            assert (shared_before.used, shared_before.reset_at) == (pytest.approx(before.used), before.reset_at)
            recorded = local.add_operating("w:1", "server.time", seconds, now)
            # Redis writes it with the next check (or within 50 ms) and answers from what it read before.
            deferred = shared.add_operating("w:1", "server.time", seconds, now, shared_before)
            assert (deferred.used, deferred.reset_at) == (pytest.approx(recorded.used), recorded.reset_at)
        shared.flush()
        if steps:
            written = shared.add_operating("w:1", "server.time", 0.0, now)  # no state given: written and read now
            assert written.used == pytest.approx(local.add_operating("w:1", "server.time", 0.0, now).used)
    finally:
        shared.close()  # ends its flush thread
        shared.clear()


def test_queued_operating_time_reaches_other_processes_without_a_next_call() -> None:
    mine, other = _redis_store("flush"), _redis_store("flush")  # two processes sharing one Redis
    mine.clear()
    now = 1_700_000_000.0
    try:
        _, before = mine.enter("w:1", "m", now, None)
        mine.add_operating("w:1", "m", 12.5, now, before)
        deadline = time.monotonic() + 5
        while other.enter("w:1", "m", now, None)[1].used != 12.5:
            assert time.monotonic() < deadline, "the background flush never wrote the call's time"
            time.sleep(0.01)
        _, before = mine.enter("w:1", "m", now, None)
        mine.add_operating("w:1", "m", 7.5, now, before)
        mine.close()  # shutdown writes what is queued at once
        assert other.enter("w:1", "m", now, None)[1].used == 20.0
    finally:
        mine.close()
        mine.clear()


def test_scripts_lost_by_a_redis_restart_are_loaded_again_and_nothing_counts_twice() -> None:
    store = _redis_store("noscript")
    store.clear()
    now = 1_700_000_000.0
    try:
        _, before = store.enter("w:1", "m", now, (10.0, 1.0))
        store.add_operating("w:1", "m", 3.0, now, before)  # queued: goes out with the next check
        redis.Redis.from_url(REDIS_URL).script_flush()  # what a restarted Redis knows of our scripts
        admitted, before = store.enter("w:1", "m", now, (10.0, 1.0))
        assert admitted and before.used == 3.0
        assert store.enter("w:1", "m", now, None)[1].used == 3.0
    finally:
        store.close()
        store.clear()


def test_concurrent_checks_share_round_trips_and_keep_the_budget() -> None:
    store = _redis_store("coalesce", with_asyncio=True)
    store.clear()
    now = 1_700_000_000.0
    sent: list[int] = []
    real = store._run_async

    async def counting(commands: list[Any]) -> list[Any]:
        sent.append(len(commands))
        return await real(commands)

    store._run_async = counting  # type: ignore[method-assign]  # count the pipelines, send them for real

    async def main() -> list[tuple[bool, OperatingState]]:
        try:
            _, before = await store.enter_async("w:1", "m", now, None)
            store.add_operating("w:1", "m", 4.0, now, before)  # queued: must go out ahead of the next checks
            return await asyncio.gather(*(store.enter_async("w:1", "m", now, (20.0, 0.5)) for _ in range(50)))
        finally:
            await store.aclose()

    try:
        answers = asyncio.run(main())
        assert sum(admitted for admitted, _ in answers) == 20  # exactly the bucket, as fifty one-by-one checks
        assert {before.used for _, before in answers} == {4.0}  # every check saw the call queued before it
        assert len(sent) < 10 and sum(sent) == 1 + 1 + 50  # one alone, then few pipelines for fifty checks
    finally:
        store.close()
        store.clear()


def test_a_call_gone_while_its_check_travels_does_not_stop_the_others() -> None:
    store = _redis_store("gone", with_asyncio=True)
    store.clear()

    async def main() -> list[bool]:
        try:
            calls = [asyncio.create_task(store.enter_async("w:1", "m", 1.0, (5.0, 0.5))) for _ in range(10)]
            await asyncio.sleep(0)  # every check is queued
            calls[0].cancel()  # the client disconnected
            done = await asyncio.wait_for(asyncio.gather(*calls[1:]), 10)  # a broken sender would hang them
            return [admitted for admitted, _ in done]
        finally:
            await store.aclose()

    try:
        admitted = asyncio.run(main())
        assert len(admitted) == 9 and sum(admitted) in (4, 5)  # the cancelled check may have reached Redis
    finally:
        store.close()
        store.clear()


def test_async_checks_survive_lost_scripts_and_a_dead_redis() -> None:
    store = _redis_store("async-noscript", with_asyncio=True)
    store.clear()
    now = 1_700_000_000.0

    async def main() -> tuple[bool, float]:
        try:
            _, before = await store.enter_async("w:1", "m", now, (10.0, 1.0))
            store.add_operating("w:1", "m", 3.0, now, before)
            async with redis.asyncio.Redis.from_url(REDIS_URL) as admin:
                await admin.script_flush()  # what a restarted Redis knows of our scripts
            admitted, before = await store.enter_async("w:1", "m", now, (10.0, 1.0))
            return admitted, before.used
        finally:
            await store.aclose()

    try:
        assert asyncio.run(main()) == (True, 3.0)  # loaded again, the queued time counted once
    finally:
        store.close()
        store.clear()
    dead = RedisLimitStore(
        redis.Redis.from_url("redis://127.0.0.1:9/0"),
        "b24vote:test:",
        redis.asyncio.Redis.from_url("redis://127.0.0.1:9/0"),
    )
    limiter = Limiter(dead, burst=1.0, operating_limit=1.0)
    assert limiter.awaits

    async def refused_connection() -> bool:
        try:
            return (await limiter.enter_async("w:1", "m", now)).admitted
        finally:
            await limiter.aclose()

    assert asyncio.run(refused_connection())  # let through (and logged), as enter() does
