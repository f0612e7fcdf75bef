"""``b24vote app add``, ``b24vote token issue`` and ``b24vote user password``: OAuth applications and sign-in.

Each command imports the storage code it runs only when it runs.
"""

from __future__ import annotations

import sys
from typing import Annotated
from urllib.parse import urlsplit

import orjson
import typer

from b24vote.cli._common import DbUrl, Json, database, emit, fail, now, settings
from b24vote.domain.oauth import token_response
from b24vote.domain.people import parse_scopes

__all__ = ["app_app", "token_app", "user_password"]

app_app = typer.Typer(help="OAuth 2.0 applications.")
token_app = typer.Typer(help="OAuth 2.0 tokens.")


@app_app.command("add")
def app_add(
    name: Annotated[str, typer.Option("--name", help="Application name, shown on the consent page.")],
    scope: Annotated[str, typer.Option("--scope", help="Comma-separated scopes.")] = "vote,im,user",
    redirect_uri: Annotated[
        str, typer.Option("--redirect-uri", help="Where /oauth/authorize/ sends the user back with ?code=.")
    ] = "",
    install_handler: Annotated[
        str, typer.Option("--install-handler", help="Where ONAPPINSTALL goes when the app is installed.")
    ] = "",
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Register an OAuth application; prints its client_id and client_secret (the secret only this once)."""
    from b24vote.domain.events import is_handler_url
    from b24vote.storage import oauth

    if not name.strip():
        raise fail("--name must not be empty")
    try:
        scopes = parse_scopes(scope)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if redirect_uri and urlsplit(redirect_uri).scheme not in ("http", "https"):
        raise fail("--redirect-uri must be an http:// or https:// URL")
    if install_handler and not is_handler_url(install_handler):
        raise fail("--install-handler must be an http:// or https:// URL")
    with database(settings(database_url)) as db, db.write() as conn:
        app, secret = oauth.add_app(
            conn, now(), name=name.strip(), scopes=scopes, redirect_uri=redirect_uri, install_handler=install_handler
        )
    data = {
        "id": app.id,
        "client_id": app.client_id,
        "client_secret": secret,
        "scopes": sorted(app.scopes),
        "redirect_uri": app.redirect_uri,
        "install_handler": app.install_handler,
    }
    emit(as_json, data, f"client_id: {app.client_id}\nclient_secret: {secret}")


@token_app.command("issue")
def token_issue(
    client_id: Annotated[str, typer.Option("--app", help="The application's client_id.")],
    user: Annotated[int, typer.Option("--user", help="The user the tokens act as.")],
    database_url: DbUrl = None,
    as_json: Json = False,  # the reply is JSON either way; accepted like every command's --json
) -> None:
    """Issue an access/refresh pair without the browser flow; prints the token endpoint's JSON reply.

    The application's first token installs it on the portal: ONAPPINSTALL goes to its install handler.
    """
    from b24vote.events.install import install_app
    from b24vote.events.queue import Cause
    from b24vote.storage import oauth, people

    found = settings(database_url)
    when = now()
    with database(found) as db, db.write() as conn:
        app = oauth.find_app(conn, client_id)
        if app is None:
            raise fail(f"no such application: {client_id}")
        acting = people.get_user(conn, user)
        if acting is None or not acting.active:
            raise fail(f"no such active user: {user}")
        install_app(conn, Cause(when, user, found.public_url), app, found.language)
        tokens = oauth.issue_tokens(conn, when, app, user)
        member = oauth.member_id(conn)
    reply = token_response(tokens, when, public_url=found.public_url, member_id=member)
    sys.stdout.write(orjson.dumps(reply).decode() + "\n")


@app_app.command("remove")
def app_remove(
    client_id: Annotated[str, typer.Argument(help="The application's client_id.")],
    clean: Annotated[bool, typer.Option("--clean", help="Tell the app to delete its data (data[CLEAN]=1).")] = False,
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Remove an application: ONAPPUNINSTALL to its handlers, then its tokens stop working and its handlers go."""
    from b24vote.events.install import uninstall_app
    from b24vote.events.queue import Cause
    from b24vote.storage import oauth

    found = settings(database_url)
    with database(found) as db, db.write() as conn:
        app = oauth.find_app(conn, client_id)
        if app is None:
            raise fail(f"no such application: {client_id}")
        queued = uninstall_app(conn, Cause(now(), None, found.public_url), app, found.language, clean=clean)
    emit(as_json, {"client_id": client_id, "removed": True, "events": queued}, f"removed {client_id}")


def user_password(
    user: Annotated[int, typer.Argument(help="User id.")],
    password: Annotated[
        str,
        typer.Option(
            "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Asked for when not given."
        ),
    ],
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Set the password the user signs in with on the OAuth consent page."""
    from b24vote.storage import passwords, people

    if len(password) < 8:
        raise fail("the password must have at least 8 characters")
    with database(settings(database_url)) as db, db.write() as conn:
        if people.get_user(conn, user) is None:
            raise fail(f"no such user: {user}")
        passwords.set_password(conn, now(), user, password)
    emit(as_json, {"user_id": user, "password_set": True}, None)
