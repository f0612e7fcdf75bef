"""schemathesis against a live server, every check on: no 500s, every error in the Bitrix24 envelope, replies as
documented, schema-valid requests accepted and schema-violating ones refused (schemathesis.toml says which
statuses count as accepted: Bitrix24 refuses well-formed calls with 400).

The server is a real process (tests/helpers/server.py) with both limits off, on a demo portal with a public and an
anonymous poll that have votes, so generated ids often name real polls. Each operation of /openapi.json gets a
bounded, derandomized run of generated requests (positive and negative data) plus its documented example.
The webhook path parameters are fixed to the demo webhook; the permission matrix covers wrong credentials.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection

from b24vote.config import Settings
from b24vote.methods.registry import registry
from b24vote.openapi import build_openapi
from tests.helpers.server import cli, demo_portal, running_server, server_log

pytestmark = pytest.mark.slow


EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 12}
CONFIG = Path(__file__).resolve().parents[1] / "schemathesis.toml"
# An endless stream: it is read in the anonymity tests, not fuzzed.
SKIPPED = {("/vote-result/{code}/events", "get")}
# Routes whose errors are HTML pages by design (a person reads them); every other error is the JSON envelope.
HTML_ROUTES = ("/vote-result/", "/docs", "/healthz", "/readyz", "/metrics")


def _operations() -> list[tuple[str, str]]:
    """Every operation; stop and resume last, so the other methods meet the seeded polls open."""
    doc = build_openapi(Settings.from_env({}), registry)
    found = [
        (path, verb)
        for path, item in doc["paths"].items()
        for verb in item
        if verb in ("get", "post") and (path, verb) not in SKIPPED
    ]
    late = (".stop", ".stop.json", ".resume", ".resume.json")
    return sorted(found, key=lambda op: next((i + 1 for i, end in enumerate(late) if op[0].endswith(end)), 0))


@dataclass
class Live:
    base: str
    user_id: int
    code: str
    doc: dict[str, Any]
    schema: Any
    session: requests.Session
    proc: Any


def _seed_polls(base: str, hook: str, chat_id: int, voters: list[str]) -> None:
    """A public poll with re-voting and an anonymous one, each with a few votes."""
    with httpx.Client(base_url=base, timeout=10) as client:
        for anonymity in (1, 2):
            data = {
                "QUESTIONS": [{"QUESTION": "Lunch?", "ANSWERS": [{"MESSAGE": "Yes"}, {"MESSAGE": "No"}]}],
                "ANONYMITY": anonymity,
                "OPTIONS": 1,
            }
            sent = client.post(
                f"{hook}vote.Integration.Im.send", json={"chatId": chat_id, "IM_MESSAGE_VOTE_DATA": data}
            )
            assert sent.status_code == 200, sent.text
            attach = client.post(
                f"{hook}vote.AttachedVote.get",
                json={
                    "moduleId": "im",
                    "entityType": "Bitrix\\Vote\\Attachment\\ImMessageConnector",
                    "entityId": sent.json()["result"]["messageId"],
                },
            ).json()["result"]["attach"]
            (qid, question), *_ = attach["QUESTIONS"].items()
            for i, voter in enumerate([hook, *voters]):
                answer = list(question["ANSWERS"])[i % 2]
                reply = client.post(
                    f"{voter}vote.AttachedVote.vote", json={"attachId": attach["ID"], "ballot": {qid: [answer]}}
                )
                assert reply.status_code == 200, reply.text


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    prepared = demo_portal(folder, B24VOTE_RATE_LIMIT="off", B24VOTE_OPERATING_LIMIT="off")
    port, base, env, demo = prepared.port, prepared.base, prepared.env, prepared.demo
    voters = [json.loads(cli("webhook", "add", "--user", str(u), "--json", env=env).stdout)["url"] for u in (2, 3)]
    with running_server(env, port=port) as (_, proc):
        hook = demo["webhook_url"].removeprefix(base)
        _seed_polls(base, hook, demo["chat_id"], [v.removeprefix(base) for v in voters])
        served = httpx.get(f"{base}/openapi.json", timeout=10).json()
        user_id, code = hook.strip("/").split("/")[1:3]
        with requests.Session() as session:
            yield Live(base, int(user_id), code, served, _schema(served), session, proc)
        assert "Traceback" not in server_log(proc), server_log(proc)[-4000:]


def _schema(doc: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_dict(doc, config=SchemathesisConfig.from_path(CONFIG))


def test_served_document_is_the_generated_one(live: Live) -> None:
    served = httpx.get(f"{live.base}/openapi.json", timeout=10).json()
    expected = build_openapi(Settings.from_env({}, public_url=live.base), registry)
    assert served == json.loads(json.dumps(expected))


def _assert_bitrix_error(path: str, response: schemathesis.Response) -> None:
    """An error of a machine route is exactly ``{error, error_description}`` (content_type_conformance and the
    documented schema check the rest)."""
    if response.status_code < 400 or path.startswith(HTML_ROUTES):
        return
    body = json.loads(response.content)
    assert list(body) == ["error", "error_description"], body
    assert isinstance(body["error"], str) and isinstance(body["error_description"], str)


def _free_inputs(operation: dict[str, Any]) -> bool:
    return "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))


def _blank_body(case: Any) -> bool:
    """A JSON body of whitespace only: the transport reads it as no parameters (an empty body), which a JSON
    Schema cannot say; schemathesis counts it as broken syntax."""
    return isinstance(case.body, (bytes, str)) and not case.body.strip()


def _run(live: Live, case: Any, path: str) -> None:
    response = case.call(base_url=live.base, session=live.session, timeout=30)
    if _blank_body(case):
        # As a call with no body: what a method without required parameters answers, or its 400.
        assert response.status_code in (200, 400), response.text
        case.validate_response(response, excluded_checks=[negative_data_rejection])
    else:
        case.validate_response(response)  # every check schemathesis.toml enables: all of them
    _assert_bitrix_error(path, response)


@pytest.mark.parametrize(("path", "verb"), _operations(), ids=lambda v: str(v))
def test_operation(live: Live, path: str, verb: str) -> None:
    operation = live.schema[path][verb.upper()]
    fixed = {"user_id": live.user_id, "code": live.code} if path.startswith("/rest/") else None
    if verb == "post":
        example = live.doc["paths"][path][verb].get("requestBody", {}).get("content", {}).get("application/json", {})
        if "example" in example:
            strategy = operation.as_strategy(
                path_parameters=fixed, body=example["example"], media_type="application/json"
            )
            settings(max_examples=1, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))(
                given(case=strategy)(lambda case: _run(live, case, path))
            )()
    for mode, count in EXAMPLES.items():
        if mode is GenerationMode.NEGATIVE and not _free_inputs(live.doc["paths"][path][verb]):
            continue  # nothing left that could be made invalid
        strategy = operation.as_strategy(mode, path_parameters=fixed)

        @settings(max_examples=count, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case: Any) -> None:
            _run(live, case, path)

        run()
