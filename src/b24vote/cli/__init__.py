"""The ``b24vote`` command line: serve (the default), init, people, OAuth, polls, reports and the emulator.

One typer group, as datasette keeps one click group: each module of this package adds its commands, and
imports what a command needs only when that command runs, so ``b24vote --help`` stays quick.
"""

from __future__ import annotations

from typing import Annotated

import typer

from b24vote import __version__
from b24vote.cli import admin, oauth, people, polls
from b24vote.cli.serve import init, serve

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=False, add_completion=False, help="b24vote: Bitrix24-compatible polls server.")
app.command()(serve)
app.command()(init)
app.add_typer(people.user_app, name="user")
app.add_typer(people.chat_app, name="chat")
app.add_typer(people.webhook_app, name="webhook")
app.add_typer(polls.poll_app, name="poll")
app.add_typer(oauth.app_app, name="app")
app.add_typer(oauth.token_app, name="token")
app.command("export")(polls.export)
people.user_app.command("password")(oauth.user_password)
admin.register(app)  # reset, seed, snapshot …, admin …


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"b24vote {__version__}")
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


def main() -> None:
    app()
