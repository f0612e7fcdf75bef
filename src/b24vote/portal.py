"""Portal administration shared by the CLI and the tests: database set-up, demo data, users, chats."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from b24vote.clock import Clock
from b24vote.domain.people import parse_scopes
from b24vote.storage import people
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.tables import users

__all__ = ["DemoPortal", "create_demo", "init_database", "webhook_url"]

DEMO_SCOPES = "vote,im,user"


@dataclass(frozen=True)
class DemoPortal:
    """What ``init --demo`` created; ``None`` fields mean the portal existed already."""

    created: bool
    user_ids: tuple[int, ...] = ()
    chat_id: int | None = None
    webhook_code: str | None = None


def init_database(db: Database) -> None:
    """Create or migrate the schema."""
    migrate(db)


def webhook_url(public_url: str, user_id: int, code: str) -> str:
    return f"{public_url.rstrip('/')}/rest/{user_id}/{code}/"


def create_demo(db: Database, clock: Clock) -> DemoPortal:
    """Admin user 1, two more users, a chat with all three and a webhook for user 1 — if the portal is empty."""
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
    return DemoPortal(created=True, user_ids=(admin, bob, cleo), chat_id=chat, webhook_code=code)
