"""The official Python SDK (b24pysdk), unmodified, against a live b24vote over HTTPS.

Trust comes from ``REQUESTS_CA_BUNDLE`` (the SDK uses requests). The only SDK setting a user must make is the
OAuth server: ``BitrixOAuthRequester._OAUTH_TOKEN_URL`` is a class attribute with no constructor option
(../shared/reference/notes/clients.md §4), so the OAuth tests set it exactly as docs/clients.md tells users to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from b24pysdk import BitrixWebhook, Client
from b24pysdk.api.requesters.bitrix_oauth_requester import BitrixOAuthRequester
from b24pysdk.errors import (
    BitrixAPIBadRequest,
    BitrixAPIExpiredToken,
    BitrixAPIQueryLimitExceeded,
    BitrixResponseJSONDecodeError,
)
from b24pysdk.errors.oauth import BitrixOAuthInvalidGrant, BitrixOAuthNoAuthFound

from tests.clients.conftest import CONNECTOR, Crowd, Live, OAuthApp, count_status
from tests.clients.pysdk import oauth_token
from tests.helpers.events import local_handler

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("trust_ca")]

POLL = {
    "QUESTIONS": [
        {"QUESTION": "Какой SDK?", "FIELD_TYPE": 0, "ANSWERS": [{"MESSAGE": "python"}, {"MESSAGE": "js"}]},
    ],
    "ANONYMITY": 1,
    "OPTIONS": 1,
}


@dataclass(frozen=True)
class Poll:
    message_id: int
    attach_id: int
    question_id: str
    answer_ids: list[int]


def webhook_client(url: str, **options: Any) -> Client:
    """What docs/clients.md tells users: domain ``host:port`` and the ``user_id/code`` part of the webhook URL."""
    host, hook = url.removeprefix("https://").split("/rest/", 1)
    return Client(BitrixWebhook(domain=host, webhook_token=hook.strip("/")), timeout=15, **options)


def send_poll(client: Client, chat_id: int) -> Poll:
    sent = client.vote.integration.im.send(chat_id, POLL).result
    attach = client.vote.attached_vote.get(module_id="Im", entity_type=CONNECTOR, entity_id=sent["messageId"]).result[
        "attach"
    ]
    ((question_id, question),) = attach["QUESTIONS"].items()
    return Poll(sent["messageId"], attach["ID"], question_id, [int(a) for a in question["ANSWERS"]])


@pytest.fixture
def hook_client(live: Live) -> Client:
    return webhook_client(live.webhook_url)


def test_every_vote_method_over_a_webhook(hook_client: Client, live: Live) -> None:
    vote = hook_client.vote.attached_vote
    poll = send_poll(hook_client, live.chat_id)

    voted = vote.vote({poll.question_id: [poll.answer_ids[0]]}, attach_id=poll.attach_id).result
    assert voted["attach"]["COUNTER"] == 1
    many = vote.get_many("Im", CONNECTOR, [poll.message_id]).result
    assert [item["ID"] for item in many["items"]] == [poll.attach_id]
    with_voted = vote.get_with_voted(attach_id=poll.attach_id).result
    assert set(with_voted) == {"attach", "voted"}
    voters = vote.get_answer_voted(poll.answer_ids[0], attach_id=poll.attach_id).response
    assert [user["ID"] for user in voters.result["items"]] == [1]
    assert voters.total == 1
    assert vote.recall(attach_id=poll.attach_id).result["attach"]["COUNTER"] == 0
    assert vote.stop(attach_id=poll.attach_id).result == []
    assert vote.get(attach_id=poll.attach_id).result["attach"]["isFinished"] is True
    assert vote.resume(attach_id=poll.attach_id).result == []
    by_signed = vote.get(signed_attach_id=with_voted["attach"]["signedAttachId"]).result
    assert by_signed["attach"]["isFinished"] is False

    # download answers with the report file, not JSON — on the real portal too (vote.attachedvote.download.md):
    # the SDK cannot parse it, and the bytes are in the error's response.
    with pytest.raises(BitrixResponseJSONDecodeError) as raised:
        vote.download(attach_id=poll.attach_id).call()
    assert raised.value.response.status_code == 200
    assert raised.value.response.headers["Content-Disposition"].startswith("attachment;filename=vote")


def test_voters_in_the_mobile_format(hook_client: Client, live: Live) -> None:
    vote = hook_client.vote.attached_vote
    poll = send_poll(hook_client, live.chat_id)
    vote.vote({poll.question_id: [poll.answer_ids[1]]}, attach_id=poll.attach_id).call()
    with_voted = vote.get_with_voted(attach_id=poll.attach_id, user_for_mobile_format=True).result
    ((voter,),) = with_voted["voted"].values()
    assert (voter["id"], voter["link"], voter["isAdmin"]) == (1, "/company/personal/user/1/", True)
    items = vote.get_answer_voted(poll.answer_ids[1], attach_id=poll.attach_id, user_for_mobile_format=True).result
    assert items["items"] == [voter]
    web = vote.get_answer_voted(poll.answer_ids[1], attach_id=poll.attach_id, user_for_mobile_format=False).result
    assert list(web["items"][0]) == ["ID", "NAME", "IMAGE", "WORK_POSITION"]


def test_deleting_the_message_deletes_the_poll(hook_client: Client, live: Live) -> None:
    poll = send_poll(hook_client, live.chat_id)
    assert hook_client.im.message.delete(poll.message_id).result is True
    with pytest.raises(BitrixAPIBadRequest) as raised:
        hook_client.vote.attached_vote.get(attach_id=poll.attach_id).call()
    assert raised.value.error == "ATTACH_NOT_FOUND"


def test_response_time_block_is_parsed(hook_client: Client, live: Live) -> None:
    response = hook_client.vote.integration.im.send(live.chat_id, POLL).response
    assert response.time.duration >= 0
    assert response.time.date_start.tzinfo is not None
    assert response.time.operating is not None


def test_batch_of_typed_requests(hook_client: Client, live: Live) -> None:
    poll = send_poll(hook_client, live.chat_id)
    vote = hook_client.vote.attached_vote
    batch = hook_client.call_batch(
        {
            "vote": vote.vote({poll.question_id: [poll.answer_ids[1]]}, attach_id=poll.attach_id),
            "get": vote.get(attach_id=poll.attach_id),
            "many": vote.get_many("Im", CONNECTOR, [poll.message_id]),
            "voters": vote.get_answer_voted(poll.answer_ids[1], attach_id=poll.attach_id),
        },
        halt=False,
    ).result
    assert batch.result["vote"]["attach"]["COUNTER"] == 1
    assert batch.result["get"]["attach"]["ID"] == poll.attach_id
    assert batch.result["many"]["items"][0]["ID"] == poll.attach_id
    assert batch.result["voters"]["items"][0]["ID"] == 1
    assert not batch.result_error
    assert set(batch.result_time) == {"vote", "get", "many", "voters"}


def test_batch_reports_a_failing_command_without_halting(hook_client: Client, live: Live) -> None:
    poll = send_poll(hook_client, live.chat_id)
    vote = hook_client.vote.attached_vote
    batch = hook_client.call_batch(
        {"missing": vote.get(attach_id=10**9), "get": vote.get(attach_id=poll.attach_id)}, halt=False
    ).result
    assert set(batch.result_error) == {"missing"}
    assert batch.result["get"]["attach"]["ID"] == poll.attach_id


def test_errors_become_the_sdk_exceptions(hook_client: Client, live: Live) -> None:
    poll = send_poll(hook_client, live.chat_id)
    vote = hook_client.vote.attached_vote
    vote.stop(attach_id=poll.attach_id).call()
    with pytest.raises(BitrixAPIBadRequest) as inactive:
        vote.vote({poll.question_id: [poll.answer_ids[0]]}, attach_id=poll.attach_id).call()
    assert (inactive.value.error, inactive.value.response.status_code) == ("403", 400)

    host, hook = live.webhook_url.removeprefix("https://").split("/rest/", 1)
    wrong = Client(BitrixWebhook(domain=host, webhook_token=hook.split("/")[0] + "/wrongcode"), timeout=15)
    with pytest.raises(BitrixOAuthNoAuthFound):
        wrong.vote.attached_vote.get(attach_id=poll.attach_id).call()


# --- OAuth -------------------------------------------------------------------------------------------------


@pytest.fixture
def oauth_server(live: Live, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """Point the SDK's OAuth server at b24vote, as docs/clients.md tells users to (a class attribute)."""
    monkeypatch.setattr(BitrixOAuthRequester, "_OAUTH_TOKEN_URL", f"{live.base}/oauth/token/")
    yield live


