"""``b24vote.testing.Portal``: the served world, its snapshots and controls, through the kit's own fixture."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest

from b24vote.testing import Call, Portal, PortalError


def rest(url: str, method: str, **params: Any) -> httpx.Response:
    return httpx.post(url + method, data=params, timeout=10)


def test_every_user_of_the_demo_has_a_webhook(b24portal: Portal) -> None:
    assert b24portal.users == (1, 2, 3) and len(b24portal.chats) == 1 and len(b24portal.polls) == 1
    for user in b24portal.users:
        assert rest(b24portal.webhook_url(user), "user.current").json()["result"]["ID"] == str(user)
    with pytest.raises(KeyError, match="no webhook for user 9 in this portal"):
        b24portal.webhook_url(9)


def test_seed_adds_to_the_world_and_gives_new_users_webhooks(b24portal: Portal) -> None:
    made = b24portal.seed({"users": [{"id": 20, "name": "Dana"}], "chats": [{"title": "Pair", "owner": 20}]})
    assert made.users == (20,) and b24portal.users == (1, 2, 3, 20) and b24portal.chats[-1] == made.chats[0]
    assert rest(b24portal.webhook_url(20), "user.current").json()["result"]["NAME"] == "Dana"
    with pytest.raises(PortalError, match=r"chats\[0\]\.owner: no such user 99") as refused:
        b24portal.seed({"chats": [{"title": "Nobody's", "owner": 99}]})
    assert refused.value.status == 400


def test_snapshots_bring_back_the_world_and_what_the_kit_knows_of_it(b24portal: Portal) -> None:
    b24portal.seed({"users": [{"id": 30, "name": "Egor"}]})
    b24portal.snapshot("with-egor")
    b24portal.reset()
    assert b24portal.users == (1, 2, 3)
    assert rest(b24portal.webhook_url(1), "user.get", ID=30).json()["result"] == []
    b24portal.restore("with-egor")
    assert 30 in b24portal.users and rest(b24portal.webhook_url(30), "user.current").status_code == 200
    b24portal.reset(empty=True)
    assert b24portal.users == () and rest(f"{b24portal.url}/rest/1/x/", "user.current").status_code == 401
    with pytest.raises(PortalError, match="no snapshot named 'missing'"):
        b24portal.restore("missing")


def test_the_clock_moves_the_servers_time(b24portal: Portal) -> None:
    hook = b24portal.webhook_url(1)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    assert b24portal.clock.freeze(start) == start and b24portal.clock.frozen
    assert rest(hook, "server.time").json()["time"]["date_start"] == "2030-01-01T03:00:00+03:00"
    assert b24portal.clock.advance(3600) == start + timedelta(hours=1)
    later = datetime(2031, 6, 1, 12, tzinfo=UTC)
    assert b24portal.clock.set(later) == b24portal.clock.now() == later
    b24portal.clock.release()
    assert not b24portal.clock.frozen
    assert b24portal.clock.reset().year == datetime.now(UTC).year


def test_faults_fail_drop_and_are_listed(b24portal: Portal) -> None:
    hook = b24portal.webhook_url(2)
    rule = b24portal.faults.add("user.*", error="ACCESS_DENIED", count=1)
    assert (rule.method, rule.error, rule.status, rule.remaining) == ("user.*", "ACCESS_DENIED", 403, 1)
    assert rest(hook, "user.current").status_code == 403
    assert rest(hook, "user.current").status_code == 200
    (listed,) = b24portal.faults.rules()
    assert (listed.fired, listed.remaining) == (1, 0)
    b24portal.faults.remove(listed)
    b24portal.faults.add("server.time", drop=True, count=1)
    with pytest.raises(httpx.TransportError):
        rest(hook, "server.time")
    b24portal.faults.clear()
    assert b24portal.faults.rules() == []


def test_the_journal_returns_typed_calls(b24portal: Portal) -> None:
    poll = b24portal.polls[0]
    rest(b24portal.webhook_url(3), "vote.AttachedVote.get", attachId=poll.attach_id)
    rest(b24portal.webhook_url(1), "user.current")
    (call,) = b24portal.journal.calls("vote.*")
    assert isinstance(call, Call) and isinstance(call.time, datetime)
    assert (call.method, call.user_id, call.caller_kind, call.status) == ("vote.AttachedVote.get", 3, "webhook", 200)
    assert call.params == {"attachId": str(poll.attach_id)}
    assert [c.method for c in b24portal.journal.calls(limit=1)] == ["user.current"]
    b24portal.journal.clear()
    assert b24portal.journal.calls() == []


def test_an_oauth_app_and_its_token(b24portal: Portal) -> None:
    app = b24portal.oauth_app("Poll bot", scopes="user")
    tokens = b24portal.token(app, user_id=2)
    assert tokens["client_endpoint"] == f"{b24portal.url}/rest/"
    answer = httpx.post(f"{b24portal.url}/rest/user.current", data={"auth": tokens["access_token"]}).json()
    assert answer["result"]["ID"] == "2"
    (call,) = b24portal.journal.calls("user.current")
    assert (call.caller_kind, call.user_id, call.params) == ("oauth", 2, {})  # the token never reaches the journal


def test_tokens_are_issued_at_the_servers_clock(b24portal: Portal) -> None:
    app = b24portal.oauth_app()
    b24portal.clock.freeze()
    b24portal.clock.advance(10 * 86400)  # ten days on: a token issued at the real time would be long expired
    tokens = b24portal.token(app, user_id=3)
    assert tokens["expires"] == int((b24portal.clock.now() + timedelta(hours=1)).timestamp())
    answer = httpx.post(f"{b24portal.url}/rest/user.current", data={"auth": tokens["access_token"]})
    assert answer.json()["result"]["ID"] == "3"
    b24portal.clock.advance(3601)
    assert httpx.post(f"{b24portal.url}/rest/user.current", data={"auth": tokens["access_token"]}).status_code == 401
    with pytest.raises(PortalError, match="no such active user: 99") as refused:
        b24portal.token(app, user_id=99)
    assert (refused.value.status, refused.value.code) == (404, "ERROR_NOT_FOUND")


def test_a_portal_can_drive_a_server_started_elsewhere(b24portal: Portal) -> None:
    with Portal(
        {"users": [{"id": 4, "name": "Fyodor"}]}, url=b24portal.url, admin_token=b24portal.admin_token
    ) as other:
        assert other.users == (4,) and rest(other.webhook_url(4), "user.current").status_code == 200
        tokens = other.token(other.oauth_app(), user_id=4)  # over the admin API: no database of its own needed
        answer = httpx.post(f"{other.url}/rest/user.current", data={"auth": tokens["access_token"]}).json()
        assert answer["result"]["NAME"] == "Fyodor"
    b24portal.reset()  # the session's server was emptied by the other portal: its world comes back
    assert rest(b24portal.webhook_url(1), "user.current").json()["result"]["NAME"] == "Anna"


def _vote_on_the_stopped_demo_poll(portal: Portal) -> dict[str, Any]:
    poll = portal.polls[0]
    assert rest(portal.webhook_url(1), "vote.AttachedVote.stop", attachId=poll.attach_id).status_code == 200
    ballot = {f"ballot[{poll.question_id}][]": poll.answer_ids[0]}
    refused = rest(portal.webhook_url(2), "vote.AttachedVote.vote", attachId=poll.attach_id, **ballot)
    assert refused.status_code == 400
    body: dict[str, Any] = refused.json()
    return body


@pytest.mark.b24vote(language="en")
def test_a_marker_serves_an_english_portal(b24portal: Portal) -> None:
    assert _vote_on_the_stopped_demo_poll(b24portal) == {"error": "403", "error_description": "The poll is inactive."}


def test_the_portal_is_russian_by_default(b24portal: Portal) -> None:
    assert _vote_on_the_stopped_demo_poll(b24portal)["error_description"] == "Опрос неактивен."


def test_a_bad_language_fails_at_start_naming_the_variable() -> None:
    from b24vote.config import SettingsError

    with pytest.raises(SettingsError, match="B24VOTE_LANGUAGE='fr'"), Portal(language="fr"):
        pass


def test_a_stopped_portal_says_so() -> None:
    portal = Portal()
    with pytest.raises(RuntimeError, match="not started"):
        portal.clock.now()
    with pytest.raises(ValueError, match="give both url and admin_token"):
        Portal(url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="brings its own certificate"):
        Portal(url="https://127.0.0.1:1", admin_token="x" * 8, tls=True)
    with pytest.raises(RuntimeError, match="no CA: it is not started"):
        _ = Portal(tls=True).ca_path


def test_a_tls_portal_is_trusted_only_through_its_ca(b24portal: Portal) -> None:
    with pytest.raises(RuntimeError, match="not served over TLS"):
        _ = b24portal.ca_path
    with Portal(tls=True) as portal:
        assert portal.tls and portal.url == f"https://{portal.domain}" and portal.domain.startswith("127.0.0.1:")
        assert portal.webhook_url(2) == f"{portal.url}/rest/{portal.webhook_token(2)}/"
        ca = portal.ca_path
        assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.post(portal.webhook_url(2) + "user.current", timeout=10)  # the system's trust knows no such CA
        answer = httpx.post(portal.webhook_url(2) + "user.current", verify=portal.ssl_context(), timeout=10)
        assert answer.json()["result"]["ID"] == "2"
        loopback = portal.url.replace("127.0.0.1", "localhost")  # the certificate names localhost too
        assert httpx.get(f"{loopback}/healthz", verify=portal.ssl_context(), timeout=10).status_code == 200
        portal.clock.advance(60)  # the admin API over TLS as well
        tokens = portal.token(portal.oauth_app())
        assert tokens["domain"] == portal.domain and tokens["client_endpoint"] == f"{portal.url}/rest/"
    assert not ca.exists()  # the CA went with the portal


def test_loading_the_plugin_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, b24vote.testing.plugin\n"
        "heavy = [m for m in ('starlette', 'sqlalchemy', 'uvicorn', 'b24vote.app') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
