"""The official Python SDKs inside ``b24portal``: a generated test module, run by pytester as a user runs it.

b24pysdk builds ``https://`` URLs itself, so the portal serves TLS (``tls=True`` / ``--b24vote-tls``) and the
test trusts its CA the way docs/testing-with-b24vote.md tells users: ``REQUESTS_CA_BUNDLE`` for b24pysdk (it
uses requests), an aiohttp session with ``b24portal.ssl_context()`` for fast-bitrix24.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ("pytester",)
pytestmark = pytest.mark.slow

SDK_SUITE = '''
import asyncio

import aiohttp
import pytest
from b24pysdk import BitrixApp, BitrixToken, BitrixWebhook, Client
from fast_bitrix24 import BitrixAsync

CONNECTOR = "Bitrix\\\\Vote\\\\Attachment\\\\ImMessageConnector"
POLL = {
    "QUESTIONS": [
        {"QUESTION": "Which SDK?", "FIELD_TYPE": 0, "ANSWERS": [{"MESSAGE": "b24pysdk"}, {"MESSAGE": "fast"}]},
    ],
}

pytestmark = pytest.mark.b24vote(tls=True)


@pytest.fixture
def portal(b24portal, monkeypatch):
    """The portal, its CA trusted by requests (and so by b24pysdk) for this test."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(b24portal.ca_path))
    return b24portal


def only_question(attach):
    ((question_id, question),) = attach["QUESTIONS"].items()
    return question_id, [int(answer) for answer in question["ANSWERS"]]


def test_b24pysdk_creates_votes_and_reads_a_poll(portal):
    client = Client(BitrixWebhook(domain=portal.domain, webhook_token=portal.webhook_token(2)), timeout=10)
    sent = client.vote.integration.im.send(portal.chats[0], POLL).result
    vote = client.vote.attached_vote
    attach = vote.get(module_id="Im", entity_type=CONNECTOR, entity_id=sent["messageId"]).result["attach"]
    question_id, answers = only_question(attach)
    assert vote.vote({question_id: [answers[0]]}, attach_id=attach["ID"]).result["attach"]["COUNTER"] == 1
    read = vote.get(attach_id=attach["ID"]).result["attach"]
    assert read["COUNTER"] == 1 and read["QUESTIONS"][question_id]["ANSWERS"][str(answers[0])]["COUNTER"] == "1"
    calls = portal.journal.calls("vote.*")
    assert [(c.method, c.user_id, c.status) for c in calls] == [
        ("vote.Integration.Im.send", 2, 200),
        ("vote.AttachedVote.get", 2, 200),
        ("vote.AttachedVote.vote", 2, 200),
        ("vote.AttachedVote.get", 2, 200),
    ]


def test_b24pysdk_with_an_oauth_token_of_the_kit(portal):
    app = portal.oauth_app("SDK app", scopes="vote,user")
    issued = portal.token(app, user_id=3)
    token = BitrixToken(
        domain=issued["domain"],
        auth_token=issued["access_token"],
        refresh_token=issued["refresh_token"],
        bitrix_app=BitrixApp(client_id=app.client_id, client_secret=app.client_secret),
    )
    poll = portal.polls[0]
    voted = Client(token, timeout=10).vote.attached_vote.vote(
        {str(poll.question_id): [poll.answer_ids[1]]}, attach_id=poll.attach_id
    )
    assert voted.result["attach"]["isVoted"] is True
    (call,) = portal.journal.calls("vote.*")
    assert (call.caller_kind, call.user_id) == ("oauth", 3)


async def fast_bitrix24_poll(portal):
    """Create, vote and read through fast-bitrix24: an aiohttp session that trusts the portal's CA."""
    connector = aiohttp.TCPConnector(ssl=portal.ssl_context())
    async with aiohttp.ClientSession(connector=connector, raise_for_status=True) as session:
        bx = BitrixAsync(portal.webhook_url(3), client=session, verbose=False)
        data = {"chatId": portal.chats[0], "IM_MESSAGE_VOTE_DATA": POLL}
        sent = (await bx.call("vote.Integration.Im.send", data, raw=True))["result"]
        where = {"moduleId": "im", "entityType": CONNECTOR, "entityId": sent["messageId"]}
        attach = (await bx.call("vote.AttachedVote.get", where, raw=True))["result"]["attach"]
        question_id, answers = only_question(attach)
        ballot = {"attachId": attach["ID"], "ballot": {question_id: [answers[1]]}}
        await bx.call("vote.AttachedVote.vote", ballot, raw=True)
        return await bx.call("vote.AttachedVote.get", {"attachId": attach["ID"]})  # through batch


