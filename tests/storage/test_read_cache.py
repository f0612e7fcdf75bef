"""The per-process read model: questions cached by the poll's version are never served for other content."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import polls, questions, reads
from b24vote.storage.engine import Database
from b24vote.storage.tables import votes
from tests.conftest import Portal
from tests.helpers.admin import admin, admin_client
from tests.helpers.votes import call, cast, send_poll


def _version(db: Database, vote_id: int) -> int:
    with db.read() as conn:
        return int(conn.execute(select(votes.c.version).where(votes.c.id == vote_id)).scalar_one())


def _counters(attach: dict[str, Any]) -> tuple[int, list[int]]:
    (question,) = attach["QUESTIONS"].values()
    return attach["COUNTER"], [int(a["COUNTER"]) for a in question["ANSWERS"].values()]


def test_every_counter_change_writes_a_new_version(app_client: TestClient, db: Database, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    seen = {_version(db, poll.vote_id)}
    cast(app_client, portal, poll, poll.answer_ids[0])
    seen.add(_version(db, poll.vote_id))
    cast(app_client, portal, poll, poll.answer_ids[1])  # re-vote: recall and count again in one call
    seen.add(_version(db, poll.vote_id))
    call(app_client, portal, "vote.AttachedVote.recall", attachId=poll.attach_id)
    seen.add(_version(db, poll.vote_id))
    assert len(seen) == 4 and 0 not in seen


def test_a_second_app_on_the_same_database_sees_the_other_ones_votes(
    settings: Settings, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    # Two application objects stand for two server processes sharing one database.
    with (
        TestClient(create_app(settings, clock=clock, db=db)) as first,
        TestClient(create_app(settings, clock=clock, db=db)) as second,
    ):
        poll = send_poll(first, portal)
        before = call(first, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]
        assert _counters(before) == (0, [0, 0, 0])
        cast(second, portal, poll, poll.answer_ids[2])
        after = call(first, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]
        assert _counters(after) == (1, [0, 0, 1])
        assert after["isVoted"] is True and after["canVote"] is False


def test_a_restore_that_brings_a_poll_back_under_a_frozen_clock_shows_its_restored_counters(
    settings: Settings, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    # The same ids, timestamps and texts before and after: only the version tells the two states apart.
    with admin_client(settings, db, clock) as client:
        poll = send_poll(client, portal)
        admin(client, "POST", "/snapshots/unvoted")
        cast(client, portal, poll, poll.answer_ids[0])
        voted = call(client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]
        admin(client, "POST", "/snapshots/unvoted/restore")
        restored = call(client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]
    assert (_counters(voted), voted["isVoted"]) == ((1, [1, 0, 0]), True)
    assert (_counters(restored), restored["isVoted"]) == ((0, [0, 0, 0]), False)


def test_rows_changed_without_a_new_version_are_a_miss_only_when_the_version_moves(
    app_client: TestClient, db: Database, portal: Portal
) -> None:
    """The contract writers keep: content and version change together (bench/seed.py writes counters so)."""
    poll = send_poll(app_client, portal)
    call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)
    with db.write() as conn:
        conn.execute(update(votes).where(votes.c.id == poll.vote_id).values(version=polls.new_version()))
    assert questions.QUESTIONS.get(poll.vote_id, _version(db, poll.vote_id)) is None
    call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)
    assert questions.QUESTIONS.get(poll.vote_id, _version(db, poll.vote_id)) is not None


def test_the_event_loops_reader_connection_goes_back_to_the_pool_on_shutdown(
    settings: Settings, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    pool: Any = db.engine.pool
    with TestClient(create_app(settings, clock=clock, db=db)) as client:
        call(client, portal, "user.current")
        poll = send_poll(client, portal)
        call(client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)
    assert pool.checkedout() == 0


def test_a_poll_carries_the_version_its_questions_were_read_under(
    app_client: TestClient, db: Database, portal: Portal
) -> None:
    """On PostgreSQL (read committed) a vote committed between the poll row and the questions statement shows
    in the questions only: the poll then carries their version, under which its rendering is cached."""
    poll = send_poll(app_client, portal)
    with db.read() as conn:
        rows = reads._BY_ID.rows(conn, attach_id=poll.attach_id, viewer=portal.admin)
        first_version = _version(db, poll.vote_id)
        cast(app_client, portal, poll, poll.answer_ids[1])  # committed by another connection meanwhile
        questions.QUESTIONS.clear()  # a miss: the questions are read now
        (loaded,) = reads._complete(conn, rows)
    counted = sum(int(a.counter) for q in loaded.poll.questions for a in q.answers)
    if db.dialect == "postgresql":
        assert loaded.poll.version == _version(db, poll.vote_id) != first_version and counted == 1
    else:  # SQLite: one snapshot for the whole read transaction
        assert loaded.poll.version == first_version and counted == 0
    assert questions.QUESTIONS.get(poll.vote_id, loaded.poll.version) == loaded.poll.questions
