"""Every REST method × every kind of caller, with the expected outcome of each cell written out below; and
anonymous polls, whose voters no read path may name.

Callers: the poll's author (owner of its chat), another chat member, a user in no chat, a user of another
chat, that outsider with a valid / tampered / foreign signed id, the author through a valid OAuth token, a
webhook without the `vote` and `im` scopes, a wrong webhook code, the webhook of a deactivated user, and
expired, revoked (application removed) and wrong-scope OAuth tokens. Expiry comes from the `clock` fixture.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.domain.signing import sign_attach
from b24vote.live import LiveEvent, MemoryBroker
from b24vote.methods.registry import registry
from b24vote.storage import oauth, people
from b24vote.storage.engine import Database
from b24vote.storage.tables import oauth_apps, users
from tests.conftest import Portal
from tests.helpers.results import OpenStream
from tests.helpers.votes import ChatPoll, call, cast, send_poll, vote_data
from tests.helpers.wire import assert_b24_error, assert_envelope

CONNECTOR = "Bitrix\\Vote\\Attachment\\ImMessageConnector"

# --- the table --------------------------------------------------------------------------------------------------

OK, EMPTY = "ok", "empty"  # a success; a success whose result is []
RD, NF, ED = "read-denied", "not-found", "edit-denied"  # the vote module's access errors
WR, SD = "wrong-request", "send-denied"  # im.chat.user.* refusals; Im.send to a chat the caller is not in
CE = "cant-edit"  # im.message.delete by someone who is neither the message's author nor a portal admin
NA, EX, IT, SC = "no-auth", "expired", "invalid-token", "scope"  # platform errors before the method runs
AC = "app-context"  # WRONG_AUTH_TYPE: the event methods need an application (OAuth), not a webhook

ERRORS: dict[str, tuple[str, int, str | None]] = {
    RD: ("0", 400, "Attach read access denied"),
    NF: ("ATTACH_NOT_FOUND", 400, "Attach not found"),
    ED: ("403", 400, "Access denied."),
    WR: ("WRONG_REQUEST", 400, None),
    SD: ("0", 400, None),
    CE: ("CANT_EDIT_MESSAGE", 403, "Time has expired for modification or you don't have access"),
    NA: ("NO_AUTH_FOUND", 401, "Wrong authorization data"),
    EX: ("expired_token", 401, "The access token provided has expired"),
    IT: ("invalid_token", 401, "Unable to get application by token"),
    SC: ("insufficient_scope", 403, None),
    AC: ("WRONG_AUTH_TYPE", 403, "Application context required"),
}

CALLERS = (
    "author", "member", "non-member", "other-chat", "signed", "tampered", "foreign", "oauth",
    "narrow-hook", "wrong-code", "deleted-user", "expired-token", "revoked-token", "wrong-scope-token",
)  # fmt: skip
_VOTE_TAIL = (SC, NA, NA, EX, IT, SC)  # methods of the vote / im scopes
_OPEN_TAIL = (OK, NA, NA, EX, IT, OK)  # basic and `user` methods: every live credential may call them
_READS = (OK, OK, RD, RD, OK, NF, NF, OK, *_VOTE_TAIL)
_PARTICIPATES = (OK, OK, RD, RD, RD, NF, NF, OK, *_VOTE_TAIL)
_EDITS = (OK, ED, RD, RD, RD, NF, NF, OK, *_VOTE_TAIL)
_EVERYONE = (OK,) * 8
_APP_ONLY = (AC, AC, AC, AC, AC, AC, AC, OK, AC, NA, NA, EX, IT, OK)
_APP_EMPTY = (AC, AC, AC, AC, AC, AC, AC, EMPTY, AC, NA, NA, EX, IT, EMPTY)  # nothing bound or queued yet

MATRIX: dict[str, tuple[str, ...]] = {
    #                                  author member non-mem other  signed tamper foreign oauth | auth tail
    "batch":                           (*_EVERYONE, *_OPEN_TAIL),
    "event.bind":                      _APP_ONLY,
    "event.get":                       _APP_EMPTY,
    "event.offline.clear":             _APP_ONLY,
    "event.offline.error":             _APP_ONLY,
    "event.offline.get":               _APP_ONLY,
    "event.offline.list":              _APP_EMPTY,
    "event.test":                      _APP_ONLY,
    "event.unbind":                    _APP_ONLY,
    "events":                          _APP_ONLY,
    "im.chat.add":                     (*_EVERYONE, *_VOTE_TAIL),
    "im.chat.get":                     (*_EVERYONE, *_VOTE_TAIL),
    "im.chat.user.add":                (OK, OK, WR, WR, WR, WR, WR, OK, *_VOTE_TAIL),
    "im.chat.user.delete":             (OK, WR, WR, WR, WR, WR, WR, OK, *_VOTE_TAIL),
    "im.chat.user.list":               (OK, OK, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, OK, *_VOTE_TAIL),
    "im.message.delete":               (OK, CE, CE, CE, CE, CE, CE, OK, *_VOTE_TAIL),
    "method.get":                      (*_EVERYONE, *_OPEN_TAIL),
    "methods":                         (*_EVERYONE, *_OPEN_TAIL),
    "scope":                           (*_EVERYONE, *_OPEN_TAIL),
    "server.time":                     (*_EVERYONE, *_OPEN_TAIL),
    "user.current":                    (*_EVERYONE, *_OPEN_TAIL),
    "user.get":                        (*_EVERYONE, *_OPEN_TAIL),
    "vote.AttachedVote.download":      _READS,
    "vote.AttachedVote.get":           _READS,
    "vote.AttachedVote.getAnswerVoted": _READS,
    "vote.AttachedVote.getMany":       (OK, OK, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, OK, *_VOTE_TAIL),
    "vote.AttachedVote.getWithVoted":  _READS,
    "vote.AttachedVote.recall":        _PARTICIPATES,
    "vote.AttachedVote.resume":        _EDITS,
    "vote.AttachedVote.stop":          _EDITS,
    "vote.AttachedVote.vote":          _PARTICIPATES,
    "vote.Integration.Im.send":        (OK, OK, SD, SD, SD, SD, SD, OK, *_VOTE_TAIL),
}  # fmt: skip
# Inside batch each command meets the caller's own rights: the command here is vote.AttachedVote.get.
BATCH_COMMAND = "vote.AttachedVote.get"


def test_the_table_covers_every_method_and_caller() -> None:
    assert sorted(MATRIX) == sorted(m.name for m in registry)
    assert all(len(row) == len(CALLERS) for row in MATRIX.values())


# --- the callers ------------------------------------------------------------------------------------------------


@dataclass
class Caller:
    """How one kind of caller reaches the API: a URL prefix and the extra parameters it sends."""

    prefix: str  # "/rest/1/<code>" for webhooks, "/rest" for OAuth
    auth: dict[str, str]
    signed: Callable[[int], str] | None = None  # what it sends as signedAttachId instead of attachId


@dataclass
class World:
    portal: Portal
    callers: dict[str, Caller]
    dana: int  # in no chat
    secret: str = "test-secret"


def _token(conn: Any, now: Any, user: int, scopes: list[str], name: str) -> tuple[int, str]:
    app, _ = oauth.add_app(conn, now, name=name, scopes=scopes)
    return app.id, oauth.issue_tokens(conn, now, app, user).access_token


@pytest.fixture
def world(app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock) -> World:
    now = clock.now()
    with db.write() as conn:
        dana = people.add_user(conn, now, name="Dana", last_name="Nobody")
        eve = people.add_user(conn, now, name="Eve", last_name="Gone")
        people.add_members(conn, now, portal.chat, [eve])
        dana_hook = f"/rest/{dana}/{people.add_webhook(conn, now, user_id=dana, scopes=['im', 'user', 'vote'])[1]}"
        eve_hook = f"/rest/{eve}/{people.add_webhook(conn, now, user_id=eve, scopes=['im', 'user', 'vote'])[1]}"
        conn.execute(update(users).where(users.c.id == eve).values(active=False))
        _, expired = _token(conn, now, portal.admin, ["im", "user", "vote"], "expires")
    clock.advance(3601)  # the first token is an hour and a second old now
    now = clock.now()
    with db.write() as conn:
        _, valid = _token(conn, now, portal.admin, ["im", "user", "vote"], "valid")
        _, narrow = _token(conn, now, portal.admin, ["user"], "narrow")
        revoked_app, revoked = _token(conn, now, portal.admin, ["im", "user", "vote"], "removed")
        conn.execute(update(oauth_apps).where(oauth_apps.c.id == revoked_app).values(active=False))

    def signed(key: str) -> Callable[[int], str]:
        return lambda attach_id: sign_attach(attach_id, key)

    def tampered(attach_id: int) -> str:
        good = sign_attach(attach_id, "test-secret")
        return good[:-1] + ("0" if good[-1] != "0" else "1")

    def token(value: str) -> Caller:
        return Caller("/rest", {"auth": value})

    callers = {
        "author": Caller(portal.hook, {}),
        "member": Caller(portal.bob_hook, {}),
        "non-member": Caller(dana_hook, {}),
        "other-chat": Caller(portal.outsider_hook, {}),
        "signed": Caller(dana_hook, {}, signed("test-secret")),
        "tampered": Caller(dana_hook, {}, tampered),
        "foreign": Caller(dana_hook, {}, signed("another-installation")),
        "oauth": token(valid),
        "narrow-hook": Caller(portal.narrow_hook, {}),
        "wrong-code": Caller(f"/rest/{portal.admin}/0123456789abcdef", {}),
        "deleted-user": Caller(eve_hook, {}),
        "expired-token": token(expired),
        "revoked-token": token(revoked),
        "wrong-scope-token": token(narrow),
    }
    assert set(callers) == set(CALLERS)
    return World(portal, callers, dana)


# --- one cell ---------------------------------------------------------------------------------------------------


def _address(caller: Caller, poll: ChatPoll) -> dict[str, Any]:
    return {"signedAttachId": caller.signed(poll.attach_id)} if caller.signed else {"attachId": poll.attach_id}


def _params(method: str, caller: Caller, poll: ChatPoll, world: World, fresh_user: int) -> dict[str, Any]:
    portal, address = world.portal, _address(caller, poll)
    by_method: dict[str, dict[str, Any]] = {
        "event.bind": {"event": "ONAPPTEST", "handler": "http://127.0.0.1:9/h", "auth_type": portal.bob},
        "event.unbind": {"event": "ONAPPTEST", "handler": "http://127.0.0.1:9/h"},
        "event.offline.clear": {"process_id": "p"},
        "event.offline.error": {"process_id": "p", "message_id": ["1"]},
        "batch": {"cmd": {"g": f"{BATCH_COMMAND}?" + "&".join(f"{k}={v}" for k, v in address.items())}},
        "im.chat.add": {"TITLE": "New", "USERS": [portal.bob]},
        "im.chat.get": {"ENTITY_TYPE": "tag", "ENTITY_ID": "1"},
        "im.chat.user.add": {"CHAT_ID": portal.chat, "USERS": [fresh_user]},
        "im.chat.user.delete": {"CHAT_ID": portal.chat, "USER_ID": portal.cleo},
        "im.chat.user.list": {"CHAT_ID": portal.chat},
        "im.message.delete": {"MESSAGE_ID": poll.message_id},
        "method.get": {"name": "user.current"},
        "vote.AttachedVote.getAnswerVoted": {**address, "answerId": poll.answer_ids[0]},
        "vote.AttachedVote.getMany": {
            "moduleId": "im",
            "entityType": CONNECTOR,
            "entityIds": [poll.message_id],
            **({"signedAttachId": address["signedAttachId"]} if caller.signed else {}),
        },
        "vote.AttachedVote.vote": {**address, "ballot": {str(poll.question_id): [poll.answer_ids[0]]}},
        "vote.Integration.Im.send": {"chatId": portal.chat, "IM_MESSAGE_VOTE_DATA": vote_data()},
    }
    if method in by_method:
        return by_method[method]
    return address if method.startswith("vote.AttachedVote.") else {}


def _outcome(method: str, resp: Any) -> str:
    """The cell value a response stands for."""
    if resp.status_code == 200 and method == "vote.AttachedVote.download":
        assert resp.headers["content-disposition"].startswith("attachment;filename=vote")
        return OK
    if resp.status_code == 200:
        result = assert_envelope(resp)
        if result == [] and method not in ("vote.AttachedVote.stop", "vote.AttachedVote.resume"):
            return EMPTY
        return OK
    body = resp.json()
    for name, (code, status, text) in ERRORS.items():
        if body.get("error") == code and resp.status_code == status and text in (None, body["error_description"]):
            if name == SD and method != "vote.Integration.Im.send":
                continue
            assert_b24_error(resp, code, status)
            return name
    return f"unexpected {resp.status_code} {body}"


def _batch_inner(body: dict[str, Any]) -> str:
    """The outcome of the batch's one command, in the table's terms."""
    inner = body["result"]
    if inner["result"]:
        return OK
    error = inner["result_error"]["g"]
    if error["error"] == "insufficient_scope":
        assert error["error_description"] == ""  # inside batch the REST module sends no description
        return SC
    return next(
        name for name, (code, _, text) in ERRORS.items() if (code, text) == (error["error"], error["error_description"])
    )


def _cell(client: TestClient, world: World, db: Database, clock: FrozenClock, method: str, name: str) -> str:
    portal, caller = world.portal, world.callers[name]
    now = clock.now()
    with db.write() as conn:
        fresh_user = people.add_user(conn, now, name="Fresh")
        people.add_members(conn, now, portal.chat, [portal.cleo])  # im.chat.user.delete removes Cleo
    poll = send_poll(client, portal)
    resp = client.post(
        f"{caller.prefix}/{method}", json={**_params(method, caller, poll, world, fresh_user), **caller.auth}
    )
    outcome = _outcome(method, resp)
    if method == "batch" and outcome == OK:
        inner = _batch_inner(resp.json())
        expected_inner = MATRIX[BATCH_COMMAND][CALLERS.index(name)]
        if inner != expected_inner:
            return f"batch command {inner}, expected {expected_inner}"
    return outcome


@pytest.mark.parametrize("method", sorted(MATRIX))
def test_permission_matrix(app_client: TestClient, world: World, db: Database, clock: FrozenClock, method: str) -> None:
    """Every cell of the method's row: all of them are run, and every mismatch is reported at once."""
    wrong = []
    for name, expected in zip(CALLERS, MATRIX[method], strict=True):
        got = _cell(app_client, world, db, clock, method, name)
        if got != expected:
            wrong.append(f"{name}: expected {expected}, got {got}")
    assert not wrong, f"{method}:\n  " + "\n  ".join(wrong)


