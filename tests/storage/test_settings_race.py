"""Two processes starting at once both make the portal's first settings (the secret key, member_id).

Each ``b24vote serve --workers N`` worker reads them in its start-up; on a database that has none yet (a world
made by single CLI commands), the workers race to create them. On PostgreSQL the loser of a plain
SELECT-then-INSERT got a unique violation, its start-up failed, uvicorn saw a worker exit with its start-up
failure code, and stopped the whole server under load (issue 23). On PostgreSQL the race is forced here: both
transactions read "no row" before either writes. SQLite runs one write transaction at a time, so there the two
starts simply follow each other.
"""

from __future__ import annotations

import threading

from b24vote.storage import people
from b24vote.storage.engine import Database


def test_two_starts_at_once_agree_on_one_value(db: Database) -> None:
    both_read = threading.Barrier(2 if db.dialect == "postgresql" else 1, timeout=10)
    made: dict[str, str] = {}
    failures: list[BaseException] = []

    def start(name: str) -> None:
        def make() -> str:
            both_read.wait()  # each transaction has seen no row: now both write
            return f"value-of-{name}"

        try:
            with db.write() as conn:
                made[name] = people.get_or_create_setting(conn, "race_key", make)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    assert len(set(made.values())) == 1, made  # both go on with the one value that was stored
    with db.read() as conn:
        assert people.get_setting(conn, "race_key") == made["first"]