def test_oauth_calls_and_batch_with_an_issued_token(oauth_server: Live) -> None:
    token = oauth_token(oauth_server, oauth_server.new_app())
    client = Client(token, timeout=15)
    poll = send_poll(client, oauth_server.chat_id)
    voted = client.vote.attached_vote.vote({poll.question_id: [poll.answer_ids[0]]}, attach_id=poll.attach_id)
    assert voted.result["attach"]["isVoted"] is True
    batch = client.call_batch({"get": client.vote.attached_vote.get(attach_id=poll.attach_id)}).result
    assert batch.result["get"]["attach"]["userAnswerMap"]


def attach_id_of(client: Client, poll: Poll) -> int:
    """Any vote call that needs a valid token: the poll's attach id as the caller reads it."""
    return int(client.vote.attached_vote.get(attach_id=poll.attach_id).result["attach"]["ID"])


@pytest.fixture
def poll(hook_client: Client, live: Live) -> Poll:
    return send_poll(hook_client, live.chat_id)


def test_oauth_refresh_goes_to_b24vote(oauth_server: Live, poll: Poll) -> None:
    token = oauth_token(oauth_server, oauth_server.new_app())
    first_access, first_refresh = token.auth_token, token.refresh_token
    token.refresh_and_set_oauth_token()
    assert token.auth_token != first_access
    assert token.refresh_token != first_refresh
    assert token.expires is not None and token.expires > datetime.now(UTC)
    assert attach_id_of(Client(token, timeout=15), poll) == poll.attach_id

    stale = oauth_token(oauth_server, oauth_server.new_app())
    stale.refresh_token = first_refresh  # already used once: refresh tokens are single-use
    stale.bitrix_app = token.bitrix_app
    with pytest.raises(BitrixOAuthInvalidGrant):
        stale.refresh_and_set_oauth_token()


