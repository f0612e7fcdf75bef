"""PostgreSQL: a ``get`` is one statement, a ``vote`` two (its reads ahead, then the cast), and what the reads
ahead serve is what the reads themselves would have read (``b24vote.storage.ahead``).

Statements are counted on psycopg's asyncio cursor, under SQLAlchemy's adapter: every statement b24vote sends
goes through it. Each reply is compared with the reply of the same call with nothing read ahead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.dialects.postgresql.psycopg import AsyncAdapt_psycopg_cursor
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.domain.signing import sign_attach
from b24vote.storage import oauth, polls
from b24vote.storage.engine import Database
from b24vote.storage.questions import QUESTIONS
from b24vote.storage.tables import chat_members, oauth_apps, users, webhooks
from b24vote.transport import dispatch
from tests.conftest import Portal
from tests.helpers.votes import ChatPoll, call, send_poll

pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def sent(app_client: TestClient, portal: Portal) -> Iterator[list[str]]:
    """Every statement the server sends from now on (the test client's requests run on its event loop)."""
    seen: list[str] = []
    original = AsyncAdapt_psycopg_cursor.execute

    def counted(self: Any, operation: Any, parameters: Any = None, **kw: Any) -> Any:
        seen.append(str(operation))
        return original(self, operation, parameters, **kw)

    patch = pytest.MonkeyPatch()
    patch.setattr(AsyncAdapt_psycopg_cursor, "execute", counted)
    yield seen
    patch.undo()


@pytest.fixture
def poll(app_client: TestClient, portal: Portal) -> ChatPoll:
    return send_poll(app_client, portal, anonymity=2, options=1)  # public, re-voting allowed


def _raw(client: TestClient, portal: Portal, method: str, hook: str | None = None, **params: Any) -> Any:
    response = client.post(portal.url(method, hook), json=params)
    body = response.json()
    body.pop("time", None)
    return response.status_code, body


def _both(
    client: TestClient, portal: Portal, monkeypatch: pytest.MonkeyPatch, method: str, hook: str | None, **params: Any
) -> Any:
    """The reply with reads ahead, after checking it equals the reply with none (same database state)."""
    ahead = _raw(client, portal, method, hook, **params)
    with monkeypatch.context() as m:
        m.setattr(dispatch, "_ahead", lambda *_: None)
        plain = _raw(client, portal, method, hook, **params)
    assert ahead == plain
    return ahead


def test_a_get_is_one_statement_and_a_vote_two(
    app_client: TestClient, portal: Portal, poll: ChatPoll, sent: list[str]
) -> None:
    call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)  # questions now cached
    sent.clear()
    got = call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)
    assert len(sent) == 1, sent
    assert got["attach"]["ID"] == poll.attach_id

    sent.clear()
    ballot = {poll.question_id: [poll.answer_ids[0]]}
    voted = call(app_client, portal, "vote.AttachedVote.vote", attachId=poll.attach_id, ballot=ballot)
    assert len(sent) == 2, sent
    assert "b24vote_cast" in sent[1]
    assert voted["attach"]["COUNTER"] == 1 and voted["attach"]["isVoted"] is True

    # The vote gave the poll a new version: the next get reads the questions in the same statement.
    sent.clear()
    got = call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)
    assert len(sent) == 1, sent
    answers = got["attach"]["QUESTIONS"][str(poll.question_id)]["ANSWERS"]
    assert answers[str(poll.answer_ids[0])]["COUNTER"] == "1" and got["attach"]["userAnswerMap"]


def test_replies_equal_the_replies_without_reads_ahead(
    app_client: TestClient, portal: Portal, poll: ChatPoll, monkeypatch: pytest.MonkeyPatch
) -> None:
    get = "vote.AttachedVote.get"
    for hook in (portal.hook, portal.bob_hook, portal.outsider_hook, portal.narrow_hook):
        _both(app_client, portal, monkeypatch, get, hook, attachId=poll.attach_id)
    _both(app_client, portal, monkeypatch, get, None, attachId=poll.attach_id + 1000)  # ATTACH_NOT_FOUND
    _both(app_client, portal, monkeypatch, get, None, moduleId="im", entityType="IM_MESSAGE", entityId=poll.message_id)
    signed = sign_attach(poll.attach_id, app_client.app.state.b24.secret_key)  # type: ignore[attr-defined]
    _both(app_client, portal, monkeypatch, get, portal.outsider_hook, signedAttachId=signed)
    _both(app_client, portal, monkeypatch, get, None, signedAttachId="bogus.signature")
    _both(app_client, portal, monkeypatch, get, None)  # no payload at all
    _both(app_client, portal, monkeypatch, get, portal.hook.replace("/rest/", "/rest/9"), attachId=poll.attach_id)
    _both(app_client, portal, monkeypatch, get, portal.hook + "x", attachId=poll.attach_id)  # NO_AUTH_FOUND
    status, body = _both(app_client, portal, monkeypatch, get, portal.outsider_hook, attachId=poll.attach_id)
    assert "error" in body  # not a member of the chat
    status, body = _both(app_client, portal, monkeypatch, get, portal.bob_hook, attachId=poll.attach_id)
    assert status == 200 and body["result"]["attach"]["ID"] == poll.attach_id


