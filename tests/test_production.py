"""Production mode: two app processes on one PostgreSQL with Redis; no vote lost or counted twice.

Hundreds of distinct users vote, re-vote and recall concurrently through two real server processes; then the
database must agree with every answer the clients got. The same after ``kill -9`` of one process mid-load.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from bench.seed import post_chat_poll, voters_in_chat
from sqlalchemy import func, select

from b24vote.storage.engine import Database
from b24vote.storage.tables import ballot_answers, ballots, vote_answers, vote_questions, votes
from tests.helpers.server import base_env, running_server
from tests.helpers.services import REDIS_URL, fresh_pg_database, redis_problem, require

pytestmark = pytest.mark.slow

USERS = 200
OPS_PER_USER = 5
CONCURRENCY = 24
LOAD_TIMEOUT = 90.0


@dataclass
class World:
    url: str
    hooks: dict[int, str]
    attach_id: int
    question_id: str
    answers: list[int]


@dataclass
class UserLog:
    """What one user's client saw, in order."""

    confirmed: list[int] | None = None  # the ballot as of the last acknowledged call (None: no ballot)
    uncertain: bool = False  # a call whose outcome the client never learnt (connection cut)
    candidates: list[list[int] | None] = field(default_factory=list)


def _world(url: str) -> tuple[World, int, str]:
    hooks, chat = voters_in_chat(url, USERS, name="Load", scopes=["vote"])
    first = next(iter(hooks.values()))
    return World(url, hooks, 0, "", []), chat, first


def _create_poll(base: str, hook: str, chat: int) -> tuple[int, str, list[int]]:
    attach = post_chat_poll(base, hook, chat, question="Which?", anonymity=1, timeout=10)
    ((qid, question),) = attach["QUESTIONS"].items()
    return attach["ID"], qid, [int(a) for a in question["ANSWERS"]]


async def _load(
    world: World, bases: list[str], logs: dict[int, UserLog], deadline: float, on_progress: Any = None
) -> int:
    rng = random.Random(1234)
    plans = {uid: [rng.random() for _ in range(OPS_PER_USER)] for uid in world.hooks}
    limiter = asyncio.Semaphore(CONCURRENCY)
    done = 0

    async def one_user(client: httpx.AsyncClient, uid: int) -> None:
        nonlocal done
        log = logs.setdefault(uid, UserLog())
        for step, roll in enumerate(plans[uid]):
            if time.monotonic() > deadline:
                return
            base = bases[(uid + step) % len(bases)]
            if roll < 0.7:
                chosen = sorted(rng.sample(world.answers, rng.randint(1, 3)))
                method, params, after = "vote", {"ballot": {world.question_id: chosen}}, chosen
            else:
                method, params, after = "recall", {}, None
            async with limiter:
                try:
                    resp = await client.post(
                        f"{base}{world.hooks[uid]}/vote.AttachedVote.{method}",
                        json={"attachId": world.attach_id, **params},
                    )
                except httpx.TransportError:
                    log.uncertain = True
                    log.candidates.append(after)
                    continue
            body = resp.json()
            assert resp.status_code == 200, body
            assert body["result"] != [], body  # with re-voting allowed nothing is refused
            log.confirmed, log.uncertain, log.candidates = after, False, []
            done += 1
            if on_progress is not None:
                on_progress(done)

    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:
        await asyncio.gather(*(one_user(client, uid) for uid in world.hooks))
    return done


def _check(url: str, world: World, logs: dict[int, UserLog]) -> None:
    db = Database(url, pool_size=1)
    with db.read() as conn:
        stored: dict[int, list[int]] = {}
        for row in conn.execute(select(ballot_answers.c.user_id, ballot_answers.c.answer_id)):
            stored.setdefault(row.user_id, []).append(row.answer_id)
        voters = conn.execute(select(func.count()).select_from(ballots)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(ballots.c.user_id)))).scalar_one()
        assert voters == distinct == len(stored)  # no voter has two ballots
        assert conn.execute(select(votes.c.counter)).scalar_one() == voters
        assert conn.execute(select(vote_questions.c.counter)).scalar_one() == voters
        for answer in world.answers:
            counter = conn.execute(select(vote_answers.c.counter).where(vote_answers.c.id == answer)).scalar_one()
            rows = sum(answer in chosen for chosen in stored.values())
            assert counter == rows, (answer, counter, rows)
    db.dispose()
    for uid, log in logs.items():
        have = sorted(stored[uid]) if uid in stored else None
        allowed = [log.confirmed, *log.candidates] if log.uncertain else [log.confirmed]
        assert have in allowed, (uid, have, allowed)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


