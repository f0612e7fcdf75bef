"""Every size limit with its error: body bytes (413), parameter count and nesting depth (400, in every
encoding), batch length (per-command ERROR_BATCH_LENGTH_EXCEEDED) and getMany ids (an empty success)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.methods.attached_vote import GET_MANY_LIMIT
from b24vote.methods.batch import MAX_COMMANDS
from b24vote.storage.engine import Database
from b24vote.transport.decode import MAX_DEPTH
from tests.conftest import Portal
from tests.helpers.votes import call, send_poll
from tests.helpers.wire import assert_b24_error, assert_envelope

MAX_PARAMS = 5000
SMALL_BODY = 4096
FORM = {"content-type": "application/x-www-form-urlencoded"}
CONNECTOR = "Bitrix\\Vote\\Attachment\\ImMessageConnector"


@pytest.fixture
def small(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[TestClient]:
    """A server whose B24VOTE_MAX_BODY_BYTES is 4 KiB."""
    app = create_app(settings.with_changes(max_body_bytes=SMALL_BODY), clock=clock, db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_body_size(small: TestClient, portal: Portal, declared: bool) -> None:
    def body(size: int) -> Any:
        data = b"a=" + b"x" * (size - 2)
        return data if declared else iter([data[:100], data[100:]])

    assert_envelope(small.post(portal.url("user.current"), content=body(SMALL_BODY), headers=FORM))
    resp = small.post(portal.url("user.current"), content=body(SMALL_BODY + 1), headers=FORM)
    assert_b24_error(resp, "REQUEST_TOO_LARGE", 413, f"Request body is larger than {SMALL_BODY} bytes")


def test_body_size_of_the_token_endpoint(small: TestClient) -> None:
    resp = small.post("/oauth/token/", content=b"a=" + b"x" * SMALL_BODY, headers=FORM)
    assert resp.status_code == 400
    assert resp.json() == {
        "error": "invalid_request",
        "error_description": f"Request body is larger than {SMALL_BODY} bytes",
    }


def _form(count: int) -> str:
    return "&".join(f"p{i}=1" for i in range(count))


@pytest.mark.parametrize("where", ["query", "form", "json", "json-nested", "multipart"])
def test_parameter_count(app_client: TestClient, portal: Portal, where: str) -> None:
    def send(count: int) -> Any:
        url = portal.url("user.current")
        if where == "query":
            return app_client.get(f"{url}?{_form(count)}")
        if where == "form":
            return app_client.post(url, content=_form(count), headers=FORM)
        if where == "json":
            return app_client.post(url, json={f"p{i}": 1 for i in range(count)})
        if where == "json-nested":
            return app_client.post(url, json={"p": [{"x": [i]} for i in range(count)]})
        return app_client.post(url, data={f"p{i}": "1" for i in range(count)}, files={"f": ("f.txt", b"x")})

    assert_envelope(send(MAX_PARAMS if where != "multipart" else MAX_PARAMS - 1))  # the file is a field too
    resp = send(MAX_PARAMS + 1)
    assert_b24_error(resp, "INVALID_REQUEST", 400)
    assert "Too many" in resp.json()["error_description"]


def test_query_and_body_each_get_the_parameter_budget(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.post(f"{portal.url('user.current')}?{_form(MAX_PARAMS)}", content=_form(MAX_PARAMS), headers=FORM)
    assert_envelope(resp)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize("where", ["query", "form", "json"])
def test_nesting_depth(app_client: TestClient, portal: Portal, where: str) -> None:
    """``p`` with MAX_DEPTH - 1 levels of brackets passes, one more is refused: the same for JSON."""

    def send(depth: int) -> Any:
        url, key = portal.url("user.current"), "p" + "[k]" * depth
        if where == "query":
            return app_client.get(f"{url}?{key}=1")
        if where == "form":
            return app_client.post(url, content=f"{key}=1", headers=FORM)
        return app_client.post(
            url, content=json.dumps({"p": _nested(depth)}), headers={"content-type": "application/json"}
        )

    assert_envelope(send(MAX_DEPTH - 1))
    resp = send(MAX_DEPTH)
    assert_b24_error(resp, "INVALID_REQUEST", 400)
    assert f"deeper than {MAX_DEPTH} levels" in resp.json()["error_description"]


def test_json_nested_past_the_parsers_own_limit(app_client: TestClient, portal: Portal) -> None:
    body = b'{"p":' + b"[" * 5000 + b"]" * 5000 + b"}"
    resp = app_client.post(portal.url("user.current"), content=body, headers={"content-type": "application/json"})
    assert_b24_error(resp, "INVALID_REQUEST", 400)


def test_batch_length(app_client: TestClient, portal: Portal) -> None:
    commands = {f"c{i}": "server.time" for i in range(MAX_COMMANDS + 3)}
    result = assert_envelope(app_client.post(portal.url("batch"), json={"cmd": commands}))
    assert list(result["result"]) == [f"c{i}" for i in range(MAX_COMMANDS)]
    assert result["result_error"] == {
        f"c{i}": {"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"}
        for i in range(MAX_COMMANDS, MAX_COMMANDS + 3)
    }


def test_get_many_ids(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    base = {"moduleId": "im", "entityType": CONNECTOR}
    at_limit = call(
        app_client, portal, "vote.AttachedVote.getMany", **base, entityIds=[poll.message_id] * GET_MANY_LIMIT
    )
    assert len(at_limit["items"]) == GET_MANY_LIMIT
    resp = app_client.post(
        portal.url("vote.AttachedVote.getMany"), json={**base, "entityIds": [poll.message_id] * (GET_MANY_LIMIT + 1)}
    )
    assert assert_envelope(resp) == []
    assert list(resp.json()) == ["result", "time"]
