"""SQLite out of space under a real server process: writes fail clearly, reads go on, nothing is damaged.

Two ways to run out: a file-size limit set on the running server (RLIMIT_FSIZE through prlimit; SQLite's writes
then fail with EFBIG, "disk I/O error"), which needs no privileges; and, when the tests run as root, a real
filesystem filled to the last byte (a small tmpfs; ENOSPC, "database or disk is full").
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.helpers.server import base_env
from tests.reliability.helpers import Ledger, Served, World, check_database, make_world, serve_piped, vote_call

pytestmark = pytest.mark.slow

USERS = 30


def _ignore_sigxfsz() -> None:
    # Past RLIMIT_FSIZE the kernel sends SIGXFSZ, which kills by default; ignored, the write fails with EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@contextmanager
def _size_limit(folder: Path) -> Iterator[tuple[Callable[[Served], None], Callable[[Served], None]]]:
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

    def fill(served: Served) -> None:
        resource.prlimit(served.proc.pid, resource.RLIMIT_FSIZE, (0, hard))

    def free(served: Served) -> None:
        resource.prlimit(served.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))

    yield fill, free


@contextmanager
def _full_filesystem(folder: Path) -> Iterator[tuple[Callable[[Served], None], Callable[[Served], None]]]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {mounted.stderr.decode().strip()}")
    filler = folder / "filler"

    def fill(served: Served) -> None:
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):  # every free block, to the last one
                pass
        except OSError:
            pass
        finally:
            os.close(fd)

    def free(served: Served) -> None:
        filler.unlink()

    try:
        yield fill, free
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _burst(base: str, world: World, ledger: Ledger, uids: list[int], roll: int) -> None:
    """One vote for each of ``uids`` at once (they share group commits)."""

    def one(uid: int) -> None:
        with httpx.Client(timeout=30) as client:
            vote_call(client, base, world, uid, (roll + uid) * 4, ledger, timeout=30)  # a vote, not a recall

    threads = [threading.Thread(target=one, args=(uid,)) for uid in uids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


@pytest.mark.parametrize("space", [_size_limit, _full_filesystem], ids=["file-size-limit", "full-filesystem"])
def test_writes_fail_clearly_reads_go_on(tmp_path: Path, space: Callable[..., object]) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with space(folder) as (fill, free):  # type: ignore[attr-defined]
        url = f"sqlite:///{folder}/b24vote.db"
        world = make_world(url, USERS)
        env = base_env(B24VOTE_DATABASE_URL=url, B24VOTE_RATE_LIMIT="off", B24VOTE_SECRET_KEY="disk")
        with serve_piped(env, preexec_fn=_ignore_sigxfsz) as served:
            base = served.base
            world.make_poll(base)
            uids = list(world.hooks)
            ledger = Ledger()
            _burst(base, world, ledger, uids[:10], 0)
            assert ledger.acknowledged == 10
            fill(served)
            full = Ledger()
            _burst(base, world, full, uids[10:25], 1)
            # Every write refused in the envelope, none acknowledged; the ledger keeps them as not known.
            assert full.acknowledged == 0 and not full.problems, full.problems[:3]
            assert set(full.errors) == {"INTERNAL_SERVER_ERROR"}, full.errors
            for uid, voter in full.voters.items():
                ledger.voters.setdefault(uid, voter)
            # Reads go on: the poll, its results, the health checks.
            resp = httpx.post(f"{base}{world.first_hook}/vote.AttachedVote.get", json={"attachId": world.attach_id})
            assert resp.status_code == 200 and resp.json()["result"]["attach"]["COUNTER"] == 10
            assert httpx.get(f"{base}/readyz").status_code == 200
            with closing(sqlite3.connect(f"file:{folder}/b24vote.db?mode=ro", uri=True)) as check:
                assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            free(served)
            _burst(base, world, ledger, uids[10:25], 2)
            assert ledger.acknowledged == 25, (ledger.acknowledged, ledger.errors)
            assert served.proc.poll() is None
        check_database(url, world, ledger)
        with closing(sqlite3.connect(f"{folder}/b24vote.db")) as check:
            assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert "disk I/O error" in served.log or "database or disk is full" in served.log
