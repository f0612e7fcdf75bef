"""This process's own group commits drop only the read-model entries that read a table they wrote
(``storage/changes.py``); any commit by another connection still drops everything.

Statements are counted with the driver's trace callback on every connection of the application's engine, by
thread: the kept reader serves calls on the event loop's thread, the group writer writes on a thread of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, delete, event, select, text, update
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import oauth, people
from b24vote.storage.changes import EVERYTHING, Change, ChangeLog, tables_read, tables_written
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.raw import Prepared, remembered
from b24vote.storage.tables import chat_members, chats, oauth_apps, users, webhooks
from tests.conftest import START
from tests.helpers.votes import vote_data

ENTITY = "Bitrix\\Vote\\Attachment\\ImMessageConnector"
_NAME = Prepared(select(users.c.name).where(users.c.id == bindparam("uid")))
_HOOKS = Prepared(select(webhooks.c.id).where(webhooks.c.user_id == bindparam("uid")))
_MEMBERS = Prepared(select(chat_members.c.user_id).where(chat_members.c.chat_id == bindparam("chat")))
_RENAME = update(users).where(users.c.id == bindparam("uid")).values(name=bindparam("new"))


@dataclass
class World:
    client: TestClient
    db: Database  # the application's
    other: Database  # another connection: the CLI, another process
    hooks: dict[str, str]
    ids: dict[str, int]
    polls: list[tuple[int, int, tuple[int, ...]]]  # attach id, question id, answer ids
    seen: list[str] = field(default_factory=list)  # statements the application's readers ran

    def call(self, user: str, method: str, **params: Any) -> Any:
        return self.client.post(f"{self.hooks[user]}/{method}", json=params)

    def ok(self, user: str, method: str, **params: Any) -> Any:
        reply = self.call(user, method, **params)
        assert reply.status_code == 200, reply.text
        return reply.json()["result"]

    def get(self, user: str, poll: int) -> Any:
        return self.ok(user, "vote.AttachedVote.get", attachId=self.polls[poll][0])

    def vote(self, user: str, poll: int, pick: int) -> Any:
        attach, question, answers = self.polls[poll]
        return self.ok(user, "vote.AttachedVote.vote", attachId=attach, ballot={str(question): [answers[pick]]})

    def new_hook(self, user: str) -> None:
        with self.other.write() as conn:
            _, code = people.add_webhook(conn, START, user_id=self.ids[user], scopes=["im", "user", "vote"])
        self.hooks[user] = f"/rest/{self.ids[user]}/{code}"

    def read(self) -> list[str]:
        """The statements the readers ran since the last call of this, in order."""
        found, self.seen[:] = list(self.seen), []
        return found


def _trace_readers(db: Database, seen: list[str]) -> None:
    """Record every statement run on the engine's connections by any thread but the group writer's."""

    def trace(sql: str) -> None:
        if threading.current_thread().name != "b24vote-group-writer":
            seen.append(sql)

    @event.listens_for(db.engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.set_trace_callback(trace)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path}/own.db"
    other = Database(url, sqlite_synchronous="NORMAL")
    migrate(other)
    db = Database(url, sqlite_synchronous="NORMAL")
    seen: list[str] = []
    _trace_readers(db, seen)
    config = Settings.from_env({}, database_url=url, secret_key="own-writes", rate_limit=None)
    with TestClient(create_app(config, clock=FrozenClock(START), db=db)) as client:
        ids: dict[str, int] = {}
        with other.write() as conn:
            for name in ("anna", "bob"):
                ids[name] = people.add_user(conn, START, name=name.title(), is_admin=name == "anna")
            chat = people.add_chat(conn, START, title="Team", owner_id=ids["anna"])
            people.add_members(conn, START, chat, list(ids.values()))
        found = World(client, db, other, {}, ids, [], seen)
        for name in ids:
            found.new_hook(name)
        for question in ("Lunch?", "Tea?"):
            sent = found.ok(
                "anna",
                "vote.Integration.Im.send",
                chatId=chat,
                IM_MESSAGE_VOTE_DATA=vote_data(question, ("A", "B", "C"), anonymity=2, options=1),
            )
            attach = found.ok(
                "anna", "vote.AttachedVote.get", moduleId="im", entityType=ENTITY, entityId=sent["messageId"]
            )["attach"]
            question_id = next(iter(attach["QUESTIONS"]))
            answers = tuple(int(a) for a in attach["QUESTIONS"][question_id]["ANSWERS"])
            found.polls.append((attach["ID"], int(question_id), answers))
        try:
            yield found
        finally:
            db.dispose()
            other.dispose()


def _webhook_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM webhooks" in s]


def _counters(attach: dict[str, Any]) -> tuple[int, dict[str, int]]:
    answers = {a: int(v["COUNTER"]) for q in attach["QUESTIONS"].values() for a, v in q["ANSWERS"].items()}
    return int(attach["COUNTER"]), answers


# --- over HTTP -------------------------------------------------------------------------------------------------


def test_after_a_vote_the_callers_webhook_stays_in_the_model_and_the_poll_is_read_again(world: World) -> None:
    before = world.get("bob", 0)["attach"]
    world.read()
    world.get("bob", 0)
    assert world.read() == []  # nothing changed: served by the model, no statement at all
    world.vote("bob", 0, 1)
    world.read()
    after = world.get("bob", 0)["attach"]
    statements = world.read()
    assert _webhook_reads(statements) == []  # the vote wrote no webhook: the caller is still known
    assert any("FROM vote_attaches" in s for s in statements)  # the poll's counters moved: read again
    answer = str(world.polls[0][2][1])
    assert _counters(after)[0] == _counters(before)[0] + 1
    assert _counters(after)[1][answer] == _counters(before)[1][answer] + 1
    assert after["isVoted"] and not before["isVoted"]
    world.get("bob", 0)
    assert world.read() == []


def test_a_commit_by_another_connection_drops_everything(world: World) -> None:
    world.get("bob", 0)
    world.vote("bob", 1, 0)
    with world.other.write() as conn:  # the CLI renames bob between his vote and his next call
        conn.execute(_RENAME, {"uid": world.ids["bob"], "new": "Robert"})
    world.read()
    assert world.ok("bob", "user.current")["NAME"] == "Robert"
    assert _webhook_reads(world.read()) != []


def test_a_webhook_revoked_by_another_connection_is_refused_on_the_very_next_call(world: World) -> None:
    world.get("bob", 0)
    world.vote("bob", 0, 0)
    world.get("bob", 0)  # the model was carried over the vote: it holds bob's webhook
    old = world.hooks["bob"]
    with world.other.write() as conn:
        people.deactivate_user_webhooks(conn, world.ids["bob"])
    gone = world.client.post(f"{old}/vote.AttachedVote.get", json={"attachId": world.polls[0][0]})
    assert gone.status_code == 401 and gone.json()["error"] == "NO_AUTH_FOUND", gone.text


def test_an_oauth_caller_is_kept_in_the_model_and_a_deactivated_application_refused_next(world: World) -> None:
    """The token's grant and its user are held like a webhook: no statement while nothing changed; an
    application deactivated from another connection makes the very next call ``invalid_token``."""
    with world.other.write() as conn:
        app, _ = oauth.add_app(conn, START, name="Kept", scopes=["vote", "user"])
        token = oauth.issue_tokens(conn, START, app, world.ids["bob"]).access_token
    path = f"/rest/vote.AttachedVote.get?auth={token}"
    first = world.client.post(path, json={"attachId": world.polls[0][0]})
    assert first.status_code == 200, first.text
    world.read()
    again = world.client.post(path, json={"attachId": world.polls[0][0]})
    assert again.json()["result"] == first.json()["result"] and world.read() == []
    with world.other.write() as conn:
        conn.execute(update(oauth_apps).where(oauth_apps.c.id == app.id).values(active=False))
    gone = world.client.post(path, json={"attachId": world.polls[0][0]})
    assert (gone.status_code, gone.json()["error"]) == (401, "invalid_token"), gone.text


# --- through the Database --------------------------------------------------------------------------------------


@pytest.fixture
def dbs(tmp_path: Path) -> Iterator[tuple[Database, Database, dict[str, int]]]:
    """The application's database (a kept reader, the group writer), another connection, a user and a chat."""
    url = f"sqlite:///{tmp_path}/dbs.db"
    db, other = Database(url, sqlite_synchronous="NORMAL"), Database(url, sqlite_synchronous="NORMAL")
    migrate(other)
    with other.write() as conn:
        uid = people.add_user(conn, START, name="Anna")
        people.add_webhook(conn, START, user_id=uid, scopes=["user"])
        chat = people.add_chat(conn, START, title="Team", owner_id=uid)
        people.add_members(conn, START, chat, [uid])
    try:
        yield db, other, {"uid": uid, "chat": chat}
    finally:
        db.release_kept()
        db.dispose()
        other.dispose()


