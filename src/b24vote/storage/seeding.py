"""Rows a seed document asks for exactly: users and chats with given ids, webhooks with a given code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Table, insert, select

from b24vote.storage.people import hash_secret
from b24vote.storage.snapshots import continue_ids
from b24vote.storage.tables import chats, users, webhooks

__all__ = ["add_chat_with_id", "add_user_with_id", "code_in_use", "exists"]


def exists(conn: Connection, table: Table, row_id: int) -> bool:
    """True when ``table`` has a row with this id."""
    return conn.execute(select(table.c.id).where(table.c.id == row_id)).first() is not None


def add_user_with_id(
    conn: Connection,
    now: datetime,
    user_id: int | None,
    *,
    name: str,
    last_name: str = "",
    second_name: str = "",
    email: str = "",
    work_position: str = "",
    is_admin: bool = False,
) -> int:
    """A user with the given id (or the next one when ``user_id`` is None)."""
    values = {
        "name": name,
        "last_name": last_name,
        "second_name": second_name,
        "email": email,
        "work_position": work_position,
        "is_admin": is_admin,
        "active": True,
        "date_register": now,
    }
    if user_id is not None:
        values["id"] = user_id
    made = int(conn.execute(insert(users).values(**values).returning(users.c.id)).scalar_one())
    if user_id is not None:
        continue_ids(conn, [users])  # PostgreSQL's sequence does not see explicit ids
    return made


def add_chat_with_id(
    conn: Connection, now: datetime, chat_id: int, *, title: str, owner_id: int, description: str = ""
) -> int:
    conn.execute(
        insert(chats).values(
            id=chat_id, type="C", title=title, description=description, owner_id=owner_id, date_create=now
        )
    )
    continue_ids(conn, [chats])
    return chat_id


def code_in_use(conn: Connection, code: str) -> bool:
    return conn.execute(select(webhooks.c.id).where(webhooks.c.code_hash == hash_secret(code))).first() is not None
