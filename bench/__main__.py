"""``make bench``: b24vote against a bare ASGI app on the same server, scenario by scenario.

Each scenario runs a real `b24vote serve` process (rate and operating limits off) and drives it over HTTP with
wrk from a separate process (keep-alive connections, bounded in time, 127.0.0.1 only). Ratios are against the
baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import orjson

from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from bench import seed, wrk

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Row:
    name: str
    result: wrk.Result | None = None
    note: str = ""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(argv: list[str], env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen([*argv, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server {argv} did not start") from None
                time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def b24vote(url: str) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("B24VOTE_")}
    env.update(
        B24VOTE_DATABASE_URL=url,
        B24VOTE_RATE_LIMIT="off",
        B24VOTE_OPERATING_LIMIT="off",
        B24VOTE_LOG_LEVEL="warning",
        B24VOTE_SECRET_KEY="bench",  # noqa: S106 - a throw-away benchmark portal
    )
    return [str(BIN / "b24vote"), "serve", "--host", "127.0.0.1"], env


def hook(uid: int) -> str:
    return f"/rest/{uid}/{seed.code_for(uid)}"


def lua_json(value: object) -> str:
    """A Lua function returning a fixed JSON body."""
    text = orjson.dumps(value).decode().replace("\\", "\\\\").replace('"', '\\"')
    return f'function(n) return "{text}" end'


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def scenarios(base: str, world: seed.World, args: argparse.Namespace) -> list[Row]:
    """The read and write scenarios against one server, those whose name contains ``--only``."""
    common = {"duration": args.duration, "connections": args.connections}
    get = f"{hook(1)}/vote.AttachedVote.get"
    entity = "Bitrix\\Vote\\Attachment\\ImMessageConnector"
    last_start = (args.answer_voters - 1) // 50 * 50
    cmd = {f"g{i}": f"vote.AttachedVote.get?attachId={world.small.attach_id}" for i in range(50)}

    def load(path: str, body: object, expect: str) -> wrk.Result:
        return wrk.run(base, paths=[path], body_lua=lua_json(body), refuse_lua=expect, **common)

    plan: list[tuple[str, Callable[[], Row]]] = [
        (
            "get, 10 voters",
            lambda: Row("get, 10 voters", load(get, {"attachId": world.small.attach_id}, 'not body:find("attach")')),
        ),
        (
            f"get, {args.big:,} voters",
            lambda: Row(
                f"get, {args.big:,} voters", load(get, {"attachId": world.big.attach_id}, 'not body:find("attach")')
            ),
        ),
        (
            "getMany, 50 ids",
            lambda: Row(
                "getMany, 50 ids",
                load(
                    f"{hook(1)}/vote.AttachedVote.getMany",
                    {"moduleId": "im", "entityType": entity, "entityIds": [p.message_id for p in world.many]},
                    'not body:find("items")',
                ),
            ),
        ),
        *(
            (
                f"getAnswerVoted, {label} page of {args.answer_voters:,}",
                lambda label=label, start=start: Row(
                    f"getAnswerVoted, {label} page of {args.answer_voters:,}",
                    load(
                        f"{hook(1)}/vote.AttachedVote.getAnswerVoted",
                        {
                            "attachId": world.answer_poll.attach_id,
                            "answerId": world.answer_poll.answer_ids[0],
                            "start": start,
                        },
                        'not body:find("items")',
                    ),
                ),
            )
            for label, start in (("first", 0), ("last", last_start))
        ),
        (
            "batch of 50 get",
            lambda: Row("batch of 50 get", load(f"{hook(1)}/batch", {"cmd": cmd}, 'body:find("result_error\\":{")')),
        ),
        (
            "vote, distinct users (SQLite, durable)",
            lambda: vote_row(base, world, args, "vote, distinct users (SQLite, durable)"),
        ),
    ]
    return [run() for name, run in plan if args.only.lower() in name.lower()]


def vote_row(base: str, world: seed.World, args: argparse.Namespace, label: str) -> Row:
    """Each request a new voter's first ballot: a new path per request, refused replies counted as errors."""
    voters = list(range(world.voters_from, world.voters_to + 1))
    paths = [f"{hook(uid)}/vote.AttachedVote.vote" for uid in voters]
    poll = world.write_poll
    body = lua_json({"attachId": poll.attach_id, "ballot": {str(poll.question_id): [poll.answer_ids[1]]}})
    result = wrk.run(
        base,
        paths=paths,
        body_lua=body,
        refuse_lua='not body:find("isVoted\\":true")',
        duration=args.duration,
        connections=args.connections,
    )
    note = "" if result.requests <= len(voters) else f"ran out of fresh voters after {len(voters):,}"
    return Row(label, result, note)


