"""Metrics and the access log; no secret ever reaches the log."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import generate_latest
from sqlalchemy import update
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import RateLimit, Settings
from b24vote.live import LiveEvent, LiveHub
from b24vote.storage.engine import Database
from b24vote.storage.tables import users
from b24vote.transport.observe import Metrics, mask_path, mask_query
from tests.conftest import Portal
from tests.helpers.votes import cast, send_poll
from tests.helpers.wire import assert_envelope


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/rest/1/abcdef0123456789/user.current", "/rest/1/***/user.current"),
        ("//rest//12//abcdef0123456789//x", "//rest//12//***//x"),
        ("/rest/user.current", "/rest/user.current"),
        ("/vote-result/me7hn922bm011mbf", "/vote-result/***"),
    ],
)
def test_mask_path(path: str, masked: str) -> None:
    assert mask_path(path) == masked


def test_mask_query() -> None:
    assert mask_query("auth=t0k&x=1&refresh_token=r&client_secret=s&code=c") == (
        "auth=***&x=1&refresh_token=***&client_secret=***&code=***"
    )


def test_tallied_requests_reach_the_collectors_exactly_at_a_flush() -> None:
    """Requests are tallied without locks and added in bulk: the exposition shows what one-by-one would."""
    metrics = Metrics()
    for elapsed in (0.0005, 0.001, 0.003, 0.003, 0.2, 20.0):
        metrics.observe("vote.AttachedVote.get", 200, elapsed)
    metrics.observe("vote.AttachedVote.get", 200, None)  # a stream: counted, not timed
    metrics.observe("vote.AttachedVote.get", 400, 0.002)
    metrics.vote_stored()
    assert 'status="200"} 7.0' not in generate_latest(metrics.registry).decode()  # nothing before the flush
    text = generate_latest(metrics.scrape_registry()).decode()  # a scrape flushes first
    for line in (
        'b24vote_requests_total{method="vote.AttachedVote.get",status="200"} 7.0',
        'b24vote_requests_total{method="vote.AttachedVote.get",status="400"} 1.0',
        'b24vote_request_seconds_bucket{le="0.001",method="vote.AttachedVote.get"} 2.0',
        'b24vote_request_seconds_bucket{le="0.0025",method="vote.AttachedVote.get"} 3.0',
        'b24vote_request_seconds_bucket{le="0.005",method="vote.AttachedVote.get"} 5.0',
        'b24vote_request_seconds_bucket{le="0.25",method="vote.AttachedVote.get"} 6.0',
        'b24vote_request_seconds_bucket{le="10.0",method="vote.AttachedVote.get"} 6.0',
        'b24vote_request_seconds_bucket{le="+Inf",method="vote.AttachedVote.get"} 7.0',
        'b24vote_request_seconds_count{method="vote.AttachedVote.get"} 7.0',
        "b24vote_votes_total 1.0",
    ):
        assert line in text
    total = next(ln for ln in text.splitlines() if ln.startswith("b24vote_request_seconds_sum"))
    assert float(total.split()[-1]) == pytest.approx(0.0005 + 0.001 + 0.003 * 2 + 0.2 + 20.0 + 0.002)
    metrics.observe("vote.AttachedVote.get", 200, 0.001)

    async def one_period() -> None:
        task = asyncio.get_running_loop().create_task(metrics.flush_every(0.01))
        for _ in range(500):  # bounded: at most ~5 s
            await asyncio.sleep(0.01)
            if 'status="200"} 8.0' in generate_latest(metrics.registry).decode():
                break
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(one_period())
    assert (
        'b24vote_requests_total{method="vote.AttachedVote.get",status="200"} 8.0'
        in generate_latest(metrics.registry).decode()
    )


def test_metrics_count_requests(app_client: TestClient, portal: Portal) -> None:
    assert_envelope(app_client.post(portal.url("user.current")))
    app_client.post(portal.url("no.such.method"))
    text = app_client.get("/metrics").text
    assert 'b24vote_requests_total{method="user.current",status="200"} 1.0' in text
    assert 'b24vote_requests_total{method="rest:unknown",status="404"} 1.0' in text
    assert 'b24vote_request_seconds_count{method="user.current"} 1.0' in text
    assert "b24vote_db_pool_checked_out" in text


def test_access_log_hides_secrets(app_client: TestClient, portal: Portal, caplog: pytest.LogCaptureFixture) -> None:
    code = portal.hook.rsplit("/", 1)[-1]
    with caplog.at_level(logging.INFO, logger="b24vote"):
        assert_envelope(app_client.post(portal.url("user.current") + "?auth=secret-token-value"))
        app_client.post("/rest/user.current", json={"auth": "body-token"})
    text = caplog.text
    assert "user.current" in text and "/rest/1/***/" in text.replace(f"/{portal.admin}/", "/1/")
    for secret in (code, "secret-token-value", "body-token"):
        assert secret not in text


class RecordingBroker:
    """A live-event broker that only remembers what was published."""

    def __init__(self) -> None:
        self.published: list[LiveEvent] = []

    async def start(self, deliver: object) -> None:
        return None

    async def publish(self, event: LiveEvent) -> None:
        self.published.append(event)

    async def stop(self) -> None:
        return None


def test_votes_publish_live_events_directly_and_in_batch(app_client: TestClient, portal: Portal) -> None:
    broker = RecordingBroker()
    app_client.app.state.b24.live = LiveHub(broker)  # type: ignore[attr-defined]
    poll = send_poll(app_client, portal)
    cast(app_client, portal, poll, poll.answer_ids[0])
    assert [e.name for e in broker.published] == ["voting", "user_vote"]
    assert broker.published[0].params["COUNTER"] == 1 and broker.published[1].to_user == portal.admin
    command = f"vote.AttachedVote.vote?attachId={poll.attach_id}&ballot[{poll.question_id}][]={poll.answer_ids[1]}"
    reply = app_client.post(portal.url("batch", portal.bob_hook), json={"cmd": {"v": command}})
    assert reply.json()["result"]["result_error"] == []
    assert [e.name for e in broker.published[2:]] == ["voting", "user_vote"]
    assert broker.published[2].params["COUNTER"] == 2
    text = app_client.get("/metrics").text
    assert "b24vote_votes_total 1.0" in text  # the direct call; batch commands count as batch


def test_the_voting_event_names_the_voter_as_they_are_now(app_client: TestClient, portal: Portal, db: Database) -> None:
    """A public poll's ``voting`` event names the voter from authentication's read: renamed from another connection
    (the CLI), the next vote's event carries the new name."""
    broker = RecordingBroker()
    app_client.app.state.b24.live = LiveHub(broker)  # type: ignore[attr-defined]
    poll = send_poll(app_client, portal)  # public, re-voting allowed
    cast(app_client, portal, poll, poll.answer_ids[0])
    assert broker.published[0].params["user"] == {
        "ID": portal.admin,
        "NAME": "Anna Admin",
        "IMAGE": None,
        "WORK_POSITION": "Administrator",
    }
    with db.write() as conn:
        conn.execute(update(users).where(users.c.id == portal.admin).values(name="Anya", work_position="Lead"))
    cast(app_client, portal, poll, poll.answer_ids[1])
    assert broker.published[2].name == "voting"
    assert (broker.published[2].params["user"]["NAME"], broker.published[2].params["user"]["WORK_POSITION"]) == (
        "Anya Admin",
        "Lead",
    )


def test_limit_rejections_are_counted(settings: Settings, db: Database, clock: FrozenClock, portal: Portal) -> None:
    limited = settings.with_changes(rate_limit=RateLimit(burst=2, drain=1))
    with TestClient(create_app(limited, clock=clock, db=db)) as client:
        statuses = [client.post(portal.url("server.time")).status_code for _ in range(3)]
        assert statuses == [200, 200, 503]
        assert 'b24vote_limit_rejections_total{error="QUERY_LIMIT_EXCEEDED"} 1.0' in client.get("/metrics").text
