"""``/oauth/authorize/``: sign-in against b24vote's own users, a consent page, the redirect with ``code``.

As in ../shared/reference/bitrix24-docs/oauth/index.md: the redirect address is the application's own
(``b24vote app add --redirect-uri``), the redirect carries ``code``, ``state``, ``domain``, ``member_id``,
``scope`` and ``server_domain``, and a request that cannot be completed is answered with a page, never a
redirect. A user who has allowed the application once is redirected at once, like on a portal where the
application is installed; an application without a redirect address gets the code shown on the page.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from b24vote.domain.oauth import OAuthApp, portal_domain
from b24vote.events.install import install_app
from b24vote.events.queue import Cause
from b24vote.storage import oauth, passwords, people
from b24vote.transport.routes import read_params

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["AUTHORIZE_PATH", "authorize_endpoint"]

AUTHORIZE_PATH = "/oauth/authorize/"
SESSION_COOKIE = "b24vote_session"
SESSION_SECONDS = 12 * 3600

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "web" / "templates"),
    autoescape=select_autoescape(["html"]),
)


@dataclass(frozen=True, slots=True)
class _Ask:
    """The authorization request as the pages carry it along."""

    client_id: str
    state: str


def _page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = _templates.get_template(template).render(action=AUTHORIZE_PATH, **values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _message(title: str, message: str, status: int, code: str = "") -> HTMLResponse:
    return _page("oauth_message.html", status, title=title, message=message, code=code)


def _key(state: AppState, purpose: str) -> bytes:
    return hmac.new(state.secret_key.encode(), purpose.encode(), hashlib.sha256).digest()


def _sign(state: AppState, purpose: str, text: str) -> str:
    return hmac.new(_key(state, purpose), text.encode(), hashlib.sha256).hexdigest()


def _session_cookie(state: AppState, user_id: int) -> str:
    expires = int(state.clock.now().timestamp()) + SESSION_SECONDS
    body = f"{user_id}.{expires}"
    return f"{body}.{_sign(state, 'oauth-session', body)}"


def _session_user(state: AppState, request: Request) -> int | None:
    """The signed-in user from a valid, unexpired session cookie."""
    raw = request.cookies.get(SESSION_COOKIE, "")
    parts = raw.split(".")
    if len(parts) != 3 or not parts[0].isdecimal() or not parts[1].isdecimal():
        return None
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(parts[2], _sign(state, "oauth-session", body)):
        return None
    if int(parts[1]) <= state.clock.now().timestamp():
        return None
    return int(parts[0])


def _csrf(state: AppState, request: Request) -> str:
    return _sign(state, "oauth-csrf", request.cookies.get(SESSION_COOKIE, ""))


def _text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    return value if isinstance(value, str) else ""


async def authorize_endpoint(request: Request) -> Response:
    state: AppState = request.app.state.b24
    if state.settings.require_https and request.url.scheme != "https":
        return _message("Https required", "This portal accepts authorization requests only over HTTPS.", 400)
    try:
        params = await read_params(request, state.settings.max_body_bytes)
    except Exception:
        return _message("Bad request", "The request could not be read.", 400)
    ask = _Ask(_text(params, "client_id"), _text(params, "state"))
    app = await run_in_threadpool(_find_app, state, ask.client_id)
    if app is None:
        return _message("Unknown application", "No application with this client_id is installed here.", 400)
    redirect_uri = _text(params, "redirect_uri")
    if redirect_uri and redirect_uri != app.redirect_uri:
        return _message("Wrong redirect address", "redirect_uri does not match the application's address.", 400)
    action = _text(params, "action") if request.method == "POST" else ""
    if action == "login":
        return await run_in_threadpool(_login, state, request, ask, app, params)
    user_id = _session_user(state, request)
    if user_id is None:
        return _page("oauth_login.html", client_id=ask.client_id, state=ask.state, app_name=app.name, login="")
    if action in ("allow", "deny"):
        if not hmac.compare_digest(_text(params, "csrf"), _csrf(state, request)):
            return _message("Expired form", "The form has expired; open the application again.", 400)
        if action == "deny":
            return _message("Access denied", f"{app.name} was not given access.", 403)
    return await run_in_threadpool(_grant_or_ask, state, request, ask, app, user_id, action == "allow")


def _find_app(state: AppState, client_id: str) -> OAuthApp | None:
    if not client_id or len(client_id) > 64:
        return None
    with state.db.read() as conn:
        return oauth.find_app(conn, client_id)


def _user_by_login(conn: Connection, login: str) -> int | None:
    login = login.strip()
    if login.isdecimal():
        user = people.get_user(conn, int(login))
    else:
        found, _ = people.find_users(conn, equals={"email": login}, limit=1) if login else ([], 0)
        user = found[0] if found else None
    return user.id if user is not None and user.active else None


def _login(state: AppState, request: Request, ask: _Ask, app: OAuthApp, params: dict[str, Any]) -> Response:
    login = _text(params, "login")
    with state.db.read() as conn:
        user_id = _user_by_login(conn, login)
        ok = passwords.check_password(conn, user_id, _text(params, "password"))
    if not ok or user_id is None:
        values = {"client_id": ask.client_id, "state": ask.state, "app_name": app.name, "login": login}
        return _page("oauth_login.html", 401, error="Wrong login or password.", **values)
    response = RedirectResponse(f"{AUTHORIZE_PATH}?{urlencode(_query(ask))}", 303)
    response.set_cookie(
        SESSION_COOKIE,
        _session_cookie(state, user_id),
        max_age=SESSION_SECONDS,
        path="/oauth/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def _query(ask: _Ask) -> dict[str, str]:
    query = {"client_id": ask.client_id}
    if ask.state:
        query["state"] = ask.state
    return query


def _grant_or_ask(state: AppState, request: Request, ask: _Ask, app: OAuthApp, user_id: int, allowed: bool) -> Response:
    now = state.clock.now()
    with state.db.write() as conn:
        user = people.get_user(conn, user_id)
        if user is None or not user.active:
            return _message("Signed out", "Your account is not active.", 403)
        if not allowed and not oauth.has_grant(conn, app.id, user_id):
            return _page(
                "oauth_consent.html",
                client_id=ask.client_id,
                state=ask.state,
                csrf=_csrf(state, request),
                app_name=app.name,
                user_name=user.full_name,
                scopes=", ".join(sorted(app.scopes)),
            )
        oauth.add_grant(conn, now, app.id, user_id)
        cause = Cause(now, user_id, state.settings.public_url)
        installed = install_app(conn, cause, app, state.settings.language)  # ONAPPINSTALL on the first grant
        code = oauth.add_code(conn, now, app.id, user_id)
        member = oauth.member_id(conn)
    if installed:  # committed: the deliveries can be sent
        state.sender.wake()
    if not app.redirect_uri:
        return _message("Authorization code", "Enter this code in the application within 30 seconds.", 200, code)
    return RedirectResponse(_redirect_to(app, ask, code, member, state.settings.public_url), 302)


def _redirect_to(app: OAuthApp, ask: _Ask, code: str, member_id: str, public_url: str) -> str:
    domain = portal_domain(public_url)
    extra = {"code": code, **({"state": ask.state} if ask.state else {})}
    extra |= {"domain": domain, "member_id": member_id, "scope": ",".join(sorted(app.scopes))}
    extra["server_domain"] = domain
    parts = urlsplit(app.redirect_uri)
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
