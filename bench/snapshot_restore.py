"""How long restoring a snapshot of a 10,000-ballot portal takes on SQLite (target: under 200 ms).

Run: ``.venv/bin/python bench/snapshot_restore.py [--ballots N] [--runs N] [--synchronous FULL|NORMAL]``.
Builds the portal in a temporary database, saves a snapshot, changes the portal, then times restores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC
from pathlib import Path

from b24vote.clock import SystemClock
from b24vote.domain.poll_data import NewAnswer, NewPoll, NewQuestion
from b24vote.domain.polls import poll_end
from b24vote.storage import people, polls
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.snapshots import restore_snapshot, save_snapshot

POLL = NewPoll((NewQuestion("Lunch?", 0, (NewAnswer("Pizza"), NewAnswer("Sushi"), NewAnswer("Soup"))),), 1, 1)


def build(db: Database, ballots: int) -> int:
    """Users who each vote once in one chat poll; returns the poll's id."""
    now = SystemClock().now()
    with db.write() as conn:
        admin = people.add_user(conn, now, name="Admin", is_admin=True)
        chat = people.add_chat(conn, now, title="Everyone", owner_id=admin)
        voters = [people.add_user(conn, now, name=f"Voter {i}") for i in range(ballots)]
        people.add_members(conn, now, chat, [admin, *voters])
        people.add_webhook(conn, now, user_id=admin, scopes=["im", "user", "vote"])
        vote_id = polls.create_poll(conn, now, author_id=admin, poll=POLL, date_end=poll_end(now, UTC))
        poll = polls.load_poll(conn, vote_id)
        assert poll is not None
        question = poll.questions[0]
        for i, voter in enumerate(voters):
            answer = question.answers[i % len(question.answers)].id
            polls.insert_ballot(conn, now, vote_id=vote_id, user_id=voter, chosen={question.id: [answer]}, visible=True)
    return vote_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ballots", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}", sqlite_synchronous=args.synchronous)
        migrate(db)
        vote_id = build(db, args.ballots)
        save_snapshot(db, "bench", SystemClock().now())
        timings = []
        for _ in range(args.runs):
            with db.write() as conn:  # change something, as a test would, so that every restore has work to do
                polls.delete_ballot(conn, vote_id, 2)
            started = time.perf_counter()
            restore_snapshot(db, "bench")
            timings.append((time.perf_counter() - started) * 1000)
        db.dispose()
    print(f"snapshot restore, SQLite synchronous={args.synchronous}, {args.ballots} ballots, {args.runs} runs")
    print(f"  median {statistics.median(timings):.1f} ms   min {min(timings):.1f} ms   max {max(timings):.1f} ms")


if __name__ == "__main__":
    main()
