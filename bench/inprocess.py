"""CPU per call without an HTTP server: the ASGI application driven directly, against the bare baseline app.

``python -m bench.inprocess [--calls N] [--profile get|vote]`` seeds a small portal on SQLite (durable, as
``make bench``), then calls the application as uvicorn would (same scope, one body message) for a cached
``get`` and for first votes of distinct users, one call at a time, and prints the median microseconds per call
of batches of 200 next to the bare ASGI app (bench/baseline.py) called the same way in the same run, and
the cost of the transport alone (``get`` with its execution memoised: the floor for anything below it). With
``--profile`` the calls of that kind run under cProfile (writes run in the calling thread then) and the top of
the profile is printed. Used to find where a call's time goes; ``make bench`` measures throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import orjson

from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from bench import baseline, seed
from bench.__main__ import serve_env

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
Request = tuple[dict[str, Any], bytes]
BATCH = 200


def request(path: str, body: object) -> Request:
    raw = orjson.dumps(body)
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"content-length", b"%d" % len(raw))]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    return scope, raw


async def call(app: App, scope: dict[str, Any], body: bytes) -> int:
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # a client that keeps the connection open
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(dict(scope), receive, send)
    return status


async def per_call_us(app: App, requests: list[Request]) -> float:
    """Median microseconds per call over batches of BATCH calls; every call must answer 200."""
    batches = []
    for start in range(0, len(requests), BATCH):
        chunk = requests[start : start + BATCH]
        began = time.perf_counter()
        for scope, body in chunk:
            status = await call(app, scope, body)
            if status != 200:
                raise SystemExit(f"{scope['path']} answered {status}")
        batches.append((time.perf_counter() - began) / len(chunk) * 1e6)
    return statistics.median(batches)


@contextlib.asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[None]:
    """The application's startup before the calls and its shutdown after them, as uvicorn runs them."""
    started, stopped = asyncio.Event(), asyncio.Event()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await queue.put({"type": "lifespan.startup"})

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()
        elif message["type"] == "lifespan.shutdown.complete":
            stopped.set()

    task = asyncio.get_running_loop().create_task(app({"type": "lifespan", "state": {}}, queue.get, send))
    await started.wait()
    try:
        yield
    finally:
        await queue.put({"type": "lifespan.shutdown"})
        await stopped.wait()
        await task


def run_writes_inline() -> None:
    """Profiling only: the group writer runs each call in the calling thread (cProfile sees one thread)."""
    from b24vote.storage.group_commit import GroupWriter, _Call

    def submit(self: GroupWriter, work: Callable[[Any], Any]) -> Future[Any]:
        queued = _Call(work)
        self._run_group([queued])
        return queued.done

    GroupWriter.submit = submit  # type: ignore[method-assign]


def seeded_portal(tmp: str, fresh_voters: int, **settings: str) -> seed.World:
    """A small SQLite portal in ``tmp`` with ``fresh_voters`` voters, and this process's ``B24VOTE_*`` environment
    set to serve it (limits off; ``settings``: more of them, e.g. ``B24VOTE_SQLITE_SYNCHRONOUS="NORMAL"``)."""
    url = f"sqlite:///{tmp}/bench.db"
    db = Database(url, sqlite_synchronous="NORMAL")
    migrate(db)
    world = seed.build(db, big=0, answer_voters=10, fresh_voters=fresh_voters)
    db.dispose()
    for key in [k for k in os.environ if k.startswith("B24VOTE_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in serve_env(url, **settings).items() if k.startswith("B24VOTE_")})
    return world


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="b24vote-inprocess-") as tmp:
        world = seeded_portal(tmp, args.calls + 1)
        if args.profile == "vote":
            run_writes_inline()
        from b24vote.app import create_app

        app: Any = create_app()
        async with lifespan(app):
            await measure(app, world, args)


async def measure(app: App, world: seed.World, args: argparse.Namespace) -> None:
    """The per-call figures of the cached `get` and of first votes, against the bare app."""

    def hook(uid: int) -> str:
        return f"/rest/{uid}/{seed.code_for(uid)}"

    poll = world.write_poll
    kinds = {
        "get": [request(f"{hook(1)}/vote.AttachedVote.get", {"attachId": world.small.attach_id})] * args.calls,
        "vote": [
            request(
                f"{hook(uid)}/vote.AttachedVote.vote",
                {"attachId": poll.attach_id, "ballot": {str(poll.question_id): [poll.answer_ids[1]]}},
            )
            for uid in range(world.voters_from, world.voters_from + args.calls)
        ],
    }
    bare = await per_call_us(baseline.app, [request("/", {})] * args.calls)
    print(f"baseline: bare ASGI app {bare:.1f} µs per call")
    for name, requests in kinds.items():
        await call(app, *requests[0])  # warm caches and connections
        profile = cProfile.Profile() if args.profile == name else None
        if profile:
            profile.enable()
        spent = await per_call_us(app, requests[1:])
        if profile:
            profile.disable()
        print(f"{name}: {spent:.1f} µs per call ({spent / bare:.0f}× the bare app)")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    if args.profile is None:
        spent = await transport_only_us(app, kinds["get"])
        print(f"get, transport only: {spent:.1f} µs per call ({spent / bare:.0f}× the bare app)")


async def transport_only_us(app: App, requests: list[Request]) -> float:
    """`get` with its execution (authentication, limits, transaction, handler) replaced by the first call's
    outcome: what the REST transport alone costs, the floor for anything done below it."""
    from b24vote.transport import routes

    real = routes._execute
    memo: list[Any] = []

    async def memoised(*args: Any) -> Any:
        if not memo:
            memo.append(await real(*args))
        return memo[0]

    routes._execute = memoised  # type: ignore[assignment]
    try:
        return await per_call_us(app, requests)
    finally:
        routes._execute = real  # type: ignore[assignment]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__)
    parser.add_argument("--calls", type=int, default=2001)
    parser.add_argument("--profile", choices=["get", "vote"])
    asyncio.run(main(parser.parse_args()))
