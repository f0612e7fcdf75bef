"""``make bench``: b24vote against a bare ASGI app on the same server, scenario by scenario, and against peers.

Each scenario runs a real `b24vote serve` process (rate and operating limits off) and drives it over HTTP with
wrk from a separate process (keep-alive connections, bounded in time, 127.0.0.1 only). Ratios are against the
baseline measured in the same run; the rows measured at one connection against the bare app at one connection.
Peers measured in the same run: the REST transport alone (bench/transport_only.py), Stoplight Prism serving the
documented `get` example (bench/prism_mock.py), and a bare `INSERT … RETURNING` route on PostgreSQL
(bench/pg_insert.py). The targets (bench/targets.py) are printed under the table.
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
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import orjson

from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from bench import prism_mock, seed, targets, wrk

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

BASELINE = "baseline: bare ASGI, fixed JSON"
# The bare app is also served through b24vote's own HTTP protocol (uvicorn's, with one write per response):
# the baseline is whichever of the two is faster, so the server b24vote runs on cannot flatter the ratios.
BARE_OWN_PROTOCOL = "bare ASGI on b24vote's HTTP protocol"
OWN_PROTOCOL = ["--http", "b24vote.cli.http_protocol:DeadlineProtocol"]
ONE = "1 connection: "  # the prefix of the one-connection rows (what a test suite calling one at a time sees)
GET = "get, 10 voters"
VOTE = "vote, distinct users (SQLite, durable)"
VOTE_PG = "vote, distinct users (PostgreSQL)"
BARE_INSERT = "bare INSERT … RETURNING (PostgreSQL)"
TRANSPORT = "REST transport alone (get, 10 voters, execution memoised)"
SERVER_TIME_POST = "server.time, webhook POST"
SERVER_TIME_GET = "server.time, webhook GET"
PRISM = "Prism mock, documented get example"
ONE_CONNECTION = [BASELINE, GET, VOTE, PRISM]
# uvicorn as `b24vote serve` runs it (b24vote/cli/serve.py), for the apps bench/ serves itself.
UVICORN_OPTIONS = [
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


@dataclass
class Row:
    name: str
    result: wrk.Result | None = None
    note: str = ""
    against: wrk.Result | None = None  # the ratio's base, when it is not the run's baseline
    figures: dict[str, float] = field(default_factory=dict)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(
    argv: list[str] | Callable[[int], list[str]], env: dict[str, str], *, public_url: bool = False
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``argv --port N`` (or ``argv(N)``) started and answering HTTP (any status) within 60 s; stopped at the end.

    ``public_url``: ``B24VOTE_PUBLIC_URL`` set to the server's address, as `b24vote serve` sets it when unset.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = argv(port) if callable(argv) else [*argv, "--port", str(port)]
    if public_url:
        env = {**env, "B24VOTE_PUBLIC_URL": base}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server {command} did not start") from None
                time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def uvicorn(app: str, *, factory: bool = False, own_protocol: bool = False) -> list[str]:
    """A bench/ ASGI app served by uvicorn with `b24vote serve`'s options (its HTTP protocol: ``own_protocol``)."""
    extra = ["--factory", "--proxy-headers", "--no-server-header"] if factory else []
    options = UVICORN_OPTIONS
    if own_protocol:
        at = options.index("--http")
        options = [*options[:at], *OWN_PROTOCOL, *options[at + 2 :]]
    return [sys.executable, "-m", "uvicorn", app, *options, *extra]


