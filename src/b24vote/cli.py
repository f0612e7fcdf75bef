"""The ``b24vote`` command line: serve (the default), init, user, chat, webhook, poll, export."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from b24vote import __version__
from b24vote.cli_admin import register as register_admin
from b24vote.cli_oauth import app_app, token_app, user_password
from b24vote.cli_polls import export, poll_app
from b24vote.clock import SystemClock
from b24vote.config import Settings, SettingsError
from b24vote.domain.people import parse_scopes
from b24vote.logs import log_config
from b24vote.portal import DemoPortal, create_demo, demo_curl_lines, demo_summary, init_database, webhook_url
from b24vote.storage import people
from b24vote.storage.engine import Database

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=False, add_completion=False, help="b24vote: Bitrix24-compatible polls server.")
user_app = typer.Typer(help="Portal users.")
chat_app = typer.Typer(help="Group chats.")
webhook_app = typer.Typer(help="Incoming webhooks.")
app.add_typer(user_app, name="user")
app.add_typer(chat_app, name="chat")
app.add_typer(webhook_app, name="webhook")
app.add_typer(poll_app, name="poll")
app.add_typer(app_app, name="app")
app.add_typer(token_app, name="token")

console = Console()
err_console = Console(stderr=True)

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Overrides B24VOTE_DATABASE_URL.")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _settings(database_url: str | None) -> Settings:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        err_console.print(f"[red]bad setting:[/red] {exc}")
        raise typer.Exit(2) from exc
    return settings.with_changes(database_url=database_url) if database_url else settings


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    """The migrated database, closed when the command ends."""
    try:
        db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    except ValueError as exc:
        err_console.print(f"[red]B24VOTE_DATABASE_URL:[/red] {exc}")
        raise typer.Exit(2) from exc
    try:
        init_database(db)
        yield db
    finally:
        db.dispose()


def _emit(as_json: bool, data: dict[str, Any], text: str | None) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(data).decode() + "\n")
    elif text is not None:
        console.print(text, highlight=False, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"b24vote {__version__}\n")
        raise typer.Exit


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    """Without a command, serve."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Number of worker processes.")] = 1,
    ssl_certfile: Annotated[str | None, typer.Option(help="TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[str | None, typer.Option(help="TLS private key (PEM).")] = None,
    database_url: DbUrl = None,
) -> None:
    """Migrate the database if needed and serve."""
    import uvicorn  # imported here: the other commands do not need the server

    settings = _settings(database_url)
    with _database(settings):
        pass
    # Workers are separate processes that read their settings from the environment.
    os.environ["B24VOTE_DATABASE_URL"] = settings.database_url
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker counts in files here so that /metrics on any of them shows the sum of all.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="b24vote-metrics-")
    uvicorn.run(
        "b24vote.asgi:create",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
        proxy_headers=True,
        server_header=False,
    )


@app.command()
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Add the demo portal if the database is new.")] = False,
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Create or migrate the database; with --demo add the demo portal."""
    settings = _settings(database_url)
    with _database(settings) as db:
        if not demo:
            _emit(as_json, {"database": settings.database_url}, f"database ready: {settings.database_url}")
            return
        portal = create_demo(db, SystemClock())
        if not portal.created or portal.webhook_code is None:
            _emit(
                as_json,
                {"created": False},
                "The demo portal exists already; its webhook URL was printed when it was created.\n"
                "New webhook: b24vote webhook add --user 1",
            )
            return
        url = webhook_url(settings.public_url, portal.user_ids[0], portal.webhook_code)
        _emit(as_json, {"created": True, **demo_summary(portal, url)}, _demo_text(portal, url))


def _demo_text(portal: DemoPortal, url: str) -> str:
    users = ", ".join(map(str, portal.user_ids))
    lines = [
        f"Demo portal created: users {users} (user {portal.user_ids[0]} is an administrator), chat {portal.chat_id}.",
        f"Webhook URL: {url}",
    ]
    if portal.poll is not None:
        lines.append(f"The chat has a poll (attach {portal.poll.attach_id}). Try it:")
        lines.extend(f"  {line}" for line in demo_curl_lines(url, portal.poll))
    return "\n".join(lines)


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
    if not name.strip():
        raise _fail("--name must not be empty")
    with _database(_settings(database_url)) as db:
        with db.write() as conn:
            uid = people.add_user(
                conn,
                SystemClock().now(),
                name=name.strip(),
                last_name=last_name.strip(),
                work_position=position.strip(),
                email=email.strip(),
                is_admin=admin,
            )
        _emit(as_json, {"id": uid}, str(uid))


def _parse_ids(raw: str) -> list[int]:
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise _fail(f"not a list of user ids: {raw!r}") from exc


@chat_app.command("add")
def chat_add(
    title: Annotated[str, typer.Option("--title", help="Chat title.")],
    owner: Annotated[int, typer.Option("--owner", help="Owner user id.")],
    members: Annotated[str, typer.Option("--members", help="Comma-separated user ids.")] = "",
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Add a group chat with its owner and members; prints the chat id."""
    if not title.strip():
        raise _fail("--title must not be empty")
    member_ids = _parse_ids(members)
    with _database(_settings(database_url)) as db:
        now = SystemClock().now()
        with db.write() as conn:
            missing = [uid for uid in [owner, *member_ids] if people.get_user(conn, uid) is None]
            if missing:
                raise _fail(f"no such user: {', '.join(map(str, missing))}")
            chat_id = people.add_chat(conn, now, title=title.strip(), owner_id=owner)
            people.add_members(conn, now, chat_id, [owner, *member_ids])
        _emit(as_json, {"id": chat_id}, str(chat_id))


@chat_app.command("join")
def chat_join(
    chat_id: Annotated[int, typer.Argument(help="Chat id.")],
    user_id: Annotated[int, typer.Argument(help="User id.")],
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Add a member to a chat."""
    with _database(_settings(database_url)) as db:
        with db.write() as conn:
            if people.get_chat(conn, chat_id) is None:
                raise _fail(f"no such chat: {chat_id}")
            if people.get_user(conn, user_id) is None:
                raise _fail(f"no such user: {user_id}")
            added = people.add_members(conn, SystemClock().now(), chat_id, [user_id])
        _emit(as_json, {"chat_id": chat_id, "user_id": user_id, "added": bool(added)}, None)


@webhook_app.command("add")
def webhook_add(
    user: Annotated[int, typer.Option("--user", help="The user the webhook acts as.")],
    scope: Annotated[str, typer.Option("--scope", help="Comma-separated scopes.")] = "vote,im,user",
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Create an incoming webhook; prints its full URL (the code is shown only this once)."""
    try:
        scopes = parse_scopes(scope)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    settings = _settings(database_url)
    with _database(settings) as db:
        with db.write() as conn:
            if people.get_user(conn, user) is None:
                raise _fail(f"no such user: {user}")
            hook_id, code = people.add_webhook(conn, SystemClock().now(), user_id=user, scopes=sorted(scopes))
        url = webhook_url(settings.public_url, user, code)
        _emit(as_json, {"id": hook_id, "url": url, "scopes": sorted(scopes)}, url)


app.command("export")(export)
user_app.command("password")(user_password)
register_admin(app)  # reset, seed, snapshot …, admin …


def main() -> None:
    app()
