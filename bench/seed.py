"""Fast bulk seeding of a benchmark portal straight into the database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
from sqlalchemy import Connection, text, update

from b24vote.clock import SystemClock
from b24vote.domain.poll_data import NewAnswer, NewPoll, NewQuestion
from b24vote.domain.polls import IM_ENTITY_TYPE, add_years
from b24vote.storage import people, polls
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.tables import vote_answers, vote_questions, votes

CHUNK = 20_000
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def code_for(user_id: int) -> str:
    """Deterministic 16-character webhook codes, so the load generator can build every URL."""
    return f"b{user_id:015d}"


@dataclass
class Poll:
    attach_id: int
    vote_id: int
    message_id: int
    question_id: int
    answer_ids: list[int]


def voters_in_chat(url: str, users: int, *, name: str, scopes: list[str]) -> tuple[dict[int, str], int]:
    """Migrate ``url`` and add ``users`` voters, one webhook each with ``scopes``, in one new chat: their webhook
    paths (``/rest/{id}/{code}``) by user id, and the chat's id. Through the repositories, for the few hundred
    users a load or fault run drives (``build`` writes the big worlds in bulk)."""
    db = Database(url, pool_size=2, sqlite_synchronous="NORMAL")
    migrate(db)
    now = SystemClock().now()
    hooks: dict[int, str] = {}
    with db.write() as conn:
        uids = [people.add_user(conn, now, name=f"{name}{i:04d}") for i in range(users)]
        chat = people.add_chat(conn, now, title=name.lower(), owner_id=uids[0])
        people.add_members(conn, now, chat, uids)
        for uid in uids:
            _, code = people.add_webhook(conn, now, user_id=uid, scopes=scopes)
            hooks[uid] = f"/rest/{uid}/{code}"
    db.dispose()
    return hooks, chat


def post_chat_poll(
    base: str, hook: str, chat: int, *, question: str, anonymity: int, timeout: float = 30
) -> dict[str, Any]:
    """A poll of four answers (A–D, one choice, re-voting allowed) sent to ``chat`` through the server at ``base``
    with the webhook path ``hook``, so the server's caches see it as a client's would; its attach as read back."""
    data = {
        "QUESTIONS": [{"QUESTION": question, "FIELD_TYPE": 1, "ANSWERS": [{"MESSAGE": m} for m in "ABCD"]}],
        "ANONYMITY": anonymity,
        "OPTIONS": 1,
    }
    sent = httpx.post(
        f"{base}{hook}/vote.Integration.Im.send", json={"chatId": chat, "IM_MESSAGE_VOTE_DATA": data}, timeout=timeout
    ).json()["result"]
    attach: dict[str, Any] = httpx.post(
        f"{base}{hook}/vote.AttachedVote.get",
        json={"moduleId": "im", "entityType": IM_ENTITY_TYPE, "entityId": sent["messageId"]},
        timeout=timeout,
    ).json()["result"]["attach"]
    return attach


def _chunks(lo: int, hi: int) -> Iterator[range]:
    for start in range(lo, hi + 1, CHUNK):
        yield range(start, min(start + CHUNK, hi + 1))


def _naive(dt: datetime) -> Any:
    # The text SQLAlchemy's SQLite dialect itself writes for a naive UTC datetime.
    return dt.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def add_users(conn: Connection, lo: int, hi: int, *, chat_id: int | None, webhooks: bool) -> None:
    """Users lo..hi (ids fixed), optionally chat members with webhooks whose codes are ``code_for(id)``."""
    stamp = _stamp(conn)
    for ids in _chunks(lo, hi):
        conn.exec_driver_sql(
            _sql(
                conn,
                "INSERT INTO users (id, name, last_name, second_name, email, work_position, is_admin, "
                "active, date_register) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ),
            [(i, "User", f"N{i:07d}", "", "", "Tester", False, True, stamp) for i in ids],
        )
        if chat_id is not None:
            conn.exec_driver_sql(
                _sql(conn, "INSERT INTO chat_members (chat_id, user_id, date_join) VALUES (?, ?, ?)"),
                [(chat_id, i, stamp) for i in ids],
            )
        if webhooks:
            conn.exec_driver_sql(
                _sql(
                    conn,
                    "INSERT INTO webhooks (user_id, code_hash, scopes, title, active, date_create) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                ),
                [
                    (i, hashlib.sha256(code_for(i).encode()).hexdigest(), "im,user,vote", "bench", True, stamp)
                    for i in ids
                ],
            )
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))")


def _stamp(conn: Connection) -> Any:
    return _naive(NOW) if conn.dialect.name == "sqlite" else NOW.replace(tzinfo=None)


def _sql(conn: Connection, statement: str) -> str:
    return statement if conn.dialect.name == "sqlite" else statement.replace("?", "%s")


def add_poll(conn: Connection, chat_id: int, author: int, answers: int = 3) -> Poll:
    new = NewPoll((NewQuestion("Benchmark?", 1, tuple(NewAnswer(f"Answer {i}") for i in range(answers))),), 1, 1)
    vote_id = polls.create_poll(conn, NOW, author_id=author, poll=new, date_end=add_years(NOW, 20, UTC))
    message_id = people.add_message(conn, NOW, chat_id=chat_id, author_id=author, message="Benchmark?")
    attach_id = polls.add_attach(
        conn,
        NOW,
        vote_id=vote_id,
        module_id="im",
        entity_type=IM_ENTITY_TYPE,
        entity_id=message_id,
        uid=f"bench{vote_id:011d}",
        created_by=author,
    )
    loaded = polls.load_poll(conn, vote_id)
    assert loaded is not None
    question = loaded.questions[0]
    return Poll(attach_id, vote_id, message_id, question.id, [a.id for a in question.answers])


def add_ballots(conn: Connection, poll: Poll, lo: int, hi: int, *, answer_index: int = 0) -> None:
    """Users lo..hi each vote for one answer; counters set to match, as the API would have left them."""
    answer = poll.answer_ids[answer_index]
    stamp = _stamp(conn)
    first_ballot = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM vote_ballots")).scalar_one()) + 1
    first_bq = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM vote_ballot_questions")).scalar_one()) + 1
    offset_b, offset_q = first_ballot - lo, first_bq - lo
    for ids in _chunks(lo, hi):
        conn.exec_driver_sql(
            _sql(conn, "INSERT INTO vote_ballots (id, vote_id, user_id, visible, date_vote) VALUES (?, ?, ?, ?, ?)"),
            [(i + offset_b, poll.vote_id, i, True, stamp) for i in ids],
        )
        conn.exec_driver_sql(
            _sql(conn, "INSERT INTO vote_ballot_questions (id, ballot_id, question_id) VALUES (?, ?, ?)"),
            [(i + offset_q, i + offset_b, poll.question_id) for i in ids],
        )
        conn.exec_driver_sql(
            _sql(
                conn,
                "INSERT INTO vote_ballot_answers (ballot_question_id, ballot_id, vote_id, question_id, "
                "answer_id, user_id, visible, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ),
            [(i + offset_q, i + offset_b, poll.vote_id, poll.question_id, answer, i, True, "") for i in ids],
        )
    count = hi - lo + 1
    conn.execute(
        update(votes)
        .where(votes.c.id == poll.vote_id)
        .values(counter=votes.c.counter + count, version=polls.new_version())  # the counters changed
    )
    conn.execute(
        update(vote_questions)
        .where(vote_questions.c.id == poll.question_id)
        .values(counter=vote_questions.c.counter + count)
    )
    conn.execute(update(vote_answers).where(vote_answers.c.id == answer).values(counter=vote_answers.c.counter + count))
    if conn.dialect.name == "postgresql":
        for table in ("vote_ballots", "vote_ballot_questions"):
            conn.exec_driver_sql(  # table names from the fixed tuple above
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )


@dataclass
class World:
    chat_id: int
    small: Poll  # 10 voters
    big: Poll  # the big poll (1,000,000 voters by default)
    answer_poll: Poll  # 100,000 voters on one answer (getAnswerVoted, download)
    many: list[Poll]  # 50 small polls for getMany
    write_poll: Poll  # empty, for the vote scenario
    voters_from: int  # first user id of the vote scenario's fresh voters
    voters_to: int


def build(db: Database, *, big: int, answer_voters: int, fresh_voters: int) -> World:
    with db.write() as conn:
        chat_id = people.add_chat(conn, NOW, title="bench", owner_id=_admin(conn))
        people.add_members(conn, NOW, chat_id, [1])
        conn.exec_driver_sql(
            _sql(conn, "UPDATE webhooks SET code_hash = ? WHERE user_id = 1"),
            (hashlib.sha256(code_for(1).encode()).hexdigest(),),
        )
    top = max(big, answer_voters) + 1
    with db.write() as conn:
        add_users(conn, 2, top, chat_id=None, webhooks=False)
    fresh_lo, fresh_hi = top + 1, top + fresh_voters
    with db.write() as conn:
        add_users(conn, fresh_lo, fresh_hi, chat_id=chat_id, webhooks=True)
    with db.write() as conn:
        small = add_poll(conn, chat_id, 1)
        add_ballots(conn, small, 2, 11)
        big_poll = add_poll(conn, chat_id, 1)
        answer_poll = add_poll(conn, chat_id, 1)
        many = [add_poll(conn, chat_id, 1) for _ in range(50)]
        write_poll = add_poll(conn, chat_id, 1)
    if big:
        with db.write() as conn:
            add_ballots(conn, big_poll, 2, big + 1)
    with db.write() as conn:
        add_ballots(conn, answer_poll, 2, answer_voters + 1)
    return World(chat_id, small, big_poll, answer_poll, many, write_poll, fresh_lo, fresh_hi)


def _admin(conn: Connection) -> int:
    uid = people.add_user(conn, NOW, name="Bench", last_name="Admin", is_admin=True)
    people.add_webhook(conn, NOW, user_id=uid, scopes=["im", "user", "vote"])
    return uid
