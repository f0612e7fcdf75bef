"""Repository for users, chats, members, messages and webhooks."""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from b24vote.domain.people import Chat, User
from b24vote.domain.polls import Message
from b24vote.storage.raw import Prepared, PreparedIn, utc
from b24vote.storage.tables import chat_members, chats, messages, settings_kv, users, webhooks

__all__ = [
    "USER_COLUMNS",
    "USER_ROWS",
    "add_chat",
    "add_members",
    "add_message",
    "add_user",
    "add_webhook",
    "chat_member_ids",
    "delete_message",
    "find_chat_by_entity",
    "find_users",
    "get_chat",
    "get_message",
    "get_or_create_setting",
    "get_user",
    "get_users_by_ids",
    "is_member",
    "remove_member",
    "set_chat_owner",
    "user_from_row",
]

_CODE_ALPHABET = string.ascii_lowercase + string.digits


def _chat(row: Any) -> Chat:
    return Chat(
        id=row.id,
        type=row.type,
        title=row.title,
        description=row.description,
        color=row.color,
        owner_id=row.owner_id,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        date_create=row.date_create,
    )


def add_user(
    conn: Connection,
    now: datetime,
    *,
    name: str,
    last_name: str = "",
    second_name: str = "",
    email: str = "",
    work_position: str = "",
    personal_photo: str | None = None,
    is_admin: bool = False,
) -> int:
    result = conn.execute(
        insert(users)
        .values(
            name=name,
            last_name=last_name,
            second_name=second_name,
            email=email,
            work_position=work_position,
            personal_photo=personal_photo,
            is_admin=is_admin,
            active=True,
            date_register=now,
        )
        .returning(users.c.id)
    )
    return int(result.scalar_one())


# A user's columns in the order _user unpacks them.
_USER_COLUMNS = (
    users.c.id,
    users.c.name,
    users.c.last_name,
    users.c.second_name,
    users.c.email,
    users.c.work_position,
    users.c.personal_photo,
    users.c.is_admin,
    users.c.active,
    users.c.date_register,
)
USER_COLUMNS = _USER_COLUMNS  # what a statement selects so that user_from_row can read its user
USER_ROWS = Prepared(select(*_USER_COLUMNS).where(users.c.id == bindparam("user_id")))  # an OAuth caller's user
# Pages of voters (getAnswerVoted, getWithVoted, the results page): one prepared form per page length.
_USERS = PreparedIn(
    lambda names: select(*_USER_COLUMNS).where(users.c.id.in_([bindparam(n) for n in names])), limit=500
)


def user_from_row(row: Sequence[Any]) -> User:
    """A User from the :data:`USER_COLUMNS` of a row (another table's columns may come before them)."""
    return _user(row[-len(_USER_COLUMNS) :])


def _user(row: Sequence[Any]) -> User:
    """A User from a row of _USER_COLUMNS, typed (SQLAlchemy) or raw (:class:`Prepared`: 0/1 and text dates)."""
    user_id, name, last_name, second_name, email, position, photo, is_admin, active, registered = row
    return User(
        id=user_id,
        name=name,
        last_name=last_name,
        second_name=second_name,
        email=email,
        work_position=position,
        personal_photo=photo,
        is_admin=bool(is_admin),
        active=bool(active),
        date_register=utc(registered),
    )


def get_user(conn: Connection, user_id: int) -> User | None:
    found = USER_ROWS.rows(conn, user_id=user_id)
    return _user(found[0]) if found else None


def find_users(
    conn: Connection,
    *,
    ids: Iterable[int] | None = None,
    active: bool | None = None,
    equals: dict[str, str] | None = None,
    order_by: str = "id",
    descending: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[User], int]:
    """One page of users matching the filter, ordered by ``order_by`` then id, and the total count."""
    conditions: list[ColumnElement[bool]] = []
    if ids is not None:
        conditions.append(users.c.id.in_(list(ids)))
    if active is not None:
        conditions.append(users.c.active.is_(active))
    for column, value in (equals or {}).items():
        conditions.append(users.c[column] == value)
    order_col = users.c[order_by]
    ordering = [order_col.desc(), users.c.id.desc()] if descending else [order_col, users.c.id]
    page = select(*_USER_COLUMNS).where(*conditions).order_by(*ordering).offset(offset).limit(limit)
    rows = conn.execute(page).all()
    total = conn.execute(select(func.count()).select_from(users).where(*conditions)).scalar_one()
    return [_user(r) for r in rows], int(total)


def add_chat(
    conn: Connection,
    now: datetime,
    *,
    title: str,
    owner_id: int,
    type_: str = "C",
    description: str = "",
    color: str = "",
    entity_type: str | None = None,
    entity_id: str | None = None,
) -> int:
    result = conn.execute(
        insert(chats)
        .values(
            type=type_,
            title=title,
            description=description,
            color=color,
            owner_id=owner_id,
            entity_type=entity_type,
            entity_id=entity_id,
            date_create=now,
        )
        .returning(chats.c.id)
    )
    return int(result.scalar_one())


def get_chat(conn: Connection, chat_id: int) -> Chat | None:
    row = conn.execute(select(chats).where(chats.c.id == chat_id)).first()
    return _chat(row) if row else None