def serve_env(url: str, **settings: str) -> dict[str, str]:
    """This process's environment without its ``B24VOTE_*`` settings, and those of a benchmark portal on ``url``:
    limits off, quiet logs, a throw-away secret (``settings``: more of them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("B24VOTE_")}
    env.update(
        B24VOTE_DATABASE_URL=url,
        B24VOTE_RATE_LIMIT="off",
        B24VOTE_OPERATING_LIMIT="off",
        B24VOTE_LOG_LEVEL="warning",
        B24VOTE_SECRET_KEY="bench",  # noqa: S106 - a throw-away benchmark portal
        **settings,
    )
    return env


def b24vote(url: str) -> tuple[list[str], dict[str, str]]:
    # FULL is the default, said here: every acknowledged vote is fsynced.
    env = serve_env(url, B24VOTE_SQLITE_SYNCHRONOUS="FULL")
    return [str(BIN / "b24vote"), "serve", "--host", "127.0.0.1"], env


def hook(uid: int) -> str:
    return f"/rest/{uid}/{seed.code_for(uid)}"


def lua_json(value: object) -> str:
    """A Lua function returning a fixed JSON body."""
    text = orjson.dumps(value).decode().replace("\\", "\\\\").replace('"', '\\"')
    return f'function(n) return "{text}" end'


NO_BODY = "function(n) return nil end"


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def wanted(args: argparse.Namespace, name: str) -> bool:
    return args.only.lower() in name.lower()


def one_connection_wanted(args: argparse.Namespace) -> bool:
    return any(wanted(args, ONE + name) for name in ONE_CONNECTION[1:])


def vote_voters(world: seed.World) -> tuple[range, range]:
    """The fresh voters split between the vote at the run's connections (3/4) and at one connection (1/4)."""
    split = world.voters_from + (world.voters_to - world.voters_from + 1) * 3 // 4
    return range(world.voters_from, split), range(split, world.voters_to + 1)


def get_load(base: str, attach_id: int, args: argparse.Namespace, connections: int) -> wrk.Result:
    return wrk.run(
        base,
        paths=[f"{hook(1)}/vote.AttachedVote.get"],
        body_lua=lua_json({"attachId": attach_id}),
        refuse_lua='not body:find("attach")',
        duration=args.duration,
        connections=connections,
    )


