"""Repository for OAuth applications, authorization codes, token pairs and grants.

Every secret (client secret, code, access and refresh token) is random and stored only as its SHA-256 hash;
rows are found by that hash and the hashes compared again with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hmac
import secrets
import string
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, delete, insert, or_, select, update

from b24vote.domain.oauth import (
    ACCESS_LIFETIME,
    CODE_LIFETIME,
    REFRESH_LIFETIME,
    AccessGrant,
    IssuedTokens,
    OAuthApp,
)
from b24vote.storage.people import get_or_create_setting, hash_secret
from b24vote.storage.raw import Prepared, utc
from b24vote.storage.tables import oauth_apps, oauth_codes, oauth_grants, oauth_tokens

__all__ = [
    "ACCESS_ROWS",
    "access_by_hash",
    "access_select",
    "add_app",
    "add_code",
    "add_grant",
    "check_client",
    "consume_code",
    "deactivate_app",
    "find_access",
    "find_app",
    "get_app",
    "has_grant",
    "issue_tokens",
    "member_id",
    "rotate",
]

_ALNUM = string.ascii_letters + string.digits
_LOWER = string.ascii_lowercase + string.digits


def _scopes(raw: str) -> frozenset[str]:
    return frozenset(s for s in raw.split(",") if s)


def _app(row: Any) -> OAuthApp:
    return OAuthApp(
        id=row.id,
        client_id=row.client_id,
        name=row.name,
        scopes=_scopes(row.scopes),
        redirect_uri=row.redirect_uri,
        active=bool(row.active),
        install_handler=row.install_handler,
    )


def member_id(conn: Connection) -> str:
    """The portal's ``member_id``: 32 hex digits made once and kept (write transaction on first use)."""
    return get_or_create_setting(conn, "member_id", lambda: secrets.token_hex(16))


def add_app(
    conn: Connection,
    now: datetime,
    *,
    name: str,
    scopes: Iterable[str],
    redirect_uri: str = "",
    install_handler: str = "",
) -> tuple[OAuthApp, str]:
    """Register an application; returns it and its client secret (shown once)."""
    scope_set = frozenset(scopes)
    client_id = f"local.{secrets.token_hex(7)}.{secrets.randbelow(10**8):08d}"
    secret = "".join(secrets.choice(_ALNUM) for _ in range(50))
    app_id = conn.execute(
        insert(oauth_apps)
        .values(
            client_id=client_id,
            secret_hash=hash_secret(secret),
            name=name,
            scopes=",".join(sorted(scope_set)),
            redirect_uri=redirect_uri,
            install_handler=install_handler,
            active=True,
            date_create=now,
        )
        .returning(oauth_apps.c.id)
    ).scalar_one()
    return OAuthApp(int(app_id), client_id, name, scope_set, redirect_uri, True, install_handler), secret


def find_app(conn: Connection, client_id: str) -> OAuthApp | None:
    """The active application with this ``client_id``."""
    row = conn.execute(
        select(oauth_apps).where(oauth_apps.c.client_id == client_id, oauth_apps.c.active.is_(True))
    ).first()
    return _app(row) if row else None


def check_client(conn: Connection, client_id: str, secret: str) -> OAuthApp | None:
    """The application when ``secret`` is its client secret, else None."""
    row = conn.execute(
        select(oauth_apps).where(oauth_apps.c.client_id == client_id, oauth_apps.c.active.is_(True))
    ).first()
    # Hash even when there is no such client, so both failures take the same time.
    presented = hash_secret(secret)
    if row is None or not hmac.compare_digest(row.secret_hash, presented):
        return None
    return _app(row)


def add_code(conn: Connection, now: datetime, app_id: int, user_id: int) -> str:
    """A one-time authorization code, valid for 30 seconds (oauth/index.md)."""
    conn.execute(
        delete(oauth_codes).where(
            oauth_codes.c.app_id == app_id, or_(oauth_codes.c.used.is_(True), oauth_codes.c.expires_at <= now)
        )
    )
    code = "".join(secrets.choice(_LOWER) for _ in range(32))
    conn.execute(
        insert(oauth_codes).values(
            code_hash=hash_secret(code), app_id=app_id, user_id=user_id, expires_at=now + CODE_LIFETIME, used=False
        )
    )
    return code


def consume_code(conn: Connection, now: datetime, app_id: int, code: str) -> int | None:
    """Use a code once: the user it was issued for, or None when unknown, used, expired or another app's."""
    wanted = hash_secret(code)
    row = conn.execute(select(oauth_codes).where(oauth_codes.c.code_hash == wanted)).first()
    if row is None or not hmac.compare_digest(row.code_hash, wanted):
        return None
    if row.used or row.app_id != app_id or row.expires_at <= now:
        return None
    claimed = conn.execute(
        update(oauth_codes).where(oauth_codes.c.id == row.id, oauth_codes.c.used.is_(False)).values(used=True)
    )
    return int(row.user_id) if claimed.rowcount == 1 else None