def find_chat_by_entity(conn: Connection, entity_type: str, entity_id: str) -> Chat | None:
    row = conn.execute(
        select(chats).where(chats.c.entity_type == entity_type, chats.c.entity_id == entity_id).order_by(chats.c.id)
    ).first()
    return _chat(row) if row else None


def add_members(conn: Connection, now: datetime, chat_id: int, user_ids: Iterable[int]) -> list[int]:
    """Add users not yet in the chat; returns the ids actually added."""
    present = set(chat_member_ids(conn, chat_id))
    new = [uid for uid in dict.fromkeys(user_ids) if uid not in present]
    if new:
        conn.execute(insert(chat_members), [{"chat_id": chat_id, "user_id": uid, "date_join": now} for uid in new])
    return new


def remove_member(conn: Connection, chat_id: int, user_id: int) -> bool:
    result = conn.execute(
        delete(chat_members).where(chat_members.c.chat_id == chat_id, chat_members.c.user_id == user_id)
    )
    return result.rowcount > 0


def chat_member_ids(conn: Connection, chat_id: int) -> list[int]:
    rows = conn.execute(
        select(chat_members.c.user_id)
        .where(chat_members.c.chat_id == chat_id)
        .order_by(chat_members.c.date_join, chat_members.c.user_id)
    )
    return [int(r[0]) for r in rows]


def is_member(conn: Connection, chat_id: int, user_id: int) -> bool:
    row = conn.execute(
        select(chat_members.c.user_id).where(chat_members.c.chat_id == chat_id, chat_members.c.user_id == user_id)
    ).first()
    return row is not None


def add_message(
    conn: Connection,
    now: datetime,
    *,
    chat_id: int,
    author_id: int,
    message: str,
    params: str | None = None,
    system: bool = False,
) -> int:
    result = conn.execute(
        insert(messages)
        .values(
            chat_id=chat_id,
            author_id=author_id,
            message=message,
            params=params,
            system=system,
            date_create=now,
        )
        .returning(messages.c.id)
    )
    return int(result.scalar_one())


def get_message(conn: Connection, message_id: int) -> Message | None:
    """The chat message with this id: its chat and author."""
    row = conn.execute(
        select(messages.c.id, messages.c.chat_id, messages.c.author_id).where(messages.c.id == message_id)
    ).first()
    return Message(int(row.id), int(row.chat_id), int(row.author_id)) if row is not None else None


def delete_message(conn: Connection, message_id: int) -> None:
    """Remove a chat message (its templateId UUID goes with it)."""
    conn.execute(delete(messages).where(messages.c.id == message_id))


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (webhook codes, tokens): what the database keeps."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_webhook_code() -> str:
    """16 random characters from [a-z0-9], the shape of Bitrix24's webhook codes."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))


def add_webhook(
    conn: Connection, now: datetime, *, user_id: int, scopes: Sequence[str], title: str = "", code: str | None = None
) -> tuple[int, str]:
    """Create a webhook; returns its id and its code (shown once, stored only hashed).

    ``code``: a code the caller chose (a test suite's known URL); a random one otherwise.
    """
    code = code or new_webhook_code()
    result = conn.execute(
        insert(webhooks)
        .values(
            user_id=user_id,
            code_hash=hash_secret(code),
            scopes=",".join(sorted(scopes)),
            title=title,
            active=True,
            date_create=now,
        )
        .returning(webhooks.c.id)
    )
    return int(result.scalar_one()), code


def deactivate_user_webhooks(conn: Connection, user_id: int) -> None:
    conn.execute(update(webhooks).where(webhooks.c.user_id == user_id).values(active=False))


def get_or_create_setting(conn: Connection, key: str, make: Any) -> str:
    """The stored value of ``key``; on first use ``make()`` creates and stores it.

    Several processes may start at once on a database that has no value yet (``serve --workers``): each
    offers its own and the first stored wins, for all of them (no unique violation for the others).
    """
    found = get_setting(conn, key)
    if found is not None:
        return found
    offer = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(settings_kv)
    conn.execute(offer.values(key=key, value=str(make())).on_conflict_do_nothing(index_elements=["key"]))
    stored = get_setting(conn, key)
    if stored is None:  # pragma: no cover - written or found a moment ago in this transaction
        raise RuntimeError(f"setting {key!r} vanished inside its transaction")
    return stored


LANGUAGE_KEY = "language"  # b24_settings: the portal's language, set by its seed document


def get_setting(conn: Connection, key: str) -> str | None:
    """The stored value of ``key``, if any."""
    row = conn.execute(select(settings_kv.c.value).where(settings_kv.c.key == key)).first()
    return str(row[0]) if row else None


def set_setting(conn: Connection, key: str, value: str) -> None:
    """Store ``value`` under ``key``, replacing what was there."""
    if conn.execute(update(settings_kv).where(settings_kv.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(insert(settings_kv).values(key=key, value=value))


def set_chat_owner(conn: Connection, chat_id: int, owner_id: int) -> None:
    conn.execute(update(chats).where(chats.c.id == chat_id).values(owner_id=owner_id))


def get_users_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, User]:
    wanted = list(dict.fromkeys(ids))
    return {row[0]: _user(row) for row in _USERS.rows(conn, wanted)} if wanted else {}
