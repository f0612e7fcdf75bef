"""Who is calling: an incoming webhook from the URL, or an OAuth access token in ``auth``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from b24vote.errors import ErrorCode, PlatformError
from b24vote.methods.registry import Caller
from b24vote.storage import people

__all__ = ["Credentials", "authenticate"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the request presented; exactly one of the two forms is set."""

    webhook_user: str | None = None
    webhook_code: str | None = None
    token: str | None = None

    @property
    def is_webhook(self) -> bool:
        return self.webhook_code is not None


def authenticate(conn: Connection, creds: Credentials) -> Caller:
    """Resolve credentials to a caller or raise the Bitrix24 auth error."""
    if creds.is_webhook:
        return _webhook_caller(conn, creds.webhook_user or "", creds.webhook_code or "")
    if not creds.token:
        raise PlatformError(ErrorCode.NO_AUTH_FOUND)
    # OAuth applications are registered with `b24vote app add`; a token nobody issued is invalid.
    raise PlatformError(ErrorCode.INVALID_TOKEN, "Unable to get application by token")


def _webhook_caller(conn: Connection, user_part: str, code: str) -> Caller:
    if not user_part.isdigit() or not code or len(code) > 128:
        raise PlatformError(ErrorCode.NO_AUTH_FOUND)
    user_id = int(user_part)
    hook = people.find_webhook(conn, user_id, code)
    if hook is None:
        raise PlatformError(ErrorCode.NO_AUTH_FOUND)
    user = people.get_user(conn, user_id)
    if user is None or not user.active:
        raise PlatformError(ErrorCode.NO_AUTH_FOUND)
    return Caller(user_id=user_id, scopes=hook.scopes, kind="webhook", credential_id=hook.id)