def _traced(db: Database) -> list[str]:
    """Every statement this thread's kept connection runs from now on."""
    seen: list[str] = []
    with db.read_kept() as conn:
        conn.connection.dbapi_connection.set_trace_callback(seen.append)  # type: ignore[union-attr]
    return seen


def _own(db: Database, work: Callable[[Connection], Any]) -> Any:
    """``work`` committed by the group writer."""
    return asyncio.run(db.run(work, write=True))


def _rename(uid: int, new: str) -> Callable[[Connection], Any]:
    return lambda conn: conn.execute(_RENAME, {"uid": uid, "new": new}).rowcount


def _read_all(db: Database, uid: int, chat: int) -> tuple[Any, ...]:
    def work(conn: Connection) -> tuple[Any, ...]:
        return _NAME.rows(conn, uid=uid), _HOOKS.rows(conn, uid=uid), _MEMBERS.rows(conn, chat=chat)

    return db.read_inline(work)


def _selects(seen: list[str]) -> list[str]:
    """The tables of the SELECTs run, in order (each statement names its table first)."""
    found = [s.split("FROM ")[1].split()[0] for s in seen if s.startswith("SELECT")]
    seen.clear()
    return found


def _warmed(dbs: tuple[Database, Database, dict[str, int]]) -> tuple[Database, Database, dict[str, int], list[str]]:
    """The databases and ids, after one read of everything; the statements the reader runs from then on."""
    db, other, ids = dbs
    _read_all(db, ids["uid"], ids["chat"])
    seen = _traced(db)
    seen.clear()
    return db, other, ids, seen