# --- anonymous polls --------------------------------------------------------------------------------------------

VOTER_NAMES = ("Boris", "Belov", "Cleo", "Carter")


class TapBroker(MemoryBroker):
    """Same-process delivery that also keeps every published event."""

    def __init__(self, deliver: Callable[[LiveEvent], None]) -> None:
        super().__init__()
        self._deliver = deliver
        self.published: list[LiveEvent] = []

    async def publish(self, event: LiveEvent) -> None:
        self.published.append(event)
        await super().publish(event)


@dataclass
class Anonymous:
    poll: ChatPoll
    cleo_hook: str
    broker: TapBroker


@pytest.fixture
def anonymous(app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock) -> Anonymous:
    """An anonymous poll with re-voting that Boris and Cleo voted in; Anna (its author) reads it."""
    hub = app_client.app.state.b24.live  # type: ignore[attr-defined]
    broker = hub.broker = TapBroker(hub._deliver)
    with db.write() as conn:
        cleo_hook = (
            f"/rest/{portal.cleo}/{people.add_webhook(conn, clock.now(), user_id=portal.cleo, scopes=['vote'])[1]}"
        )
    poll = send_poll(app_client, portal, anonymity=2, options=1)
    cast(app_client, portal, poll, poll.answer_ids[0], hook=portal.bob_hook)
    cast(app_client, portal, poll, poll.answer_ids[1], hook=cleo_hook)
    cast(app_client, portal, poll, poll.answer_ids[1], hook=cleo_hook)  # a re-vote
    return Anonymous(poll, cleo_hook, broker)


