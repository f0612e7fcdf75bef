"""create_app(settings): routes, error handlers and the lifespan of the b24vote ASGI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from b24vote.clock import Clock, SystemClock
from b24vote.config import Settings
from b24vote.errors import ErrorCode, PlatformError
from b24vote.methods import attached_vote, im_chat, integration_im, platform  # noqa: F401 - registration side effect
from b24vote.methods.registry import registry
from b24vote.state import AppState, load_secret_key
from b24vote.storage.engine import Database
from b24vote.transport.envelope import JSONResponse, error_response
from b24vote.transport.routes import rest_endpoint

__all__ = ["create_app"]

log = logging.getLogger("b24vote")


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    state: AppState = request.app.state.b24
    if await run_in_threadpool(state.db.ping):
        return PlainTextResponse("ready")
    return PlainTextResponse("database unreachable", status_code=503)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return error_response(PlatformError(ErrorCode.ERROR_NOT_FOUND, "Page not found"))
    if status == 405:
        return JSONResponse(
            {"error": "ERROR_METHOD_NOT_ALLOWED", "error_description": "HTTP method not allowed"}, status_code=405
        )
    return error_response(PlatformError(ErrorCode.INTERNAL_SERVER_ERROR))


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, db: Database | None = None
) -> Starlette:
    """Build the ASGI application. The database must already be migrated (``b24vote init``)."""
    settings = settings or Settings.from_env()
    database = db or Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    state = AppState(settings=settings, db=database, registry=registry, clock=clock or SystemClock())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.secret_key = await run_in_threadpool(load_secret_key, settings, database)
        yield
        if db is None:
            database.dispose()

    routes = [
        Route("/rest/{path:path}", rest_endpoint, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_error, 500: _http_error})
    app.state.b24 = state
    return app
