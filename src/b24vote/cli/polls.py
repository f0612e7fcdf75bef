"""``b24vote poll add`` / ``poll delete`` (feed polls, which Bitrix24 handles only in its UI), ``poll link`` (a
poll's results page, or one user's own) and ``b24vote export``.

Each command imports the storage and report code it runs only when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from b24vote.cli._common import DbUrl, Json, database, emit, fail, now, settings
from b24vote.domain.poll_data import PollDataError, parse_poll_data
from b24vote.domain.polls import BLOG_ENTITY_TYPE, poll_end

__all__ = ["export", "poll_app", "poll_link"]

poll_app = typer.Typer(help="Polls.")


FEED_MODULES = ("blog",)


def _read_poll_file(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from exc
    except orjson.JSONDecodeError as exc:
        raise fail(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise fail(f"{path} must hold a JSON object with QUESTIONS")
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
    from b24vote.methods.vote_language import texts_for
    from b24vote.storage import people, polls

    if module.lower() not in FEED_MODULES:
        raise fail(
            f"--module must be one of: {', '.join(FEED_MODULES)} (chat polls come from vote.Integration.Im.send)"
        )
    if entity_id <= 0:
        raise fail("--entity-id must be a positive post id")
    found = settings(database_url)
    try:
        new_poll = parse_poll_data(_read_poll_file(source), chat=False)
    except PollDataError as exc:
        message = texts_for(found.language).im_send(exc.key, exc.detail)
        raise fail(f"{source}: {exc.key}: {message}") from exc
    with database(found) as db:
        when = now()
        with db.write() as conn:
            if people.get_user(conn, author) is None:
                raise fail(f"no such user: {author}")
            if polls.find_attach_by_entity(conn, module, BLOG_ENTITY_TYPE, entity_id) is not None:
                raise fail(f"{module} post {entity_id} has a poll already")
            # A feed poll stays open as long as a chat poll does: ten calendar years.
            end = poll_end(when, found.timezone)
            vote_id = polls.create_poll(conn, when, author_id=author, poll=new_poll, date_end=end)
            attach_id = polls.add_attach(
                conn,
                when,
                vote_id=vote_id,
                module_id=module.lower(),
                entity_type=BLOG_ENTITY_TYPE,
                entity_id=entity_id,
                uid=None,
                created_by=author,
            )
    result = {"attachId": attach_id, "voteId": vote_id}
    emit(as_json, result, orjson.dumps(result).decode())


@poll_app.command("delete")
def poll_delete(
    attach_id: Annotated[int, typer.Argument(help="The attach id (attachId) of a feed poll.")],
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Delete a feed poll with its ballots, as deleting its post does; chat polls go with im.message.delete."""
    from b24vote.methods.vote_removal import delete_attached
    from b24vote.storage import polls

    with database(settings(database_url)) as db, db.write() as conn:
        attach = polls.get_attach(conn, attach_id)
        if attach is None:
            raise fail(f"no such attach: {attach_id}")
        if attach.module_id.lower() == "im":
            raise fail(
                f"attach {attach_id} is a chat poll: it goes with its message (im.message.delete, "
                f"MESSAGE_ID={attach.entity_id})"
            )
        delete_attached(conn, attach)  # open results pages notice on their next re-read: no server event here
    result = {"deleted": attach_id, "voteId": attach.vote_id}
    emit(as_json, result, f"deleted feed poll {attach_id} (vote {attach.vote_id})")


@poll_app.command("link")
def poll_link(
    attach_id: Annotated[int, typer.Argument(help="The attach id (attachId) of the poll.")],
    user: Annotated[
        int | None,
        typer.Option("--user", help="Make it this user's own link: the page marks the answers they chose."),
    ] = None,
    database_url: DbUrl = None,
    as_json: Json = False,
) -> None:
    """Print the full URL of a poll's results page (its resultUrl); with --user, that user's personal link."""
    from urllib.parse import urlencode

    from b24vote.domain.signing import sign_attach, sign_viewer
    from b24vote.state import load_secret_key
    from b24vote.storage import people, polls

    found = settings(database_url)
    with database(found) as db:
        secret = load_secret_key(found, db)
        with db.read() as conn:
            attach = polls.get_attach(conn, attach_id)
            if attach is None:
                raise fail(f"no such attach: {attach_id}")
            if user is not None and people.get_user(conn, user) is None:
                raise fail(f"no such user: {user}")
    code = attach.uid or sign_attach(attach.id, secret)  # what resultUrl carries
    url = f"{found.public_url.rstrip('/')}/vote-result/{code}"
    if user is not None:
        url += "?" + urlencode({"viewer": sign_viewer(attach.id, user, secret)})
    emit(as_json, {"url": url, "attachId": attach.id, "voteId": attach.vote_id, "user": user}, url)


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
    from b24vote.errors import MethodError
    from b24vote.methods.vote_download import read_format, report_file
    from b24vote.state import portal_settings
    from b24vote.storage import polls

    try:
        fmt = read_format(report_format)
    except MethodError as exc:
        raise fail(exc.description) from exc
    found = settings(database_url)
    with database(found) as db:
        with db.read() as conn:
            attach = polls.get_attach(conn, attach_id)
            poll = polls.load_poll(conn, attach.vote_id) if attach is not None else None
        if poll is None:
            raise fail(f"no such attach: {attach_id}")
        language = portal_settings(found, db).language  # the portal's seed document may have chosen it
        report = report_file(db.read, poll, fmt, found.timezone, language)
        path = output if output is not None else Path.cwd() / report.filename
        if str(path) == "-":
            for chunk in report.chunks():
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        _write(path, report.chunks())
    emit(as_json, {"path": str(path), "voteId": poll.id, "format": fmt.extension}, str(path))


def _write(path: Path, chunks: Iterable[bytes]) -> None:
    """Write the report; a failed export removes what it had written."""
    try:
        with path.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
    except OSError as exc:
        if path.is_file():
            path.unlink()
        raise fail(f"cannot write {path}: {exc.strerror}") from exc