def test_an_own_commit_drops_only_what_read_the_tables_it_wrote(
    dbs: tuple[Database, Database, dict[str, int]],
) -> None:
    db, _, ids, seen = _warmed(dbs)
    _own(db, _rename(ids["uid"], "Anna K."))  # through SQLAlchemy: the event names the table
    assert _read_all(db, ids["uid"], ids["chat"])[0] == [("Anna K.",)]
    assert _selects(seen) == ["users"]
    _own(db, lambda conn: _RENAME_PREPARED.run(conn, uid=ids["uid"], new="Anna L."))  # through Prepared
    assert _read_all(db, ids["uid"], ids["chat"])[0] == [("Anna L.",)]
    assert _selects(seen) == ["users"]
    assert _read_all(db, ids["uid"], ids["chat"])[0] == [("Anna L.",)]
    assert seen == []  # the new stamp was taken: nothing is read again


_RENAME_PREPARED = Prepared(_RENAME)


def test_sql_text_in_the_group_drops_everything(dbs: tuple[Database, Database, dict[str, int]]) -> None:
    db, _, ids, seen = _warmed(dbs)
    _own(db, lambda conn: conn.execute(text("UPDATE chats SET title = 'Crew'")))
    _read_all(db, ids["uid"], ids["chat"])
    assert _selects(seen) == ["users", "webhooks", "chat_members"]


def test_a_write_drops_what_its_foreign_keys_change_too(dbs: tuple[Database, Database, dict[str, int]]) -> None:
    db, _, ids = dbs
    assert _read_all(db, ids["uid"], ids["chat"])[2] == [(ids["uid"],)]
    seen = _traced(db)
    seen.clear()
    _own(db, lambda conn: conn.execute(delete(chats).where(chats.c.id == ids["chat"])))  # members: ON DELETE CASCADE
    assert _read_all(db, ids["uid"], ids["chat"])[2] == []
    assert _selects(seen) == ["chat_members"]


def test_a_commit_by_another_connection_between_own_commits_drops_everything(
    dbs: tuple[Database, Database, dict[str, int]],
) -> None:
    db, other, ids, seen = _warmed(dbs)
    _own(db, _rename(ids["uid"], "Anna K."))
    with other.write() as conn:
        conn.execute(update(chats).values(title="Crew"))
    _own(db, _rename(ids["uid"], "Anna L."))
    _read_all(db, ids["uid"], ids["chat"])
    assert _selects(seen) == ["users", "webhooks", "chat_members"]


