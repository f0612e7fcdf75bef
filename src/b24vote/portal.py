"""Portal administration shared by the CLI and the tests: database set-up, demo data, users, chats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, func, select

from b24vote.clock import Clock
from b24vote.domain.people import parse_scopes
from b24vote.domain.poll_data import parse_poll_data
from b24vote.domain.polls import IM_ENTITY_TYPE, poll_end
from b24vote.methods.integration_im import post_poll
from b24vote.storage import people, polls
from b24vote.storage.engine import Database
from b24vote.storage.tables import users

__all__ = ["DemoPoll", "DemoPortal", "create_demo", "demo_curl_lines", "demo_summary", "webhook_url"]

DEMO_SCOPES = "vote,im,user"
# The poll the demo chat starts with, so that a new user can `get` and `vote` at once.
DEMO_POLL = {"QUESTIONS": [{"QUESTION": "Lunch?", "ANSWERS": [{"MESSAGE": "Pizza"}, {"MESSAGE": "Soup"}]}]}


@dataclass(frozen=True)
class DemoPoll:
    """The demo chat's poll: the ids a first ``get`` and ``vote`` need."""

    attach_id: int
    message_id: int
    question_id: int
    answer_ids: tuple[int, ...]


@dataclass(frozen=True)
class DemoPortal:
    """What ``init --demo`` created; ``None`` fields mean the portal existed already."""

    created: bool
    user_ids: tuple[int, ...] = ()
    chat_id: int | None = None
    webhook_code: str | None = None
    poll: DemoPoll | None = None


def webhook_url(public_url: str, user_id: int, code: str) -> str:
    return f"{public_url.rstrip('/')}/rest/{user_id}/{code}/"


def create_demo(db: Database, clock: Clock, tz: tzinfo = UTC) -> DemoPortal:
    """An admin, two more users, a chat with all three and a webhook for the admin — if the portal is empty.

    ``tz``: the portal's time zone, whose calendar the demo poll's end date follows.
    """
    now = clock.now()
    with db.write() as conn:
        if conn.execute(select(func.count()).select_from(users)).scalar_one():
            return DemoPortal(created=False)
        admin = people.add_user(
            conn,
            now,
            name="Anna",
            last_name="Admin",
            email="anna@example.test",
            work_position="Administrator",
            is_admin=True,
        )
        bob = people.add_user(
            conn, now, name="Boris", last_name="Belov", email="boris@example.test", work_position="Developer"
        )
        cleo = people.add_user(
            conn, now, name="Cleo", last_name="Carter", email="cleo@example.test", work_position="Designer"
        )
        chat = people.add_chat(conn, now, title="Demo chat", owner_id=admin)
        people.add_members(conn, now, chat, [admin, bob, cleo])
        _, code = people.add_webhook(conn, now, user_id=admin, scopes=sorted(parse_scopes(DEMO_SCOPES)), title="demo")
        poll = _demo_poll(conn, now, tz, author_id=admin, chat_id=chat)
    return DemoPortal(created=True, user_ids=(admin, bob, cleo), chat_id=chat, webhook_code=code, poll=poll)


def _demo_poll(conn: Connection, now: datetime, tz: tzinfo, *, author_id: int, chat_id: int) -> DemoPoll:
    """The demo chat's poll, made exactly as ``vote.Integration.Im.send`` makes one."""
    data = parse_poll_data(DEMO_POLL, chat=True)
    vote_id = polls.create_poll(conn, now, author_id=author_id, poll=data, date_end=poll_end(now, tz))
    message_id = post_poll(conn, now, vote_id=vote_id, poll=data, chat_id=chat_id, author_id=author_id)
    attach = polls.find_attach_by_entity(conn, "im", IM_ENTITY_TYPE, message_id)
    stored = polls.load_poll(conn, vote_id)
    if attach is None or stored is None:  # pragma: no cover - written a moment ago in this transaction
        raise RuntimeError("the demo poll vanished inside its transaction")
    question = stored.questions[0]
    return DemoPoll(attach.id, message_id, question.id, tuple(a.id for a in question.answers))


def demo_curl_lines(url: str, poll: DemoPoll) -> list[str]:
    """Ready-to-paste calls against the demo portal: who am I, the demo poll, a vote in it."""
    first = poll.answer_ids[0]
    return [
        f"curl -s {url}user.current.json",
        f"curl -s {url}vote.AttachedVote.get.json -d 'attachId={poll.attach_id}'",
        f"curl -s {url}vote.AttachedVote.vote.json -d 'attachId={poll.attach_id}&ballot[{poll.question_id}][]={first}'",
    ]


def demo_summary(portal: DemoPortal, url: str) -> dict[str, Any]:
    """The new demo portal as JSON: its webhook URL, ids, and the demo poll with ready-to-paste calls."""
    summary: dict[str, Any] = {"webhook_url": url, "user_ids": list(portal.user_ids), "chat_id": portal.chat_id}
    if portal.poll is not None:
        summary["poll"] = {
            "attach_id": portal.poll.attach_id,
            "message_id": portal.poll.message_id,
            "question_id": portal.poll.question_id,
            "answer_ids": list(portal.poll.answer_ids),
        }
        summary["curl"] = demo_curl_lines(url, portal.poll)
    return summary
