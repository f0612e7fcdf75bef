"""The hot read path: the poll a call names, with everything the call needs, in a few prepared statements.

``get`` is the most frequent call. Its attach, poll, message and the caller's membership come in one query run
straight on the driver's cursor (:mod:`b24vote.storage.raw`), the questions from the per-version cache
(:mod:`b24vote.storage.questions`) and the caller's ballot in a second query
(:func:`b24vote.storage.ballots.ballot_of`). The webhooks a call authenticates with are read here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, select

from b24vote.domain.people import User
from b24vote.domain.polls import AttachedPoll, Message
from b24vote.storage.people import USER_COLUMNS, user_from_row
from b24vote.storage.questions import Versioned, questions_of
from b24vote.storage.raw import Prepared, PreparedIn, remembered
from b24vote.storage.rows import ATTACH_COLUMNS, POLL_COLUMNS, POLL_VERSION, attach_from, poll_from
from b24vote.storage.tables import attaches, chat_members, messages, users, votes, webhooks

__all__ = [
    "TARGET_POLL",
    "WEBHOOK_ROWS",
    "Named",
    "WebhookRow",
    "by_attach_id",
    "by_entity",
    "by_uid",
    "load",
    "load_by_entities",
    "target_select",
    "webhooks_of",
    "webhooks_select",
]


def target_select(viewer: ColumnElement[Any]) -> Select[Any]:
    """Attaches with their poll, message and ``viewer``'s membership of the message's chat (no condition yet)."""
    return select(
        *ATTACH_COLUMNS,
        *POLL_COLUMNS,
        messages.c.chat_id,
        messages.c.author_id.label("message_author"),
        chat_members.c.user_id.label("member"),
    ).select_from(
        attaches.join(votes, votes.c.id == attaches.c.vote_id)
        .outerjoin(messages, and_(attaches.c.module_key == "im", messages.c.id == attaches.c.entity_id))
        .outerjoin(chat_members, and_(chat_members.c.chat_id == messages.c.chat_id, chat_members.c.user_id == viewer))
    )


def _by_id(target: Select[Any]) -> Select[Any]:
    return target.where(attaches.c.id == bindparam("attach_id"))


def _by_uid(target: Select[Any]) -> Select[Any]:
    return target.where(attaches.c.uid == bindparam("uid"))


def _by_entity(target: Select[Any]) -> Select[Any]:
    return (
        target.where(
            attaches.c.module_key == bindparam("module"),
            attaches.c.entity_type_key == bindparam("entity_type"),
            attaches.c.entity_id == bindparam("entity_id"),
        )
        .order_by(attaches.c.id)
        .limit(1)
    )


_TARGET = target_select(bindparam("viewer"))
_BY_ID = Prepared(_by_id(_TARGET))
_BY_UID = Prepared(_by_uid(_TARGET))
_BY_ENTITY = Prepared(_by_entity(_TARGET))
_BY_ENTITIES = PreparedIn(
    lambda names: _TARGET.where(
        attaches.c.module_key == bindparam("module"),
        attaches.c.entity_type_key == bindparam("entity_type"),
        attaches.c.entity_id.in_([bindparam(name) for name in names]),
    ).order_by(attaches.c.id)
)

# Positions in a _TARGET row: the attach's columns, the poll's, then the message's and the membership.
_POLL = TARGET_POLL = len(ATTACH_COLUMNS)
_CHAT, _MESSAGE_AUTHOR, _MEMBER = range(_POLL + len(POLL_COLUMNS), _POLL + len(POLL_COLUMNS) + 3)


def _attached(row: Sequence[Any], questions: Versioned) -> AttachedPoll:
    """An AttachedPoll from a _TARGET row; its poll's version is the one its questions were read under."""
    attach = attach_from(row)
    chat_id, author = row[_CHAT], row[_MESSAGE_AUTHOR]
    message = Message(attach.entity_id, chat_id, author) if chat_id is not None and author is not None else None
    return AttachedPoll(attach, poll_from(row, _POLL, questions), message, row[_MEMBER] is not None)


