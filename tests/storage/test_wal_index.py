"""Reading the WAL-index header never drops this process's SQLite locks (``storage/wal_index.py``).

POSIX releases every lock a process holds on a file when the process closes any descriptor of it. SQLite's
write lock of a WAL database is a lock on its ``-shm`` file: while a connection here holds it, another process
must not be able to begin writing. Before the fix, every group commit opened and closed the ``-shm`` to read its
header, and two workers restarted under load corrupted the database. The last step shows what a close does.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from b24vote.storage.changes import ChangeLog, OwnCommits
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.wal_index import wal_index

_TRY_WRITE = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
    "try:\n"
    "    c.execute('BEGIN IMMEDIATE')\n"
    "except sqlite3.OperationalError as exc:\n"
    "    print(exc)\n"
    "else:\n"
    "    print('began')\n"
    "    c.execute('ROLLBACK')\n"
)


def _other_process_can_write(path: Path) -> bool:
    out = subprocess.run([sys.executable, "-c", _TRY_WRITE, str(path)], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() in ("began", "database is locked"), out
    return out.stdout.strip() == "began"


def test_reading_the_header_keeps_the_write_lock_of_this_process(tmp_path: Path) -> None:
    path = tmp_path / "locks.db"
    db = Database(f"sqlite:///{path}", sqlite_synchronous="NORMAL")
    migrate(db)
    with db.read_kept() as conn:  # a kept reader maps the header
        conn.exec_driver_sql("SELECT 1").fetchall()
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("CREATE TABLE held (x INTEGER)")
        assert not _other_process_can_write(path)
        shm = f"{path}-shm"
        commits = OwnCommits(str(path), ChangeLog())
        for _ in range(3):  # the group writer's reads, a new mapping request, a kept reader replaced
            started = commits.start(writer)
            assert started is not None and started.index is wal_index(shm)
            assert wal_index(shm) is not None
            db.release_kept()
            with db.read_kept() as conn:
                conn.exec_driver_sql("SELECT 1").fetchall()
        assert not _other_process_can_write(path)  # still ours
        os.close(os.open(shm, os.O_RDONLY))  # what reading the header by open/close did
        assert _other_process_can_write(path)  # the lock went with it: another process could write
    finally:
        writer.close()
        db.release_kept()
        db.dispose()