def test_sdk_refreshes_ahead_when_its_stored_expiry_has_passed(oauth_server: Live, poll: Poll) -> None:
    token = oauth_token(oauth_server, oauth_server.new_app())
    before = token.auth_token
    token.expires = datetime.now(UTC) - timedelta(seconds=5)
    assert attach_id_of(Client(token, timeout=15), poll) == poll.attach_id
    assert token.auth_token != before


def test_expired_token_answer_is_refreshed_and_retried(oauth_server: Live, poll: Poll) -> None:
    token = oauth_token(oauth_server, oauth_server.new_app(), user=2)
    client = Client(token, timeout=15)
    with oauth_server.clock_ahead(3601):  # an hour later on the server: the SDK's token has expired
        before, log_before = token.auth_token, oauth_server.log()
        assert attach_id_of(client, poll) == poll.attach_id  # 401 expired_token, refresh at b24vote, retry
        assert token.auth_token != before
        assert count_status(oauth_server.log(), 401) == count_status(log_before, 401) + 1

        oauth_server.advance_clock(3601)
        token.refresh_token = None  # a one-off token cannot be refreshed: the SDK raises the server's error
        with pytest.raises(BitrixAPIExpiredToken) as raised:
            attach_id_of(client, poll)
        assert raised.value.response.status_code == 401


# --- QUERY_LIMIT_EXCEEDED ------------------------------------------------------------------------------------


def test_query_limit_exceeded_is_retried_until_it_passes(limited: Live) -> None:
    client = webhook_client(limited.new_webhook())  # default retries: 3 attempts, 1 s then 2 s apart
    rejected_before = count_status(limited.log(), 503)
    for _ in range(8):  # burst 5, then one request per second
        assert client.vote.attached_vote.get_many("Im", CONNECTOR, [10**9]).result == []  # not found: an empty success
    assert count_status(limited.log(), 503) > rejected_before


def test_query_limit_exceeded_raises_its_class_when_retries_run_out(limited: Live) -> None:
    client = webhook_client(limited.new_webhook(), max_retries=1)
    with pytest.raises(BitrixAPIQueryLimitExceeded) as raised:
        for _ in range(10):
            client.vote.attached_vote.get_many("Im", CONNECTOR, [10**9]).call()
    assert raised.value.response.status_code == 503
    assert raised.value.error == "QUERY_LIMIT_EXCEEDED"


def test_paging_past_fifty_voters(hook_client: Client, crowd: Crowd) -> None:
    voters = hook_client.vote.attached_vote.get_answer_voted(crowd.answer_id, attach_id=crowd.attach_id)
    first = voters.response
    assert (len(first.result["items"]), first.next, first.total) == (50, 50, len(crowd.voter_ids))
    again = hook_client.vote.attached_vote.get_answer_voted(crowd.answer_id, attach_id=crowd.attach_id)
    everyone = again.as_list().result  # the SDK pages with start=50 inside a batch
    assert sorted(user["ID"] for user in everyone) == crowd.voter_ids


# --- Events ------------------------------------------------------------------------------------------------


def test_an_app_keeps_the_install_token_binds_onapptest_and_receives_event_test(oauth_server: Live) -> None:
    with local_handler() as handler:
        made = json.loads(
            oauth_server.cli("app", "add", "--name", "Events", "--install-handler", handler.url, "--json")
        )
        app = OAuthApp(made["client_id"], made["client_secret"])
        token = oauth_token(oauth_server, app)  # the first token installs the app: ONAPPINSTALL
        installed = handler.next().form
        assert installed["event"] == "ONAPPINSTALL"
        kept = installed["auth"]["application_token"]  # what a handler saves (safe-event-handlers.md)
        client = Client(token, timeout=15)
        assert client.event.bind("ONAPPTEST", handler.url).result is True
        assert [(e["event"], e["handler"]) for e in client.event.get().result] == [("ONAPPTEST", handler.url)]
        assert token.call_method("event.test", {"ping": "pong"})["result"] == 1
        got = handler.next().form
    assert got["event"] == "ONAPPTEST" and got["data"] == {"QUERY": {"ping": "pong"}}
    assert got["auth"]["application_token"] == kept and got["auth"]["domain"] == oauth_server.host
