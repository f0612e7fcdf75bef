"""ONAPPINSTALL when an application is installed on the portal, ONAPPUNINSTALL when it is removed.

A portal sends ONAPPINSTALL to the URL of the application's settings (the "Initial installation path" of a
local application, the "Installation event handler URL" of a Market one; settings/app-installation/
installation-finish.md) and to its own ONAPPINSTALL handlers, with the installing user's tokens, a refresh token
and the ``application_token`` the application keeps (events/on-app-install.md, safe-event-handlers.md).
ONAPPUNINSTALL carries no tokens: only the ``application_token`` proves who sent it.
"""

from __future__ import annotations

from sqlalchemy import Connection

from b24vote.domain.events import ONAPPINSTALL, ONAPPUNINSTALL, Handler
from b24vote.domain.oauth import OAuthApp
from b24vote.events.queue import Cause, queue_event
from b24vote.storage import events as handlers
from b24vote.storage import oauth, people

__all__ = ["APP_VERSION", "install_app", "uninstall_app"]

APP_VERSION = "1"  # local applications have no versions; a portal reports the first as 1


def _language(conn: Connection, default: str) -> str:
    return people.get_setting(conn, people.LANGUAGE_KEY) or default


def install_app(conn: Connection, cause: Cause, app: OAuthApp, language: str) -> int:
    """ONAPPINSTALL the first time the application is installed (by ``cause.user_id``); how many were queued."""
    if handlers.is_installed(conn, app.id) or cause.user_id is None:
        return 0
    handlers.app_token(conn, cause.now, app.id)
    url = app.install_handler
    user = cause.user_id
    bound = None
    if url:  # the settings' install handler, bound only for this delivery (event.get does not list it)
        bound = handlers.bind(conn, cause.now, Handler(0, app.id, ONAPPINSTALL, url, user, user, False, "", 1, None))
    data = {"VERSION": APP_VERSION, "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": _language(conn, language)}
    queued = queue_event(conn, cause, ONAPPINSTALL, data, app_id=app.id)
    if bound is not None:
        handlers.unbind(conn, app.id, ONAPPINSTALL, url, user, False, None)
    return queued


def uninstall_app(conn: Connection, cause: Cause, app: OAuthApp, language: str, *, clean: bool = False) -> int:
    """ONAPPUNINSTALL to the application's handlers, then remove it: its tokens stop working, handlers go."""
    data = {"LANGUAGE_ID": _language(conn, language), "CLEAN": "1" if clean else "0"}
    queued = queue_event(conn, cause, ONAPPUNINSTALL, data, app_id=app.id)
    oauth.deactivate_app(conn, app.id)
    handlers.drop_app(conn, app.id)
    return queued
