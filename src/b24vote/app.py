"""create_app(settings): routes, error handlers and the lifespan of the b24vote ASGI application."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from b24vote.admin.controls import Controls
from b24vote.admin.deliveries import build_sender
from b24vote.admin.rest import RestRecorder, before_call
from b24vote.admin.routes import admin_mount
from b24vote.clock import Clock, ControllableClock, SystemClock
from b24vote.config import Settings
from b24vote.errors import ErrorCode, PlatformError
from b24vote.live import LiveHub, MemoryBroker, RedisBroker
from b24vote.methods import (  # noqa: F401 - registration side effect
    attached_vote,
    events,
    events_offline,
    im_chat,
    integration_im,
    platform,
    vote_download,
)
from b24vote.methods.registry import registry
from b24vote.state import AppState, load_limiter, load_secret_key, portal_settings
from b24vote.storage.engine import Database
from b24vote.transport.envelope import JSONResponse, error_response
from b24vote.transport.oauth import token_endpoint
from b24vote.transport.oauth_pages import AUTHORIZE_PATH, authorize_endpoint
from b24vote.transport.observe import Metrics, ObserveMiddleware
from b24vote.transport.paths import REST_PREFIX, route_path
from b24vote.transport.routes import RestEndpoint
from b24vote.web.api_docs import api_docs_routes
from b24vote.web.download import AJAX_PATH, ajax_endpoint
from b24vote.web.results import results_routes

__all__ = ["SERVER_GC_THRESHOLD", "create_app", "server_gc"]

log = logging.getLogger("b24vote")


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def metrics(request: Request) -> Response:
    collectors: Metrics = request.app.state.metrics
    return Response(generate_latest(collectors.scrape_registry()), media_type=CONTENT_TYPE_LATEST)


async def readyz(request: Request) -> Response:
    state: AppState = request.app.state.b24
    if await state.db.ping_async():
        return PlainTextResponse("ready")
    return PlainTextResponse("database unreachable", status_code=503)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return error_response(PlatformError(ErrorCode.ERROR_NOT_FOUND, "Page not found"))
    if status == 405:
        # Starlette's router names the route's methods in the exception's Allow header; RFC 9110 wants it sent.
        allow = {"Allow": exc.headers["Allow"]} if isinstance(exc, HTTPException) and exc.headers else None
        return JSONResponse(
            {"error": "ERROR_METHOD_NOT_ALLOWED", "error_description": "HTTP method not allowed"},
            status_code=405,
            headers=allow,
        )
    return error_response(PlatformError(ErrorCode.INTERNAL_SERVER_ERROR))


class B24Vote(Starlette):
    """The application: REST calls go straight to their endpoint, everything else through Starlette's router.

    ``/rest/`` is the hot path: its endpoint answers every error itself (in the Bitrix24 envelope), so the
    router, the error middleware and the exception handlers would only add their cost to each call.
    """

    def __init__(self, *, rest: ASGIApp, **options: Any) -> None:
        super().__init__(**options)
        self._rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and route_path(scope).startswith(REST_PREFIX):
            scope["app"] = self
            await self._rest(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


# Young-generation threshold of a serving process (CPython's default is 700): see server_gc.
SERVER_GC_THRESHOLD = (20_000, 20, 20)


@contextmanager
def server_gc() -> Iterator[None]:
    """The garbage collector set for a long-running server, restored afterwards.

    Measured on a durable ``vote`` under load: with CPython's defaults the collector ran about once per call and
    cost ~140 µs of each (whole-heap passes over SQLAlchemy's metadata, the caches and every module: p99 120 ms);
    with what the process built at startup frozen (``gc.freeze``: never scanned again) and a young generation of
    20,000 objects, 18 µs per call, +27 % votes/s and p99 33 ms (docs/benchmarks.md). Reference cycles are still
    collected, in fewer and cheaper passes.
    """
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVER_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _rest_endpoint(settings: Settings) -> ASGIApp:
    """The REST endpoint; with the admin API on, the emulator's fault rules hooked in and its journal around it."""
    if not settings.admin_token:
        return RestEndpoint()
    return RestRecorder(RestEndpoint(before_call=before_call))


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    db: Database | None = None,
    serving: bool = False,
) -> B24Vote:
    """Build the ASGI application. The database must already be migrated (``b24vote init``).

    ``serving``: the application is the process's server (``b24vote serve``, ``b24vote.asgi:create``), which
    may tune process-wide settings such as the garbage collector (:func:`server_gc`) while it runs.
    """
    settings = settings or Settings.from_env()
    database = db or Database(
        settings.database_url, sqlite_synchronous=settings.sqlite_synchronous, timeout=settings.database_timeout
    )
    # Always controllable, so that the admin API can move the time every part of the server reads.
    the_clock = ControllableClock.wrap(clock or SystemClock())
    controls = Controls.sized(settings.journal_size)
    state = AppState(
        settings=settings,
        db=database,
        registry=registry,
        clock=the_clock,
        controls=controls,
        sender=build_sender(settings, database, the_clock, controls),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.settings = await run_in_threadpool(portal_settings, state.settings, database)
        state.secret_key = await run_in_threadpool(load_secret_key, settings, database)
        state.limits = await run_in_threadpool(load_limiter, settings, database)
        state.live = LiveHub(RedisBroker(settings.redis_url) if settings.redis_url else MemoryBroker())
        await state.live.start()
        await state.sender.start()
        flushing = asyncio.get_running_loop().create_task(collectors.flush_every(1.0))
        with server_gc() if serving else nullcontext():
            yield
        flushing.cancel()
        await asyncio.gather(flushing, return_exceptions=True)
        await state.sender.stop()
        await state.live.stop()
        await state.limits.aclose()  # the asyncio Redis client's connections belong to this loop
        await run_in_threadpool(state.limits.close)  # operating time still queued for Redis
        database.release_kept()  # the event loop's reader connection (the lifespan runs on that thread)
        await database.dispose_async()  # its connections belong to this event loop
        if db is None:
            database.dispose()

    routes = [
        # b24phpsdk joins its default server URL and "/oauth/token/" into "//oauth/token/".
        *(Route(path, token_endpoint, methods=["GET", "POST"]) for path in ("/oauth/token/", "//oauth/token/")),
        Route(AUTHORIZE_PATH, authorize_endpoint, methods=["GET", "POST"]),
        Route(AJAX_PATH, ajax_endpoint, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *results_routes(),
        *api_docs_routes(),  # /openapi.json and /docs
        Route("/metrics", metrics, methods=["GET"]),
        admin_mount(),  # /_b24vote/: emulator controls, present only with B24VOTE_ADMIN_TOKEN
    ]
    collectors = Metrics()
    collectors.watch_pool(database.engine)
    app = B24Vote(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(ObserveMiddleware, metrics=collectors, methods=registry)],
        exception_handlers={HTTPException: _http_error, 500: _http_error},
        rest=ObserveMiddleware(_rest_endpoint(settings), metrics=collectors, methods=registry),
    )
    app.state.b24 = state
    app.state.metrics = collectors
    return app
