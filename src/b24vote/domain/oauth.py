"""OAuth 2.0 applications and tokens as values, their lifetimes, and the token endpoint's reply.

Lifetimes and reply fields follow ../shared/reference/bitrix24-docs/oauth/index.md and auto-renewal.md;
``client_endpoint``/``server_endpoint`` both point at this server because SDKs switch to them after a
refresh (b24jssdk derives the token URL from ``server_endpoint``: ../shared/reference/notes/clients.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ACCESS_LIFETIME",
    "APP_STATUS",
    "CODE_LIFETIME",
    "REFRESH_LIFETIME",
    "AccessGrant",
    "IssuedTokens",
    "OAuthApp",
    "portal_domain",
    "token_response",
]

ACCESS_LIFETIME = timedelta(seconds=3600)
REFRESH_LIFETIME = timedelta(days=180)
CODE_LIFETIME = timedelta(seconds=30)
# Applications registered with `b24vote app add` are local applications of the portal.
APP_STATUS = "L"


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """A registered application; its secret is kept only as a hash."""

    id: int
    client_id: str
    name: str
    scopes: frozenset[str]
    redirect_uri: str
    active: bool
    install_handler: str = ""  # where ONAPPINSTALL goes (the "initial installation path")


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """A fresh token pair, the only moment the plain tokens exist on the server."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    scopes: frozenset[str]
    user_id: int


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """What a presented access token stands for."""

    app_id: int
    user_id: int
    scopes: frozenset[str]
    expires_at: datetime


def portal_domain(public_url: str) -> str:
    """``host[:port]`` of the public URL, what Bitrix24 calls the portal's (and here the OAuth server's) domain."""
    return urlsplit(public_url).netloc


def token_response(tokens: IssuedTokens, now: datetime, *, public_url: str, member_id: str) -> dict[str, Any]:
    """The JSON the token endpoint answers with, in the field order of the Bitrix24 OAuth server."""
    rest = f"{public_url.rstrip('/')}/rest/"
    return {
        "access_token": tokens.access_token,
        "expires": int(tokens.access_expires_at.timestamp()),
        "expires_in": int((tokens.access_expires_at - now).total_seconds()),
        "scope": ",".join(sorted(tokens.scopes)),
        "domain": portal_domain(public_url),
        "server_endpoint": rest,
        "status": APP_STATUS,
        "client_endpoint": rest,
        "member_id": member_id,
        "user_id": tokens.user_id,
        "refresh_token": tokens.refresh_token,
    }
