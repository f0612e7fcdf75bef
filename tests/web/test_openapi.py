"""The OpenAPI document and the docs page: complete, served as generated, and true to the wire.

Real replies in the situations the method specs show (and the specs' own ``resultExample``s) must validate
against the documented schemas; tests/test_fuzz_api.py then checks generated requests on a live server.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from starlette.testclient import TestClient

from b24vote.admin.routes import ADMIN_ROUTES
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.methods.registry import registry
from b24vote.methods.schemas import DOCS
from b24vote.openapi import REST_STATUSES, build_openapi
from b24vote.storage.engine import Database
from b24vote.web.api_docs import SWAGGER_UI_VERSION, VERB_HEADER, ui_document
from tests.conftest import Portal
from tests.helpers.votes import call, cast, send_poll

CONNECTOR = "Bitrix\\Vote\\Attachment\\ImMessageConnector"


def _reference_specs() -> list[Path]:
    """The method specs of ../shared/reference (beside the checkout), or B24VOTE_REFERENCE."""
    if os.environ.get("B24VOTE_REFERENCE"):
        return sorted((Path(os.environ["B24VOTE_REFERENCE"]) / "bitrix24-docs" / "method-specs").glob("*.json"))
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference" / "bitrix24-docs" / "method-specs"
        if candidate.is_dir():
            return sorted(candidate.glob("*.json"))
    return []


SPEC_FILES = _reference_specs()


def doc_for(**changes: Any) -> dict[str, Any]:
    return build_openapi(Settings.from_env({}, **changes), registry)


def validator(doc: dict[str, Any], name: str) -> Any:
    """A validator for one component schema, its ``$ref``s resolved inside the document."""
    return jsonschema_rs.validator_for({"$ref": f"#/components/schemas/{name}", "components": doc["components"]})


def assert_valid(doc: dict[str, Any], name: str, value: Any) -> None:
    errors = [f"{e.instance_path}: {e.message}" for e in validator(doc, name).iter_errors(value)]
    assert not errors, f"{name}: {errors[:5]}"


def test_every_method_is_described_in_both_url_forms() -> None:
    doc = doc_for()
    assert sorted(DOCS) == sorted(m.name for m in registry)
    for method in registry:
        for suffix in ("", ".json"):
            item = doc["paths"][f"/rest/{{user_id}}/{{code}}/{method.name}{suffix}"]
            assert set(item) == {"get", "post"}
            for operation in item.values():
                assert set(operation["responses"]) == {"200", *map(str, REST_STATUSES)}
    for status in (200, 400, 401, 403, 404, 405, 413, 429, 500, 503):
        assert status == 200 or status in REST_STATUSES
    assert {"/oauth/token/", "/bitrix/services/main/ajax.php", "/vote-result/{code}"} <= set(doc["paths"])
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_admin_routes_only_when_enabled() -> None:
    assert not [p for p in doc_for()["paths"] if p.startswith("/_b24vote")]
    enabled = doc_for(admin_token="0123456789")
    operations = [(verb, p) for p, item in enabled["paths"].items() if p.startswith("/_b24vote") for verb in item]
    assert len(operations) == len(ADMIN_ROUTES)


def test_served_json_and_docs_page(app_client: TestClient) -> None:
    served = app_client.get("/openapi.json")
    assert served.status_code == 200 and served.headers["content-type"].startswith("application/json")
    settings = app_client.app.state.b24.settings  # type: ignore[attr-defined]
    assert served.json() == json.loads(json.dumps(build_openapi(settings, registry)))
    assert served.json()["openapi"] == "3.1.0"
    page = app_client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "connect-src 'self'" in policy
    # Nothing is loaded from elsewhere: every src/href is local, and each of them is served.
    links = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert links and all(link.startswith(("/", "#")) for link in links)
    for link in links:
        assert app_client.get(link).status_code == 200, link
    assert f"/docs/assets/swagger-ui-bundle.js?v={SWAGGER_UI_VERSION}" in links
    assert int(SWAGGER_UI_VERSION.split(".")[0]) >= 5  # OpenAPI 3.1 needs Swagger UI 5
    missing = app_client.get("/docs/assets/index.html")  # the bundle's sample page is not served
    assert missing.status_code == 404 and missing.json()["error"] == "ERROR_NOT_FOUND"


def test_docs_page_document_has_one_entry_per_method() -> None:
    doc = doc_for()
    shown = ui_document(doc)
    rest = {p: item for p, item in shown["paths"].items() if p.startswith("/rest/")}
    assert sorted(rest) == sorted(f"/rest/{m.name}" for m in registry)
    for method in registry:
        (verb, entry), *others = rest[f"/rest/{method.name}"].items()
        assert verb == "post" and not others
        post = doc["paths"][f"/rest/{{user_id}}/{{code}}/{method.name}"]["post"]
        assert entry["requestBody"] == post["requestBody"] and entry["responses"] == post["responses"]
        assert entry["parameters"] == [p for p in entry["parameters"] if p["name"] == VERB_HEADER]
        assert "`" not in entry["summary"] and post["summary"] in entry["description"]
        assert entry["tags"] == [method.scope or "basic"]
    assert {p: i for p, i in shown["paths"].items() if not p.startswith("/rest/")} == {
        p: i for p, i in doc["paths"].items() if not p.startswith("/rest/")
    }
    assert [t["name"] for t in shown["tags"]] == sorted({"basic", "oauth", "web", *registry.scopes()})
    assert shown["servers"] == [{"url": "/", "description": "this server"}]
    assert doc_for()["paths"] == doc["paths"]  # the document shown is a copy


@pytest.mark.skipif(
    not SPEC_FILES, reason="../shared/reference is not beside this checkout; real replies are checked below"
)
@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_spec_examples_fit_the_schemas(path: Any) -> None:
    spec = json.loads(path.read_text())
    if spec["method"] == "vote.AttachedVote.download":
        return  # a file; its example is the error body
    doc = doc_for()
    example = spec["resultExample"]
    result = example if spec["method"] == "vote.AttachedVote.get" else example["result"]
    reply = doc["components"]["schemas"][f"{spec['method']}.reply"]
    schema = {**reply["properties"]["result"], "components": doc["components"]}
    errors = [f"{e.instance_path}: {e.message}" for e in jsonschema_rs.validator_for(schema).iter_errors(result)]
    assert not errors, errors[:5]


def test_real_replies_fit_the_schemas(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    """The shapes that matter: string counters, touched int counters, [] for empty maps and empty successes."""
    doc = doc_for()
    replies: list[tuple[str, Any]] = []

    def post(method: str, hook: str | None = None, **params: Any) -> None:
        resp = app_client.post(portal.url(method, hook), json=params)
        assert resp.status_code == 200, resp.text
        replies.append((method, resp.json()))

    fresh = send_poll(app_client, portal, anonymity=1, options=0)
    post("vote.AttachedVote.get", attachId=fresh.attach_id)  # no votes: userAnswerMap []
    post("vote.AttachedVote.getWithVoted", attachId=fresh.attach_id)  # voted: []
    cast(app_client, portal, fresh, fresh.answer_ids[0])
    post(
        "vote.AttachedVote.vote",
        portal.bob_hook,
        attachId=fresh.attach_id,
        ballot={str(fresh.question_id): [fresh.answer_ids[1]]},
    )
    post(
        "vote.AttachedVote.vote", attachId=fresh.attach_id, ballot={str(fresh.question_id): [fresh.answer_ids[1]]}
    )  # []
    post("vote.AttachedVote.getWithVoted", attachId=fresh.attach_id)
    post("vote.AttachedVote.getAnswerVoted", attachId=fresh.attach_id, answerId=fresh.answer_ids[0])
    post("vote.AttachedVote.recall", attachId=fresh.attach_id)  # no re-voting: []
    many = {"moduleId": "im", "entityType": CONNECTOR}
    post("vote.AttachedVote.getMany", **many, entityIds=[fresh.message_id])
    post("vote.AttachedVote.getMany", **many, entityIds=[fresh.message_id] * 51)  # []
    anonymous = send_poll(app_client, portal, anonymity=2, options=1)
    cast(app_client, portal, anonymous, anonymous.answer_ids[2])
    post("vote.AttachedVote.getAnswerVoted", attachId=anonymous.attach_id, answerId=anonymous.answer_ids[2])
    post("vote.AttachedVote.recall", attachId=anonymous.attach_id)
    post("vote.AttachedVote.stop", attachId=anonymous.attach_id)
    post("vote.AttachedVote.resume", attachId=anonymous.attach_id)
    post("user.get", FILTER={"ID": 999})  # [] without total
    post("user.get")
    post("batch", cmd={"a": "server.time", "b": "no.such.method"})
    post("batch", cmd=["server.time"])
    post("im.chat.get", ENTITY_TYPE="none", ENTITY_ID="none")
    for method in ("server.time", "scope", "methods", "method.get", "user.current", "im.chat.user.list"):
        post(method, CHAT_ID=portal.chat)
    call(app_client, portal, "server.time")
    for method, body in replies:
        assert_valid(doc, f"{method}.reply", body)
    errors = app_client.post(portal.url("vote.AttachedVote.get"), json={"attachId": 0}).json()
    assert_valid(doc, "Error", errors)


def _documented_params(doc: dict[str, Any], method: str, verb: str = "post") -> Any:
    """A validator of the JSON body the document gives ``method``."""
    operation = doc["paths"][f"/rest/{{user_id}}/{{code}}/{method}"][verb]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema_rs.validator_for({**schema, "components": doc["components"]})


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        # Text parameters take any scalar, as PHP's string cast does.
        ("im.chat.get", {"ENTITY_TYPE": 12, "ENTITY_ID": True}, None),
        ("method.get", {"name": None}, {"isExisting": False, "isAvailable": False}),
        # Flags take any value; only the yes-words are true.
        ("scope", {"full": "AAA"}, ["im", "user", "vote"]),
        # A JSON list is PHP's parameters 0, 1, …: a method without required parameters answers as usual.
        ("user.current", [None, None], "ok"),
        (
            "batch",
            {"cmd": False},
            {"result": [], "result_error": [], "result_total": [], "result_next": [], "result_time": []},
        ),
    ],
)
def test_what_the_document_calls_lenient_is_accepted(
    app_client: TestClient, portal: Portal, method: str, body: Any, expected: Any
) -> None:
    doc = doc_for()
    assert _documented_params(doc, method).is_valid(body)
    resp = app_client.post(portal.url(method), json=body)
    assert resp.status_code == 200, resp.text
    if expected != "ok":
        assert resp.json()["result"] == expected


def test_what_the_document_refuses_is_refused(app_client: TestClient, portal: Portal) -> None:
    doc = doc_for()
    body = {"TITLE": {"a": 1}, "USERS": [portal.bob]}  # a text parameter given a map
    assert not _documented_params(doc, "im.chat.add").is_valid(body)
    resp = app_client.post(portal.url("im.chat.add"), json=body)
    assert resp.status_code == 400 and resp.json()["error"] == "ERROR_ARGUMENT"
    assert not _documented_params(doc, "vote.AttachedVote.get").is_valid([1])  # required parameters: no list


def test_a_repeated_query_name_keeps_its_last_value(app_client: TestClient, portal: Portal) -> None:
    parameter = next(
        p for p in doc_for()["paths"]["/rest/{user_id}/{code}/user.get"]["get"]["parameters"] if p["name"] == "order"
    )
    assert parameter["style"] == "form" and parameter["explode"] is True
    assert jsonschema_rs.validator_for(parameter["schema"]).is_valid(["ASC", "DESC"])

    def ids(query: str) -> list[str]:
        return [u["ID"] for u in app_client.get(portal.url("user.get") + query).json()["result"]]

    assert ids("?order=ASC&order=DESC") == ids("?order=DESC") == sorted(ids("?order=ASC"), key=int, reverse=True)
    assert ids("?order=DESC&order=ASC") == ids("?order=ASC") != ids("?order=DESC")


def test_links_name_real_operations_and_their_parameters() -> None:
    doc = doc_for()
    by_id = {op["operationId"]: path for path, item in doc["paths"].items() for op in item.values()}
    found = 0
    for item in doc["paths"].values():
        for operation in item.values():
            for link in operation["responses"]["200"].get("links", {}).values():
                method = by_id[link["operationId"]].rsplit("/", 1)[1].removesuffix(".json")
                params = doc["components"]["schemas"][f"{method}.params"]["properties"]
                assert set(link["requestBody"]) <= set(params), link
                found += 1
    assert found >= 5 * 4  # five links, on both URL forms and both verbs
