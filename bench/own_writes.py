"""Reads between this process's own votes, with the read model carried over them and without (same run).

``python -m bench.own_writes [--pairs N] [--rounds R]`` seeds a small portal on SQLite (``synchronous=NORMAL``:
the votes are not what is measured), then, in one process and driving the ASGI application directly as
``bench/inprocess.py`` does, repeats pairs of one first vote on one poll (not timed) and one read by another
user (timed): ``get`` of another poll, then ``user.current``. Each round runs them twice: with the group writer
publishing what it changed (kept readers drop only what a vote wrote) and with publication switched off (every
commit drops the whole model, as before ``storage/changes.py``). Prints the median µs per read of each, and
of the same read repeated with no vote between (the model serves it whole).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from typing import Any

from bench import seed
from bench.inprocess import App, Request, call, lifespan, request, seeded_portal


def _hook(uid: int) -> str:
    return f"/rest/{uid}/{seed.code_for(uid)}"


async def _between_votes(app: App, votes: list[Request], read: Request, repeat: int = 0) -> float:
    """Median µs of ``read``, each run right after one of ``votes`` (``repeat`` times with no vote if none)."""
    spent = []
    for vote in votes or [None] * repeat:
        if vote is not None and await call(app, *vote) != 200:
            raise SystemExit("a vote failed")
        began = time.perf_counter()
        if await call(app, *read) != 200:
            raise SystemExit(f"{read[0]['path']} failed")
        spent.append((time.perf_counter() - began) * 1e6)
    return statistics.median(spent)


async def measure(app: Any, world: seed.World, args: argparse.Namespace) -> None:
    writer = app.state.b24.db._group_writer
    published = writer.commits
    poll = world.write_poll
    voters = iter(range(world.voters_from, world.voters_from + args.rounds * 4 * args.pairs))
    reads = {
        "get": request(f"{_hook(1)}/vote.AttachedVote.get", {"attachId": world.small.attach_id}),
        "user.current": request(f"{_hook(1)}/user.current", {}),
    }
    for read in reads.values():
        await call(app, *read)  # warm
    results: dict[tuple[str, bool], list[float]] = {}
    for _ in range(args.rounds):
        for carried in (True, False):
            writer.commits = published if carried else None
            for name, read in reads.items():
                votes = [
                    request(
                        f"{_hook(next(voters))}/vote.AttachedVote.vote",
                        {"attachId": poll.attach_id, "ballot": {str(poll.question_id): [poll.answer_ids[1]]}},
                    )
                    for _ in range(args.pairs)
                ]
                results.setdefault((name, carried), []).append(await _between_votes(app, votes, read))
    writer.commits = published
    for name, read in reads.items():
        on, off = (statistics.median(results[(name, c)]) for c in (True, False))
        hot = await _between_votes(app, [], read, repeat=args.pairs)
        print(
            f"{name} after an own vote: {on:.1f} µs carried, {off:.1f} µs dropped ({off / on:.2f}×), "
            f"{hot:.1f} µs with no vote between; "
            f"rounds carried {[round(v, 1) for v in results[(name, True)]]}, "
            f"dropped {[round(v, 1) for v in results[(name, False)]]}"
        )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="b24vote-own-writes-") as tmp:
        fresh = args.rounds * 4 * args.pairs + 1
        world = seeded_portal(tmp, fresh, B24VOTE_SQLITE_SYNCHRONOUS="NORMAL")
        from b24vote.app import create_app

        app: Any = create_app()
        async with lifespan(app):
            await measure(app, world, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.own_writes", description=__doc__)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