def test_a_commit_by_another_connection_right_after_an_own_commit_publishes_nothing(
    dbs: tuple[Database, Database, dict[str, int]],
) -> None:
    db, other, ids, seen = _warmed(dbs)

    def race() -> None:  # between the group's COMMIT and its check that nobody else committed
        with other.write() as conn:
            conn.execute(delete(chat_members))

    commits = db._group_writer.commits  # type: ignore[union-attr]
    assert commits is not None
    commits.after_commit = race
    try:
        _own(db, _rename(ids["uid"], "Anna K."))
    finally:
        commits.after_commit = None
    assert _read_all(db, ids["uid"], ids["chat"]) == ([("Anna K.",)], [(1,)], [])
    assert _selects(seen) == ["users", "webhooks", "chat_members"]


def test_an_object_built_from_reads_depends_on_what_they_read(
    dbs: tuple[Database, Database, dict[str, int]],
) -> None:
    db, _, ids = dbs
    uid = ids["uid"]
    built: list[str] = []

    def name(conn: Connection) -> str:
        built.append("name")
        return str(_NAME.rows(conn, uid=uid)[0][0])

    def card(conn: Connection) -> str:  # an object built from another: it depends on what that one read
        built.append("card")
        return "card of " + remembered(conn, ("name", uid), lambda: name(conn))

    def title(conn: Connection) -> str:  # read through SQLAlchemy, not Prepared: it may depend on anything
        built.append("title")
        return str(conn.execute(select(chats.c.title)).scalar_one())

    def work(conn: Connection) -> tuple[str, str]:
        return remembered(conn, ("card", uid), lambda: card(conn)), remembered(conn, ("title",), lambda: title(conn))

    assert db.read_inline(work) == ("card of Anna", "Team")
    assert built == ["card", "name", "title"]
    built.clear()
    _own(db, lambda conn: conn.execute(update(webhooks).values(title="hook")))
    assert db.read_inline(work) == ("card of Anna", "Team")
    assert built == ["title"]  # the card read users only; the title could have read anything
    built.clear()
    _own(db, _rename(uid, "Anna K."))
    assert db.read_inline(work) == ("card of Anna K.", "Team")
    assert built == ["card", "name", "title"]


def test_a_commit_by_another_connection_during_a_carried_read_makes_it_run_again(
    dbs: tuple[Database, Database, dict[str, int]],
) -> None:
    db, other, ids = dbs
    uid, chat = ids["uid"], ids["chat"]
    db.read_inline(lambda conn: (_HOOKS.rows(conn, uid=uid), _MEMBERS.rows(conn, chat=chat)))
    _own(db, _rename(uid, "Anna K."))  # the model is carried over it: hooks and members stay
    runs: list[tuple[Any, Any]] = []

    def work(conn: Connection) -> tuple[Any, Any]:
        hooks = _HOOKS.rows(conn, uid=uid)  # served by the model, carried to the state after the rename
        if not runs:
            with other.write() as write:
                write.execute(delete(webhooks))
                write.execute(delete(chat_members))
        members = _MEMBERS.rows(conn, chat=chat)  # kept too; the next read is not, and sees the commit
        names = _NAME.rows(conn, uid=uid)
        runs.append((hooks, members))
        return hooks, names

    assert db.read_inline(work) == ([], [("Anna K.",)])
    assert len(runs) == 2 and runs[0] == ([(1,)], [(uid,)]) and runs[1] == ([], [])


def test_the_change_log_answers_only_an_unbroken_chain_of_published_commits() -> None:
    log = ChangeLog(limit=3)
    log.publish(Change(b"a", b"b", frozenset({"users"})))
    log.publish(Change(b"b", b"c", frozenset({"votes"})))
    log.publish(Change(b"x", b"y", frozenset({"chats"})))
    assert log.between(b"a", b"c") == {"users", "votes"}
    assert log.between(b"b", b"c") == {"votes"}
    assert log.between(b"a", b"y") is None  # c → x is nobody's published commit
    assert log.between(b"c", b"d") is None
    log.publish(Change(b"c", b"d", frozenset()))  # the bound: the oldest goes
    assert log.between(b"a", b"d") is None
    assert log.between(b"b", b"d") == {"votes"}


def test_statements_name_the_tables_they_read_and_write() -> None:
    assert tables_read(select(users.c.name).join_from(users, webhooks)) == {"users", "webhooks"}
    assert tables_read(select(text("name")).select_from(users)) == EVERYTHING
    assert tables_written(update(users).values(name="x")) == {"users"}
    assert tables_written(text("UPDATE users SET name = 'x'")) == EVERYTHING
    assert tables_written(None) == EVERYTHING