def test_reads_ahead_see_what_other_connections_changed(
    app_client: TestClient, portal: Portal, poll: ChatPoll, db: Database, sent: list[str]
) -> None:
    """Nothing is kept from one call to the next: a revoked webhook, a member removed, questions cached under a
    version another process moved past — each seen on the very next call."""
    ballot = {poll.question_id: [poll.answer_ids[1]]}
    call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)
    # Another process votes: the poll's version moves on; this process's cached questions are an older version.
    with db.write() as conn:
        polls.insert_ballot(conn, NOW, vote_id=poll.vote_id, user_id=portal.cleo, chosen=ballot, visible=True)
    got = call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)
    answers = got["attach"]["QUESTIONS"][str(poll.question_id)]["ANSWERS"]
    assert answers[str(poll.answer_ids[1])]["COUNTER"] == "1"
    # The cache lost the version meanwhile (another poll took its place): the questions come with the rest.
    QUESTIONS.clear()
    sent.clear()
    again = call(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)
    assert again == got and len(sent) == 1
    voted = call(app_client, portal, "vote.AttachedVote.vote", portal.bob_hook, attachId=poll.attach_id, ballot=ballot)
    assert voted["attach"]["COUNTER"] == 2

    with db.write() as conn:
        conn.execute(chat_members.delete().where(chat_members.c.user_id == portal.bob))
    status, body = _raw(app_client, portal, "vote.AttachedVote.get", portal.bob_hook, attachId=poll.attach_id)
    assert body.get("error") is not None, body

    with db.write() as conn:
        conn.execute(update(webhooks).where(webhooks.c.user_id == portal.admin).values(active=False))
    status, body = _raw(app_client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)
    assert (status, body["error"]) == (401, "NO_AUTH_FOUND")


def _token(db: Database, clock: FrozenClock, user: int, scopes: tuple[str, ...] = ("im", "user", "vote")) -> str:
    with db.write() as conn:
        app, _ = oauth.add_app(conn, clock.now(), name=f"Ahead {user}", scopes=list(scopes))
        return oauth.issue_tokens(conn, clock.now(), app, user).access_token


def _oauth(client: TestClient, method: str, token: str, **params: Any) -> Any:
    response = client.post(f"/rest/{method}?auth={token}", json=params)
    body = response.json()
    body.pop("time", None)
    return response.status_code, body


def test_an_oauth_call_reads_its_token_and_user_with_the_rest(
    app_client: TestClient,
    portal: Portal,
    poll: ChatPoll,
    db: Database,
    clock: FrozenClock,
    sent: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = _token(db, clock, portal.bob)
    _oauth(app_client, "vote.AttachedVote.get", token, attachId=poll.attach_id)  # questions now cached
    sent.clear()
    status, got = _oauth(app_client, "vote.AttachedVote.get", token, attachId=poll.attach_id)
    assert status == 200 and got["result"]["attach"]["ID"] == poll.attach_id and len(sent) == 1, sent
    sent.clear()
    ballot = {str(poll.question_id): [poll.answer_ids[2]]}
    status, voted = _oauth(app_client, "vote.AttachedVote.vote", token, attachId=poll.attach_id, ballot=ballot)
    assert status == 200 and voted["result"]["attach"]["isVoted"] is True and len(sent) == 2, sent

    def both(method: str, auth: str, **params: Any) -> Any:
        ahead = _oauth(app_client, method, auth, **params)
        with monkeypatch.context() as m:
            m.setattr(dispatch, "_ahead", lambda *_: None)
            assert _oauth(app_client, method, auth, **params) == ahead
        return ahead

    assert both("vote.AttachedVote.get", token, attachId=poll.attach_id)[0] == 200
    outsider = _token(db, clock, portal.outsider)
    assert "error" in both("vote.AttachedVote.get", outsider, attachId=poll.attach_id)[1]  # not in the chat
    narrow = _token(db, clock, portal.bob, ("user",))
    assert both("vote.AttachedVote.get", narrow, attachId=poll.attach_id)[1]["error"] == "insufficient_scope"
    assert both("vote.AttachedVote.get", "no-such-token", attachId=poll.attach_id)[1]["error"] == "invalid_token"
    clock.advance(2 * 3600)  # past the access token's lifetime
    assert both("vote.AttachedVote.get", token, attachId=poll.attach_id)[1]["error"] == "expired_token"


def test_an_oauth_caller_changed_by_another_connection_is_seen_on_the_next_call(
    app_client: TestClient, portal: Portal, poll: ChatPoll, db: Database, clock: FrozenClock
) -> None:
    token = _token(db, clock, portal.bob)
    assert _oauth(app_client, "vote.AttachedVote.get", token, attachId=poll.attach_id)[0] == 200
    with db.write() as conn:
        conn.execute(update(users).where(users.c.id == portal.bob).values(active=False))
    status, body = _oauth(app_client, "vote.AttachedVote.get", token, attachId=poll.attach_id)
    assert (status, body["error"]) == (401, "authorization_error"), body
    with db.write() as conn:
        conn.execute(update(users).where(users.c.id == portal.bob).values(active=True))
        conn.execute(update(oauth_apps).values(active=False))
    status, body = _oauth(app_client, "vote.AttachedVote.get", token, attachId=poll.attach_id)
    assert (status, body["error"]) == (401, "invalid_token"), body