def _env(url: str) -> dict[str, str]:
    require("Redis", redis_problem())
    return base_env(
        B24VOTE_DATABASE_URL=url,
        B24VOTE_REDIS_URL=REDIS_URL,
        B24VOTE_RATE_LIMIT="off",
        B24VOTE_SECRET_KEY="production-test",
    )


def test_two_processes_keep_every_vote(pg_url: str) -> None:
    world, chat, first_hook = _world(pg_url)
    env = _env(pg_url)
    with running_server(env) as (base_a, _), running_server(env) as (base_b, _):
        world.attach_id, world.question_id, world.answers = _create_poll(base_a, first_hook, chat)
        logs: dict[int, UserLog] = {}
        done = asyncio.run(_load(world, [base_a, base_b], logs, time.monotonic() + LOAD_TIMEOUT))
        assert done == USERS * OPS_PER_USER
        # Re-vote and recall racing for the same users from both processes.
        racers = list(world.hooks)[:40]

        async def race() -> None:
            async with httpx.AsyncClient(timeout=10) as client:
                for uid in racers:
                    hook = world.hooks[uid]
                    replies = await asyncio.gather(
                        client.post(
                            f"{base_a}{hook}/vote.AttachedVote.vote",
                            json={"attachId": world.attach_id, "ballot": {world.question_id: [world.answers[3]]}},
                        ),
                        client.post(f"{base_b}{hook}/vote.AttachedVote.recall", json={"attachId": world.attach_id}),
                    )
                    assert all(r.status_code == 200 for r in replies)
                    logs[uid] = UserLog(confirmed=[world.answers[3]], uncertain=True, candidates=[None])

        asyncio.run(race())
        # Both processes answered votes from counters read back, not re-read: neither may serve them afterwards.
        _gets_show_the_rows(pg_url, world, [base_a, base_b])
    _check(pg_url, world, logs)


def _gets_show_the_rows(url: str, world: World, bases: list[str]) -> None:
    db = Database(url, pool_size=1)
    with db.read() as conn:
        ballots_now = conn.execute(select(votes.c.counter)).scalar_one()
        answers = {row.id: row.counter for row in conn.execute(select(vote_answers.c.id, vote_answers.c.counter))}
    db.dispose()
    hook = next(iter(world.hooks.values()))
    for base in bases:
        attach = httpx.post(
            f"{base}{hook}/vote.AttachedVote.get", json={"attachId": world.attach_id}, timeout=10
        ).json()["result"]["attach"]
        assert attach["COUNTER"] == ballots_now
        shown = attach["QUESTIONS"][world.question_id]["ANSWERS"]
        assert {int(aid): int(answer["COUNTER"]) for aid, answer in shown.items()} == answers


def test_kill_9_mid_load_loses_nothing_acknowledged(pg_url: str) -> None:
    world, chat, first_hook = _world(pg_url)
    env = _env(pg_url)
    with running_server(env) as (base_a, proc_a), running_server(env) as (base_b, _):
        world.attach_id, world.question_id, world.answers = _create_poll(base_a, first_hook, chat)
        logs: dict[int, UserLog] = {}
        killed = False

        def maybe_kill(done: int) -> None:
            nonlocal killed
            if not killed and done >= USERS * OPS_PER_USER // 3:
                os.kill(proc_a.pid, signal.SIGKILL)
                killed = True

        asyncio.run(_load(world, [base_a, base_b], logs, time.monotonic() + LOAD_TIMEOUT, maybe_kill))
        assert killed
        proc_a.wait(timeout=10)
    _check(pg_url, world, logs)
    # A restarted server sees the same state.
    with running_server(env) as (base, _):
        hook = next(iter(world.hooks.values()))
        attach = httpx.post(
            f"{base}{hook}/vote.AttachedVote.get", json={"attachId": world.attach_id}, timeout=10
        ).json()["result"]["attach"]
        db = Database(pg_url, pool_size=1)
        with db.read() as conn:
            assert attach["COUNTER"] == conn.execute(select(func.count()).select_from(ballots)).scalar_one()
        db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_acknowledged_vote_survives_kill_9(tmp_path: Path, backend: str) -> None:
    def scenario(url: str) -> None:
        world, chat, first_hook = _world(url)
        env = base_env(B24VOTE_DATABASE_URL=url, B24VOTE_RATE_LIMIT="off", B24VOTE_SECRET_KEY="k")
        with running_server(env) as (base, proc):
            attach_id, qid, answers = _create_poll(base, first_hook, chat)
            hook = world.hooks[list(world.hooks)[1]]
            resp = httpx.post(
                f"{base}{hook}/vote.AttachedVote.vote",
                timeout=10,
                json={"attachId": attach_id, "ballot": {qid: [answers[2]]}},
            )
            assert resp.status_code == 200 and resp.json()["result"]["attach"]["isVoted"] is True
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        with running_server(env) as (base, _):
            attach = httpx.post(f"{base}{hook}/vote.AttachedVote.get", json={"attachId": attach_id}, timeout=10).json()[
                "result"
            ]["attach"]
            assert attach["COUNTER"] == 1 and attach["isVoted"] is True
            assert attach["QUESTIONS"][qid]["ANSWERS"][str(answers[2])]["COUNTER"] == "1"

    if backend == "sqlite":
        scenario(f"sqlite:///{tmp_path}/durable.db")
    else:
        with fresh_pg_database() as url:
            scenario(url)


