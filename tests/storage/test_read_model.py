"""The read model (rows kept on SQLite's kept reader while ``PRAGMA data_version`` stays the same) never serves
a stale answer: every read through it equals a fresh read, whatever wrote in between.

A hypothesis state machine interleaves writes through the application that keeps rows (as its own clients
would), through a second application on the same file (another process), straight on a third connection (the
CLI: a webhook revoked, a member removed, a snapshot restored, the portal reset), with reads of every kind the
model serves, and compares each read with the same read through the second application, which keeps nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import people
from b24vote.storage.admin import wipe
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.snapshots import restore_snapshot, save_snapshot
from tests.conftest import START
from tests.helpers.votes import vote_data

USERS = ("anna", "bob", "cleo", "oleg")  # oleg is in no chat


def _strip(reply: Any) -> tuple[int, Any]:
    body = reply.json()
    if isinstance(body, dict):
        body.pop("time", None)
    return reply.status_code, body


class ReadModelMachine(RuleBasedStateMachine):
    folder: Path

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        url = f"sqlite:///{self.folder}/model-{id(self)}.db"
        base = Database(url, sqlite_synchronous="NORMAL")
        migrate(base)
        base.dispose()
        config = Settings.from_env({}, database_url=url, secret_key="model-secret", rate_limit=None)
        self.other = Database(url, sqlite_synchronous="NORMAL")  # the CLI's connection
        self.cached = self._client(config, Database(url, sqlite_synchronous="NORMAL"))
        self.fresh = self._client(config, Database(url, sqlite_synchronous="NORMAL", remember=False))
        self.hooks: dict[str, str] = {}
        self.ids: dict[str, int] = {}
        self.polls: list[tuple[int, int, tuple[int, ...]]] = []  # attach id, question id, answer ids

    def _client(self, config: Settings, db: Database) -> TestClient:
        self.stack.callback(db.dispose)
        return self.stack.enter_context(TestClient(create_app(config, clock=FrozenClock(START), db=db)))

    @initialize()
    def world(self) -> None:
        with self.other.write() as conn:
            for name in USERS:
                self.ids[name] = people.add_user(conn, START, name=name.title(), is_admin=name == "anna")
            chat = people.add_chat(conn, START, title="Team", owner_id=self.ids["anna"])
            people.add_members(conn, START, chat, [self.ids[n] for n in ("anna", "bob", "cleo")])
            self.chat = chat
        for name in USERS:
            self._new_hook(name)
        for question in ("Lunch?", "Tea?"):
            sent = self._ok(
                self.cached,
                "anna",
                "vote.Integration.Im.send",
                chatId=self.chat,
                IM_MESSAGE_VOTE_DATA=vote_data(question, ("A", "B", "C"), anonymity=2, options=1),
            )
            got = self._ok(
                self.cached,
                "anna",
                "vote.AttachedVote.get",
                moduleId="im",
                entityType="Bitrix\\Vote\\Attachment\\ImMessageConnector",
                entityId=sent["messageId"],
            )
            attach = got["attach"]
            question_id = next(iter(attach["QUESTIONS"]))
            answers = tuple(int(a) for a in attach["QUESTIONS"][question_id]["ANSWERS"])
            self.polls.append((attach["ID"], int(question_id), answers))
        save_snapshot(self.other, "base", START)

    def _new_hook(self, name: str) -> None:
        with self.other.write() as conn:
            _, code = people.add_webhook(conn, START, user_id=self.ids[name], scopes=["im", "user", "vote"])
        self.hooks[name] = f"/rest/{self.ids[name]}/{code}"

    def _call(self, client: TestClient, user: str, method: str, **params: Any) -> Any:
        return client.post(f"{self.hooks[user]}/{method}", json=params)

    def _ok(self, client: TestClient, user: str, method: str, **params: Any) -> Any:
        reply = self._call(client, user, method, **params)
        assert reply.status_code == 200, reply.text
        return reply.json()["result"]

    def _writer(self, through_other: bool) -> TestClient:
        return self.fresh if through_other else self.cached

    # --- writes ---------------------------------------------------------------------------------------------

    @rule(user=st.sampled_from(USERS), poll=st.integers(0, 1), pick=st.integers(0, 2), other=st.booleans())
    def vote(self, user: str, poll: int, pick: int, other: bool) -> None:
        attach, question, answers = self.polls[poll]
        self._call(
            self._writer(other),
            user,
            "vote.AttachedVote.vote",
            attachId=attach,
            ballot={str(question): [answers[pick]]},
        )

    @rule(user=st.sampled_from(USERS), poll=st.integers(0, 1), other=st.booleans())
    def recall(self, user: str, poll: int, other: bool) -> None:
        self._call(self._writer(other), user, "vote.AttachedVote.recall", attachId=self.polls[poll][0])

    @rule(poll=st.integers(0, 1), stop=st.booleans(), other=st.booleans())
    def stop_or_resume(self, poll: int, stop: bool, other: bool) -> None:
        method = "vote.AttachedVote.stop" if stop else "vote.AttachedVote.resume"
        self._call(self._writer(other), "anna", method, attachId=self.polls[poll][0])

    @rule(user=st.sampled_from(USERS))
    def revoke_webhook(self, user: str) -> None:
        old = self.hooks[user]
        with self.other.write() as conn:
            people.deactivate_user_webhooks(conn, self.ids[user])
        # Revoked from another connection: the very next call with it is refused.
        gone = self.cached.post(f"{old}/user.current", json={})
        assert gone.status_code == 401 and gone.json()["error"] == "NO_AUTH_FOUND", gone.text
        self._new_hook(user)

    @rule(user=st.sampled_from(("bob", "cleo")), join=st.booleans())
    def membership(self, user: str, join: bool) -> None:
        with self.other.write() as conn:
            if join:
                people.add_members(conn, START, self.chat, [self.ids[user]])
            else:
                people.remove_member(conn, self.chat, self.ids[user])

    @rule(name=st.sampled_from(("one", "two")))
    def snapshot(self, name: str) -> None:
        save_snapshot(self.other, name, START)

    @rule(name=st.sampled_from(("base", "one", "two")))
    def restore(self, name: str) -> None:
        if restore_snapshot(self.other, name) is not None:
            self._rehook()

    @rule()
    def reset_and_restore(self) -> None:
        wipe(self.other)
        for name in USERS:  # nothing is left: every call is refused the same way on both sides
            self._compare(name, "user.current")
        restore_snapshot(self.other, "base")
        self._rehook()

    def _rehook(self) -> None:
        # A restored portal has the webhooks of its snapshot; give everyone a working one again.
        for name in USERS:
            self._new_hook(name)

    # --- reads, each compared with a fresh read ------------------------------------------------------------

    def _compare(self, user: str, method: str, **params: Any) -> None:
        kept = _strip(self._call(self.cached, user, method, **params))
        fresh = _strip(self._call(self.fresh, user, method, **params))
        assert kept == fresh, f"{user} {method} {params}: kept {kept} != fresh {fresh}"

    @rule(user=st.sampled_from(USERS), poll=st.integers(0, 1))
    def read_get(self, user: str, poll: int) -> None:
        self._compare(user, "vote.AttachedVote.get", attachId=self.polls[poll][0])

    @rule(user=st.sampled_from(USERS), poll=st.integers(0, 1), pick=st.integers(0, 2))
    def read_voters(self, user: str, poll: int, pick: int) -> None:
        attach, _, answers = self.polls[poll]
        self._compare(user, "vote.AttachedVote.getAnswerVoted", attachId=attach, answerId=answers[pick])
        self._compare(user, "vote.AttachedVote.getWithVoted", attachId=attach)

    @invariant()
    def everyone_reads_what_is_there(self) -> None:
        for user in USERS:
            self._compare(user, "user.current")
            self._compare(
                user,
                "vote.AttachedVote.getMany",
                moduleId="im",
                entityType="Bitrix\\Vote\\Attachment\\ImMessageConnector",
                entityIds=[1, 2],
            )

    def teardown(self) -> None:
        self.stack.close()
        self.other.dispose()


@pytest.fixture
def machine_folder(tmp_path: Path) -> Iterator[Path]:
    ReadModelMachine.folder = tmp_path
    yield tmp_path


def test_the_read_model_never_serves_a_stale_answer(machine_folder: Path) -> None:
    run_state_machine_as_test(
        ReadModelMachine,
        settings=settings(
            max_examples=12, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
