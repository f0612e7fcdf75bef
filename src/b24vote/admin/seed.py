"""Seeding: create the users, chats, webhooks (incoming, outgoing), apps and polls of a seed document at once.

Chat polls and their ballots go through the handlers of ``vote.Integration.Im.send`` and
``vote.AttachedVote.vote`` (the code path of the REST methods), so counters, messages and attaches are
exactly what real calls would leave. Any problem rolls the whole document back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from b24vote.admin.http import admin_endpoint, app_state, read_body, reply
from b24vote.admin.seed_doc import ChatSpec, OutgoingSpec, PollSpec, SeedDoc, SeedError, UserSpec, WebhookSpec, load
from b24vote.config import Settings
from b24vote.domain.polls import IM_ENTITY_TYPE, FieldType
from b24vote.errors import AdminError, B24Error
from b24vote.events.outgoing import OutgoingError, add_outgoing
from b24vote.methods import attached_vote, integration_im  # noqa: F401 - registers the handlers used here
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext, Caller, registry
from b24vote.portal import webhook_url
from b24vote.storage import oauth, passwords, people, polls, seeding
from b24vote.storage.engine import Database
from b24vote.storage.tables import chats, users

__all__ = ["SeedTarget", "apply_seed", "post_seed"]

_ALL_SCOPES = frozenset({"vote", "im", "user"})


@dataclass(frozen=True, slots=True)
class SeedTarget:
    """Where and as of when to seed."""

    db: Database
    settings: Settings
    secret_key: str
    now: datetime


def apply_seed(target: SeedTarget, doc: SeedDoc) -> dict[str, Any]:
    """Create everything ``doc`` declares; returns the ids, webhook URLs and app credentials made."""
    now, base = target.now, target.settings.public_url
    out: dict[str, Any] = {"users": [], "chats": [], "webhooks": [], "outgoing": [], "apps": [], "polls": []}
    with target.db.write() as conn:
        if doc.language is not None:
            people.set_setting(conn, people.LANGUAGE_KEY, doc.language)
            out["language"] = doc.language
        for i, user in enumerate(doc.users):
            out["users"].append(_user(conn, now, user, f"users[{i}]"))
        for i, chat in enumerate(doc.chats):
            out["chats"].append(_chat(conn, now, chat, f"chats[{i}]"))
        for i, hook in enumerate(doc.webhooks):
            out["webhooks"].append(_webhook(conn, now, base, hook, f"webhooks[{i}]"))
        for i, spec in enumerate(doc.outgoing):
            out["outgoing"].append(_outgoing(conn, target, spec, f"outgoing[{i}]"))
        for app in doc.apps:
            made, secret = oauth.add_app(
                conn,
                now,
                name=app.name,
                scopes=app.scopes,
                redirect_uri=app.redirect_uri,
                install_handler=app.install_handler,
            )
            out["apps"].append({"name": made.name, "client_id": made.client_id, "client_secret": secret})
        for i, poll in enumerate(doc.polls):
            out["polls"].append(_poll(conn, target, poll, f"polls[{i}]"))
    return out


def _webhook(conn: Connection, now: datetime, base: str, hook: WebhookSpec, path: str) -> dict[str, Any]:
    _need_user(conn, hook.user, f"{path}.user")
    scopes = sorted(hook.scopes)
    if hook.code is None:
        hook_id, code = people.add_webhook(conn, now, user_id=hook.user, scopes=scopes, title=hook.title)
    elif seeding.code_in_use(conn, hook.code):
        raise SeedError(f"{path}.code: another webhook has this code")
    else:
        hook_id, code = people.add_webhook(
            conn, now, user_id=hook.user, scopes=scopes, code=hook.code, title=hook.title
        )
    return {"id": hook_id, "user": hook.user, "url": webhook_url(base, hook.user, code)}


def _outgoing(conn: Connection, target: SeedTarget, spec: OutgoingSpec, path: str) -> dict[str, Any]:
    poll_events = target.settings.poll_events
    try:
        made = add_outgoing(conn, target.now, user=spec.user, url=spec.url, event=spec.event, poll_events=poll_events)
    except OutgoingError as exc:
        raise SeedError(f"{path}.{exc.field}: {exc}") from exc
    return {"id": made.id, "user": made.user, "event": made.event, "application_token": made.application_token}


def _need_user(conn: Connection, user_id: int, path: str) -> None:
    if people.get_user(conn, user_id) is None:
        raise SeedError(f"{path}: no such user {user_id}")


def _user(conn: Connection, now: datetime, spec: UserSpec, path: str) -> int:
    if spec.id is not None and seeding.exists(conn, users, spec.id):
        raise SeedError(f"{path}.id: user {spec.id} exists already")
    user_id = seeding.add_user_with_id(
        conn,
        now,
        spec.id,
        name=spec.name,
        last_name=spec.last_name,
        second_name=spec.second_name,
        email=spec.email,
        work_position=spec.position,
        is_admin=spec.admin,
    )
    if spec.password is not None:
        passwords.set_password(conn, now, user_id, spec.password)
    return user_id


def _chat(conn: Connection, now: datetime, spec: ChatSpec, path: str) -> int:
    _need_user(conn, spec.owner, f"{path}.owner")
    for i, member in enumerate(spec.members):
        _need_user(conn, member, f"{path}.members[{i}]")
    if spec.id is None:
        chat_id = people.add_chat(conn, now, title=spec.title, owner_id=spec.owner, description=spec.description)
    elif seeding.exists(conn, chats, spec.id):
        raise SeedError(f"{path}.id: chat {spec.id} exists already")
    else:
        chat_id = seeding.add_chat_with_id(
            conn, now, spec.id, title=spec.title, owner_id=spec.owner, description=spec.description
        )
    people.add_members(conn, now, chat_id, [spec.owner, *spec.members])
    return chat_id


def _context(conn: Connection, target: SeedTarget, user_id: int) -> CallContext:
    tz: timezone = target.settings.timezone
    caller = Caller(user_id=user_id, scopes=_ALL_SCOPES, kind="webhook", credential_id=0)
    return CallContext(conn, caller, target.now, target.settings, target.secret_key, tz)


def _call(name: str, ctx: CallContext, params: dict[str, Any], path: str) -> Any:
    method = registry.get(name)
    if method is None:  # pragma: no cover - imported above
        raise RuntimeError(f"{name} is not registered")
    try:
        return method.handler(ctx, Params(params))
    except B24Error as exc:
        raise SeedError(f"{path}: {name} refused: {exc.description}") from exc


def _poll(conn: Connection, target: SeedTarget, spec: PollSpec, path: str) -> dict[str, Any]:
    if people.get_chat(conn, spec.chat) is None:
        raise SeedError(f"{path}.chat: no such chat {spec.chat}")
    _need_user(conn, spec.author, f"{path}.author")
    if not people.is_member(conn, spec.chat, spec.author):
        raise SeedError(f"{path}.author: user {spec.author} is not a member of chat {spec.chat}")
    data = {
        "QUESTIONS": [
            {
                "QUESTION": spec.question,
                "FIELD_TYPE": int(FieldType.CHECKBOX if spec.multiple else FieldType.RADIO),
                "ANSWERS": [{"MESSAGE": a} for a in spec.answers],
            }
        ],
        "ANONYMITY": spec.anonymity,
        "OPTIONS": spec.options,
    }
    sent = _call(
        "vote.Integration.Im.send",
        _context(conn, target, spec.author),
        {"chatId": spec.chat, "IM_MESSAGE_VOTE_DATA": data},
        path,
    )
    attach = polls.find_attach_by_entity(conn, "im", IM_ENTITY_TYPE, sent["messageId"])
    poll = polls.load_poll(conn, sent["voteId"])
    if attach is None or poll is None:  # pragma: no cover - made a moment ago in this transaction
        raise RuntimeError("the seeded poll vanished inside its transaction")
    question = poll.questions[0]
    answer_ids = [a.id for a in question.answers]
    for user_id, picks in spec.ballots.items():
        ballot = {str(question.id): [answer_ids[p] for p in picks]}
        _cast(conn, target, spec, attach.id, user_id, ballot, f"{path}.ballots.{user_id}")
    return {
        "vote_id": poll.id,
        "message_id": sent["messageId"],
        "attach_id": attach.id,
        "question_id": question.id,
        "answer_ids": answer_ids,
    }


def _cast(
    conn: Connection,
    target: SeedTarget,
    spec: PollSpec,
    attach_id: int,
    user_id: int,
    ballot: dict[str, list[int]],
    path: str,
) -> None:
    _need_user(conn, user_id, path)
    if not people.is_member(conn, spec.chat, user_id):
        raise SeedError(f"{path}: user {user_id} is not a member of chat {spec.chat}")
    if len(next(iter(ballot.values()))) > 1 and not spec.multiple:
        raise SeedError(f"{path}: one answer only (set multiple: true for several)")
    params = {"attachId": attach_id, "ballot": ballot}
    if not _call("vote.AttachedVote.vote", _context(conn, target, user_id), params, path):
        raise SeedError(f"{path}: the vote was not accepted")


@admin_endpoint
async def post_seed(request: Request) -> Response:
    """Seed from a JSON or YAML body (the same document as ``b24vote seed FILE``)."""
    state = app_state(request)
    raw = await read_body(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        doc = load(raw, yaml_ok=ctype != "application/json")
        target = SeedTarget(state.db, state.settings, state.secret_key, state.clock.now())
        result = await run_in_threadpool(apply_seed, target, doc)
        if doc.language is not None:  # the running portal answers in it from its next call
            state.settings = state.settings.with_changes(language=doc.language)
    except SeedError as exc:
        raise AdminError(str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise AdminError("the document is not valid UTF-8") from exc
    return reply(result)