def test_migrations_from_several_processes_at_once() -> None:
    with fresh_pg_database() as url:
        env = base_env(B24VOTE_DATABASE_URL=url)
        from tests.helpers.server import BIN

        procs = [
            subprocess.Popen([str(BIN), "init"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(4)
        ]
        outputs = [p.communicate(timeout=60)[0] for p in procs]
        assert all(p.returncode == 0 for p in procs), outputs
        db = Database(url, pool_size=1)
        from b24vote.storage.migrate import current_revision, head_revision

        assert current_revision(db) == head_revision()
        db.dispose()


def test_workers_share_metrics_and_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/workers.db"
    env = base_env(B24VOTE_DATABASE_URL=url, B24VOTE_RATE_LIMIT="off")
    _, chat, first_hook = _world(url)
    with running_server(env, "--workers", "2") as (base, _):
        _create_poll(base, first_hook, chat)
        for _ in range(60):  # a new connection each time, so both workers take some
            assert httpx.post(f"{base}{first_hook}/server.time", headers={"Connection": "close"}).status_code == 200

        # Whichever worker answers the scrape, the counts are the sum over both: each worker adds its tallies
        # once a second (and before a scrape it answers), so within a second or two every scrape shows all 60.
        def scraped() -> float:
            text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
            line = next(ln for ln in text.splitlines() if ln.startswith('b24vote_requests_total{method="server.time"'))
            return float(line.rsplit(" ", 1)[1])

        deadline = time.monotonic() + 10
        while scraped() != 60.0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [scraped() for _ in range(3)] == [60.0, 60.0, 60.0]


def test_leaky_bucket_is_shared_by_two_processes(pg_url: str) -> None:
    """With Redis, the burst holds across processes: the N+1-th call from either process gets 503."""
    _, _chat, first_hook = _world(pg_url)
    env = {**_env(pg_url), "B24VOTE_RATE_LIMIT": "5/0.01"}
    with running_server(env) as (base_a, _), running_server(env) as (base_b, _):
        statuses = [
            httpx.post(f"{base}{first_hook}/server.time", timeout=10).status_code
            for base in (base_a, base_b, base_a, base_b, base_a, base_b, base_a)
        ]
    assert statuses == [200, 200, 200, 200, 200, 503, 503]


def test_one_process_on_sqlite_keeps_every_vote(tmp_path: Path) -> None:
    """The same load on the embedded default: one process, SQLite, no Redis."""
    url = f"sqlite:///{tmp_path}/load.db"
    world, chat, first_hook = _world(url)
    env = base_env(B24VOTE_DATABASE_URL=url, B24VOTE_RATE_LIMIT="off", B24VOTE_SECRET_KEY="sqlite-load")
    with running_server(env) as (base, _):
        world.attach_id, world.question_id, world.answers = _create_poll(base, first_hook, chat)
        logs: dict[int, UserLog] = {}
        done = asyncio.run(_load(world, [base], logs, time.monotonic() + LOAD_TIMEOUT))
        assert done == USERS * OPS_PER_USER
    _check(url, world, logs)
