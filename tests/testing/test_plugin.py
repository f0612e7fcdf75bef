"""The pytest plugin as a user's suite meets it: generated test modules run by pytester, in-process and with xdist."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)
# Each run in a process of its own, as a user runs a suite (in-process runs would import the server twice).
pytestmark = pytest.mark.slow

# What a user's conftest.py-free test module looks like: SDK calls against the b24portal fixture.
HELPERS = '''
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from fast_bitrix24 import Bitrix


def rest(url, method, **params):
    """A raw REST call: (HTTP status, decoded envelope)."""
    body = urllib.parse.urlencode(params).encode()
    try:
        with urllib.request.urlopen(url + method, data=body, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def vote(portal, user_id, answer=0):
    """user_id votes in the demo poll through fast-bitrix24 (which retries a 503 by itself)."""
    poll = portal.polls[0]
    bx = Bitrix(portal.webhook_url(user_id), verbose=False)
    ballot = {str(poll.question_id): [poll.answer_ids[answer]]}
    return bx.call("vote.AttachedVote.vote", {"attachId": poll.attach_id, "ballot": ballot}, raw=True)["result"]
'''

SUITE = (
    HELPERS
    + """

def test_vote_through_fast_bitrix24(b24portal):
    attach = vote(b24portal, 2)["attach"]
    assert attach["COUNTER"] == 1
    (call,) = b24portal.journal.calls("vote.AttachedVote.vote")
    assert (call.user_id, call.status, call.caller_kind) == (2, 200, "webhook")


def test_the_same_vote_again_in_a_fresh_portal(b24portal):
    # Isolation: the vote of the test above is gone, so user 2 may vote again and the counter is 1.
    assert b24portal.journal.calls() == []
    assert vote(b24portal, 2, answer=1)["attach"]["COUNTER"] == 1


def test_a_fault_is_retried_by_the_sdk(b24portal):
    b24portal.faults.add("vote.AttachedVote.vote", error="QUERY_LIMIT_EXCEEDED", count=1)
    assert vote(b24portal, 3)["attach"]["COUNTER"] == 1
    assert [c.status for c in b24portal.journal.calls("vote.*")] == [503, 200]


def test_the_clock_finishes_the_poll(b24portal):
    url, poll = b24portal.webhook_url(1), b24portal.polls[0]
    b24portal.clock.freeze()
    b24portal.clock.advance(3653 * 86400)
    status, envelope = rest(url, "vote.AttachedVote.get", attachId=poll.attach_id)
    assert status == 200 and envelope["result"]["attach"]["isFinished"] is True


def test_the_clock_is_real_again(b24portal):
    assert not b24portal.clock.frozen
    status, envelope = rest(b24portal.webhook_url(1), "vote.AttachedVote.get", attachId=b24portal.polls[0].attach_id)
    assert envelope["result"]["attach"]["isFinished"] is False


@pytest.mark.b24vote(rate_limit="2/0.01")
def test_a_marker_turns_the_rate_limit_on(b24portal):
    statuses = [rest(b24portal.webhook_url(1), "server.time")[0] for _ in range(4)]
    assert statuses[:2] == [200, 200] and 503 in statuses[2:]


@pytest.mark.b24vote(seed={"users": [{"id": 7, "name": "Vera"}]}, timezone="UTC")
def test_a_marker_seeds_its_own_world(b24portal):
    assert b24portal.users == (7,)
    status, envelope = rest(b24portal.webhook_url(7), "user.current")
    assert envelope["result"]["NAME"] == "Vera" and envelope["time"]["date_start"].endswith("+00:00")


def test_the_session_server_is_the_default_portal(b24portal, b24vote_server):
    assert b24portal is b24vote_server and b24portal.users == (1, 2, 3)
"""
)


def test_a_suite_votes_injects_faults_moves_the_clock_in_isolation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=8)


def test_isolation_holds_in_the_reverse_order(pytester: pytest.Pytester) -> None:
    # The second test may not see the first one's vote, whichever runs first.
    pytester.makepyfile(test_suite=SUITE)
    names = ("test_the_same_vote_again_in_a_fresh_portal", "test_vote_through_fast_bitrix24")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *(f"test_suite.py::{name}" for name in names))
    result.assert_outcomes(passed=2)


def test_a_failing_expectation_fails_the_users_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_leak="""
        def test_leaves_a_fault(b24portal):
            b24portal.faults.add("server.time", error="INTERNAL_SERVER_ERROR")

        def test_sees_the_fault(b24portal):
            assert b24portal.faults.rules(), "the fault of the test before is cleared"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*the fault of the test before is cleared*"])


def test_xdist_gives_each_worker_its_own_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_workers=textwrap.dedent(
            """
            import os

            import pytest

            @pytest.mark.parametrize("n", range(6))
            def test_vote_once(b24portal, n):
                worker = os.environ["PYTEST_XDIST_WORKER"]
                with open(f"{worker}-{n}.url", "w") as seen:
                    seen.write(b24portal.url)
                poll = b24portal.polls[0]
                b24portal.seed({"polls": [{"chat": 1, "author": 1, "question": "Q", "answers": ["a", "b"],
                                           "ballots": {2: [n % 2]}}]})
                assert len(b24portal.polls) == 2
            """
        )
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    urls = {path.read_text() for path in pytester.path.glob("gw*.url")}
    workers = {path.name.split("-")[0] for path in pytester.path.glob("gw*.url")}
    assert len(workers) == 2 and len(urls) == 2, (workers, urls)


def test_an_external_server_through_the_options(pytester: pytest.Pytester) -> None:
    from b24vote.testing import Portal

    with Portal() as outside:
        pytester.makepyfile(
            test_external=f"""
            def test_uses_the_external_server(b24portal):
                # A server that served before hands out new ids (they never come back): three users, not 1-3.
                assert b24portal.url == {outside.url!r} and len(b24portal.users) == 3
            """
        )
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--b24vote-url", outside.url, "--b24vote-token", outside.admin_token
        )
    result.assert_outcomes(passed=1)


def test_a_seed_file_option(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", world="users: [{id: 5, name: Ivan}]\nchats: [{title: Room, owner: 5}]\n")
    pytester.makepyfile(
        test_seeded="""
        def test_world(b24portal):
            assert (b24portal.users, len(b24portal.chats)) == ((5,), 1)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--b24vote-seed", "world.yaml")
    result.assert_outcomes(passed=1)


def test_the_first_examples_of_the_docs_pass(pytester: pytest.Pytester) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "testing-with-b24vote.md"
    first, second = docs.read_text().split("```python\n")[1:3]
    first, second = first.split("```", 1)[0], second.split("```", 1)[0]
    assert len([line for line in first.splitlines() if line.strip()]) <= 6  # an import and five lines
    pytester.makepyfile(test_docs=first, test_docs_poll=second)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
