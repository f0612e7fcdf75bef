"""``/vote-result/{code}``: the results page that ``resultUrl`` points at, and its live event stream.

``code`` is what ``resultUrl`` carries: the attach's 16-character UID, or a ``signedAttachId`` for polls
without one. As on the real server the link itself is the read right — like ``signedAttachId`` in the API
(../shared/reference/notes/vote-semantics.md §1, §3): the poll is looked up exactly as
``vote.AttachedVote.get`` looks up a signed id, for a caller who is nobody (user 0). An unknown, tampered or
foreign code gets a 404 page that says nothing about any poll.

``?viewer=<userId>.<signature>`` makes it one user's own link (:func:`b24vote.domain.signing.sign_viewer`,
handed out by ``b24vote poll link --user``): the page then marks the answers that user chose — on anonymous
polls too, as the portal shows a voter their own choice. A viewer that does not verify for this poll gets a 403
page, never anyone's choice. The page is in the portal's language (:mod:`b24vote.web.page_texts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from b24vote.domain.polls import AttachedPoll, Poll, listed_voters
from b24vote.domain.signing import unsign_viewer
from b24vote.errors import MethodError
from b24vote.live import LiveEvent
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext
from b24vote.methods.vote_access import resolve_readable
from b24vote.methods.vote_format import download_url
from b24vote.state import AppState
from b24vote.storage import ballots, people
from b24vote.transport.dispatch import SIGNED_READER, call_context
from b24vote.web import sse
from b24vote.web.page_texts import PageTexts, page_texts
from b24vote.web.view import VOTERS_PER_PAGE, Download, ResultsView, VoterPage, build_results, live_payload, voter_page

__all__ = ["HEARTBEAT_SECONDS", "Focus", "RefusedViewer", "load_results", "results_routes", "results_stream"]

log = logging.getLogger("b24vote.web")

HEARTBEAT_SECONDS = 15.0
# Votes often come in bursts: wait this long after the first event so one read answers the whole burst.
COALESCE_SECONDS = 0.1
# A UID is [a-z0-9]{16}; a signed id is "<digits>.<64 hex>". Anything else is not looked up at all.
_CODE = re.compile(r"[A-Za-z0-9]{1,64}|[0-9]{1,19}\.[0-9a-fA-F]{64}")
_WEB = Path(__file__).resolve().parent
_STATIC = _WEB / "static"
_FORMATS = (("Excel (XLSX)", "xlsx"), ("CSV", "csv"), ("Excel 97 (XLS)", "xls"))

_templates = Environment(
    loader=FileSystemLoader(_WEB / "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)

# The link is a read capability: keep it out of caches and Referer headers, and the page out of search engines.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'"
    ),
}


def _asset(name: str) -> str:
    # The content hash in the query lets browsers cache the file until it changes.
    digest = hashlib.sha256((_STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


_ASSETS = {"css": _asset("results.css"), "js": _asset("results.js")}


@dataclass(frozen=True, slots=True)
class Focus:
    """Which page of which answer's voters the viewer asked for (``?answer=<id>&page=<n>``)."""

    answer_id: int | None = None
    page: int = 1

    @classmethod
    def from_query(cls, query: QueryParams) -> Focus:
        answer, page = query.get("answer", ""), query.get("page", "")
        if not answer.isdecimal() or len(answer) > 18:
            return cls()
        return cls(int(answer), int(page) if page.isdecimal() and len(page) < 9 else 1)

    def query(self) -> dict[str, int]:
        return {"answer": self.answer_id, "page": self.page} if self.answer_id else {}


class RefusedViewer(Exception):
    """The ``viewer`` of a personal link does not verify for the poll its code names."""


def _viewer(query: QueryParams) -> str | None:
    """The ``viewer`` parameter: None when absent; given twice it is refused like a tampered one."""
    given = query.getlist("viewer")
    if not given:
        return None
    return given[0] if len(given) == 1 else ""


def _chosen(conn: Connection, target: AttachedPoll, viewer: str, secret: str) -> frozenset[int]:
    """The answer ids the viewer chose on this poll (empty when they have not voted)."""
    user_id = unsign_viewer(viewer, target.attach.id, secret)
    if user_id is None:
        raise RefusedViewer
    ballot = ballots.ballot_of(conn, target.poll.id, user_id)
    return frozenset(answer for chosen in ballot.choices.values() for answer in chosen) if ballot else frozenset()


