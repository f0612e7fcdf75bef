"""Fault rules: matched calls fail the way production sometimes does, then stop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import oauth
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.admin import admin, admin_client, admin_error
from tests.helpers.wire import assert_b24_error, assert_envelope


@pytest.fixture
def client(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[TestClient]:
    with admin_client(settings, db, clock) as client:
        yield client


KINDS = [
    ("QUERY_LIMIT_EXCEEDED", "QUERY_LIMIT_EXCEEDED", 503, "Too many requests"),
    ("OPERATION_TIME_LIMIT", "OPERATION_TIME_LIMIT", 429, "Method is blocked due to operation time limit"),
    ("expired_token", "expired_token", 401, "The access token provided has expired"),
    ("EXPIRED_TOKEN", "expired_token", 401, "The access token provided has expired"),
    ("INTERNAL_SERVER_ERROR", "INTERNAL_SERVER_ERROR", 500, "Internal server error"),
    ("NO_AUTH_FOUND", "NO_AUTH_FOUND", 401, "Wrong authorization data"),
]


@pytest.mark.parametrize(("given", "code", "status", "description"), KINDS)
def test_error_kinds(client: TestClient, portal: Portal, given: str, code: str, status: int, description: str) -> None:
    admin(client, "POST", "/faults", [{"method": "user.current", "error": given, "count": 1}])
    assert_b24_error(client.get(portal.url("user.current")), code, status, description)
    assert_envelope(client.get(portal.url("user.current")))


def test_status_and_description_overrides(client: TestClient, portal: Portal) -> None:
    rules = [
        {"method": "server.time", "error": "QUERY_LIMIT_EXCEEDED", "status": 429, "description": "Slow down"},
        {"method": "user.current", "error": "PORTAL_DELETED", "status": 402, "count": 1},
    ]
    admin(client, "POST", "/faults", rules)
    assert_b24_error(client.get(portal.url("server.time")), "QUERY_LIMIT_EXCEEDED", 429, "Slow down")
    assert_b24_error(client.get(portal.url("user.current.json")), "PORTAL_DELETED", 402, "")


def test_glob_is_case_insensitive_and_count_runs_out(client: TestClient, portal: Portal) -> None:
    listed = admin(
        client, "POST", "/faults", {"rules": [{"method": "VOTE.*", "error": "INTERNAL_SERVER_ERROR", "count": 2}]}
    )
    assert listed["rules"][0]["remaining"] == 2
    assert_envelope(client.get(portal.url("user.current")))  # not matched
    for _ in range(2):
        resp = client.post(portal.url("vote.AttachedVote.get"), json={"attachId": 1})
        assert_b24_error(resp, "INTERNAL_SERVER_ERROR", 500)
    resp = client.post(portal.url("vote.attachedvote.get"), json={"attachId": 1})
    assert resp.status_code == 400  # the real answer again: no such attach
    (rule,) = admin(client, "GET", "/faults")["rules"]
    assert (rule["remaining"], rule["fired"]) == (0, 2)


def test_caller_matching(client: TestClient, db: Database, clock: FrozenClock, portal: Portal) -> None:
    admin(client, "POST", "/faults", [{"method": "*", "caller": portal.bob, "error": "QUERY_LIMIT_EXCEEDED"}])
    assert_envelope(client.get(portal.url("user.current")))
    assert_b24_error(client.get(portal.url("user.current", portal.bob_hook)), "QUERY_LIMIT_EXCEEDED", 503)
    with db.write() as conn:
        app, _ = oauth.add_app(conn, clock.now(), name="CI", scopes=["user"])
        bob = oauth.issue_tokens(conn, clock.now(), app, portal.bob).access_token
        anna = oauth.issue_tokens(conn, clock.now(), app, portal.admin).access_token
    assert_b24_error(client.get("/rest/user.current", params={"auth": bob}), "QUERY_LIMIT_EXCEEDED", 503)
    assert_envelope(client.get("/rest/user.current", params={"auth": anna}))


def test_probability_with_a_seed_is_repeatable(client: TestClient, portal: Portal) -> None:
    def pattern() -> list[int]:
        admin(client, "DELETE", "/faults")
        admin(
            client,
            "POST",
            "/faults",
            {"rules": [{"method": "*", "probability": 0.5, "error": "QUERY_LIMIT_EXCEEDED"}], "seed": 7},
        )
        return [client.get(portal.url("server.time")).status_code for _ in range(40)]

    first = pattern()
    assert first == pattern()
    assert 5 < first.count(503) < 35 and set(first) == {200, 503}
    admin(client, "DELETE", "/faults")
    admin(client, "POST", "/faults", [{"method": "*", "probability": 0, "error": "QUERY_LIMIT_EXCEEDED"}])
    assert all(client.get(portal.url("server.time")).status_code == 200 for _ in range(5))


def test_first_matching_rule_wins_and_batch_is_one_call(client: TestClient, portal: Portal) -> None:
    admin(
        client,
        "POST",
        "/faults",
        [
            {"method": "batch", "error": "OPERATION_TIME_LIMIT", "count": 1},
            {"method": "*", "error": "QUERY_LIMIT_EXCEEDED", "count": 1},
        ],
    )
    batch = {"cmd": {"a": "user.current", "b": "server.time"}}
    assert_b24_error(client.post(portal.url("batch"), json=batch), "OPERATION_TIME_LIMIT", 429)
    assert_b24_error(client.post(portal.url("batch"), json=batch), "QUERY_LIMIT_EXCEEDED", 503)
    result = assert_envelope(client.post(portal.url("batch"), json=batch))
    assert result["result_error"] == []


def test_latency_only_rule_answers_normally(client: TestClient, portal: Portal) -> None:
    admin(client, "POST", "/faults", [{"method": "server.time", "latency_ms": 1, "count": 1}])
    assert_envelope(client.get(portal.url("server.time")))
    (rule,) = admin(client, "GET", "/faults")["rules"]
    assert rule["fired"] == 1 and rule["error"] is None


def test_list_delete_and_clear(client: TestClient) -> None:
    rules = admin(client, "POST", "/faults", [{"method": "a", "drop": True}, {"method": "b", "latency_ms": 5}])["rules"]
    assert [(r["id"], r["method"], r["drop"], r["latency_ms"], r["remaining"]) for r in rules] == [
        (1, "a", True, 0.0, None),
        (2, "b", False, 5.0, None),
    ]
    assert [r["id"] for r in admin(client, "DELETE", "/faults/1")["rules"]] == [2]
    admin_error(client, "DELETE", "/faults/1", None, 404, "no fault rule 1")
    admin_error(client, "DELETE", "/faults/x", None, 404, "no fault rule x")
    assert admin(client, "DELETE", "/faults") == {"rules": []}
    assert admin(client, "GET", "/faults") == {"rules": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"rules": {}}, "rules: must be a list"),
        ([{"error": "QUERY_LIMIT_EXCEEDED"}], "rules[0].method: a method name or glob is required"),
        ([{"method": "*"}], "rules[0]: give error, latency_ms or drop"),
        ([{"method": "*", "error": "NO_AUTH_FOUND", "drop": True}], "rules[0]: a rule either drops"),
        ([{"method": "*", "error": "MADE_UP"}], "rules[0].status: 'MADE_UP' is not a code b24vote knows"),
        (
            [{"method": "*", "error": "NO_AUTH_FOUND", "status": 200}],
            "rules[0].status: must be an integer between 400 and 599",
        ),
        ([{"method": "*", "drop": True, "probability": 2}], "rules[0].probability: must be between 0 and 1"),
        ([{"method": "*", "drop": True, "count": 0}], "rules[0].count: must be an integer at least 1"),
        ([{"method": "*", "drop": "yes"}], "rules[0].drop: must be true or false"),
        ([{"method": "*", "latency_ms": -1}], "rules[0].latency_ms: must be between 0"),
        ([{"method": "*", "drop": True, "caller": "bob"}], "rules[0].caller: must be an integer"),
        ([{"method": "*", "drop": True}, {"method": "*", "oops": 1}], "rules[1].oops: unknown field"),
        ({"rules": [], "seed": "x"}, "seed: must be an integer"),
        ({"rule": []}, "rule: unknown field"),
    ],
)
def test_bad_rules(client: TestClient, body: object, message: str) -> None:
    admin_error(client, "POST", "/faults", body, 400, message)
    assert admin(client, "GET", "/faults") == {"rules": []}
