"""Where a PostgreSQL `vote` spends its time: CPU per vote of the server and of PostgreSQL, and what backends wait on.

``python -m bench.pg_vote_cpu [--duration S] [--connections N]`` seeds a fresh database as `make bench` does for
its `vote, distinct users (PostgreSQL)` row, serves it with `b24vote serve`, drives first votes of distinct users
with wrk, and reports, for the load's duration: the requests/s, the CPU seconds the server process and all
PostgreSQL processes used (from ``/proc``, divided by the votes), and a sample of ``pg_stat_activity``'s wait events
of the backends serving the run (every 50 ms): how much of their time they ran, waited for a lock, for the WAL
flush or for the client. 127.0.0.1 only; the database is dropped at the end.
"""

from __future__ import annotations

import argparse
import collections
import os
import threading
from pathlib import Path

import psycopg

from bench.__main__ import PG_ADMIN, VOTE_PG, b24vote, postgres_database, server, vote_row, vote_world


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (those gone meanwhile count nothing)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                found.append(int(comm.parent.name))
        except OSError:
            continue
    return found


def sample_waits(database: str, stop: threading.Event, seen: collections.Counter[str]) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        while not stop.wait(0.05):
            rows = conn.execute(
                "SELECT coalesce(wait_event_type, 'running'), coalesce(wait_event, ''), state FROM pg_stat_activity"
                " WHERE datname = %s AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
            for kind, event, state in rows:
                seen[f"{state}: {kind} {event}".strip()] += 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_vote_cpu", description=__doc__)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--fresh-voters", type=int, default=40_000)
    args = parser.parse_args()
    with postgres_database("b24vote_cpu") as url:
        world = vote_world(url, args.fresh_voters)
        argv, env = b24vote(url)
        with server(argv, env) as (base, proc):
            waits: collections.Counter[str] = collections.Counter()
            stop = threading.Event()
            database = url.rsplit("/", 1)[1]
            sampler = threading.Thread(target=sample_waits, args=(database, stop, waits))
            ours, theirs = cpu_seconds([proc.pid]), cpu_seconds(postgres_pids())
            sampler.start()
            try:
                voters = range(world.voters_from, world.voters_to + 1)
                row = vote_row(base, world, voters, args, VOTE_PG, args.connections)
            finally:
                stop.set()
                sampler.join()
            ours, theirs = cpu_seconds([proc.pid]) - ours, cpu_seconds(postgres_pids()) - theirs
    result = row.result
    if result is None or not result.requests:
        raise SystemExit("no votes were measured")
    per = 1e6 / result.requests
    print(f"{result.requests_per_s:,.0f} votes/s, p50 {result.p50_ms} ms, {result.errors} errors")
    print(f"CPU per vote: server {ours * per:.0f} µs, PostgreSQL {theirs * per:.0f} µs")
    total = sum(waits.values()) or 1
    print("backends' time (samples of pg_stat_activity):")
    for what, count in waits.most_common(8):
        print(f"  {100 * count / total:5.1f} %  {what}")


if __name__ == "__main__":
    main()