def _voter_pages(conn: Connection, poll: Poll, focus: Focus, texts: PageTexts) -> dict[int, VoterPage]:
    """The shown page of every answer's voters, read as getAnswerVoted reads them."""
    pages: dict[int, VoterPage] = {}
    for question in poll.questions:
        for answer in question.answers:
            if answer.counter <= 0:
                continue
            total = listed_voters(poll, answer)
            last_page = max(1, -(-total // VOTERS_PER_PAGE))
            page = min(focus.page, last_page) if focus.answer_id == answer.id else 1
            ids = ballots.voters_of_answer(
                conn, answer.id, offset=(page - 1) * VOTERS_PER_PAGE, limit=VOTERS_PER_PAGE, total=total
            )
            users = people.get_users_by_ids(conn, ids)
            listed = [users[i] for i in ids if i in users]
            pages[answer.id] = voter_page(answer.id, listed, total=total, page=page, texts=texts)
    return pages


def _downloads(ctx: CallContext, target: AttachedPoll) -> tuple[Download, ...]:
    base = download_url(ctx, target)
    return tuple(Download(label, f"{base}&format={fmt}") for label, fmt in _FORMATS)


def load_results(state: AppState, code: str, focus: Focus, viewer: str | None = None) -> tuple[ResultsView, int] | None:
    """The page model and the vote id, or None when ``code`` names no poll this server signed.

    With ``viewer`` the viewer's own choices are marked; :class:`RefusedViewer` when it does not verify.
    """
    if not _CODE.fullmatch(code):
        return None
    with state.db.read() as conn:
        ctx = call_context(state, conn, SIGNED_READER, state.clock.now())
        try:
            target = resolve_readable(ctx, Params({"signedAttachId": code}), signed_grants_read=True)
        except MethodError:
            return None
        poll = target.poll
        mine = None if viewer is None else _chosen(conn, target, viewer, state.secret_key)
        texts = page_texts(ctx.settings.language)
        voters = None if poll.anonymous else _voter_pages(conn, poll, focus, texts)
        view = build_results(
            poll, ctx.now, ctx.tz, voters=voters, texts=texts, downloads=_downloads(ctx, target), mine=mine
        )
        return view, poll.id


def _texts(request: Request) -> PageTexts:
    state: AppState = request.app.state.b24
    return page_texts(state.settings.language)


def _html(template: str, status: int, texts: PageTexts, **values: Any) -> HTMLResponse:
    body = _templates.get_template(template).render(assets=_ASSETS, t=texts, **values)
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def _message(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return _html("error.html", status, _texts(request), title=title, message=message)


async def _load(request: Request, focus: Focus, viewer: str | None) -> tuple[ResultsView, int] | Response:
    state: AppState = request.app.state.b24
    t = _texts(request)
    try:
        loaded = await run_in_threadpool(load_results, state, request.path_params["code"], focus, viewer)
    except RefusedViewer:
        return _message(request, 403, t.bad_viewer, t.bad_viewer_message)
    except Exception:
        log.exception("could not load poll results")
        return _message(request, 500, t.failed, t.failed_message)
    return _message(request, 404, t.not_found, t.not_found_message) if loaded is None else loaded


async def results_page(request: Request) -> Response:
    focus, viewer = Focus.from_query(request.query_params), _viewer(request.query_params)
    loaded = await _load(request, focus, viewer)
    if isinstance(loaded, Response):
        return loaded
    view, _ = loaded
    keep = {"viewer": viewer} if viewer is not None else {}  # a personal link stays one through its pages
    query = urlencode({**focus.query(), **keep})
    events_url = f"/vote-result/{quote(request.path_params['code'], safe='')}/events{'?' + query if query else ''}"
    return _html(
        "results.html",
        200,
        view.texts,
        view=view,
        focus=focus,
        events_url=events_url,
        per_page=VOTERS_PER_PAGE,
        keep=("&" + urlencode(keep)) if keep else "",
    )


async def _next_change(queue: asyncio.Queue[LiveEvent], timeout: float) -> bool:
    """True once an event arrived (the burst after it is drained), False when ``timeout`` passed first."""
    try:
        async with asyncio.timeout(timeout):
            await queue.get()
    except TimeoutError:
        return False
    await asyncio.sleep(COALESCE_SECONDS)
    with contextlib.suppress(asyncio.QueueEmpty):
        while True:
            queue.get_nowait()
    return True


async def results_stream(
    state: AppState,
    code: str,
    focus: Focus,
    vote_id: int,
    *,
    viewer: str | None = None,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> AsyncGenerator[bytes, None]:
    """``results`` events, each a fresh :func:`live_payload` read from the database.

    The event's own params are never forwarded: they may name the voter, and the page must not where the poll
    is anonymous. A quiet stream is re-read every ``heartbeat`` seconds too (changes that published no event,
    such as another process without Redis), and sends a comment when nothing changed. On a personal link
    (``viewer``) each event also marks that viewer's own choices.
    """
    async with state.live.subscribe(vote_id) as queue:
        yield b"retry: 3000\n\n"
        last, changed = b"", True
        while True:
            try:
                loaded = await run_in_threadpool(load_results, state, code, focus, viewer)
            except RefusedViewer:  # verified when the stream opened; only a changed secret could get here
                loaded = None
            if loaded is None:
                yield sse.event("gone", {})
                return
            body = orjson.dumps(live_payload(loaded[0]))
            if body != last:
                yield b"event: results\ndata: " + body + b"\n\n"
                last = body
            elif not changed:
                yield sse.HEARTBEAT
            changed = await _next_change(queue, heartbeat)


async def results_events(request: Request) -> Response:
    focus, viewer = Focus.from_query(request.query_params), _viewer(request.query_params)
    loaded = await _load(request, focus, viewer)
    if isinstance(loaded, Response):
        return loaded
    if request.method == "HEAD":  # the headers only: a stream that has no body to send must not stay open
        return Response(media_type=sse.EventStream.media_type, headers={"Cache-Control": "no-cache, no-transform"})
    state: AppState = request.app.state.b24
    watch = sse.shutdown_watch(request.app)
    watch.arm()
    chunks = results_stream(state, request.path_params["code"], focus, loaded[1], viewer=viewer)
    return sse.EventStream(chunks, watch, headers={"X-Content-Type-Options": "nosniff"})


def results_routes() -> list[BaseRoute]:
    """The page, its event stream and the static files they use."""
    return [
        Route("/vote-result/{code}", results_page, methods=["GET"]),
        Route("/vote-result/{code}/events", results_events, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=_STATIC), name="static"),
    ]
