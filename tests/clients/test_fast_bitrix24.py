"""fast-bitrix24, unmodified, against a live b24vote over HTTPS (driven by fast_driver.py in its own process).

fast-bitrix24 lower-cases method names in the URL and wraps every non-raw ``call`` into ``batch`` with an
extra ``__order`` parameter (../shared/reference/notes/clients.md §3); these tests pin that b24vote answers
both paths, and that the client's own pacing copes with b24vote's 503 QUERY_LIMIT_EXCEEDED.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import Crowd, Live, Tls, count_status

pytestmark = pytest.mark.slow

DRIVER = Path(__file__).with_name("fast_driver.py")
ORDER_KEY = "order0000000000"  # fast-bitrix24's key for a single command wrapped into a batch


def drive(tls: Tls, *args: str, timeout: float = 90) -> Any:
    """Run one fast_driver scenario with the test CA trusted through SSL_CERT_FILE; its JSON output."""
    env = {"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(tls.ca), "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, str(DRIVER), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_vote_method_raw_and_through_batch(live: Live, tls: Tls) -> None:
    out = drive(tls, "methods", live.webhook_url, str(live.chat_id))
    poll, raw, batched = out["poll"], out["raw"], out["batched"]

    for name, envelope in raw.items():  # raw=True: one plain POST to the lower-cased method, whole envelope
        assert set(envelope) >= {"result", "time"}, name
        assert {"start", "finish", "duration", "processing", "date_start", "date_finish", "operating"} <= set(
            envelope["time"]
        ), name
    assert raw["get"]["result"]["attach"]["ID"] == poll["attach_id"]
    assert raw["vote"]["result"]["attach"]["COUNTER"] == 1
    assert [i["ID"] for i in raw["getMany"]["result"]["items"]] == [poll["attach_id"]]
    assert raw["getAnswerVoted"]["total"] == 1
    assert raw["recall"]["result"]["attach"]["COUNTER"] == 0
    assert raw["stop"]["result"] == raw["resume"]["result"] == []

    # Non-raw calls go through batch; fast-bitrix24 unwraps one-key dicts and keeps others under its order key.
    assert set(batched["send"][ORDER_KEY]) == {"messageId", "voteId"}
    assert batched["get"]["ID"] == poll["attach_id"]
    assert batched["vote"]["COUNTER"] == 1
    assert batched["getMany"]["ID"] == poll["attach_id"]
    assert set(batched["getWithVoted"][ORDER_KEY]) == {"attach", "voted"}
    assert batched["getAnswerVoted"]["ID"] == 1
    assert batched["recall"]["COUNTER"] == 0
    assert batched["stop"] == batched["resume"] == []


def test_call_lists_get_by_id_call_batch_and_get_all(live: Live, tls: Tls) -> None:
    out = drive(tls, "batching", live.webhook_url, str(live.chat_id))
    attach_ids = out["attach_ids"]
    assert [item["ID"] for item in out["listed"]] == attach_ids
    assert {int(key): value["attach"]["ID"] for key, value in out["by_id"].items()} == dict(
        zip(attach_ids, attach_ids, strict=True)
    )
    assert out["batch"]["vote"]["attach"]["COUNTER"] == 1
    assert [item["ID"] for item in out["batch"]["many"]["items"]] == attach_ids
    assert [user["ID"] for user in out["get_all"]] == [1]
    assert len(out["get_all_warnings"]) == 1  # the client's own advice for methods not named *.list/*.get


def test_get_all_pages_past_fifty(live: Live, tls: Tls, crowd: Crowd) -> None:
    out = drive(tls, "paging", live.webhook_url, str(crowd.attach_id), str(crowd.answer_id))
    assert sorted(out["voter_ids"]) == crowd.voter_ids


def test_oauth_token_func_is_asked_again_after_expired_token(live: Live, tls: Tls) -> None:
    app = live.new_app()
    expired = live.issue_token(app)["access_token"]
    spare = live.issue_token(app)
    with live.clock_ahead(3601):  # an hour later on the server: the first token has expired
        fresh = live.refresh(app, spare["refresh_token"])["access_token"]
        out = drive(tls, "oauth", f"{live.base}/rest/", expired, fresh)
    assert out["envelope"]["result"] == []
    assert out["tokens_used"] == 2  # 401 expired_token made the client call token_func again


def test_client_pacing_matched_to_the_server_meets_no_503(limited: Live, tls: Tls) -> None:
    """Sequential calls with the client's bucket set like B24VOTE_RATE_LIMIT=5/1: it waits, the server never refuses."""
    before = count_status(limited.log(), 503)
    out = drive(tls, "throttle", limited.new_webhook(), "sequential", "5", "1", "8")
    assert out["results"] == [[]] * 8
    assert out["seconds"] >= 2  # 5 at once, then the client's drain of 1 per second
    assert count_status(limited.log(), 503) == before


def test_concurrent_calls_over_the_limit_are_retried_after_503(limited: Live, tls: Tls) -> None:
    """Concurrent calls overrun the server's bucket (the client counts a request only when it returns), get
    503 QUERY_LIMIT_EXCEEDED, and fast-bitrix24 backs off and retries until all succeed."""
    before = count_status(limited.log(), 503)
    # One call more than the burst: a single retrier. With several, fast-bitrix24 counts all their failures in one
    # streak and gives up after 10 ("All attempts to get data from server exhausted") before the bucket drains.
    out = drive(tls, "throttle", limited.new_webhook(), "concurrent", "5", "1", "6")
    assert out["results"] == [[]] * 6
    assert count_status(limited.log(), 503) > before
