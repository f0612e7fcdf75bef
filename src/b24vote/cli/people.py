"""``b24vote user add``, ``chat add``, ``chat join`` and ``webhook add``: the portal's people and their access."""

from __future__ import annotations

from typing import Annotated

import typer

from b24vote.cli._common import DbUrl, Json, database, emit, fail, now, settings

__all__ = ["chat_app", "user_app", "webhook_app"]

user_app = typer.Typer(help="Portal users.")
chat_app = typer.Typer(help="Group chats.")
webhook_app = typer.Typer(help="Incoming and outgoing webhooks.")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Option("--name", help="First name.")],
    last_name: Annotated[str, typer.Option("--last-name", help="Last name.")] = "",
    position: Annotated[str, typer.Option("--position", help="Work position.")] = "",
    email: Annotated[str, typer.Option("--email", help="E-mail.")] = "",
    admin: Annotated[bool, typer.Option("--admin", help="Portal administrator.")] = False,
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Add a user; prints the new id."""
    from b24vote.storage import people

    if not name.strip():
        raise fail("--name must not be empty")
    with database(settings(database_url)) as db:
        with db.write() as conn:
            uid = people.add_user(
                conn,
                now(),
                name=name.strip(),
                last_name=last_name.strip(),
                work_position=position.strip(),
                email=email.strip(),
                is_admin=admin,
            )
        emit(as_json, {"id": uid}, str(uid))


def _parse_ids(raw: str) -> list[int]:
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise fail(f"not a list of user ids: {raw!r}") from exc


@chat_app.command("add")
def chat_add(
    title: Annotated[str, typer.Option("--title", help="Chat title.")],
    owner: Annotated[int, typer.Option("--owner", help="Owner user id.")],
    members: Annotated[str, typer.Option("--members", help="Comma-separated user ids.")] = "",
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Add a group chat with its owner and members; prints the chat id."""
    from b24vote.storage import people

    if not title.strip():
        raise fail("--title must not be empty")
    member_ids = _parse_ids(members)
    with database(settings(database_url)) as db:
        when = now()
        with db.write() as conn:
            missing = [uid for uid in [owner, *member_ids] if people.get_user(conn, uid) is None]
            if missing:
                raise fail(f"no such user: {', '.join(map(str, missing))}")
            chat_id = people.add_chat(conn, when, title=title.strip(), owner_id=owner)
            people.add_members(conn, when, chat_id, [owner, *member_ids])
        emit(as_json, {"id": chat_id}, str(chat_id))


@chat_app.command("join")
def chat_join(
    chat_id: Annotated[int, typer.Argument(help="Chat id.")],
    user_id: Annotated[int, typer.Argument(help="User id.")],
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Add a member to a chat."""
    from b24vote.storage import people

    with database(settings(database_url)) as db:
        with db.write() as conn:
            if people.get_chat(conn, chat_id) is None:
                raise fail(f"no such chat: {chat_id}")
            if people.get_user(conn, user_id) is None:
                raise fail(f"no such user: {user_id}")
            added = people.add_members(conn, now(), chat_id, [user_id])
        emit(as_json, {"chat_id": chat_id, "user_id": user_id, "added": bool(added)}, None)


@webhook_app.command("add")
def webhook_add(
    user: Annotated[int, typer.Option("--user", help="The user the webhook acts as (or who set it up).")],
    scope: Annotated[str, typer.Option("--scope", help="Comma-separated scopes.")] = "vote,im,user",
    outgoing: Annotated[
        str | None, typer.Option("--outgoing", help="Make an outgoing webhook: the handler URL events go to.")
    ] = None,
    event: Annotated[str | None, typer.Option("--event", help="The event an outgoing webhook sends.")] = None,
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Create an incoming webhook and print its URL, or with --outgoing an outgoing one and print its token."""
    if (outgoing is None) != (event is None):
        raise fail("--outgoing and --event go together")
    if outgoing is not None and event is not None:
        _outgoing_add(user, outgoing, event, database_url, as_json)
    else:
        _incoming_add(user, scope, database_url, as_json)


def _incoming_add(user: int, scope: str, database_url: str | None, as_json: bool) -> None:
    """An incoming webhook; its full URL is printed (the code is shown only this once)."""
    from b24vote.domain.people import parse_scopes
    from b24vote.portal import webhook_url
    from b24vote.storage import people

    try:
        scopes = parse_scopes(scope)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    found = settings(database_url)
    with database(found) as db:
        with db.write() as conn:
            if people.get_user(conn, user) is None:
                raise fail(f"no such user: {user}")
            hook_id, code = people.add_webhook(conn, now(), user_id=user, scopes=sorted(scopes))
        url = webhook_url(found.public_url, user, code)
        emit(as_json, {"id": hook_id, "url": url, "scopes": sorted(scopes)}, url)


def _outgoing_add(user: int, url: str, event: str, database_url: str | None, as_json: bool) -> None:
    """An outgoing webhook; its ``application_token`` is printed (a handler compares it with ``auth``)."""
    from b24vote.events.outgoing import OutgoingError, add_outgoing

    found = settings(database_url)
    with database(found) as db, db.write() as conn:
        try:
            made = add_outgoing(conn, now(), user=user, url=url, event=event, poll_events=found.poll_events)
        except OutgoingError as exc:
            option = {"user": "--user", "url": "--outgoing", "event": "--event"}[exc.field]
            raise fail(f"{option}: {exc}") from exc
    data = {"id": made.id, "user": made.user, "url": made.url, "event": made.event}
    emit(as_json, {**data, "application_token": made.application_token}, made.application_token)