def limit_rows(argv: list[str], env: dict[str, str], world: seed.World, args: argparse.Namespace) -> list[Row]:
    """What the limits cost: `get` with both limits on (a bucket too big to refuse), in-process and on Redis."""
    stores = [("in-process", {})]
    redis_url = os.environ.get("B24VOTE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
    stores.append(("Redis", {"B24VOTE_REDIS_URL": redis_url}))
    rows = []
    for label, extra in stores:
        name = f"get, 10 voters, limits on ({label})"
        if args.only.lower() not in name.lower():
            continue
        limited = {**env, "B24VOTE_RATE_LIMIT": "1000000000/1000000000", "B24VOTE_OPERATING_LIMIT": "480", **extra}
        with server(argv, limited) as (base, _):
            rows.append(
                Row(
                    name,
                    wrk.run(
                        base,
                        paths=[f"{hook(1)}/vote.AttachedVote.get"],
                        body_lua=lua_json({"attachId": world.small.attach_id}),
                        refuse_lua='not body:find("attach")',
                        duration=args.duration,
                        connections=args.connections,
                    ),
                    "compare with `get, 10 voters` (limits off)",
                )
            )
    return rows


def download_row(base: str, proc: subprocess.Popen[bytes], world: seed.World, args: argparse.Namespace) -> Row:
    httpx.post(f"{base}{hook(1)}/vote.AttachedVote.get", json={"attachId": world.small.attach_id}, timeout=30)
    before = rss_kib(proc.pid, "VmRSS")
    started = time.perf_counter()
    size = 0
    with httpx.stream(
        "POST",
        f"{base}{hook(1)}/vote.AttachedVote.download",
        json={"attachId": world.answer_poll.attach_id},
        timeout=120,
    ) as resp:
        for chunk in resp.iter_bytes():
            size += len(chunk)
    elapsed = time.perf_counter() - started
    peak = rss_kib(proc.pid, "VmHWM")
    grew = max(peak - before, 0) / 1024
    return Row(
        f"download, {args.answer_voters:,} voters",
        None,
        f"{elapsed:.2f} s, {size / 1e6:.1f} MB, server memory +{grew:.0f} MB (peak RSS − RSS before)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=8, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--big", type=int, default=1_000_000, help="voters of the big poll")
    parser.add_argument("--answer-voters", type=int, default=100_000)
    parser.add_argument("--fresh-voters", type=int, default=60_000, help="users for the vote scenario")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--only", default="", help="run only scenarios whose name contains this text")
    args = parser.parse_args()
    wrk.require_wrk()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="b24vote-bench-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        db = Database(url, sqlite_synchronous="NORMAL")
        migrate(db)
        began = time.perf_counter()
        world = seed.build(db, big=args.big, answer_voters=args.answer_voters, fresh_voters=args.fresh_voters)
        db.dispose()
        print(f"seeded SQLite in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        uvicorn = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.baseline:app",
            "--host",
            "127.0.0.1",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        with server(uvicorn, {**os.environ, "PYTHONPATH": str(ROOT)}) as (base, _):
            baseline = wrk.run(
                base,
                paths=["/"],
                body_lua="function(n) return nil end",
                method="GET",
                duration=args.duration,
                connections=args.connections,
            )
        rows.append(Row("baseline: bare ASGI, fixed JSON", baseline))
        argv, env = b24vote(url)
        with server(argv, env) as (base, _):
            rows.extend(scenarios(base, world, args))
        if args.only.lower() in "download":
            with server(argv, env) as (base, proc):
                rows.append(download_row(base, proc, world, args))
        rows.extend(limit_rows(argv, env, world, args))
    if not args.skip_postgres and args.only.lower() in "vote, distinct users (postgresql)":
        rows.append(postgres_row(args))
    print(render(rows, baseline, args))


def postgres_row(args: argparse.Namespace) -> Row:
    import psycopg

    admin_dsn = os.environ.get("B24VOTE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"b24vote_bench_{os.getpid()}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{admin_dsn.rsplit('/', 1)[0]}/{name}"
        db = Database(url)
        migrate(db)
        world = seed.build(db, big=0, answer_voters=10, fresh_voters=args.fresh_voters)
        db.dispose()
        argv, env = b24vote(url)
        with server(argv, env) as (base, _):
            return vote_row(base, world, args, "vote, distinct users (PostgreSQL)")
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def render(rows: list[Row], baseline: wrk.Result, args: argparse.Namespace) -> str:
    lines = [
        f"{platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"{args.connections} connections · {args.duration:.0f} s per scenario",
        "",
        "| scenario | requests/s | p50 ms | p99 ms | errors | vs baseline | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        r = row.result
        if r is None:
            lines.append(f"| {row.name} | | | | | | {row.note} |")
            continue
        ratio = r.requests_per_s / baseline.requests_per_s
        lines.append(
            f"| {row.name} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} | "
            f"{ratio:.0%} | {row.note} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
