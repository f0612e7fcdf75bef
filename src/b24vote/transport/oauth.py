"""``/oauth/token/``: the authorization_code and refresh_token grants of the Bitrix24 OAuth server.

Accepts GET with a query string (pybitrix24, b24pysdk, b24phpsdk) and POST with a form or JSON body (CRest,
b24jssdk) — ../shared/reference/notes/clients.md §8.6. Errors are ``{"error", "error_description"}`` with the
codes of ../shared/reference/bitrix24-docs/oauth/error-codes.md and the statuses of RFC 6749 §5.2.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from b24vote.domain.oauth import IssuedTokens, OAuthApp, token_response
from b24vote.errors import B24Error, OAuthError
from b24vote.storage import oauth, people
from b24vote.transport.envelope import JSONResponse
from b24vote.transport.routes import read_params

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["exchange", "token_endpoint"]

log = logging.getLogger("b24vote.oauth")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    return value if isinstance(value, str) else ""


async def token_endpoint(request: Request) -> Response:
    state: AppState = request.app.state.b24
    try:
        if state.settings.require_https and request.url.scheme != "https":
            raise OAuthError("invalid_request", "Https required")
        try:
            params = await read_params(request, state.settings.max_body_bytes)
        except B24Error as exc:
            raise OAuthError("invalid_request", exc.description) from exc
        body = await run_in_threadpool(exchange, state, params)
    except OAuthError as exc:
        return JSONResponse(exc.body(), status_code=exc.status, headers=_NO_STORE)
    except Exception:
        log.exception("unhandled error in the token endpoint")
        return JSONResponse(
            {"error": "server_error", "error_description": "Internal server error"}, status_code=500, headers=_NO_STORE
        )
    return JSONResponse(body, headers=_NO_STORE)


def exchange(state: AppState, params: dict[str, Any]) -> dict[str, Any]:
    """Blocking: check the client, run the grant, answer with the token reply."""
    grant_type = _text(params, "grant_type")
    if grant_type not in ("authorization_code", "refresh_token"):
        raise OAuthError("invalid_request", "grant_type must be authorization_code or refresh_token")
    client_id, secret = _text(params, "client_id"), _text(params, "client_secret")
    if not client_id:
        raise OAuthError("invalid_request", "client_id is required")
    now = state.clock.now()
    with state.db.write() as conn:
        app = oauth.check_client(conn, client_id, secret)
        if app is None:
            raise OAuthError("invalid_client", "Invalid client credentials", 401)
        if grant_type == "authorization_code":
            tokens = _from_code(conn, now, app, _text(params, "code"))
        else:
            tokens = _from_refresh(conn, now, app, _text(params, "refresh_token"))
        member = oauth.member_id(conn)
    return token_response(tokens, now, public_url=state.settings.public_url, member_id=member)


def _from_code(conn: Connection, now: datetime, app: OAuthApp, code: str) -> IssuedTokens:
    if not code:
        raise OAuthError("invalid_request", "code is required")
    user_id = oauth.consume_code(conn, now, app.id, code)
    if user_id is None:
        raise OAuthError("invalid_grant", "Invalid authorization code")
    _require_active_user(conn, user_id)
    return oauth.issue_tokens(conn, now, app, user_id)


def _from_refresh(conn: Connection, now: datetime, app: OAuthApp, refresh_token: str) -> IssuedTokens:
    if not refresh_token:
        raise OAuthError("invalid_request", "refresh_token is required")
    tokens = oauth.rotate(conn, now, app, refresh_token)
    if tokens is None:
        raise OAuthError("invalid_grant", "Invalid refresh token")
    _require_active_user(conn, tokens.user_id)
    return tokens


def _require_active_user(conn: Connection, user_id: int) -> None:
    user = people.get_user(conn, user_id)
    if user is None or not user.active:
        raise OAuthError("invalid_grant", "The user of this grant is not active")
