"""``b24vote serve`` and ``b24vote init [--demo]``: the database made ready, the server started."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Annotated

import typer

from b24vote.cli._common import DbUrl, Json, database, emit, settings

if TYPE_CHECKING:
    from b24vote.portal import DemoPortal

__all__ = ["init", "serve"]


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Number of worker processes.")] = 1,
    ssl_certfile: Annotated[str | None, typer.Option(help="TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[str | None, typer.Option(help="TLS private key (PEM).")] = None,
    database_url: DbUrl = None,
) -> None:
    """Migrate the database if needed and serve."""
    import uvicorn

    from b24vote.logs import log_config

    found = settings(database_url)
    with database(found):
        pass
    # Workers are separate processes that read their settings from the environment.
    os.environ["B24VOTE_DATABASE_URL"] = found.database_url
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
        log_level=found.log_level,
        log_config=log_config(found.log_level),
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
        proxy_headers=True,
        server_header=False,
    )


def init(
    demo: Annotated[bool, typer.Option("--demo", help="Add the demo portal if the database is new.")] = False,
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Create or migrate the database; with --demo add the demo portal."""
    from b24vote.clock import SystemClock
    from b24vote.portal import create_demo, demo_summary, webhook_url

    found = settings(database_url)
    with database(found) as db:
        if not demo:
            emit(as_json, {"database": found.database_url}, f"database ready: {found.database_url}")
            return
        portal = create_demo(db, SystemClock())
        if not portal.created or portal.webhook_code is None:
            emit(
                as_json,
                {"created": False},
                "The demo portal exists already; its webhook URL was printed when it was created.\n"
                "New webhook: b24vote webhook add --user 1",
            )
            return
        url = webhook_url(found.public_url, portal.user_ids[0], portal.webhook_code)
        emit(as_json, {"created": True, **demo_summary(portal, url)}, _demo_text(portal, url))


def _demo_text(portal: DemoPortal, url: str) -> str:
    from b24vote.portal import demo_curl_lines

    users = ", ".join(map(str, portal.user_ids))
    lines = [
        f"Demo portal created: users {users} (user {portal.user_ids[0]} is an administrator), chat {portal.chat_id}.",
        f"Webhook URL: {url}",
    ]
    if portal.poll is not None:
        lines.append(f"The chat has a poll (attach {portal.poll.attach_id}). Try it:")
        lines.extend(f"  {line}" for line in demo_curl_lines(url, portal.poll))
    return "\n".join(lines)
