"""Who is calling: an incoming webhook from the URL, or an OAuth access token in ``auth``."""

from __future__ import annotations

import functools
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from b24vote.domain.oauth import AccessGrant
from b24vote.domain.people import User
from b24vote.errors import ErrorCode, PlatformError
from b24vote.methods.registry import Caller
from b24vote.storage import oauth, people, reads
from b24vote.storage.raw import remembered

__all__ = ["Credentials", "authenticate", "token_hash", "webhook_user_id"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the request presented; exactly one of the two forms is set."""

    webhook_user: str | None = None
    webhook_code: str | None = None
    token: str | None = None

    @property
    def is_webhook(self) -> bool:
        return self.webhook_code is not None


def authenticate(conn: Connection, creds: Credentials, now: datetime) -> Caller:
    """Resolve credentials to a caller or raise the Bitrix24 auth error."""
    if creds.is_webhook:
        return _webhook_caller(conn, creds)
    if not creds.token:
        raise PlatformError(ErrorCode.NO_AUTH_FOUND)
    return _token_caller(conn, creds.token, now)


def _token_caller(conn: Connection, token: str, now: datetime) -> Caller:
    # A token nobody issued (or of a removed application) is invalid_token, as on the real server
    # (../shared/reference/bitrix24-docs/oauth/auto-renewal.md: expired_token 401 asks for a refresh).
    if len(token) > 256:
        raise PlatformError(ErrorCode.INVALID_TOKEN, "Unable to get application by token")
    wanted = people.hash_secret(token)
    # Kept in the read model by the token's hash, like a webhook; expiry is checked against each call's time.
    found = remembered(conn, (_token_caller, wanted), lambda: _token_lookup(conn, wanted))
    if found is None:
        raise PlatformError(ErrorCode.INVALID_TOKEN, "Unable to get application by token")
    grant, user = found
    if grant.expires_at <= now:
        raise PlatformError(ErrorCode.EXPIRED_TOKEN)
    if user is None or not user.active:
        raise PlatformError(ErrorCode.AUTHORIZATION_ERROR)
    return Caller(user_id=grant.user_id, scopes=grant.scopes, kind="oauth", credential_id=grant.app_id, user=user)


def _token_lookup(conn: Connection, wanted: str) -> tuple[AccessGrant, User | None] | None:
    grant = oauth.access_by_hash(conn, wanted)
    return None if grant is None else (grant, people.get_user(conn, grant.user_id))


def token_hash(creds: Credentials) -> str | None:
    """The hash an OAuth call's token is looked up by, if it is one that can be looked up at all."""
    token = creds.token
    if creds.is_webhook or not token or len(token) > 256:
        return None
    return people.hash_secret(token)


def webhook_user_id(creds: Credentials) -> int | None:
    """The user a webhook URL names, if it is one that can be looked up at all."""
    user_part, code = creds.webhook_user or "", creds.webhook_code
    if not creds.is_webhook or not user_part.isdecimal() or not code or len(code) > 128:
        return None
    return int(user_part)


def _webhook_caller(conn: Connection, creds: Credentials) -> Caller:
    user_id = webhook_user_id(creds)
    if user_id is None:
        raise PlatformError(ErrorCode.NO_AUTH_FOUND)
    wanted = people.hash_secret(creds.webhook_code or "")
    # Kept in the read model by the code's hash: a revoked webhook changes the database, which drops it.
    caller = remembered(conn, (_webhook_caller, user_id, wanted), lambda: _webhook_lookup(conn, user_id, wanted))
    if caller is None:
        raise PlatformError(ErrorCode.NO_AUTH_FOUND)
    return caller


def _webhook_lookup(conn: Connection, user_id: int, wanted: str) -> Caller | None:
    found: reads.WebhookRow | None = None
    for row in reads.webhooks_of(conn, user_id):  # every row is compared, in constant time
        if hmac.compare_digest(row.code_hash, wanted):
            found = row
    if found is None or not found.user_active:
        return None
    scopes = _scopes(found.scopes)
    return Caller(user_id=user_id, scopes=scopes, kind="webhook", credential_id=found.id, user=found.user)


@functools.lru_cache(maxsize=1024)
def _scopes(listed: str) -> frozenset[str]:
    return frozenset(s for s in listed.split(",") if s)
