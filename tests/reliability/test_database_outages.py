"""PostgreSQL failing under a real server process: connections killed, the server restarted, the server frozen.

During each fault every call must be answered in the Bitrix24 envelope within a stated bound (no hang, no 500
without the envelope, no traceback to the client); afterwards the same process serves again without a restart,
and the database agrees with every vote the clients saw acknowledged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import httpx2 as httpx
import psycopg
import pytest

from tests.helpers.server import base_env, running_server, server_log
from tests.helpers.services import PG_ADMIN_DSN, fresh_pg_database
from tests.reliability.helpers import (
    Ledger,
    PrivateCluster,
    answers_ok,
    check_database,
    envelope_problem,
    load,
    make_world,
    private_cluster,
    wait_until,
)

pytestmark = pytest.mark.slow

USERS = 40
DB_TIMEOUT = 3  # B24VOTE_DATABASE_TIMEOUT of these servers
# A call may wait DB_TIMEOUT, then psycopg's attempt to cancel the query on a silent server (5 s + 5 s).
CALL_BOUND = DB_TIMEOUT + 10 + 5


def _env(url: str) -> dict[str, str]:
    return base_env(
        B24VOTE_DATABASE_URL=url,
        B24VOTE_RATE_LIMIT="off",
        B24VOTE_SECRET_KEY="outages",
        B24VOTE_DATABASE_TIMEOUT=str(DB_TIMEOUT),
    )


def _assert_clean(ledger: Ledger, log: str) -> None:
    assert not ledger.problems, ledger.problems[:5]
    assert ledger.slowest < CALL_BOUND, ledger.slowest
    assert set(ledger.errors) <= {"INTERNAL_SERVER_ERROR"}, ledger.errors
    assert "Application startup failed" not in log


def test_connections_killed_mid_load() -> None:
    """pg_terminate_backend on every connection of the server, five times while votes and recalls run."""
    with fresh_pg_database() as url:
        world = make_world(url, USERS)
        name = url.rsplit("/", 1)[1]
        with running_server(_env(url)) as (base, proc):
            world.make_poll(base)
            ledger = Ledger()
            killed = 0
            with load([base], world, ledger, calls=100_000, seconds=90):
                wait_until(lambda: ledger.acknowledged >= 100, 20)
                for _ in range(5):
                    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                        killed += admin.execute(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()",
                            (name,),
                        ).fetchone()[0]  # type: ignore[index]
                    time.sleep(0.4)
                acknowledged = ledger.acknowledged
                assert wait_until(lambda: ledger.acknowledged >= acknowledged + 100, 30)  # serving again
            assert killed >= 5
            _assert_clean(ledger, server_log(proc))
            assert proc.poll() is None
        check_database(url, world, ledger)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    with private_cluster() as found:
        with psycopg.connect(found.url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE b24vote")
        yield found


def _cluster_pids(cluster: PrivateCluster) -> list[int]:
    """The postmaster and every backend of the cluster."""
    postmaster = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    return [postmaster, *map(int, children)]


def test_postgres_restarted_under_load(cluster: PrivateCluster) -> None:
    """The server stops (immediate mode, as in a crash) for two seconds and comes back on the same port."""
    url = cluster.url.rsplit("/", 1)[0] + "/b24vote"
    world = make_world(url, USERS)
    with running_server(_env(url)) as (base, proc):
        world.make_poll(base)
        ledger = Ledger()
        with load([base], world, ledger, calls=100_000, seconds=120):
            wait_until(lambda: ledger.acknowledged >= 100, 20)
            cluster.stop("immediate")
            down = Ledger()
            # Calls during the outage: each answered, quickly (the connection is refused), in the envelope.
            with httpx.Client(timeout=CALL_BOUND) as client:
                for method in ("server.time", "vote.AttachedVote.get", "vote.AttachedVote.vote"):
                    started = time.monotonic()
                    resp = client.post(f"{base}{world.first_hook}/{method}", json={"attachId": world.attach_id})
                    assert resp.status_code == 500, resp.text
                    assert envelope_problem(resp) is None, resp.text
                    down.slowest = max(down.slowest, time.monotonic() - started)
                ready = client.get(f"{base}/readyz")
                assert ready.status_code == 503
            time.sleep(2)
            cluster.start()
            acknowledged = ledger.acknowledged
            assert wait_until(lambda: ledger.acknowledged >= acknowledged + 100, 30)
        assert down.slowest < CALL_BOUND
        _assert_clean(ledger, server_log(proc))
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
        assert proc.poll() is None
    check_database(url, world, ledger)


def test_postgres_frozen_calls_end_within_the_timeout(cluster: PrivateCluster) -> None:
    """A server that accepts connections and never answers (SIGSTOP: a hung host, a half-open network path).

    Without B24VOTE_DATABASE_TIMEOUT each call waited for ever; now it is answered INTERNAL_SERVER_ERROR after
    the timeout (plus psycopg's bounded attempt to cancel the query), and /readyz says 503 as quickly.
    """
    url = cluster.url.rsplit("/", 1)[0] + "/b24vote"
    world = make_world(url, USERS)
    with running_server(_env(url)) as (base, proc):
        world.make_poll(base)
        ledger = Ledger()
        with load([base], world, ledger, threads=4, calls=400, seconds=60):
            wait_until(lambda: ledger.acknowledged >= 50, 20)
            pids = _cluster_pids(cluster)  # the backends of the server's connections are among them now
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
            try:
                time.sleep(0.5)  # replies on their way when the database stopped are out
                frozen_at = ledger.acknowledged
                started = time.monotonic()
                ready = httpx.get(f"{base}/readyz", timeout=CALL_BOUND + 5)
                assert ready.status_code == 503
                assert time.monotonic() - started < CALL_BOUND
                errors = sum(ledger.errors.values())
                assert wait_until(lambda: sum(ledger.errors.values()) > errors, CALL_BOUND + 5)
                assert ledger.acknowledged == frozen_at  # nothing answered 200 while the database was silent
            finally:
                for pid in pids:
                    os.kill(pid, signal.SIGCONT)
            acknowledged = ledger.acknowledged
            assert wait_until(lambda: ledger.acknowledged >= acknowledged + 50, 30)
        _assert_clean(ledger, server_log(proc))
        assert "INTERNAL_SERVER_ERROR" in ledger.errors
        assert answers_ok(base, world.first_hook)
        assert proc.poll() is None
    check_database(url, world, ledger)