def _assert_nameless(text: str, where: str, names: tuple[str, ...] = VOTER_NAMES) -> None:
    for name in names:
        assert name not in text, f"{where} names a voter: {name}"


def _voter_ids(value: Any) -> list[Any]:
    """Every ``ID`` of a voter DTO (an object with ID and NAME) anywhere in a reply."""
    if isinstance(value, dict):
        own = [value["ID"]] if {"ID", "NAME"} <= set(value) else []
        return own + [i for v in value.values() for i in _voter_ids(v)]
    if isinstance(value, list):
        return [i for v in value for i in _voter_ids(v)]
    return []


def test_no_api_read_names_a_voter(app_client: TestClient, portal: Portal, anonymous: Anonymous) -> None:
    poll, address = anonymous.poll, {"attachId": anonymous.poll.attach_id}
    many = {"moduleId": "im", "entityType": CONNECTOR, "entityIds": [poll.message_id]}
    ballot = {str(poll.question_id): [poll.answer_ids[2]]}
    replies = {
        "get": call(app_client, portal, "vote.AttachedVote.get", **address),
        "getWithVoted": call(app_client, portal, "vote.AttachedVote.getWithVoted", **address, pageSize=50),
        "getMany": call(app_client, portal, "vote.AttachedVote.getMany", **many),
        "vote reply": call(app_client, portal, "vote.AttachedVote.vote", **address, ballot=ballot),
        "recall reply": call(app_client, portal, "vote.AttachedVote.recall", **address),
    }
    for answer in poll.answer_ids:
        resp = app_client.post(portal.url("vote.AttachedVote.getAnswerVoted"), json={**address, "answerId": answer})
        assert assert_envelope(resp) == {"items": []}
        replies[f"getAnswerVoted {answer}"] = resp.json()
    assert replies["getWithVoted"]["voted"] == []
    # Counters still count the anonymous ballots.
    assert replies["get"]["attach"]["COUNTER"] == 2
    for where, reply in replies.items():
        _assert_nameless(repr(reply), where)
        assert _voter_ids(reply) == [], where
    # A voter reading the poll sees only their own ballot, never the other voter's.
    bob = call(app_client, portal, "vote.AttachedVote.getWithVoted", portal.bob_hook, **address)
    _assert_nameless(repr(bob), "getWithVoted for Boris", ("Cleo", "Carter"))
    assert list(bob["attach"]["userAnswerMap"][str(poll.question_id)]) == [str(poll.answer_ids[0])]


