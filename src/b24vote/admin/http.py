"""What every admin endpoint shares: the bearer-token guard, JSON bodies in and out, the error type."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from b24vote.errors import AdminError, B24Error, ErrorCode, PlatformError
from b24vote.transport.envelope import JSONResponse, error_response

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = [
    "AdminGuard",
    "Endpoint",
    "admin_endpoint",
    "app_state",
    "not_found",
    "read_body",
    "read_json",
    "read_object",
    "reply",
]

Endpoint = Callable[[Request], Awaitable[Response]]


def not_found(description: str) -> AdminError:
    return AdminError(description, 404, "ERROR_NOT_FOUND")


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.b24
    return state


def reply(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def admin_endpoint(handler: Endpoint) -> Endpoint:
    """Answer an :class:`B24Error` raised by ``handler`` as its JSON error."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except B24Error as exc:
            return error_response(exc)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


async def read_body(request: Request) -> bytes:
    """The raw body, refused past ``B24VOTE_MAX_BODY_BYTES``."""
    body = await request.body()
    limit = app_state(request).settings.max_body_bytes
    if len(body) > limit:
        raise AdminError(f"Request body is larger than {limit} bytes", 413, "REQUEST_TOO_LARGE")
    return body


async def read_json(request: Request) -> Any:
    """The JSON body; an empty body is ``{}``."""
    body = await read_body(request)
    if not body.strip():
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise AdminError(f"Malformed JSON body: {exc}") from exc


async def read_object(request: Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise AdminError("the body must be a JSON object")
    return data


class AdminGuard:
    """Absent (404) without ``B24VOTE_ADMIN_TOKEN``; with it, every call needs ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # pragma: no cover - the admin API serves HTTP only
            await self.app(scope, receive, send)
            return
        token = scope["app"].state.b24.settings.admin_token
        if not token:
            response: Response = error_response(PlatformError(ErrorCode.ERROR_NOT_FOUND, "Page not found"))
        elif _presented(scope, token):
            await self.app(scope, receive, send)
            return
        else:
            response = error_response(
                AdminError(
                    "The emulator controls need 'Authorization: Bearer <B24VOTE_ADMIN_TOKEN>'",
                    401,
                    "ADMIN_AUTH_REQUIRED",
                )
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="b24vote"'
        await response(scope, receive, send)


def _presented(scope: Scope, token: str) -> bool:
    header = b""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            header = value
    scheme, _, presented = header.partition(b" ")
    if scheme.lower() != b"bearer":
        return False
    return hmac.compare_digest(presented.strip(), token.encode())
