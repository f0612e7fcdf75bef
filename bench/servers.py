"""``python -m bench.servers``: uvicorn against granian, each serving the bare app and b24vote, in one run.

An optional peer measurement (granian is not a dependency: ``pip install granian`` to run it). Three apps, each
on every server: the bare ASGI app of ``make bench`` (bench/baseline.py); b24vote itself on a small seeded SQLite
portal (``server.time`` by webhook GET, ``vote.AttachedVote.get`` of 10 voters by POST JSON); and the REST
transport alone (bench/transport_only.py). uvicorn runs as ``make bench`` runs it (uvloop, httptools, no access
log; b24vote through ``b24vote serve`` itself). granian runs the same targets through its ASGI interface (the
lifespan on), one worker, uvloop, HTTP/1 only, no access log, in each runtime variant asked for, with the
environment ``b24vote serve`` would give it.

Every row is driven by wrk (one thread, 127.0.0.1, bounded in time) at the run's connections and at one. The
servers of one app run side by side and take turns row by row, for ``--rounds`` rounds; each row keeps its best
round (on a shared machine, other load only ever slows a round down). Each ratio is against the fastest bare app
of the run at the same number of connections, so the choice of server cannot flatter it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path

import httpx2 as httpx

from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from bench import seed, wrk
from bench.__main__ import NO_BODY, ROOT, UVICORN_OPTIONS, b24vote, hook, lua_json, server

BIN = Path(sys.executable).parent
BARE, APP, TRANSPORT = "bare app", "b24vote", "REST transport alone"
# granian's runtime variants: --runtime-mode st is one Rust thread; mt with 2 runtime threads spreads the
# socket work over both cores; rust-task runs the app's coroutines as granian's own tasks, not asyncio's.
VARIANTS = {
    "st": ["--runtime-mode", "st"],
    "mt": ["--runtime-mode", "mt", "--runtime-threads", "1"],
    "mt2": ["--runtime-mode", "mt", "--runtime-threads", "2"],
    "st-rust-task": ["--runtime-mode", "st", "--task-impl", "rust"],
}
GRANIAN_OPTIONS = ["--interface", "asgi", "--workers", "1", "--loop", "uvloop", "--http", "1", "--no-access-log"]


@dataclass(frozen=True)
class Server:
    name: str
    command: Callable[[str, bool, int], list[str]]  # (app or factory, is a factory, port) -> argv


@dataclass(frozen=True)
class Load:
    app: str  # BARE, APP or TRANSPORT
    scenario: str
    connections: int
    drive: Callable[[str, int], wrk.Result]  # (base URL, connections) -> result


def uvicorn_server() -> Server:
    def command(app: str, factory: bool, port: int) -> list[str]:
        if app == APP:  # b24vote itself: `b24vote serve`, exactly as make bench starts it
            return [str(BIN / "b24vote"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        extra = ["--factory", "--proxy-headers", "--no-server-header"] if factory else []
        return [sys.executable, "-m", "uvicorn", app, *UVICORN_OPTIONS, *extra, "--port", str(port)]

    return Server("uvicorn", command)


def granian_server(variant: str) -> Server:
    def command(app: str, factory: bool, port: int) -> list[str]:
        target = "b24vote.asgi:create" if app == APP else app
        extra = ["--factory"] if factory or app == APP else []
        return [
            str(BIN / "granian"),
            *GRANIAN_OPTIONS,
            *VARIANTS[variant],
            "--log-level",
            "warning",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
            target,
        ]

    return Server(f"granian {variant}", command)


@contextmanager
def serving(argv_for: Callable[[int], list[str]], env: dict[str, str]) -> Iterator[str]:
    """The server started on a free port and answering HTTP within 60 s; stopped at the end."""
    with server(argv_for, env, public_url=True) as (base, _):
        yield base


def loads(world: seed.World, args: argparse.Namespace) -> list[Load]:
    duration = args.duration
    get_path = f"{hook(1)}/vote.AttachedVote.get"
    get_body = lua_json({"attachId": world.small.attach_id})

    def bare(base: str, connections: int) -> wrk.Result:
        return wrk.run(base, paths=["/"], body_lua=NO_BODY, method="GET", duration=duration, connections=connections)

    def server_time(base: str, connections: int) -> wrk.Result:
        path, check = f"{hook(1)}/server.time", 'not body:find("result")'
        return wrk.run(
            base,
            paths=[path],
            body_lua=NO_BODY,
            method="GET",
            refuse_lua=check,
            duration=duration,
            connections=connections,
        )

    def get(base: str, connections: int) -> wrk.Result:
        check = 'not body:find("attach")'
        return wrk.run(
            base, paths=[get_path], body_lua=get_body, refuse_lua=check, duration=duration, connections=connections
        )

    many, one = args.connections, 1
    return [
        Load(BARE, "GET /, fixed JSON", many, bare),
        Load(BARE, "GET /, fixed JSON", one, bare),
        Load(APP, "server.time, webhook GET", many, server_time),
        Load(APP, "server.time, webhook GET", one, server_time),
        Load(APP, "get, 10 voters", many, get),
        Load(APP, "get, 10 voters", one, get),
        Load(TRANSPORT, "get, 10 voters, execution memoised", many, get),
    ]


def measure(
    servers: list[Server], todo: list[Load], env: dict[str, str], world: seed.World, rounds: int
) -> dict[str, dict[tuple[str, str, int], list[wrk.Result]]]:
    """Every load on every server, ``rounds`` times: for each app all servers run at once (idle but one), and
    the servers take turns row by row, so that a burst of outside load falls on all of them alike."""
    found: dict[str, dict[tuple[str, str, int], list[wrk.Result]]] = {s.name: {} for s in servers}
    plain = {**os.environ, "PYTHONPATH": str(ROOT)}
    apps: list[tuple[str, str, bool, dict[str, str]]] = [
        (BARE, "bench.baseline:app", False, plain),
        (APP, APP, True, env),
        (TRANSPORT, "bench.transport_only:create", True, {**env, "PYTHONPATH": str(ROOT)}),
    ]
    for app, target, factory, app_env in apps:
        with ExitStack() as stack:
            bases = {
                s.name: stack.enter_context(serving(partial(s.command, target, factory), app_env)) for s in servers
            }
            if app != BARE:  # the first call warms the caches (and is the outcome transport_only reuses)
                for base in bases.values():
                    first = httpx.post(
                        f"{base}{hook(1)}/vote.AttachedVote.get", json={"attachId": world.small.attach_id}
                    )
                    first.raise_for_status()
            for number in range(rounds):
                print(f"{app}: round {number + 1} of {rounds}", file=sys.stderr)
                for load in (load for load in todo if load.app == app):
                    for name, base in bases.items():
                        key = (load.app, load.scenario, load.connections)
                        found[name].setdefault(key, []).append(load.drive(base, load.connections))
    return found


def best(results: list[wrk.Result]) -> wrk.Result:
    """The round with the most requests/s, and the lowest p50 of all rounds (each spoilt only by outside load)."""
    top = max(results, key=lambda r: r.requests_per_s)
    low = min(results, key=lambda r: r.p50_ms)
    return wrk.Result(top.requests_per_s, low.p50_ms, top.p99_ms, top.requests, sum(r.errors for r in results))


def render(table: dict[str, dict[tuple[str, str, int], wrk.Result]], todo: list[Load], args: argparse.Namespace) -> str:
    fastest = {
        n: max(rows[(BARE, load.scenario, n)].requests_per_s for rows in table.values())
        for load in todo
        if load.app == BARE
        for n in [load.connections]
    }
    fastest_p50 = {
        n: min(rows[(BARE, load.scenario, n)].p50_ms for rows in table.values())
        for load in todo
        if load.app == BARE
        for n in [load.connections]
    }
    lines = [
        f"{platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"uvicorn {metadata.version('uvicorn')} · granian {metadata.version('granian')} · "
        f"{args.duration:.0f} s per row · best of {args.rounds} rounds",
        "",
        "| server | app | scenario | conns | requests/s | p50 ms | p99 ms | errors | vs fastest bare "
        "| p50 vs fastest bare |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for load in todo:
        for name, rows in table.items():
            r = rows[(load.app, load.scenario, load.connections)]
            ratio = r.requests_per_s / fastest[load.connections]
            p50 = r.p50_ms / fastest_p50[load.connections]
            lines.append(
                f"| {name} | {load.app} | {load.scenario} | {load.connections} | {r.requests_per_s:,.0f} | "
                f"{r.p50_ms:.3f} | {r.p99_ms:.3f} | {r.errors} | {ratio:.0%} | {p50:.2f}× |"
            )
    return "\n".join(lines)


def granian_missing() -> str | None:
    try:
        metadata.version("granian")
    except metadata.PackageNotFoundError:
        return "granian is not installed: `.venv/bin/pip install granian` to measure it (not a dependency)"
    if not (BIN / "granian").exists() and shutil.which("granian") is None:
        return f"granian's command is not beside {sys.executable}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.servers", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3, help="seconds per row")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="turns each server takes; each row keeps its best")
    parser.add_argument(
        "--variants", default="st,mt2", help=f"granian runtime variants, comma-separated, of {', '.join(VARIANTS)}"
    )
    args = parser.parse_args()
    missing = granian_missing()
    if missing is not None:
        print(f"bench.servers skipped: {missing}", file=sys.stderr)
        return
    wrk.require_wrk()
    variants = [v for v in args.variants.split(",") if v]
    if unknown := [v for v in variants if v not in VARIANTS]:
        parser.error(f"unknown variant(s) {', '.join(unknown)}: choose among {', '.join(VARIANTS)}")
    servers = [uvicorn_server(), *(granian_server(v) for v in variants)]
    with tempfile.TemporaryDirectory(prefix="b24vote-servers-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        db = Database(url, sqlite_synchronous="NORMAL")
        migrate(db)
        world = seed.build(db, big=0, answer_voters=10, fresh_voters=10)
        db.dispose()
        _, env = b24vote(url)
        todo = loads(world, args)
        found = measure(servers, todo, env, world, args.rounds)
    table = {name: {key: best(results) for key, results in rows.items()} for name, rows in found.items()}
    print(render(table, todo, args))


if __name__ == "__main__":
    main()
