"""``batch`` through HTTP: encodings, references, halt, mixed outcomes, the 50-command limit, nesting."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.storage import oauth
from b24vote.storage.engine import Database
from b24vote.storage.tables import chats
from b24vote.transport.formats import php_string
from tests.conftest import Portal
from tests.helpers.wire import TIME_KEYS, assert_b24_error, assert_envelope

RESULT_KEYS = ["result", "result_error", "result_total", "result_next", "result_time"]


def batch(client: TestClient, portal: Portal, body: dict[str, Any], hook: str | None = None) -> dict[str, Any]:
    result = assert_envelope(client.post(portal.url("batch", hook), json=body))
    assert list(result) == RESULT_KEYS
    return dict(result)


def assert_times(result: dict[str, Any]) -> None:
    """SDKs need a result_time entry, with the full time shape, for every key of result."""
    times, results = result["result_time"], result["result"]
    keys = list(results) if isinstance(results, dict) else list(range(len(results)))
    assert (list(times) if isinstance(times, dict) else list(range(len(times)))) == keys
    for entry in times.values() if isinstance(times, dict) else times:
        assert list(entry) == TIME_KEYS


def chat_count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(chats)).scalar_one())


def test_shape_and_references(app_client: TestClient, portal: Portal) -> None:
    result = batch(
        app_client,
        portal,
        {
            "halt": False,
            "cmd": {
                "me": "user.current",
                "people": "user.get?FILTER[ACTIVE]=Y",
                "chat": "im.chat.add?TITLE=From%20batch&USERS[]=$result[people][1][ID]&USERS[]=$result[people][2][ID]",
                "members": "im.chat.user.list?CHAT_ID=$result[chat]",
                "title": "im.chat.add?TITLE=Owner%20$result[me][NAME]&USERS%5B0%5D=$result[me][ID]",
            },
        },
    )
    assert result["result"]["me"]["ID"] == str(portal.admin)
    assert result["result"]["members"] == [portal.admin, portal.bob, portal.cleo]
    assert isinstance(result["result"]["chat"], int)
    assert result["result_error"] == [] and result["result_next"] == []
    assert result["result_total"] == {"people": 4}
    assert_times(result)


def test_empty_maps_are_json_arrays_and_list_commands_give_lists(app_client: TestClient, portal: Portal) -> None:
    assert batch(app_client, portal, {}) == {key: [] for key in RESULT_KEYS}
    result = batch(app_client, portal, {"cmd": ["server.time", "scope"]})
    assert result["result"] == ["2026-11-25T12:00:00+03:00", ["im", "user", "vote"]]
    assert isinstance(result["result_time"], list) and len(result["result_time"]) == 2
    assert_times(result)


FAILING = {
    "a": "server.time",
    "b": "no.such.method",
    "c": "im.chat.user.add?USERS[]=2",
    "d": "user.current",
}


@pytest.mark.parametrize(
    ("encoding", "halt", "stops"),
    [
        ("json", False, False),
        ("json", True, True),
        ("json", 0, False),
        ("json", 1, True),
        ("json", "0", False),
        ("json", "1", True),
        ("form", "0", False),
        ("form", "1", True),
        ("form", None, False),
        ("query", "1", True),
    ],
)
def test_halt_and_mixed_outcomes(
    app_client: TestClient, portal: Portal, encoding: str, halt: object, stops: bool
) -> None:
    url = portal.url("batch")
    if encoding == "json":
        resp = app_client.post(url, json={"halt": halt, "cmd": FAILING})
    else:
        pairs = [(f"cmd[{key}]", value) for key, value in FAILING.items()]
        if halt is not None:
            pairs.append(("halt", str(halt)))
        if encoding == "form":
            resp = app_client.post(url, data=dict(pairs))
        else:
            resp = app_client.get(url + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs))
    result = assert_envelope(resp)
    expected_errors = {"b": ["ERROR_METHOD_NOT_FOUND", "Method not found!"]}
    if not stops:
        expected_errors["c"] = ["CHAT_ID_EMPTY", "Chat ID can't be empty"]
    errors = {key: [value["error"], value["error_description"]] for key, value in result["result_error"].items()}
    assert errors == expected_errors
    assert list(result["result"]) == (["a"] if stops else ["a", "d"])
    assert_times(result)


def test_insufficient_scope_inside_batch_has_no_description(app_client: TestClient, portal: Portal) -> None:
    result = batch(app_client, portal, {"cmd": {"me": "user.current", "chat": "im.chat.get"}}, portal.narrow_hook)
    assert result["result_error"] == {"chat": {"error": "insufficient_scope", "error_description": ""}}
    assert list(result["result"]) == ["me"]


def test_each_command_has_its_own_transaction(app_client: TestClient, portal: Portal, db: Database) -> None:
    before = chat_count(db)
    result = batch(
        app_client,
        portal,
        {"halt": 1, "cmd": {"made": "im.chat.add?TITLE=Kept&USERS[]=2", "broken": "im.chat.user.add?CHAT_ID=0"}},
    )
    assert "made" in result["result"] and "broken" in result["result_error"]
    assert chat_count(db) == before + 1


def test_more_than_fifty_commands(app_client: TestClient, portal: Portal) -> None:
    cmd = {f"c{i}": "server.time" for i in range(52)}
    result = batch(app_client, portal, {"cmd": cmd})
    assert len(result["result"]) == 50 and len(result["result_time"]) == 50
    assert result["result_error"] == {
        key: {"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"}
        for key in ("c50", "c51")
    }
    halted = batch(app_client, portal, {"cmd": cmd, "halt": True})
    assert list(halted["result_error"]) == ["c50"]


def test_nested_batch_and_downloads_are_refused(app_client: TestClient, portal: Portal) -> None:
    result = batch(
        app_client, portal, {"cmd": {"inner": "batch?cmd[x]=server.time", "get": "vote.AttachedVote.download"}}
    )
    for key in ("inner", "get"):
        assert result["result_error"][key] == {
            "error": "ERROR_BATCH_METHOD_NOT_ALLOWED",
            "error_description": "Method is not allowed for batch usage",
        }


def test_batch_acts_with_the_callers_credentials(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    with db.write() as conn:
        app, _ = oauth.add_app(conn, clock.now(), name="b", scopes=["user"])
        tokens = oauth.issue_tokens(conn, clock.now(), app, portal.bob)
    body = {"auth": tokens.access_token, "cmd": {"me": f"user.current?auth={'0' * 70}", "s": "scope"}}
    result = assert_envelope(app_client.post("/rest/batch", json=body))
    assert result["result"]["me"]["ID"] == str(portal.bob) and result["result"]["s"] == ["user"]
    assert_b24_error(app_client.post("/rest/batch", json={"cmd": {"s": "scope"}}), "NO_AUTH_FOUND", 401)
    assert_b24_error(app_client.post("/rest/batch", json={"auth": "0" * 70}), "invalid_token", 401)


def test_batch_in_xml(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.post(portal.url("batch.xml"), json={"cmd": {"t": "server.time", "x": "no.such"}})
    assert resp.status_code == 200 and resp.headers["content-type"] == "text/xml; charset=utf-8"
    assert resp.text.startswith(
        "<response><result><result><t>2026-11-25T12:00:00+03:00</t></result><result_error><x><error>"
        "ERROR_METHOD_NOT_FOUND</error><error_description>Method not found!</error_description></x>"
        "</result_error><result_total></result_total><result_next></result_next><result_time><t><start>"
    )


def test_xml_errors_and_values(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.post(portal.url("im.chat.user.add.xml"), data={"USERS[]": "2"})
    assert resp.status_code == 400 and resp.headers["content-type"] == "text/xml; charset=utf-8"
    assert resp.text == (
        "<response><error>CHAT_ID_EMPTY</error>"
        "<error_description>Chat ID can&apos;t be empty</error_description></response>"
    )
    me = app_client.get(portal.url("user.current.xml")).text
    assert "<ID>1</ID><XML_ID></XML_ID><ACTIVE>1</ACTIVE><NAME>Anna</NAME>" in me
    assert "<UF_DEPARTMENT><item>1</item></UF_DEPARTMENT>" in me


@pytest.mark.parametrize(
    ("value", "php"),
    [(0.0032150745391845703, "0.0032150745391846"), (1724916859.46156, "1724916859.4616"), (1e-5, "1.0E-5"),
     (1e25, "1.0E+25"), (2.0, "2"), (True, "1"), (False, ""), (None, ""), (7, "7")],
)  # fmt: skip
def test_xml_scalars_print_as_php_does(value: object, php: str) -> None:
    assert php_string(value) == php