def test_fast_bitrix24_creates_votes_and_reads_a_poll(portal):
    portal.faults.add("vote.AttachedVote.vote", error="QUERY_LIMIT_EXCEEDED", count=1)  # busy once: it retries
    read = asyncio.run(fast_bitrix24_poll(portal))
    assert read["COUNTER"] == 1 and read["isVoted"] is True
    calls = portal.journal.calls("vote.*")
    assert [(c.method, c.status) for c in calls] == [  # fast-bitrix24 lower-cases the names
        ("vote.integration.im.send", 200),
        ("vote.attachedvote.get", 200),
        ("vote.attachedvote.vote", 503),
        ("vote.attachedvote.vote", 200),
    ]
    assert {c.user_id for c in calls} == {3}


def test_fast_bitrix24_with_an_oauth_token_of_the_kit(portal):
    app = portal.oauth_app("Fast app", scopes="vote")

    async def token_func():
        return portal.token(app, user_id=2)["access_token"]

    async def run():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=portal.ssl_context())) as session:
            bx = BitrixAsync(f"{portal.url}/rest/", token_func=token_func, client=session, verbose=False)
            return await bx.call("vote.AttachedVote.get", {"attachId": portal.polls[0].attach_id}, raw=True)

    assert asyncio.run(run())["result"]["attach"]["ID"] == portal.polls[0].attach_id
    (call,) = portal.journal.calls("vote.*")
    assert (call.caller_kind, call.user_id) == ("oauth", 2)


@pytest.mark.b24vote(tls=False)
def test_without_tls_the_portal_is_plain_http(b24portal):
    assert b24portal.url.startswith("http://") and not b24portal.tls
'''

SESSION_TLS = """
import ssl
import urllib.request

import pytest


def test_the_session_portal_serves_https(b24portal, b24vote_server):
    assert b24portal is b24vote_server and b24portal.tls and b24portal.url.startswith("https://")
    with urllib.request.urlopen(b24portal.url + "/healthz", context=b24portal.ssl_context(), timeout=10) as answer:
        assert answer.status == 200
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(b24portal.url + "/healthz", context=ssl.create_default_context(), timeout=10)


@pytest.mark.b24vote(tls=True)
def test_a_tls_marker_is_the_same_portal(b24portal, b24vote_server):
    assert b24portal is b24vote_server


@pytest.mark.b24vote(tls=False)
def test_a_marker_opts_out(b24portal):
    assert b24portal.url.startswith("http://")
"""


DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing-with-b24vote.md"


def sdk_examples() -> list[str]:
    """The Python examples of the docs' section on the official SDKs."""
    section = DOCS.read_text().split("\n## Using the official Python SDKs\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


def test_the_sdk_examples_of_the_docs_pass(pytester: pytest.Pytester) -> None:
    examples = sdk_examples()
    assert len(examples) == 2
    pytester.makepyfile(**{f"test_docs_sdk_{n}": example for n, example in enumerate(examples)})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=2)


def test_both_sdks_create_vote_and_read_inside_b24portal(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sdks=SDK_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=5)


def test_the_tls_option_serves_the_session_portal_over_https(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_session_tls=SESSION_TLS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error", "--b24vote-tls")
    result.assert_outcomes(passed=3)


def test_a_tls_marker_takes_a_bool(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marker="import pytest\n\n@pytest.mark.b24vote(tls='yes')\ndef test_it(b24portal):\n    pass\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*tls must be True or False*"])


def test_tls_with_an_external_server_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_external="def test_it(b24portal):\n    pass\n")
    args = ("--b24vote-tls", "--b24vote-url", "https://127.0.0.1:1", "--b24vote-token", "x" * 8)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--b24vote-tls serves a portal of its own*"])