def scenarios(base: str, world: seed.World, args: argparse.Namespace, bare_one: wrk.Result | None) -> list[Row]:
    """The read and write scenarios against one server, those whose name contains ``--only``."""
    common = {"duration": args.duration, "connections": args.connections}
    entity = "Bitrix\\Vote\\Attachment\\ImMessageConnector"
    last_start = (args.answer_voters - 1) // 50 * 50
    cmd = {f"g{i}": f"vote.AttachedVote.get?attachId={world.small.attach_id}" for i in range(50)}
    many_voters, one_voters = vote_voters(world)
    time_path = f"{hook(1)}/server.time"

    def load(path: str, body: object, expect: str) -> wrk.Result:
        return wrk.run(base, paths=[path], body_lua=lua_json(body), refuse_lua=expect, **common)

    plan: list[tuple[str, Callable[[str], Row]]] = [
        (GET, lambda name: Row(name, get_load(base, world.small.attach_id, args, args.connections))),
        (
            f"get, {args.big:,} voters",
            lambda name: Row(name, get_load(base, world.big.attach_id, args, args.connections)),
        ),
        (
            "getMany, 50 ids",
            lambda name: Row(
                name,
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
                lambda name, start=start: Row(
                    name,
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
            lambda name: Row(name, load(f"{hook(1)}/batch", {"cmd": cmd}, 'body:find("result_error\\":{")')),
        ),
        (VOTE, lambda name: vote_row(base, world, many_voters, args, name, args.connections)),
        (SERVER_TIME_POST, lambda name: Row(name, load(time_path, {}, 'not body:find("result")'))),
        (
            SERVER_TIME_GET,
            lambda name: Row(
                name,
                wrk.run(
                    base,
                    paths=[time_path],
                    body_lua=NO_BODY,
                    method="GET",
                    refuse_lua='not body:find("result")',
                    **common,
                ),
            ),
        ),
        (
            ONE + GET,
            lambda name: Row(name, get_load(base, world.small.attach_id, args, 1), against=bare_one),
        ),
        (ONE + VOTE, lambda name: vote_row(base, world, one_voters, args, name, 1, against=bare_one)),
    ]
    return [run(name) for name, run in plan if wanted(args, name)]


def vote_row(
    base: str,
    world: seed.World,
    voters: range,
    args: argparse.Namespace,
    label: str,
    connections: int,
    against: wrk.Result | None = None,
) -> Row:
    """Each request a new voter's first ballot: a new path per request, refused replies counted as errors."""
    paths = [f"{hook(uid)}/vote.AttachedVote.vote" for uid in voters]
    poll = world.write_poll
    body = lua_json({"attachId": poll.attach_id, "ballot": {str(poll.question_id): [poll.answer_ids[1]]}})
    result = wrk.run(
        base,
        paths=paths,
        body_lua=body,
        refuse_lua='not body:find("isVoted\\":true")',
        duration=args.duration,
        connections=connections,
    )
    note = "" if result.requests <= len(voters) else f"ran out of fresh voters after {len(voters):,}"
    return Row(label, result, note, against)


def transport_row(env: dict[str, str], world: seed.World, args: argparse.Namespace) -> Row:
    """`get, 10 voters`'s requests on b24vote with each method's execution memoised (bench/transport_only.py)."""
    with server(
        uvicorn("bench.transport_only:create", factory=True, own_protocol=True), {**env, "PYTHONPATH": str(ROOT)}
    ) as (base, _):
        first = httpx.post(
            f"{base}{hook(1)}/vote.AttachedVote.get", json={"attachId": world.small.attach_id}, timeout=30
        )
        first.raise_for_status()  # the outcome every later call reuses
        return Row(
            TRANSPORT,
            get_load(base, world.small.attach_id, args, args.connections),
            "compare with `get, 10 voters`: the difference is the method's execution",
        )


def limit_rows(argv: list[str], env: dict[str, str], world: seed.World, args: argparse.Namespace) -> list[Row]:
    """What the limits cost: `get` with both limits on (a bucket too big to refuse), in-process and on Redis."""
    stores: list[tuple[str, dict[str, str]]] = [("in-process", {})]
    redis_url = os.environ.get("B24VOTE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
    stores.append(("Redis", {"B24VOTE_REDIS_URL": redis_url}))
    rows = []
    for label, extra in stores:
        name = f"get, 10 voters, limits on ({label})"
        if not wanted(args, name):
            continue
        limited = {**env, "B24VOTE_RATE_LIMIT": "1000000000/1000000000", "B24VOTE_OPERATING_LIMIT": "480", **extra}
        with server(argv, limited) as (base, _):
            rows.append(
                Row(
                    name,
                    get_load(base, world.small.attach_id, args, args.connections),
                    "compare with `get, 10 voters` (limits off)",
                )
            )
    return rows


def prism_rows(args: argparse.Namespace, folder: Path, bare_one: wrk.Result | None) -> list[Row]:
    """Stoplight Prism answering the documented `get` example, at the run's connections and at one."""
    names = [name for name in (PRISM, ONE + PRISM) if wanted(args, name)]
    if not names:
        return []
    specs = prism_mock.method_specs()
    if not prism_mock.PRISM.exists():
        return [
            Row(name, None, "not measured: Prism not installed (make bench runs npm ci in bench/prism)")
            for name in names
        ]
    if specs is None:
        missing = "not measured: the reference's method specs not found (../shared/reference or B24VOTE_REFERENCE)"
        return [Row(name, None, missing) for name in names]
    openapi = prism_mock.write_document(folder, specs)
    path = "/rest/1/" + seed.code_for(1) + "/vote.AttachedVote.get"
    rows = []
    with server(prism_mock.command(openapi), dict(os.environ)) as (base, _):
        httpx.post(base + path, json={"attachId": 1}, timeout=30).raise_for_status()
        for name in names:
            one = name.startswith(ONE)
            result = wrk.run(
                base,
                paths=[path],
                body_lua=lua_json({"attachId": 1}),
                refuse_lua='not body:find("attach")',
                duration=args.duration,
                connections=1 if one else args.connections,
            )
            rows.append(Row(name, result, against=bare_one if one else None))
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
        download_name(args),
        None,
        f"{elapsed:.2f} s, {size / 1e6:.1f} MB, server memory +{grew:.0f} MB (peak RSS − RSS before)",
        figures={"seconds": elapsed, "grew_mb": grew},
    )


def download_name(args: argparse.Namespace) -> str:
    return f"download, {args.answer_voters:,} voters"


def bare_load(base: str, args: argparse.Namespace, connections: int) -> wrk.Result:
    return wrk.run(base, paths=["/"], body_lua=NO_BODY, method="GET", duration=args.duration, connections=connections)


def bare_rows(args: argparse.Namespace) -> tuple[wrk.Result, wrk.Result | None, tuple[str, Row]]:
    """The bare app on uvicorn's protocol and on b24vote's: the faster one's results (32 connections, one), the
    baseline's note, and the slower one's row."""
    measured = []
    for own in (False, True):
        with server(uvicorn("bench.baseline:app", own_protocol=own), {**os.environ, "PYTHONPATH": str(ROOT)}) as (
            base,
            _,
        ):
            many = bare_load(base, args, args.connections)
            one = bare_load(base, args, 1) if one_connection_wanted(args) else None
        measured.append((many, one, own))
    measured.sort(key=lambda m: m[0].requests_per_s, reverse=True)
    (fast, fast_one, own), (slow, slow_one, _) = measured
    served = "b24vote's HTTP protocol" if own else "uvicorn's httptools protocol"
    other = BARE_OWN_PROTOCOL if not own else "bare ASGI on uvicorn's httptools protocol"
    note = f"on {served}, the faster of the two"
    slower = f"1 connection p50 {slow_one.p50_ms:.3f} ms" if slow_one is not None else ""
    return fast, fast_one, (note, Row(other, slow, slower))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=8, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--big", type=int, default=1_000_000, help="voters of the big poll")
    parser.add_argument("--answer-voters", type=int, default=100_000)
    parser.add_argument("--fresh-voters", type=int, default=60_000, help="users for the vote scenarios")
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
        baseline, bare_one, other = bare_rows(args)
        rows.append(Row(BASELINE, baseline, other[0]))
        if bare_one is not None:
            rows.append(Row(ONE + BASELINE, bare_one, against=bare_one))
        rows.append(other[1])
        argv, env = b24vote(url)
        with server(argv, env) as (base, _):
            rows.extend(scenarios(base, world, args, bare_one))
        if wanted(args, TRANSPORT):
            rows.append(transport_row(env, world, args))
        if wanted(args, download_name(args)):
            with server(argv, env) as (base, proc):
                rows.append(download_row(base, proc, world, args))
        rows.extend(limit_rows(argv, env, world, args))
        rows.extend(prism_rows(args, Path(tmp), bare_one))
    if not args.skip_postgres and (wanted(args, VOTE_PG) or wanted(args, BARE_INSERT)):
        rows.extend(postgres_rows(args))
    print(render(rows, baseline, args))


PG_ADMIN = os.environ.get("B24VOTE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database on the bench server (``B24VOTE_BENCH_PG``), its URL; dropped at the end."""
    import psycopg

    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def vote_world(url: str, fresh_voters: int) -> seed.World:
    """The migrated database at ``url`` seeded for the vote rows only (no big polls)."""
    db = Database(url)
    migrate(db)
    world = seed.build(db, big=0, answer_voters=10, fresh_voters=fresh_voters)
    db.dispose()
    return world


def postgres_rows(args: argparse.Namespace) -> list[Row]:
    """`vote` on PostgreSQL and, on the same database in the same minutes, the bare `INSERT … RETURNING` route."""
    import psycopg

    from bench.pg_insert import CREATE_TABLE

    rows = []
    with postgres_database("b24vote_bench") as url:
        if wanted(args, VOTE_PG):
            world = vote_world(url, args.fresh_voters)
            argv, env = b24vote(url)
            with server(argv, env) as (base, _):
                voters = range(world.voters_from, world.voters_to + 1)
                rows.append(vote_row(base, world, voters, args, VOTE_PG, args.connections))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(CREATE_TABLE)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "B24VOTE_BENCH_INSERT_URL": url}
        with server(uvicorn("bench.pg_insert:create", factory=True, own_protocol=True), env) as (base, _):
            result = wrk.run(
                base,
                paths=["/"],
                body_lua='function(n) return "{\\"user\\":" .. n .. "}" end',
                refuse_lua='not body:find("result")',
                duration=args.duration,
                connections=args.connections,
            )
        rows.append(Row(BARE_INSERT, result, "one row per request, each its own transaction"))
    return rows


def names(args: argparse.Namespace) -> targets.Names:
    return targets.Names(
        baseline=BASELINE,
        transport=TRANSPORT,
        server_time=SERVER_TIME_POST,
        get=GET,
        get_big=f"get, {args.big:,} voters",
        get_redis="get, 10 voters, limits on (Redis)",
        prism=PRISM,
        vote=VOTE,
        vote_postgres=VOTE_PG,
        bare_insert=BARE_INSERT,
        answer_first=f"getAnswerVoted, first page of {args.answer_voters:,}",
        answer_last=f"getAnswerVoted, last page of {args.answer_voters:,}",
    )


def _ms(value: float) -> str:
    """Milliseconds with wrk's microsecond resolution kept below 1 ms (the one-connection rows)."""
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def annotate(rows: list[Row]) -> None:
    """The notes that compare a row with another of the same run."""
    by_name = {row.name: row.result for row in rows if row.result is not None}
    get = by_name.get(GET)
    for row in rows:
        r = row.result
        if r is None:
            continue
        if row.name.startswith(ONE) and row.against is not None and row.name != ONE + BASELINE:
            row.note = _join(row.note, f"p50 {r.p50_ms / row.against.p50_ms:.1f}× the bare app's at 1 connection")
        if row.name == PRISM and get is not None:
            row.note = _join(
                row.note, f"`{GET}` serves {get.requests_per_s / r.requests_per_s:.2f}× Prism's requests/s"
            )
        if row.name == ONE + PRISM and (one_get := by_name.get(ONE + GET)) is not None:
            row.note = _join(row.note, f"{r.p50_ms / one_get.p50_ms:.1f}× the p50 of `{ONE + GET}`")
        if row.name == VOTE_PG and (bare := by_name.get(BARE_INSERT)) is not None:
            ratio = r.requests_per_s / bare.requests_per_s
            row.note = _join(row.note, f"{ratio:.2f}× the bare INSERT … RETURNING route")


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


def render(rows: list[Row], baseline: wrk.Result, args: argparse.Namespace) -> str:
    annotate(rows)
    lines = [
        f"{platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"{args.connections} connections (the '{ONE}' rows: one, against the bare app at one) · "
        f"{args.duration:.0f} s per scenario",
        "",
        "| scenario | requests/s | p50 ms | p99 ms | errors | vs baseline | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        r = row.result
        if r is None:
            lines.append(f"| {row.name} | | | | | | {row.note} |")
            continue
        ratio = r.requests_per_s / (row.against or baseline).requests_per_s
        lines.append(
            f"| {row.name} | {r.requests_per_s:,.0f} | {_ms(r.p50_ms)} | {_ms(r.p99_ms)} | {r.errors} | "
            f"{ratio:.0%} | {row.note} |"
        )
    by_name = {row.name: row for row in rows}
    download = by_name.get(download_name(args))
    one = [by_name.get(ONE + name) for name in ONE_CONNECTION]
    p50s = ["—" if row is None or row.result is None else f"{_ms(row.result.p50_ms)} ms" for row in one]
    extra: list[tuple[str, str, bool | None]] = [
        (
            f"`{download_name(args)}` < 5 s, server memory + < 100 MB",
            f"{download.figures['seconds']:.2f} s, +{download.figures['grew_mb']:.0f} MB" if download else "",
            None if download is None else download.figures["seconds"] < 5 and download.figures["grew_mb"] < 100,
        ),
        (
            "one connection (a test suite calling one at a time): p50 of the bare app / `get` / durable `vote` / Prism",
            "" if set(p50s) == {"—"} else " / ".join(p50s),
            None,
        ),
        *(
            (
                f"one connection: `{name}` p50 ≤ {limit_ms} ms",
                "" if row is None or row.result is None else f"{_ms(row.result.p50_ms)} ms",
                None if row is None or row.result is None else row.result.p50_ms <= limit_ms,
            )
            for name, limit_ms, row in ((GET, 0.15, by_name.get(ONE + GET)), (VOTE, 0.8, by_name.get(ONE + VOTE)))
        ),
    ]

    def result_of(name: str) -> wrk.Result | None:
        found = by_name.get(name)
        return None if found is None else found.result

    lines += ["", "Targets (each from rows of this run)", "", *targets.render(names(args), result_of, extra)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