def issue_tokens(conn: Connection, now: datetime, app: OAuthApp, user_id: int) -> IssuedTokens:
    """A new access/refresh pair for ``user_id`` with the application's scopes."""
    conn.execute(
        delete(oauth_tokens).where(
            oauth_tokens.c.app_id == app.id,
            oauth_tokens.c.user_id == user_id,
            oauth_tokens.c.access_expires_at <= now,
            or_(oauth_tokens.c.rotated.is_(True), oauth_tokens.c.refresh_expires_at <= now),
        )
    )
    access, refresh = secrets.token_hex(35), secrets.token_hex(35)
    tokens = IssuedTokens(access, refresh, now + ACCESS_LIFETIME, app.scopes, user_id)
    conn.execute(
        insert(oauth_tokens).values(
            app_id=app.id,
            user_id=user_id,
            access_hash=hash_secret(access),
            refresh_hash=hash_secret(refresh),
            scopes=",".join(sorted(app.scopes)),
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=now + REFRESH_LIFETIME,
            rotated=False,
            date_create=now,
        )
    )
    return tokens


def access_select() -> Select[Any]:
    """The access token whose hash is ``:access_hash``, if an active application issued it."""
    return (
        select(
            oauth_tokens.c.access_hash,
            oauth_tokens.c.app_id,
            oauth_tokens.c.user_id,
            oauth_tokens.c.scopes,
            oauth_tokens.c.access_expires_at,
        )
        .join(oauth_apps, oauth_apps.c.id == oauth_tokens.c.app_id)
        .where(oauth_tokens.c.access_hash == bindparam("access_hash"), oauth_apps.c.active.is_(True))
    )


ACCESS_ROWS = Prepared(access_select())  # every call with an OAuth token reads it (the read model keeps it)


def find_access(conn: Connection, token: str) -> AccessGrant | None:
    """What an access token stands for (expired or not), if it was ever issued by an active application."""
    return access_by_hash(conn, hash_secret(token))


def access_by_hash(conn: Connection, wanted: str) -> AccessGrant | None:
    """:func:`find_access` by the token's hash (an :data:`ACCESS_ROWS` read, which the read model can keep)."""
    for access_hash, app_id, user_id, scopes, expires_at in ACCESS_ROWS.rows(conn, access_hash=wanted):
        if hmac.compare_digest(access_hash, wanted):
            return AccessGrant(app_id, user_id, _scopes(scopes), utc(expires_at))
    return None


def rotate(conn: Connection, now: datetime, app: OAuthApp, refresh_token: str) -> IssuedTokens | None:
    """Exchange a live refresh token of ``app`` for a new pair; the old refresh token stops working."""
    wanted = hash_secret(refresh_token)
    row = conn.execute(select(oauth_tokens).where(oauth_tokens.c.refresh_hash == wanted)).first()
    if row is None or not hmac.compare_digest(row.refresh_hash, wanted):
        return None
    if row.rotated or row.app_id != app.id or row.refresh_expires_at <= now:
        return None
    claimed = conn.execute(
        update(oauth_tokens).where(oauth_tokens.c.id == row.id, oauth_tokens.c.rotated.is_(False)).values(rotated=True)
    )
    if claimed.rowcount != 1:  # a concurrent refresh with the same token won
        return None
    return issue_tokens(conn, now, app, int(row.user_id))


def has_grant(conn: Connection, app_id: int, user_id: int) -> bool:
    row = conn.execute(
        select(oauth_grants.c.app_id).where(and_(oauth_grants.c.app_id == app_id, oauth_grants.c.user_id == user_id))
    ).first()
    return row is not None


def add_grant(conn: Connection, now: datetime, app_id: int, user_id: int) -> None:
    if not has_grant(conn, app_id, user_id):
        conn.execute(insert(oauth_grants).values(app_id=app_id, user_id=user_id, date_create=now))


def deactivate_app(conn: Connection, app_id: int) -> None:
    """Remove the application from the portal: its client and tokens stop working, its row stays."""
    conn.execute(update(oauth_apps).where(oauth_apps.c.id == app_id).values(active=False))


def get_app(conn: Connection, app_id: int) -> OAuthApp | None:
    """The application with this id, active or not."""
    row = conn.execute(select(oauth_apps).where(oauth_apps.c.id == app_id)).first()
    return _app(row) if row else None
