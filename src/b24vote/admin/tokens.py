"""``POST /_b24vote/tokens``: an OAuth token pair for a user without the browser flow (``b24vote token issue``).

Issued at the server's clock (frozen or moved by ``/_b24vote/clock``), so its expiry is the one the server's
REST and token endpoints check. As for the CLI, the application's first token installs it: ONAPPINSTALL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from b24vote.admin.http import admin_endpoint, app_state, not_found, read_object, reply
from b24vote.domain.oauth import token_response
from b24vote.errors import AdminError
from b24vote.events.install import install_app
from b24vote.events.queue import Cause
from b24vote.storage import oauth, people

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["issue_token", "parse_request"]

FIELDS = ("client_id", "user")


def parse_request(body: dict[str, Any]) -> tuple[str, int]:
    """``client_id`` (a non-empty string) and ``user`` (a positive user id) of the body."""
    unknown = set(body) - set(FIELDS)
    if unknown:
        raise AdminError(f"{sorted(unknown)[0]}: unknown field (expected {', '.join(FIELDS)})")
    client_id, user = body.get("client_id"), body.get("user")
    if not isinstance(client_id, str) or not client_id.strip():
        raise AdminError("client_id: required, the application's client_id")
    if isinstance(user, bool) or not isinstance(user, int) or user < 1:
        raise AdminError("user: required, a user id (a positive integer)")
    return client_id.strip(), user


def _issue(state: AppState, client_id: str, user: int) -> tuple[dict[str, Any], int]:
    when = state.clock.now()
    public_url = state.settings.public_url
    with state.db.write() as conn:
        app = oauth.find_app(conn, client_id)
        if app is None:
            raise not_found(f"client_id: no such application: {client_id}")
        acting = people.get_user(conn, user)
        if acting is None or not acting.active:
            raise not_found(f"user: no such active user: {user}")
        installed = install_app(conn, Cause(when, user, public_url), app, state.settings.language)
        tokens = oauth.issue_tokens(conn, when, app, user)
        member = oauth.member_id(conn)
    return token_response(tokens, when, public_url=public_url, member_id=member), installed


@admin_endpoint
async def issue_token(request: Request) -> Response:
    """``{"client_id": …, "user": …}`` → the token endpoint's JSON (``access_token``, ``refresh_token`` …)."""
    state = app_state(request)
    client_id, user = parse_request(await read_object(request))
    answer, installed = await run_in_threadpool(_issue, state, client_id, user)
    if installed:  # committed: the ONAPPINSTALL delivery can be sent
        state.sender.wake()
    return reply(answer)
