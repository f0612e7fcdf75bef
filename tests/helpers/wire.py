"""Assertions that pin the Bitrix24 wire contract; every test uses these instead of ad-hoc checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx2 as httpx

TIME_KEYS = [
    "start",
    "finish",
    "duration",
    "processing",
    "date_start",
    "date_finish",
    "operating_reset_at",
    "operating",
]


def assert_time_block(time: Any) -> None:
    assert isinstance(time, dict)
    assert list(time) == TIME_KEYS
    for key in ("start", "finish", "duration", "processing", "operating"):
        assert isinstance(time[key], (int, float)) and not isinstance(time[key], bool), key
    assert isinstance(time["operating_reset_at"], int)
    for key in ("date_start", "date_finish"):
        parsed = datetime.fromisoformat(time[key])
        assert parsed.tzinfo is not None
        assert len(time[key]) == 25, time[key]  # 2025-08-06T11:46:56+03:00
    assert time["finish"] >= time["start"]


def assert_envelope(resp: httpx.Response) -> Any:
    """A 200 JSON success envelope; returns ``result``."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert "error" not in body, body
    assert set(body) <= {"result", "time", "total", "next"}, body
    keys = list(body)
    assert keys[0] == "result" and keys[-1] == "time"
    assert_time_block(body["time"])
    return body["result"]


def assert_b24_error(resp: httpx.Response, code: str, status: int, description: str | None = None) -> None:
    """An error body of exactly ``error`` and ``error_description`` with the given status."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert list(body) == ["error", "error_description"], body
    assert body["error"] == code, body
    assert isinstance(body["error_description"], str)
    if description is not None:
        assert body["error_description"] == description, body


# The fields of an OAuth token reply (/oauth/token/ and the admin API's /tokens), in the portal's order.
TOKEN_FIELDS = [
    "access_token",
    "expires",
    "expires_in",
    "scope",
    "domain",
    "server_endpoint",
    "status",
    "client_endpoint",
    "member_id",
    "user_id",
    "refresh_token",
]
