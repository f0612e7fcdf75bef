"""b24pysdk's view of a portal: a BitrixToken built from b24vote's own token reply."""

from __future__ import annotations

from datetime import UTC, datetime

from b24pysdk import BitrixApp, BitrixToken

from tests.clients.conftest import Live, OAuthApp


def oauth_token(live: Live, app: OAuthApp, user: int = 1) -> BitrixToken:
    """A BitrixToken from ``b24vote token issue``, built from the reply's own fields."""
    reply = live.issue_token(app, user)
    return BitrixToken(
        domain=reply["domain"],
        auth_token=reply["access_token"],
        refresh_token=reply["refresh_token"],
        expires=datetime.fromtimestamp(reply["expires"], UTC),
        expires_in=reply["expires_in"],
        bitrix_app=BitrixApp(client_id=app.client_id, client_secret=app.client_secret),
    )
