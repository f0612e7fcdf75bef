"""``b24vote poll add`` (feed polls, which Bitrix24 creates only in its UI) and ``b24vote export`` (reports).

``b24vote.cli`` registers these commands, so this module takes the shared CLI helpers from it only when a
command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from b24vote.clock import SystemClock
from b24vote.domain.poll_data import PollDataError, parse_poll_data
from b24vote.domain.polls import BLOG_ENTITY_TYPE, IM_POLL_LIFETIME
from b24vote.errors import MethodError
from b24vote.methods import vote_texts as texts
from b24vote.methods.vote_download import read_format, report_file
from b24vote.storage import people, polls

__all__ = ["export", "poll_app"]

poll_app = typer.Typer(help="Polls.")

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Overrides B24VOTE_DATABASE_URL.")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

FEED_MODULES = ("blog",)
# A feed poll stays open as long as a chat poll does: ten years.
FEED_POLL_LIFETIME = IM_POLL_LIFETIME


def _fail(message: str) -> typer.Exit:
    from b24vote import cli

    return cli._fail(message)


def _read_poll_file(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror}") from exc
    except orjson.JSONDecodeError as exc:
        raise _fail(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail(f"{path} must hold a JSON object with QUESTIONS")
    return data


@poll_app.command("add")
def poll_add(
    source: Annotated[Path, typer.Option("--from", help="The poll as JSON (see docs/reports.md).")],
    entity_id: Annotated[int, typer.Option("--entity-id", help="The feed post the poll belongs to.")],
    module: Annotated[str, typer.Option("--module", help="Only 'blog' (feed posts).")] = "blog",
    author: Annotated[int, typer.Option("--author", help="The user who creates the poll.")] = 1,
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Attach a poll, with one or more questions, to a feed post; prints its attachId and voteId."""
    from b24vote import cli

    if module.lower() not in FEED_MODULES:
        raise _fail(
            f"--module must be one of: {', '.join(FEED_MODULES)} (chat polls come from vote.Integration.Im.send)"
        )
    if entity_id <= 0:
        raise _fail("--entity-id must be a positive post id")
    try:
        new_poll = parse_poll_data(_read_poll_file(source), chat=False)
    except PollDataError as exc:
        message = texts.IM_SEND.get(exc.key, exc.key).format(detail=exc.detail)
        raise _fail(f"{source}: {exc.key}: {message}") from exc
    with cli._database(cli._settings(database_url)) as db:
        now = SystemClock().now()
        with db.write() as conn:
            if people.get_user(conn, author) is None:
                raise _fail(f"no such user: {author}")
            if polls.find_attach_by_entity(conn, module, BLOG_ENTITY_TYPE, entity_id) is not None:
                raise _fail(f"{module} post {entity_id} has a poll already")
            vote_id = polls.create_poll(conn, now, author_id=author, poll=new_poll, date_end=now + FEED_POLL_LIFETIME)
            attach_id = polls.add_attach(
                conn,
                now,
                vote_id=vote_id,
                module_id=module.lower(),
                entity_type=BLOG_ENTITY_TYPE,
                entity_id=entity_id,
                uid=None,
                created_by=author,
            )
    result = {"attachId": attach_id, "voteId": vote_id}
    cli._emit(as_json, result, orjson.dumps(result).decode())


def export(
    attach_id: Annotated[int, typer.Argument(help="The attach id (attachId) of the poll.")],
    report_format: Annotated[
        str, typer.Option("--format", help="xls (HTML, as Bitrix24 sends it), xlsx or csv.")
    ] = "xls",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="File to write; '-' for standard output. Default: vote<VOTE_ID>.<ext>."),
    ] = None,
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Write a poll's report, the same file vote.AttachedVote.download sends; prints the path."""
    from b24vote import cli

    try:
        fmt = read_format(report_format)
    except MethodError as exc:
        raise _fail(exc.description) from exc
    settings = cli._settings(database_url)
    with cli._database(settings) as db:
        with db.read() as conn:
            attach = polls.get_attach(conn, attach_id)
            poll = polls.load_poll(conn, attach.vote_id) if attach is not None else None
        if poll is None:
            raise _fail(f"no such attach: {attach_id}")
        report = report_file(db.read, poll, fmt, settings.timezone)
        path = output if output is not None else Path.cwd() / report.filename
        if str(path) == "-":
            for chunk in report.chunks():
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        _write(path, report.chunks())
    cli._emit(as_json, {"path": str(path), "voteId": poll.id, "format": fmt.extension}, str(path))


def _write(path: Path, chunks: Iterable[bytes]) -> None:
    """Write the report; a failed export removes what it had written."""
    try:
        with path.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
    except OSError as exc:
        if path.is_file():
            path.unlink()
        raise _fail(f"cannot write {path}: {exc.strerror}") from exc
