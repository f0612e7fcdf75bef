"""The REST transport: URL forms, encodings, authentication, and every platform error with its status."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.wire import assert_b24_error, assert_envelope


@pytest.mark.parametrize(
    "template",
    [
        "{hook}/user.current",
        "{hook}/user.current.json",
        "{hook}/user.current/",
        "{hook}//user.current/",
        "{hook}/USER.CURRENT",
        "{hook}/user.Current.JSON",
        "/{hook}//user.current",
    ],
)
def test_url_forms(app_client: TestClient, portal: Portal, template: str) -> None:
    url = template.format(hook=portal.hook).replace("//rest", "/rest")
    user = assert_envelope(app_client.post(url))
    assert user["ID"] == str(portal.admin)


def test_get_and_post_give_same_result(app_client: TestClient, portal: Portal) -> None:
    via_get = assert_envelope(app_client.get(portal.url("user.current")))
    via_post = assert_envelope(app_client.post(portal.url("user.current")))
    assert via_get == via_post


def test_unknown_parameters_are_ignored(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.post(
        portal.url("user.current") + "?bx24_request_id=abc&bx24_sdk_ver=2.2.0&bx24_sdk_type=b24-js-sdk&start=0&",
        json={"order": {"ID": "ASC"}, "__order": "order0000000000", "start": 0},
    )
    assert assert_envelope(resp)["ID"] == str(portal.admin)


def _chat_params_json(portal: Portal) -> dict[str, object]:
    return {"TITLE": "Encoded & checked", "USERS": [portal.bob, portal.cleo], "DESCRIPTION": "d=1&e[]"}


ENCODINGS = ["query", "json", "form", "multipart", "form-indexed"]


def _send(client: TestClient, url: str, encoding: str, portal: Portal) -> object:
    form = [
        ("TITLE", "Encoded & checked"),
        ("USERS[]", str(portal.bob)),
        ("USERS[]", str(portal.cleo)),
        ("DESCRIPTION", "d=1&e[]"),
    ]
    if encoding == "query":
        return client.get(url, params=form)
    if encoding == "json":
        return client.post(url, json=_chat_params_json(portal))
    if encoding == "form":
        return client.post(url, data=dict(form[:1] + form[3:]) | {"USERS[]": [str(portal.bob), str(portal.cleo)]})
    if encoding == "form-indexed":
        indexed = [
            ("TITLE", form[0][1]),
            ("USERS[0]", str(portal.bob)),
            ("USERS[1]", str(portal.cleo)),
            ("DESCRIPTION", form[3][1]),
        ]
        body = "&".join(
            f"{k}={v}"
            for k, v in [
                (
                    k.replace("[", "%5B").replace("]", "%5D"),
                    v.replace("&", "%26").replace("=", "%3D").replace("[", "%5B").replace("]", "%5D").replace(" ", "+"),
                )
                for k, v in indexed
            ]
        )
        return client.post(url, content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    files = {"_": ("", b"")}  # forces multipart even though no vote method takes files
    return client.post(
        url, data=dict(form[:1] + form[3:]) | {"USERS[]": [str(portal.bob), str(portal.cleo)]}, files=files
    )


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_encoding_gives_the_same_chat(app_client: TestClient, portal: Portal, encoding: str) -> None:
    chat_id = assert_envelope(_send(app_client, portal.url("im.chat.add"), encoding, portal))
    assert isinstance(chat_id, int)
    members = assert_envelope(app_client.post(portal.url("im.chat.user.list"), json={"CHAT_ID": chat_id}))
    assert members == [portal.admin, portal.bob, portal.cleo]
    users = assert_envelope(app_client.post(portal.url("user.get"), json={"ID": members}))
    assert [u["ID"] for u in users] == [str(m) for m in members]


def test_query_and_body_are_merged_body_wins(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.post(portal.url("user.get") + "?ID=1&sort=ID", json={"ID": portal.bob})
    assert [u["ID"] for u in assert_envelope(resp)] == [str(portal.bob)]


def test_bracket_filter_equals_json_filter(app_client: TestClient, portal: Portal) -> None:
    via_query = app_client.get(portal.url("user.get") + f"?FILTER[ID][]={portal.bob}&FILTER[ID][]={portal.cleo}")
    via_json = app_client.post(portal.url("user.get"), json={"FILTER": {"ID": [portal.bob, portal.cleo]}})
    assert assert_envelope(via_query) == assert_envelope(via_json)


# --- authentication -------------------------------------------------------------------------------------------


def test_wrong_code(app_client: TestClient, portal: Portal) -> None:
    user, _code = portal.hook.rsplit("/", 2)[-2:]
    resp = app_client.post(f"/rest/{user}/wrongcode12345678/user.current")
    assert_b24_error(resp, "NO_AUTH_FOUND", 401, "Wrong authorization data")


def test_code_of_another_user(app_client: TestClient, portal: Portal) -> None:
    code = portal.hook.rsplit("/", 1)[-1]
    resp = app_client.post(f"/rest/{portal.bob}/{code}/user.current")
    assert_b24_error(resp, "NO_AUTH_FOUND", 401)


@pytest.mark.parametrize("user", ["abc", "0", "999", "-1"])
def test_wrong_user_id(app_client: TestClient, portal: Portal, user: str) -> None:
    code = portal.hook.rsplit("/", 1)[-1]
    assert_b24_error(app_client.post(f"/rest/{user}/{code}/user.current"), "NO_AUTH_FOUND", 401)


def test_no_auth_at_all(app_client: TestClient, portal: Portal) -> None:
    assert_b24_error(app_client.post("/rest/user.current"), "NO_AUTH_FOUND", 401)


def test_unknown_token(app_client: TestClient, portal: Portal) -> None:
    for resp in (
        app_client.post("/rest/user.current?auth=nope"),
        app_client.post("/rest/user.current", json={"auth": "nope"}),
        app_client.post("/rest//user.current.json", data={"auth": "nope"}),
    ):
        assert_b24_error(resp, "invalid_token", 401)


def test_unknown_method_is_404_even_before_auth(app_client: TestClient, portal: Portal) -> None:
    assert_b24_error(
        app_client.post(portal.url("vote.nothing.here")), "ERROR_METHOD_NOT_FOUND", 404, "Method not found!"
    )
    assert_b24_error(app_client.post("/rest/1/wrong/no.such.method"), "ERROR_METHOD_NOT_FOUND", 404)
    assert_b24_error(app_client.post(portal.hook + "/"), "ERROR_METHOD_NOT_FOUND", 404)
    assert_b24_error(app_client.post("/rest/1/2/3/user.current"), "ERROR_METHOD_NOT_FOUND", 404)


def test_insufficient_scope(app_client: TestClient, portal: Portal) -> None:
    assert_envelope(app_client.post(portal.url("user.current", portal.narrow_hook)))
    resp = app_client.post(portal.url("im.chat.user.list", portal.narrow_hook), json={"CHAT_ID": portal.chat})
    assert_b24_error(
        resp, "insufficient_scope", 403, "The request requires higher privileges than provided by the webhook token"
    )


def test_deactivated_user_webhook_stops_working(app_client: TestClient, portal: Portal, db) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from b24vote.storage.tables import users

    with db.write() as conn:
        conn.execute(update(users).where(users.c.id == portal.bob).values(active=False))
    assert_b24_error(app_client.post(portal.url("user.current", portal.bob_hook)), "NO_AUTH_FOUND", 401)


# --- malformed input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{", b'{"a": ', b"[1,", b"\xff\xfe", b'"string"', b"123"])
def test_malformed_json(app_client: TestClient, portal: Portal, body: bytes) -> None:
    resp = app_client.post(portal.url("user.current"), content=body, headers={"content-type": "application/json"})
    assert_b24_error(resp, "INVALID_REQUEST", 400)


def test_invalid_utf8_form(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.post(
        portal.url("user.current"),
        content=b"NAME=%FF%FE",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_b24_error(resp, "INVALID_REQUEST", 400)
    resp = app_client.post(
        portal.url("user.current"), content=b"NAME=\xff", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_b24_error(resp, "INVALID_REQUEST", 400)


def test_broken_multipart(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.post(
        portal.url("user.current"), content=b"garbage", headers={"content-type": "multipart/form-data"}
    )
    assert_b24_error(resp, "INVALID_REQUEST", 400)
    # A body cut off before its first field carries no parameters; the call still runs.
    resp = app_client.post(
        portal.url("user.current"),
        content=b"--xx\r\nContent-Disposition: form-data\r\n",
        headers={"content-type": "multipart/form-data; boundary=xx"},
    )
    assert assert_envelope(resp)["ID"] == str(portal.admin)


def test_too_deep(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.get(portal.url("user.current") + "?a" + "[x]" * 70 + "=1")
    assert_b24_error(resp, "INVALID_REQUEST", 400)


def test_oversized_body(app_client: TestClient, portal: Portal, settings) -> None:  # type: ignore[no-untyped-def]
    big = b"a=" + b"x" * (settings.max_body_bytes + 1)
    resp = app_client.post(
        portal.url("user.current"), content=big, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_b24_error(resp, "REQUEST_TOO_LARGE", 413)


def test_xml_format_is_served(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.post(portal.url("server.time.xml"))
    assert resp.status_code == 200
    assert resp.text.startswith("<response><result>2026-11-25T12:00:00+03:00</result><time><start>")


def test_other_paths_answer_in_the_envelope(app_client: TestClient) -> None:
    resp = app_client.get("/nothing")
    assert resp.status_code == 404
    assert set(orjson.loads(resp.content)) == {"error", "error_description"}


def test_put_is_not_allowed(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.put(portal.url("user.current"))
    assert resp.status_code == 405 and resp.headers["allow"] == "GET, HEAD, POST"
    assert resp.json()["error"] == "ERROR_METHOD_NOT_ALLOWED"


def test_health(app_client: TestClient) -> None:
    assert app_client.get("/healthz").text == "ok"
    assert app_client.get("/readyz").status_code == 200


def test_unicode_digits_that_int_refuses_are_not_ids(app_client: TestClient, portal: Portal) -> None:
    """'²' passes str.isdigit() but not int(): it must be refused like any non-number, never a 500."""
    code = portal.hook.rsplit("/", 1)[-1]
    assert_b24_error(app_client.post(f"/rest/²/{code}/user.current"), "NO_AUTH_FOUND", 401)
    resp = app_client.post(portal.url("vote.AttachedVote.get"), json={"attachId": "²"})
    assert_b24_error(resp, "100", 400)
    resp = app_client.post(portal.url("vote.Integration.Im.send"), json={"chatId": "²", "IM_MESSAGE_VOTE_DATA": {}})
    assert_b24_error(resp, "100", 400)
    resp = app_client.post(portal.url("vote.AttachedVote.get"), json={"signedAttachId": "².ab"})
    assert_b24_error(resp, "ATTACH_NOT_FOUND", 400)


def test_rest_under_a_root_path(settings: Settings, db: Database, clock: FrozenClock, portal: Portal) -> None:
    # Behind a proxy that serves b24vote below /portal (uvicorn --root-path /portal).
    with TestClient(create_app(settings, clock=clock, db=db), root_path="/portal") as client:
        assert assert_envelope(client.get("/portal" + portal.url("user.current")))["ID"] == str(portal.admin)
        assert client.get("/portal/healthz").text == "ok"


def test_head_is_answered_like_get(app_client: TestClient, portal: Portal) -> None:
    resp = app_client.head(portal.url("user.current"))
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json; charset=utf-8"


def test_a_client_gone_before_its_body_arrived_gets_no_reply(
    settings: Settings, db: Database, clock: FrozenClock, portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, clock=clock, db=db)
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path = portal.url("user.current")
    scope = {"type": "http", "method": "POST", "path": path, "root_path": "", "query_string": b"", "scheme": "http",
             "headers": [(b"content-type", b"application/json")], "client": ("127.0.0.1", 1)}  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert sent == [] and not [r for r in caplog.records if r.levelname == "ERROR"]
