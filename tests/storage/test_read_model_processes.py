"""Two real server processes on PostgreSQL with Redis never serve a stale answer: what a client wrote through one
process, it reads through the other, whatever the CLI, a restore or a reset changed in between.

The state machine of ``test_read_model.py`` runs with its writers and readers swapped for two ``b24vote serve``
processes (limits in Redis) and its reference for an application in this process that keeps nothing; every read
through either process must equal the reference's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any, ClassVar

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import SystemClock
from b24vote.config import Settings
from b24vote.storage.admin import wipe
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.snapshots import delete_snapshot, list_snapshots
from tests.helpers.server import base_env, running_server
from tests.helpers.services import REDIS_URL, fresh_pg_database, redis_problem, require
from tests.storage.test_read_model import USERS, ReadModelMachine, _strip

pytestmark = pytest.mark.slow

SECRET = "two-processes"  # a throw-away test portal


def _counters(attach: dict[str, Any]) -> tuple[int, dict[str, int], dict[str, int]]:
    """A reply's poll, question and answer counters, as numbers."""
    questions = attach["QUESTIONS"].values()
    return (
        int(attach["COUNTER"]),
        {q["ID"]: int(q["COUNTER"]) for q in questions},
        {a["ID"]: int(a["COUNTER"]) for q in questions for a in q["ANSWERS"].values()},
    )


class TwoProcessMachine(ReadModelMachine):
    """Writes through process A or B, reads through both, each compared with a fresh read in this process."""

    url: ClassVar[str]
    bases: ClassVar[tuple[str, str]]

    def __init__(self) -> None:
        RuleBasedStateMachine.__init__(self)
        self.stack = ExitStack()
        self.other = Database(self.url, pool_size=2)  # the CLI's connection
        wipe(self.other)  # ids keep growing across examples, as they do on a portal
        for saved in list_snapshots(self.other):  # an earlier example's snapshots name users this one lacks
            delete_snapshot(self.other, saved.name)
        config = Settings.from_env({}, database_url=self.url, secret_key=SECRET, rate_limit=None)
        self.cached = self.stack.enter_context(httpx.Client(base_url=self.bases[0], timeout=30))
        self.second = self.stack.enter_context(httpx.Client(base_url=self.bases[1], timeout=30))
        fresh_db = Database(self.url, pool_size=2, remember=False)
        self.stack.callback(fresh_db.dispose)
        self.fresh = self.stack.enter_context(TestClient(create_app(config, clock=SystemClock(), db=fresh_db)))
        self.hooks: dict[str, str] = {}
        self.ids: dict[str, int] = {}
        self.polls: list[tuple[int, int, tuple[int, ...]]] = []

    def _writer(self, through_other: bool) -> Any:
        return self.second if through_other else self.cached

    def _compare(self, user: str, method: str, **params: Any) -> None:
        fresh = _strip(self._call(self.fresh, user, method, **params))
        for name, client in (("A", self.cached), ("B", self.second)):
            served = _strip(self._call(client, user, method, **params))
            assert served == fresh, f"{user} {method} {params} through {name}: {served} != fresh {fresh}"

    @rule(user=st.sampled_from(USERS), poll=st.integers(0, 1), pick=st.integers(0, 2), other=st.booleans())
    def vote_then_read_elsewhere(self, user: str, poll: int, pick: int, other: bool) -> None:
        """Read-your-writes across processes: the vote's reply and the other process's read agree."""
        attach, question, answers = self.polls[poll]
        ballot = {str(question): [answers[pick]]}
        wrote = self._call(self._writer(other), user, "vote.AttachedVote.vote", attachId=attach, ballot=ballot)
        read = self._call(self._writer(not other), user, "vote.AttachedVote.get", attachId=attach)
        if wrote.status_code == 200 and wrote.json()["result"] != []:
            assert read.status_code == 200, read.text
            # The vote's reply writes the counters it moved as numbers, a read writes every counter as a string
            # (as on the portal): compare the values.
            assert _counters(read.json()["result"]["attach"]) == _counters(wrote.json()["result"]["attach"])

    def teardown(self) -> None:
        self.stack.close()
        self.other.dispose()


@pytest.fixture
def two_servers() -> Iterator[None]:
    require("Redis", redis_problem())
    with fresh_pg_database() as url:
        db = Database(url, pool_size=1)
        migrate(db)
        db.dispose()
        env = base_env(
            B24VOTE_DATABASE_URL=url,
            B24VOTE_REDIS_URL=REDIS_URL,
            B24VOTE_RATE_LIMIT="1000000/1000000",  # on, in Redis, never refusing
            B24VOTE_SECRET_KEY=SECRET,
        )
        with running_server(env) as (first, _), running_server(env) as (second, _):
            TwoProcessMachine.url = url
            TwoProcessMachine.bases = (first, second)
            yield


@pytest.mark.usefixtures("two_servers")
def test_two_processes_never_serve_a_stale_answer() -> None:
    run_state_machine_as_test(
        TwoProcessMachine,
        settings=settings(
            max_examples=5,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each step is real HTTP
        ),
    )


@pytest.mark.usefixtures("two_servers")
def test_a_vote_through_one_process_reads_back_through_the_other() -> None:
    """The machine's cross-process rule, on a fixed path where every vote is taken (no stop, no revoked hook)."""
    machine = TwoProcessMachine()
    try:
        machine.world()
        for step, (user, pick) in enumerate((("anna", 0), ("bob", 1), ("anna", 2), ("cleo", 2), ("bob", 0))):
            machine.vote_then_read_elsewhere(user, poll=step % 2, pick=pick, other=step % 2 == 1)
        attach = machine.polls[0][0]
        reply = machine._call(machine.second, "anna", "vote.AttachedVote.get", attachId=attach)
        assert _counters(reply.json()["result"]["attach"])[0] == 2  # anna and bob hold ballots on the first poll
    finally:
        machine.teardown()
