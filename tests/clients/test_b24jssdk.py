"""The official JavaScript SDK (@bitrix24/b24jssdk), unmodified, run by the machine's Node.js against b24vote.

``B24Hook.fromWebhookUrl`` accepts only https webhooks (../shared/reference/notes/clients.md §5); b24vote serves
HTTPS here and Node trusts the test CA through ``NODE_EXTRA_CA_CERTS``. ``make test`` installs the SDK into
tests/clients/js/node_modules; without Node.js or that install the test skips locally and fails under CI=true.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import Live, Tls, require_tool
from tests.conftest import IN_CI

pytestmark = pytest.mark.slow

JS = Path(__file__).with_name("js")


def test_webhook_calls_and_batch(live: Live, tls: Tls) -> None:
    node = require_tool("node")
    if not (JS / "node_modules" / "@bitrix24" / "b24jssdk").is_dir():
        message = "npm packages missing: run `npm install --no-audit --no-fund` in tests/clients/js (make test does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "NODE_EXTRA_CA_CERTS": str(tls.ca)}
    done = subprocess.run(
        [node, "run.mjs", live.webhook_url, str(live.chat_id)],
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)

    assert set(out["sent"]) == {"messageId", "voteId"}
    attach = out["attach"]
    assert attach["entityId"] == out["sent"]["messageId"]
    assert attach["QUESTIONS"][out["questionId"]]["QUESTION"] == "Какой SDK?"
    first, _, third = out["answerIds"]
    voted = out["voted"]["attach"]
    assert voted["COUNTER"] == 1
    assert voted["userAnswerMap"][out["questionId"]].keys() == {str(first), str(third)}
    assert [item["ID"] for item in out["many"]["items"]] == [attach["ID"]]

    batch = out["batch"]
    assert batch["get"]["attach"]["isVoted"] is True
    assert [item["ID"] for item in batch["many"]["items"]] == [attach["ID"]]
    assert [user["ID"] for user in batch["voters"]["items"]] == [1]


def test_script_exits_non_zero_when_a_call_fails(live: Live, tls: Tls) -> None:
    node = require_tool("node")
    if not (JS / "node_modules" / "@bitrix24" / "b24jssdk").is_dir():
        pytest.skip("npm packages missing")  # the test above fails under CI=true already
    wrong = live.webhook_url.rsplit("/", 2)[0] + "/wrongcode/"
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "NODE_EXTRA_CA_CERTS": str(tls.ca)}
    done = subprocess.run(
        [node, "run.mjs", wrong], cwd=JS, env=env, capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 1
    assert "Wrong authorization data" in done.stderr  # the SDK raised with the server's error_description
