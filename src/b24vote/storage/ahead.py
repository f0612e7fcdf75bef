"""PostgreSQL: what a call reads, in one round trip, before the call starts.

A ``get`` reads the caller's webhooks, the poll it names (with the message and the caller's membership), the
poll's questions and the caller's ballot; a ``vote`` all but the ballot. On SQLite those reads cost microseconds
each (and the read model mostly serves them); on PostgreSQL each is a round trip through the asyncio driver.
:func:`read_ahead` runs them as one statement — each part a JSON array of the very rows its own statement returns —
and hands back a :class:`~b24vote.storage.raw.Memo` holding those rows under the keys their statements use, so the
call, run with that memo (:func:`~b24vote.storage.raw.remembering`), finds them there and runs none of them.

The parts are the same selects as the reads themselves (:func:`~b24vote.storage.reads.webhooks_select`, the named
attach's select, :func:`~b24vote.storage.questions.questions_select`,
:func:`~b24vote.storage.ballots.ballots_select`), so they cannot drift apart; the rows come through JSON, with
the values a raw cursor row gives but for dates, which come as ISO text (``raw.utc`` reads both). The memo lives
for one call: nothing is served to a later call. One statement is also one snapshot: the parts agree with each
other, which separate autocommit reads did not promise.

The questions are left out when the poll's version is the one the process has them cached under (the known
version comes from the last read of the same named attach; a wrong guess only costs the rows).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Integer, Select, and_, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import KeyedColumnElement

from b24vote.storage import oauth, people, reads
from b24vote.storage.ballots import BALLOT_ROWS, ballots_select
from b24vote.storage.questions import QUESTIONS, QUESTIONS_ORDER, QUESTIONS_ROWS, questions_select
from b24vote.storage.raw import Memo, Prepared
from b24vote.storage.rows import POLL_VERSION
from b24vote.storage.tables import ballot_answers, ballots, users, votes

__all__ = ["Who", "read_ahead"]

_NO_VERSION = -1  # a version no poll has (0 names rows written outside b24vote, never cached)


def _json_rows(statement: Select[Any], order: Sequence[KeyedColumnElement[Any]] = ()) -> Any:
    """The statement's rows as one JSON array of arrays (NULL when there are none), in ``order``."""
    rows = statement.order_by(None).subquery()
    row: Any = func.json_build_array(*rows.c)
    if order:
        by = []
        for column in order:
            found = rows.corresponding_column(column)
            if found is None:
                raise ValueError(f"{column} is not among the statement's columns")
            by.append(found)
        row = aggregate_order_by(row, *by)
    return select(func.json_agg(row)).select_from(rows).scalar_subquery()


@dataclass(frozen=True, slots=True)
class Who:
    """Whose call it is, as far as is known before it runs (exactly one is set).

    ``webhook_user``: the user a webhook URL names (its webhooks are read, and the user is the viewer);
    ``token_hash``: an OAuth access token's hash (the token and its user are read, and that user is the viewer);
    ``viewer``: a caller known already (the signed reader).
    """

    webhook_user: int | None = None
    token_hash: str | None = None
    viewer: int | None = None

    @property
    def kind(self) -> str:
        return "webhook" if self.webhook_user is not None else "token" if self.token_hash is not None else "viewer"


_STATEMENTS: dict[tuple[Prepared | None, str, bool], Prepared] = {}


def _statement(named: reads.Named | None, kind: str, ballot: bool) -> Prepared:
    """The one statement for a call that reads these parts (built once per combination)."""
    key = (None if named is None else named.statement, kind, ballot)
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = _build(named, kind, ballot)
    return found