def _report_text(content: bytes, fmt: str) -> str:
    if fmt != "xlsx":
        return content.decode("utf-8", errors="replace")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "".join(archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist())


@pytest.mark.parametrize("fmt", ["xls", "xlsx", "csv"])
def test_no_report_names_a_voter(app_client: TestClient, portal: Portal, anonymous: Anonymous, fmt: str) -> None:
    attach = call(app_client, portal, "vote.AttachedVote.get", attachId=anonymous.poll.attach_id)["attach"]
    through_rest = app_client.post(
        portal.url("vote.AttachedVote.download"), json={"attachId": anonymous.poll.attach_id, "format": fmt}
    )
    through_link = app_client.get(f"{attach['downloadUrl']}&format={fmt}")
    for where, resp in (("REST download", through_rest), ("downloadUrl", through_link)):
        assert resp.status_code == 200, resp.text
        text = _report_text(resp.content, fmt)
        assert text.strip(), where
        _assert_nameless(text, f"{where} ({fmt})")


def test_no_page_or_stream_names_a_voter(app_client: TestClient, portal: Portal, anonymous: Anonymous) -> None:
    attach = call(app_client, portal, "vote.AttachedVote.get", attachId=anonymous.poll.attach_id)["attach"]
    codes = (attach["resultUrl"], "/vote-result/" + attach["signedAttachId"])
    for code, new_answer in zip(codes, (2, 0), strict=True):  # each time Cleo changes her vote
        page = app_client.get(code)
        assert page.status_code == 200
        _assert_nameless(page.text, f"results page {code}")
        stream = OpenStream(app_client, code + "/events")
        try:
            first = stream.next_event()
            cast(app_client, portal, anonymous.poll, anonymous.poll.answer_ids[new_answer], hook=anonymous.cleo_hook)
            second = stream.next_event()
        finally:
            stream.close()
        for data in (first, second):
            _assert_nameless(repr(data), "results stream")
            assert _voter_ids(data) == []


def test_live_events_name_only_the_voter_to_themselves(anonymous: Anonymous, portal: Portal) -> None:
    events = anonymous.broker.published
    assert {e.name for e in events} >= {"voting", "user_vote"}
    user_names = {portal.bob: ("Boris", "Belov"), portal.cleo: ("Cleo", "Carter")}
    for event in events:
        text = repr(event.params)
        if event.to_user is None:  # broadcast to everyone watching the poll
            _assert_nameless(text, f"broadcast {event.name}")
            assert event.params.get("AUTHOR_ID") is None and "user" not in event.params
        else:  # only to the voter's own sessions: their own identity, nobody else's
            others = tuple(n for uid, names in user_names.items() if uid != event.to_user for n in names)
            _assert_nameless(text, f"{event.name} to user {event.to_user}", others)
