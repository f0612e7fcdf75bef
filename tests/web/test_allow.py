"""Every 405 names the methods the path does accept in ``Allow`` (RFC 9110 §15.5.6), REST paths and the rest."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

# Each path with the methods its route accepts (HEAD comes with GET).
ROUTES = {
    "/healthz": "GET, HEAD",
    "/readyz": "GET, HEAD",
    "/metrics": "GET, HEAD",
    "/docs": "GET, HEAD",
    "/openapi.json": "GET, HEAD",
    "/oauth/token/": "GET, HEAD, POST",
    "/vote-result/0123456789abcdef": "GET, HEAD",
    "/vote-result/0123456789abcdef/events": "GET, HEAD",
    "/bitrix/services/main/ajax.php": "GET, HEAD",
    "/rest/1/0123456789abcdef/server.time": "GET, HEAD, POST",
}


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("verb", ["DELETE", "PUT", "PATCH"])
def test_405_names_the_allowed_methods(app_client: TestClient, path: str, verb: str) -> None:
    resp = app_client.request(verb, path)
    assert resp.status_code == 405
    assert sorted(m.strip() for m in resp.headers["allow"].split(",")) == sorted(ROUTES[path].split(", "))
    assert resp.json() == {"error": "ERROR_METHOD_NOT_ALLOWED", "error_description": "HTTP method not allowed"}
