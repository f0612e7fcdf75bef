"""Stopping and restarting under load: SIGTERM of a serving process, SIGHUP of `serve --workers 2`.

On SQLite REST writes wait in the group-commit queue; on PostgreSQL a vote is one autocommitted statement; either way
a process asked to stop must commit what it acknowledges and acknowledge nothing it did not commit. Each client's
ledger is checked against the rows afterwards. Both run on both backends (PostgreSQL: a database of the test's own).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.server import base_env, running_server, server_log
from tests.helpers.services import fresh_pg_database
from tests.reliability.helpers import Ledger, check_database, load, make_world, wait_until

pytestmark = pytest.mark.slow

USERS = 60
# What a client may see when its connection meets a stopping server: its call's outcome is then unknown.
TRANSPORT_ERRORS = {"ConnectError", "ReadError", "RemoteProtocolError", "WriteError", "ConnectTimeout"}


def _env(url: str) -> dict[str, str]:
    return base_env(B24VOTE_DATABASE_URL=url, B24VOTE_RATE_LIMIT="off", B24VOTE_SECRET_KEY="shutdown")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/b24vote.db"
        return
    with fresh_pg_database() as pg_url:
        yield pg_url


def test_sigterm_under_load_acknowledges_only_what_it_committed(url: str) -> None:
    world = make_world(url, USERS)
    env = {**_env(url), "B24VOTE_SQLITE_SYNCHRONOUS": "FULL"}  # SQLite: every acknowledged vote on disk
    with running_server(env) as (base, proc):
        world.make_poll(base)
        ledger = Ledger()
        with load([base], world, ledger, threads=16, calls=5000, seconds=40) as running:
            assert wait_until(lambda: ledger.acknowledged >= 200, 30)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
            running.finish(30)
        log = server_log(proc)
    assert code in (0, -signal.SIGTERM), log[-2000:]  # uvicorn re-raises the signal once it has shut down
    assert "Finished server process" in log and "Traceback" not in log
    assert not ledger.problems, ledger.problems[:5]
    # A call in flight either finished (200) or its connection was closed before an answer: never a 500.
    assert set(ledger.errors) <= TRANSPORT_ERRORS, ledger.errors
    check_database(url, world, ledger)


def test_sighup_restarts_workers_under_load_and_loses_nothing(url: str) -> None:
    world = make_world(url, USERS)
    with running_server(_env(url), "--workers", "2") as (base, proc):
        world.make_poll(base)
        ledger = Ledger()
        with load([base], world, ledger, threads=8, calls=100_000, seconds=180):
            assert wait_until(lambda: ledger.acknowledged >= 200, 30)
            for turn in (1, 2):
                started = ledger.acknowledged
                proc.send_signal(signal.SIGHUP)
                # uvicorn starts each replacement before it retires the old worker: the load keeps being served.
                retired = 2 * turn
                assert wait_until(lambda n=retired: server_log(proc).count("Terminated child process") >= n, 60)
                assert ledger.acknowledged > started
            seen = ledger.acknowledged
            assert wait_until(lambda: ledger.acknowledged >= seen + 200, 30)
        log = server_log(proc)
        assert log.count("Received SIGHUP") == 2
        assert proc.poll() is None
    assert not ledger.problems, ledger.problems[:5]
    assert set(ledger.errors) <= TRANSPORT_ERRORS, ledger.errors
    assert "Traceback" not in log
    check_database(url, world, ledger)
