"""``b24vote serve`` and ``b24vote init [--demo]``: the database made ready, the server started."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from b24vote.cli._common import DbUrl, Json, database, emit, fail, settings

if TYPE_CHECKING:
    from b24vote.config import Settings
    from b24vote.portal import DemoPortal
    from b24vote.storage.engine import Database

__all__ = ["init", "serve"]


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Number of worker processes.")] = 1,
    ssl_certfile: Annotated[str | None, typer.Option(help="TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[str | None, typer.Option(help="TLS private key (PEM).")] = None,
    seed: Annotated[
        Path | None,
        typer.Option("--seed", help="Seed document applied to a new database, kept as snapshot 'seed' (B24VOTE_SEED)."),
    ] = None,
    admin_token: Annotated[
        str | None, typer.Option("--admin-token", help="Turns the admin API on (B24VOTE_ADMIN_TOKEN).")
    ] = None,
    ready_file: Annotated[
        Path | None,
        typer.Option("--ready-file", help="Written once the server answers: URL and seed result (B24VOTE_READY_FILE)."),
    ] = None,
    database_url: DbUrl = None,
) -> None:
    """Migrate the database if needed (and seed it, when new) and serve."""
    import uvicorn

    from b24vote.cli.ready import ReadyFile, probe_url
    from b24vote.logs import log_config

    base = probe_url(host, port, tls=ssl_certfile is not None)
    # Workers are separate processes that read their settings from the environment (checked just below).
    if admin_token is not None:
        os.environ["B24VOTE_ADMIN_TOKEN"] = admin_token
    # Unset, the public URL is the address served: seeded webhook URLs and OAuth endpoints point here.
    os.environ.setdefault("B24VOTE_PUBLIC_URL", base)
    found = settings(database_url)
    seed = seed or (Path(found.seed) if found.seed else None)
    ready_path = ready_file or (Path(found.ready_file) if found.ready_file else None)
    with database(found) as db:
        made = _seed(found, db, seed) if seed else None
    if ready_path is not None:
        ready = ReadyFile(ready_path, base, {"admin": found.admin_token is not None, "seed": made})
        ready.forget_stale()
        ready.start()
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
        http="b24vote.cli.http_protocol:DeadlineProtocol",  # httptools, with B24VOTE_REQUEST_TIMEOUT
        limit_concurrency=found.max_connections,
        timeout_keep_alive=found.keep_alive,
        timeout_graceful_shutdown=10,
        proxy_headers=True,
        server_header=False,
    )


def _seed(found: Settings, db: Database, file: Path) -> dict[str, Any] | None:
    """The seed applied to a new portal (what it made), or ``None`` with a note when the portal was not new."""
    from b24vote.cli.ready import SEED_SNAPSHOT, SeedFailed, seed_new_portal

    try:
        made = seed_new_portal(found, db, file)
    except SeedFailed as exc:
        raise fail(str(exc)) from exc
    if made is None:
        typer.echo(
            f"seed not applied: the portal is not new (restore snapshot {SEED_SNAPSHOT!r}, or b24vote reset)", err=True
        )
        return None
    counts = ", ".join(f"{len(made[key])} {key}" for key in ("users", "chats", "webhooks", "apps", "polls"))
    typer.echo(f"seeded from {file}: {counts}; saved as snapshot {SEED_SNAPSHOT!r}", err=True)
    return made


def init(
    demo: Annotated[bool, typer.Option("--demo", help="Add the demo portal if the database is new.")] = False,
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Create or migrate the database; with --demo add the demo portal."""
    from b24vote.clock import SystemClock
    from b24vote.portal import create_demo, demo_summary, webhook_url
    from b24vote.state import portal_settings

    configured = settings(database_url)
    with database(configured) as db:
        found = portal_settings(configured, db)
        source = "B24VOTE_LANGUAGE" if found.language == configured.language else "the portal's seed document"
        language = f"portal language: {found.language} ({source})"
        if not demo:
            emit(
                as_json,
                {"database": found.database_url, "language": found.language},
                f"database ready: {found.database_url}\n{language}",
            )
            return
        portal = create_demo(db, SystemClock(), found.timezone)
        if not portal.created or portal.webhook_code is None:
            emit(
                as_json,
                {"created": False, "language": found.language},
                "The demo portal exists already; its webhook URL was printed when it was created.\n"
                f"New webhook: b24vote webhook add --user 1\n{language}",
            )
            return
        url = webhook_url(found.public_url, portal.user_ids[0], portal.webhook_code)
        summary = {"created": True, **demo_summary(portal, url), "language": found.language}
        emit(as_json, summary, f"{_demo_text(portal, url)}\n{language}")


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