def _build(named: reads.Named | None, kind: str, ballot: bool) -> Prepared:
    parts: list[Any] = []
    viewer: ColumnElement[Any] = bindparam("viewer", type_=Integer)
    if kind == "webhook":
        parts.append(_json_rows(reads.webhooks_select()))
    elif kind == "token":
        access = oauth.access_select()
        parts.append(_json_rows(access))
        token = access.subquery()
        viewer = select(token.c.user_id).limit(1).scalar_subquery()
        parts.append(_json_rows(select(*people.USER_COLUMNS).where(users.c.id == viewer)))
    if named is not None:
        target = named.select(viewer).cte("target")
        parts.append(_json_rows(select(target)))
        vote_id = select(list(target.c)[reads.TARGET_POLL]).scalar_subquery()
        questions = questions_select(and_(votes.c.id == vote_id, votes.c.version != bindparam("known")))
        parts.append(_json_rows(questions, QUESTIONS_ORDER))
        if ballot:
            mine = ballots_select(and_(ballots.c.vote_id == vote_id, ballots.c.user_id == viewer))
            parts.append(_json_rows(mine, (ballot_answers.c.id,)))
    return Prepared(select(func.json_build_array(*parts).label("parts")))


# The vote id a named attach had when last read: the guess at which cached questions a call will need.
_VOTE_OF: dict[tuple[Any, ...], int] = {}
_VOTE_OF_LIMIT = 10_000
_vote_of_lock = threading.Lock()


def _remember_vote(key: tuple[Any, ...], vote_id: int) -> None:
    with _vote_of_lock:
        if key not in _VOTE_OF and len(_VOTE_OF) >= _VOTE_OF_LIMIT:
            _VOTE_OF.clear()
        _VOTE_OF[key] = vote_id


def read_ahead(conn: Connection, *, who: Who, named: reads.Named | None, ballot: bool) -> Memo:
    """Run a call's reads in one statement; the memo that serves them (see the module).

    ``who`` calls (see :class:`Who`); ``named``: the attach the call names, read as the caller sees it, with its
    questions and, with ``ballot``, the caller's ballot.
    """
    memo = Memo()
    kind = who.kind
    params: dict[str, Any] = {}
    if kind == "webhook":
        params["user_id"] = who.webhook_user
    elif kind == "token":
        params["access_hash"] = who.token_hash
    else:
        params["viewer"] = who.viewer
    key: tuple[Any, ...] = ()
    if named is not None:
        params.update(named.params)
        if kind == "webhook":
            params["viewer"] = who.webhook_user
        key = (named.statement, *named.params)
        guessed = _VOTE_OF.get(key)
        known = QUESTIONS.version_of(guessed) if guessed is not None else None
        params["known"] = _NO_VERSION if known is None or known == 0 else known
    ((parts,),) = _statement(named, kind, ballot).rows(conn, **params)
    if isinstance(parts, (str, bytes)):  # a driver that hands JSON back undecoded
        parts = orjson.loads(parts)
    found = iter(parts)
    viewer = who.viewer
    if kind == "webhook":
        reads.WEBHOOK_ROWS.keep(memo, _tuples(next(found)), user_id=who.webhook_user)
        viewer = who.webhook_user
    elif kind == "token":
        access = _tuples(next(found))
        oauth.ACCESS_ROWS.keep(memo, access, access_hash=who.token_hash)
        user = _tuples(next(found))
        viewer = access[0][2] if len(access) == 1 else None  # the token's user (access_select's third column)
        if viewer is not None:
            people.USER_ROWS.keep(memo, user, user_id=viewer)
    if named is not None and viewer is not None:  # no viewer: the call fails its authentication first
        target = _tuples(next(found))
        named.statement.keep(memo, target, **dict(named.params), viewer=viewer)
        questions = _tuples(next(found))
        if target:
            vote_id = target[0][reads.TARGET_POLL]
            _remember_vote(key, vote_id)
            if questions or target[0][reads.TARGET_POLL + POLL_VERSION] != params["known"]:
                QUESTIONS_ROWS.keep(memo, [vote_id], questions)
            if ballot:
                BALLOT_ROWS.keep(memo, [vote_id], _tuples(next(found)), user_id=viewer)
    return memo


def _tuples(rows: list[list[Any]] | None) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in rows] if rows else []