def _complete(conn: Connection, rows: Sequence[Sequence[Any]]) -> list[AttachedPoll]:
    """The rows' AttachedPolls, their questions from the cache or read in one statement."""
    if not rows:
        return []
    questions = questions_of(conn, {r[_POLL]: r[_POLL + POLL_VERSION] for r in rows})
    return [_attached(r, questions) for r in rows]


@dataclass(frozen=True, slots=True)
class Named:
    """An attach as a call names it: the statement that finds it and its parameters (all but the viewer).

    :func:`load` reads it; :mod:`b24vote.storage.ahead` reads it ahead on PostgreSQL, with the rest of a call's reads.
    """

    statement: Prepared
    shape: Callable[[Select[Any]], Select[Any]]  # the condition (and order) on target_select
    params: tuple[tuple[str, Any], ...]

    def select(self, viewer: ColumnElement[Any]) -> Select[Any]:
        """The statement, with the viewer's membership read for ``viewer`` (a parameter or an expression)."""
        return self.shape(target_select(viewer))


def by_attach_id(attach_id: int) -> Named:
    """The attach with this id."""
    return Named(_BY_ID, _by_id, (("attach_id", attach_id),))


def by_uid(uid: str) -> Named:
    """The attach with this UID."""
    return Named(_BY_UID, _by_uid, (("uid", uid),))


def by_entity(module: str, entity_type: str, entity_id: int) -> Named:
    """The first attach of an entity (module and type compare case-insensitively)."""
    params = (("module", module.lower()), ("entity_type", entity_type.lower()), ("entity_id", entity_id))
    return Named(_BY_ENTITY, _by_entity, params)


def load(conn: Connection, named: Named, viewer: int) -> AttachedPoll | None:
    """The named attach, as ``viewer`` sees it."""
    params = {**dict(named.params), "viewer": viewer}
    key = (load, named.statement, *params.items())
    return remembered(conn, key, lambda: _read_first(conn, named.statement, params))


def _read_first(conn: Connection, statement: Prepared, params: dict[str, Any]) -> AttachedPoll | None:
    found = _complete(conn, statement.rows(conn, **params))
    return found[0] if found else None


def load_by_entities(
    conn: Connection, module: str, entity_type: str, entity_ids: Iterable[int], viewer: int
) -> dict[int, AttachedPoll]:
    """The first attach of each entity, keyed by entity id."""
    wanted = sorted(set(entity_ids))
    if not wanted:
        return {}
    rows = _BY_ENTITIES.rows(conn, wanted, module=module.lower(), entity_type=entity_type.lower(), viewer=viewer)
    found: dict[int, AttachedPoll] = {}
    for loaded in _complete(conn, rows):
        found.setdefault(loaded.attach.entity_id, loaded)
    return found


# The user comes along: a vote on a public poll names its voter, and this read is one the call makes anyway.
def webhooks_select() -> Select[Any]:
    """The active webhooks of the user ``:user_id``, each with that user."""
    return (
        select(webhooks.c.id, webhooks.c.code_hash, webhooks.c.scopes, *USER_COLUMNS)
        .select_from(webhooks.join(users, users.c.id == webhooks.c.user_id))
        .where(webhooks.c.user_id == bindparam("user_id"), webhooks.c.active.is_(True))
    )


WEBHOOK_ROWS = Prepared(webhooks_select())


@dataclass(frozen=True, slots=True)
class WebhookRow:
    """An active webhook of a user, and that user."""

    id: int
    code_hash: str
    scopes: str
    user: User

    @property
    def user_active(self) -> bool:
        return self.user.active


def webhooks_of(conn: Connection, user_id: int) -> list[WebhookRow]:
    """The active webhooks of a user, with whether the user is active, in one query."""
    return [WebhookRow(r[0], r[1], r[2], user_from_row(r)) for r in WEBHOOK_ROWS.rows(conn, user_id=user_id)]
