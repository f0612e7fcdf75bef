"""``python -m bench.soak``: a long mixed load, sampled every interval, against each production shape.

Backends: SQLite with one `b24vote serve` process, and PostgreSQL + Redis with `serve --workers 2` (a fresh
database on ``B24VOTE_BENCH_PG``'s server and a private redis-server on a free port). The load is paced at a
fixed rate from this process: ``get``, ``vote``, ``recall``, ``getAnswerVoted`` and the results page, with a
few results-page event streams open all the time (each reopened every 30 s). Every interval the server's
process tree is sampled: RSS, open file descriptors, database connections, and the p99 of the calls of that
interval.

Targets (issue 23): no errors; RSS after warm-up grows < 10 %; file descriptors and database connections do
not grow; the p99 of the worst interval after warm-up is < 2 × that of the first. ``--slow-clients`` also
measures what hundreds of idle connections and trickled uploads cost normal calls (p99 without and with).
``--svg FILE`` draws the samples. Every loop is bounded by ``--duration``; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import statistics
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

from bench import seed
from bench.__main__ import serve_env

BIN = Path(sys.executable).parent / "b24vote"
STREAMS = 8  # results-page event streams kept open
STREAM_SECONDS = 30.0  # each is reopened after this long
MIX = (("get", 40), ("vote", 22), ("recall", 8), ("getAnswerVoted", 15), ("page", 15))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class World:
    hooks: dict[int, str]
    attach_id: int = 0
    question_id: str = ""
    answers: list[int] = field(default_factory=list)
    result_url: str = ""


def make_world(url: str, users: int) -> World:
    hooks, chat = seed.voters_in_chat(url, users, name="Soak", scopes=["vote", "im"])
    world = World(hooks)
    world.attach_id = chat  # replaced by make_poll; the chat id is needed once
    return world


def make_poll(base: str, world: World, chat: int) -> None:
    hook = next(iter(world.hooks.values()))
    # Public: getAnswerVoted lists the voters.
    attach = seed.post_chat_poll(base, hook, chat, question="Soak?", anonymity=2)
    ((qid, question),) = attach["QUESTIONS"].items()
    world.attach_id, world.question_id = attach["ID"], qid
    world.answers = [int(a) for a in question["ANSWERS"]]
    world.result_url = attach["resultUrl"]


# --- the server and what it holds ----------------------------------------------------------------------------


@contextmanager
def serve(env: dict[str, str], *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), *extra], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers and multiprocessing helpers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def open_fds(pids: list[int], target: str | None = None) -> int:
    """Open descriptors of ``pids``; only those of the file ``target`` when given."""
    count = 0
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                if target is None:
                    count += 1
                    continue
                try:
                    if str(fd.readlink()) == target:
                        count += 1
                except OSError:
                    continue
        except OSError:
            continue
    return count


@dataclass
class Backend:
    name: str
    url: str
    env: dict[str, str]
    extra: tuple[str, ...]
    connections: Callable[[list[int]], int]  # the server's process tree -> database connections it holds


def sqlite_backend(folder: Path) -> Backend:
    path = folder / "soak.db"
    url = f"sqlite:///{path}"
    # SQLite's connections are the server's open descriptors of the database file.
    return Backend("SQLite, 1 process", url, serve_env(url), (), lambda pids: open_fds(pids, str(path)))


@contextmanager
def private_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed for the PostgreSQL + Redis run (or pass --backends sqlite)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the load ---------------------------------------------------------------------------------------------------


@dataclass
class Calls:
    """Latencies by interval, and every error."""

    window: list[float] = field(default_factory=list)
    count: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def take(self) -> list[float]:
        taken, self.window = self.window, []
        return taken


async def call_loop(
    client: httpx.AsyncClient, base: str, world: World, calls: Calls, rate: float, workers: int, until: float
) -> None:
    rng = random.Random()
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    pause = workers / rate
    uids = list(world.hooks)
    while time.monotonic() < until:
        started = time.monotonic()
        kind = rng.choice(kinds)
        uid = rng.choice(uids)
        hook = world.hooks[uid]
        try:
            if kind == "page":
                resp = await client.get(f"{base}{world.result_url}")
                ok = resp.status_code == 200 and b"<html" in resp.content[:200].lower()
            else:
                params: dict[str, object] = {"attachId": world.attach_id}
                if kind == "vote":
                    params["ballot"] = {world.question_id: [rng.choice(world.answers)]}
                if kind == "getAnswerVoted":
                    params["answerId"] = rng.choice(world.answers)
                resp = await client.post(f"{base}{hook}/vote.AttachedVote.{kind}", json=params)
                ok = resp.status_code == 200 and "error" not in resp.json()
            if not ok:
                calls.error(f"{kind} HTTP {resp.status_code}")
        except httpx.TransportError as exc:
            calls.error(f"{kind} {type(exc).__name__}")
        took = time.monotonic() - started
        calls.window.append(took)
        calls.count += 1
        await asyncio.sleep(max(0.0, pause - took))


async def stream_loop(base: str, world: World, calls: Calls, until: float) -> None:
    """A results-page event stream, reopened every STREAM_SECONDS."""
    while time.monotonic() < until:
        try:
            async with (
                httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as client,
                client.stream("GET", f"{base}{world.result_url}/events") as resp,
            ):
                if resp.status_code != 200:
                    calls.error(f"stream HTTP {resp.status_code}")
                    await asyncio.sleep(1)
                    continue
                ends = min(until, time.monotonic() + STREAM_SECONDS)
                async for _ in resp.aiter_lines():
                    if time.monotonic() > ends:
                        break
        except httpx.TransportError as exc:
            calls.error(f"stream {type(exc).__name__}")
            await asyncio.sleep(1)


@dataclass
class Sample:
    at: float
    rss_mib: float
    fds: int
    db_connections: int
    p99_ms: float
    calls: int


async def soak(
    base: str, proc: subprocess.Popen[bytes], world: World, backend: Backend, args: argparse.Namespace
) -> tuple[list[Sample], Calls]:
    calls = Calls()
    began = time.monotonic()
    until = began + args.duration
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    samples: list[Sample] = []
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        tasks = [
            asyncio.create_task(call_loop(client, base, world, calls, args.rate, args.concurrency, until))
            for _ in range(args.concurrency)
        ]
        tasks += [asyncio.create_task(stream_loop(base, world, calls, until)) for _ in range(STREAMS)]
        next_at = began + args.interval
        while time.monotonic() < until:
            await asyncio.sleep(max(0.0, min(next_at, until) - time.monotonic()))
            pids = tree(proc.pid)
            window = calls.take()
            p99 = statistics.quantiles(window, n=100)[98] * 1000 if len(window) >= 2 else 0.0
            samples.append(
                Sample(
                    time.monotonic() - began,
                    rss_mib(pids),
                    open_fds(pids),
                    backend.connections(pids),
                    p99,
                    len(window),
                )
            )
            print(f"  {backend.name}: {_line(samples[-1])}", file=sys.stderr)
            next_at += args.interval
        await asyncio.gather(*tasks)
    return samples, calls


def _line(s: Sample) -> str:
    return (
        f"t={s.at:5.0f}s rss={s.rss_mib:6.1f} MiB fds={s.fds:4d} db={s.db_connections:3d} "
        f"p99={s.p99_ms:6.1f} ms n={s.calls}"
    )


@dataclass
class Verdict:
    backend: str
    samples: list[Sample]
    calls: Calls
    warmup: float
    interval: float

    def after(self) -> list[Sample]:
        """The samples whose interval began after the warm-up."""
        kept = [s for s in self.samples if s.at - self.interval >= self.warmup - 0.5]
        return kept or self.samples[-1:]

    def figures(self) -> dict[str, float]:
        after = self.after()
        first, last = after[0], after[-1]
        return {
            "calls": float(self.calls.count),
            "errors": float(sum(self.calls.errors.values())),
            "rss_growth_pct": (last.rss_mib - first.rss_mib) / first.rss_mib * 100 if first.rss_mib else 0.0,
            "fd_growth": float(last.fds - first.fds),
            "db_growth": float(last.db_connections - first.db_connections),
            "p99_first_ms": first.p99_ms,
            "p99_worst_ms": max(s.p99_ms for s in after),
            "p99_drift": max(s.p99_ms for s in after) / first.p99_ms if first.p99_ms else 0.0,
        }

    def met(self) -> dict[str, bool]:
        f = self.figures()
        return {
            "0 errors": f["errors"] == 0,
            "RSS growth < 10 %": f["rss_growth_pct"] < 10,
            # Last sample against the first after warm-up; a stream or pooled connection caught mid-reopen is jitter.
            "no fd growth": f["fd_growth"] <= 2,
            "no connection growth": f["db_growth"] <= 2,
            "p99 drift < 2x": f["p99_drift"] < 2,
        }


def run_backend(backend: Backend, args: argparse.Namespace) -> Verdict:
    world = make_world(backend.url, args.users)
    chat = world.attach_id
    with serve(backend.env, *backend.extra) as (base, proc):
        make_poll(base, world, chat)
        samples, calls = asyncio.run(soak(base, proc, world, backend, args))
    if calls.errors:
        print(f"  {backend.name} errors: {calls.errors}", file=sys.stderr)
    return Verdict(backend.name, samples, calls, args.warmup, args.interval)


# --- idle and slow clients --------------------------------------------------------------------------------------


async def _p99_of_gets(base: str, path: str, body: bytes, seconds: float, rate: float) -> tuple[float, int]:
    took: list[float] = []
    errors = 0
    until = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                resp = await client.post(base + path, content=body, headers={"content-type": "application/json"})
                errors += resp.status_code != 200
            except httpx.TransportError:
                errors += 1
            took.append(time.monotonic() - started)
            await asyncio.sleep(max(0.0, 1 / rate - took[-1]))
    return statistics.quantiles(took, n=100)[98] * 1000, errors


async def _slow_crowd(port: int, path: str, body: bytes, idle: int, trickles: int, until: float) -> None:
    """``idle`` connections that never send a byte and ``trickles`` uploads one byte every 0.2 s, kept up."""
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(idle)]
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"

    async def trickle() -> None:
        while time.monotonic() < until:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(head.encode())
                for byte in body:
                    if time.monotonic() > until:
                        break
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.2)
                await asyncio.wait_for(reader.read(65536), 10)
            except (ConnectionError, TimeoutError):
                pass
            finally:
                writer.close()

    await asyncio.gather(*(trickle() for _ in range(trickles)))
    for _, writer in held:
        writer.close()


def slow_clients(folder: Path, args: argparse.Namespace) -> list[str]:
    backend = sqlite_backend(folder / "slow")
    world = make_world(backend.url, 10)
    chat = world.attach_id
    with serve(backend.env) as (base, _):
        make_poll(base, world, chat)
        path = f"{next(iter(world.hooks.values()))}/vote.AttachedVote.get"
        body = orjson.dumps({"attachId": world.attach_id})
        port = int(base.rsplit(":", 1)[1])
        seconds = args.slow_seconds

        async def both() -> tuple[tuple[float, int], tuple[float, int]]:
            alone = await _p99_of_gets(base, path, body, seconds, 200)
            crowd = asyncio.create_task(
                _slow_crowd(port, path, body, args.idle, args.trickles, time.monotonic() + seconds + 2)
            )
            await asyncio.sleep(1)
            crowded = await _p99_of_gets(base, path, body, seconds, 200)
            await crowd
            return alone, crowded

        (p99_alone, err_alone), (p99_crowded, err_crowded) = asyncio.run(both())
    return [
        f"| get alone | {p99_alone:.1f} | {err_alone} |",
        f"| get with {args.idle} idle connections and {args.trickles} trickled uploads | {p99_crowded:.1f} "
        f"| {err_crowded} |",
    ]


# --- report -----------------------------------------------------------------------------------------------------


def render(verdicts: list[Verdict], args: argparse.Namespace) -> str:
    lines = [
        f"{os.cpu_count()} CPUs · {args.duration:.0f} s per backend · {args.rate:.0f} calls/s target · "
        f"{args.concurrency} clients + {STREAMS} event streams · samples every {args.interval:.0f} s · "
        f"warm-up {args.warmup:.0f} s",
        "",
        "| backend | calls | errors | RSS growth | fd growth | DB conn. growth | p99 first → worst | drift | targets |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for v in verdicts:
        f = v.figures()
        met = v.met()
        missed = [name for name, ok in met.items() if not ok]
        lines.append(
            f"| {v.backend} | {f['calls']:,.0f} | {f['errors']:.0f} | {f['rss_growth_pct']:+.1f} % | "
            f"{f['fd_growth']:+.0f} | {f['db_growth']:+.0f} | {f['p99_first_ms']:.1f} → {f['p99_worst_ms']:.1f} ms | "
            f"{f['p99_drift']:.2f}× | {'all met' if not missed else 'missed: ' + ', '.join(missed)} |"
        )
    return "\n".join(lines)


def svg(verdicts: list[Verdict], path: Path) -> None:
    """One small chart per measure (RSS, fds, DB connections, p99), a line per backend; hand-written SVG."""
    measures = (
        ("RSS, MiB", "rss_mib"),
        ("open fds", "fds"),
        ("DB connections", "db_connections"),
        ("p99, ms", "p99_ms"),
    )
    colours = ("#1f77b4", "#d62728", "#2ca02c")
    width, height, pad = 320, 180, 36
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * 2}" height="{height * 2 + 24}" '
        'font-family="sans-serif" font-size="11">'
    ]
    for index, (title, attr) in enumerate(measures):
        x0, y0 = (index % 2) * width, (index // 2) * height
        values = [getattr(s, attr) for v in verdicts for s in v.samples] or [0]
        top = max(values) * 1.1 or 1
        span = max((s.at for v in verdicts for s in v.samples), default=1) or 1
        parts.append(f'<text x="{x0 + pad}" y="{y0 + 14}" font-weight="bold">{title}</text>')
        parts.append(
            f'<rect x="{x0 + pad}" y="{y0 + 20}" width="{width - pad - 10}" height="{height - 50}" '
            'fill="none" stroke="#999"/>'
        )
        parts.append(
            f'<text x="{x0 + 2}" y="{y0 + 28}">{top:.0f}</text><text x="{x0 + 2}" y="{y0 + height - 30}">0</text>'
        )
        for colour, v in zip(colours, verdicts, strict=False):
            points = " ".join(
                f"{x0 + pad + s.at / span * (width - pad - 10):.1f},"
                f"{y0 + 20 + (1 - getattr(s, attr) / top) * (height - 50):.1f}"
                for s in v.samples
            )
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        parts.append(f'<text x="{x0 + width - 60}" y="{y0 + height - 16}">{span:.0f} s</text>')
    for i, (colour, v) in enumerate(zip(colours, verdicts, strict=False)):
        parts.append(f'<text x="{10 + i * 220}" y="{height * 2 + 16}" fill="{colour}">■ {v.backend}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load per backend (issue 23: 600)")
    parser.add_argument("--interval", type=float, default=10, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=60, help="seconds left out of the growth and drift figures")
    parser.add_argument("--rate", type=float, default=150, help="calls per second, all clients together")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--svg", type=Path, help="write a chart of the samples here")
    parser.add_argument("--slow-clients", action="store_true", help="also: p99 of get with and without slow clients")
    parser.add_argument("--slow-seconds", type=float, default=20)
    parser.add_argument("--idle", type=int, default=300)
    parser.add_argument("--trickles", type=int, default=30)
    args = parser.parse_args()
    chosen = [b.strip() for b in args.backends.split(",") if b.strip()]
    verdicts: list[Verdict] = []
    with tempfile.TemporaryDirectory(prefix="b24vote-soak-") as tmp:
        folder = Path(tmp)
        if "sqlite" in chosen:
            verdicts.append(run_backend(sqlite_backend(folder), args))
        if "postgresql" in chosen:
            verdicts.append(postgres_run(args))
        slow = slow_clients(folder, args) if args.slow_clients else []
    print(render(verdicts, args))
    if slow:
        print("\n| normal calls | p99 ms | errors |\n| --- | ---: | ---: |")
        print("\n".join(slow))
    if args.svg:
        svg(verdicts, args.svg)
        print(f"\nchart: {args.svg}", file=sys.stderr)


def postgres_run(args: argparse.Namespace) -> Verdict:
    import psycopg

    admin_dsn = os.environ.get("B24VOTE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"b24vote_soak_{os.getpid()}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{admin_dsn.rsplit('/', 1)[0]}/{name}"

        def connections(pids: list[int]) -> int:
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()
            return int(row[0]) if row else 0

        with private_redis() as redis_url:
            env = {**serve_env(url), "B24VOTE_REDIS_URL": redis_url}
            return run_backend(
                Backend("PostgreSQL + Redis, 2 workers", url, env, ("--workers", "2"), connections), args
            )
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
