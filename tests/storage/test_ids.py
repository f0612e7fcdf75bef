"""Ids that never come back: after a recall, a re-vote, a reset or a restored snapshot, new rows get new ids.

A portal's ids come from auto-increment and are never reused (issue 18, docs/compatibility.md "Ids").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import delete, func, insert, inspect, select, text
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage.engine import Database
from b24vote.storage.migrate import _config, migrate
from b24vote.storage.tables import ballots, metadata, votes
from tests.conftest import START, Portal
from tests.helpers.admin import admin, admin_client
from tests.helpers.votes import ChatPoll, call, cast, send_poll

AUTOINCREMENT_TABLES = sorted(t.name for t in metadata.sorted_tables if t.dialect_kwargs.get("sqlite_autoincrement"))


def choice_ids(answer_map: Any) -> tuple[int, int]:
    """(EVENT_ID, EVENT_QUESTION_ID) of the only choice in a userAnswerMap."""
    ((_, answers),) = answer_map.items()
    ((_, choice),) = answers.items()
    assert choice["EVENT_ID"] == choice["ID"]
    return int(choice["EVENT_ID"]), int(choice["EVENT_QUESTION_ID"])


def poll_ids(poll: ChatPoll) -> list[int]:
    return [poll.message_id, poll.vote_id, poll.attach_id, poll.question_id, *poll.answer_ids]


def test_vote_recall_vote_hands_out_new_ballot_ids(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, options=1)
    seen = []
    for answer in (0, 1, 1, 0):
        voted = cast(app_client, portal, poll, poll.answer_ids[answer], hook=portal.bob_hook)
        seen.append(choice_ids(voted["attach"]["userAnswerMap"]))
        call(app_client, portal, "vote.AttachedVote.recall", portal.bob_hook, attachId=poll.attach_id)
    assert seen == sorted(seen) and len(set(seen)) == len(seen), seen
    assert len({event for event, _ in seen}) == len(seen)


def test_a_revote_replaces_the_ballot_with_new_ids(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, options=1)
    first = choice_ids(cast(app_client, portal, poll, poll.answer_ids[0])["attach"]["userAnswerMap"])
    second = choice_ids(cast(app_client, portal, poll, poll.answer_ids[1])["attach"]["userAnswerMap"])
    assert second[0] > first[0] and second[1] > first[1]


def test_a_reset_does_not_hand_out_the_same_ids_again(settings: Settings, db: Database, clock: FrozenClock) -> None:
    found = []
    with admin_client(settings, db, clock) as client:
        for _ in range(2):
            demo = admin(client, "POST", "/reset", {"seed": "demo"})
            hook = demo["webhook_url"].removeprefix("http://127.0.0.1:8000").rstrip("/")
            poll = demo["poll"]
            ballot = {str(poll["question_id"]): [poll["answer_ids"][0]]}
            resp = client.post(f"{hook}/vote.AttachedVote.vote", json={"attachId": poll["attach_id"], "ballot": ballot})
            assert resp.status_code == 200, resp.text
            voted = resp.json()["result"]
            found.append(
                [
                    *demo["user_ids"],
                    demo["chat_id"],
                    poll["attach_id"],
                    poll["message_id"],
                    poll["question_id"],
                    *poll["answer_ids"],
                    *choice_ids(voted["attach"]["userAnswerMap"]),
                ]
            )
    before, after = found
    assert all(new > old for old, new in zip(before, after, strict=True)), found


def test_after_a_restore_ids_continue_past_every_id_handed_out(
    settings: Settings, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    with admin_client(settings, db, clock) as client:
        admin(client, "POST", "/snapshots/base")
        dropped = send_poll(client, portal)
        dropped_ballot = choice_ids(cast(client, portal, dropped, dropped.answer_ids[0])["attach"]["userAnswerMap"])
        admin(client, "POST", "/snapshots/base/restore")
        # The restored portal has none of those rows; the next ones still get ids past them.
        error = client.post(portal.url("vote.AttachedVote.get"), json={"attachId": dropped.attach_id}).json()
        assert error["error"] == "ATTACH_NOT_FOUND"
        fresh = send_poll(client, portal)
        fresh_ballot = choice_ids(cast(client, portal, fresh, fresh.answer_ids[0])["attach"]["userAnswerMap"])
    assert all(new > old for old, new in zip(poll_ids(dropped), poll_ids(fresh), strict=True))
    assert min(fresh.answer_ids) > max(dropped.answer_ids)
    assert fresh_ballot[0] > dropped_ballot[0] and fresh_ballot[1] > dropped_ballot[1]


def _sqlite_schema(db: Database) -> dict[str, str]:
    with db.read() as conn:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all()
    return {str(name): str(sql) for name, sql in rows}


def _counts(db: Database) -> dict[str, int]:
    """Rows per table, of the tables the schema has at its revision (later migrations add more)."""
    with db.read() as conn:
        present = set(inspect(conn).get_table_names())
        count = select(func.count())
        tables = [t for t in metadata.sorted_tables if t.name in present]
        return {t.name: int(conn.execute(count.select_from(t)).scalar_one()) for t in tables}


def test_the_sqlite_migration_keeps_every_row_and_makes_ids_grow(tmp_path: Path) -> None:
    from b24vote.storage import people

    db = Database(f"sqlite:///{tmp_path}/b24vote.db")
    migrate(db)
    with db.engine.connect() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
        conn.commit()
    assert not any("AUTOINCREMENT" in sql for sql in _sqlite_schema(db).values())
    with db.write() as conn:
        admin_id = people.add_user(conn, START, name="Anna", is_admin=True)
        voter = people.add_user(conn, START, name="Boris")
        chat = people.add_chat(conn, START, title="Team", owner_id=admin_id)
        people.add_members(conn, START, chat, [admin_id, voter])
        poll = insert(votes).values(author_id=admin_id, date_start=START, date_end=START, timestamp_x=START)
        vote_id = int(conn.execute(poll.returning(votes.c.id)).scalar_one())
        for user in (admin_id, voter):
            conn.execute(insert(ballots).values(vote_id=vote_id, user_id=user, visible=True, date_vote=START))
    before = _counts(db)
    with db.write() as conn:
        newest = conn.execute(select(func.max(ballots.c.id))).scalar_one()
    migrate(db)  # 0005 → head, foreign keys off around the rebuild: no cascade deletes a row
    after = _counts(db)
    assert {name: after[name] for name in before} == before
    schema = _sqlite_schema(db)
    assert [name for name in AUTOINCREMENT_TABLES if "AUTOINCREMENT" not in schema[name]] == []
    assert "FOREIGN KEY" in schema["vote_ballots"] and "uq_vote_ballots_voter" in schema["vote_ballots"]
    with db.write() as conn:
        conn.execute(delete(ballots).where(ballots.c.id == newest))
        ballot = insert(ballots).values(vote_id=vote_id, user_id=voter, visible=True, date_vote=START)
        again = conn.execute(ballot.returning(ballots.c.id)).scalar_one()
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    assert again > newest
    db.dispose()
