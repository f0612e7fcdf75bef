"""The API docs page (/docs, Swagger UI) in a real browser against a real server process, with no network.

Every request the page makes is recorded; anything not addressed to the server is refused and fails the test,
so the page is shown to work offline. Calls are sent from the page with a webhook URL or an OAuth token typed
once into its header, by POST and by GET.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from b24vote.methods.registry import registry
from tests.helpers.browser import expect, new_page
from tests.helpers.server import base_env, cli, running_server

pytestmark = pytest.mark.slow

WAIT_MS = 10_000


@dataclass
class DocsServer:
    base: str
    webhook: str  # the demo webhook's full URL
    token: str  # an OAuth access token of user 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsServer]:
    path = tmp_path_factory.mktemp("docs") / "b24vote.db"
    env = base_env(B24VOTE_DATABASE_URL=f"sqlite:///{path}", B24VOTE_RATE_LIMIT="off")
    demo = json.loads(cli("init", "--demo", "--json", env=env).stdout)
    app = json.loads(cli("app", "add", "--name", "Docs", "--json", env=env).stdout)
    token = json.loads(cli("token", "issue", "--app", app["client_id"], "--user", "2", "--json", env=env).stdout)
    with running_server(env) as (base, _proc):
        hook_path = "/" + demo["webhook_url"].split("/", 3)[3]
        yield DocsServer(base, base + hook_path, token["access_token"])


@dataclass
class Visit:
    """A page on /docs and what it asked for."""

    page: Any
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, url)
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def search(self, text: str) -> Any:
        self.page.fill(".operation-filter-input", text)
        return self.page.locator(".opblock")

    def open(self, path: str) -> Any:
        block = self.page.locator(".opblock", has=self.page.locator(f'.opblock-summary-path[data-path="{path}"]'))
        block.locator(".opblock-summary").click()
        return block

    def credential(self, value: str) -> None:
        self.page.fill("#b24-credential-input", value)
        self.page.get_by_role("button", name="Use for every call").click()


def _visit(browser: Any, server: DocsServer) -> Visit:
    page = new_page(browser)
    visit = Visit(page)

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(server.base + "/"):
            request_route.continue_()
        else:
            visit.refused.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("request", lambda r: visit.requests.append((r.method, r.url)))
    page.on("pageerror", lambda e: visit.errors.append(str(e)))
    response = page.goto(server.base + "/docs")
    assert response is not None and response.status == 200
    expect(page.locator(".opblock-tag").first).to_be_visible(timeout=WAIT_MS)
    return visit


def _execute(visit: Visit, block: Any, verb: str = "POST", body: str | None = None) -> tuple[str, str, Any]:
    """Send the opened entry's call; the request the server got and the reply the page shows."""
    # Every /rest/ entry has the verb choice; waiting for it also waits for the entry to be drawn.
    block.locator("tr[data-param-name='B24vote-Verb'] select").select_option(verb)
    if body is not None:
        block.locator(".body-param__text").fill(body)
    # The reply of an earlier call stays shown until this one's arrives: clear it, so it cannot be read instead.
    clear = block.locator(".btn-clear")
    if clear.count():
        clear.click()
        expect(block.locator(".live-responses-table")).to_have_count(0)
    with visit.page.expect_request(re.compile(r".*/rest/.*")) as sent:
        block.locator(".execute").click()
    shown = block.locator(".live-responses-table .response .response-col_status")
    expect(shown).to_have_text(re.compile(r"^\d{3}"), timeout=WAIT_MS)
    reply = json.loads(block.locator(".live-responses-table .microlight").first.inner_text())
    return sent.value.method, sent.value.url, (shown.inner_text().strip(), reply)


def test_one_entry_per_method_grouped_by_scope_offline(browser: Any, server: DocsServer) -> None:
    visit = _visit(browser, server)
    page = visit.page
    scopes = {m.scope or "basic" for m in registry}
    tags = page.locator(".opblock-tag").all_inner_texts()
    assert {t.split("\n")[0].strip() for t in tags} >= scopes | {"oauth", "web"}
    paths = page.locator(".opblock-summary-path").evaluate_all("els => els.map(e => e.dataset.path)")
    assert sorted(p for p in paths if p.startswith("/rest/")) == sorted(f"/rest/{m.name}" for m in registry)
    # Markdown is rendered: the download entry's backticks became <code>.
    visit.search("download")
    block = visit.open("/rest/vote.AttachedVote.download")
    expect(block.locator(".opblock-description-wrapper code").first).to_have_text("GET")
    assert "`" not in block.locator(".opblock-summary-description").inner_text()
    assert not visit.refused, visit.refused
    assert not visit.errors, visit.errors
    assert all(url.startswith(server.base) for _, url in visit.requests)
    page.context.close()


def test_search_finds_a_method_by_name_or_summary(browser: Any, server: DocsServer) -> None:
    visit = _visit(browser, server)
    found = visit.search("Close the poll")
    expect(found).to_have_count(1)
    assert found.locator(".opblock-summary-path").get_attribute("data-path") == "/rest/vote.AttachedVote.stop"
    expect(visit.search("im.chat.user")).to_have_count(3)
    expect(visit.search("no-such-thing")).to_have_count(0)
    visit.page.context.close()


def test_try_it_out_with_a_webhook_by_post_and_get(browser: Any, server: DocsServer) -> None:
    visit = _visit(browser, server)
    visit.credential(server.webhook)
    expect(visit.page.locator("#b24-credential-state")).to_contain_text("webhook")
    # The credential is kept for the tab: a reload does not ask again.
    visit.page.reload()
    expect(visit.page.locator("#b24-credential-state")).to_contain_text("webhook")
    visit.search("method.get")
    block = visit.open("/rest/method.get")
    hook = server.webhook.removeprefix(server.base)
    verb, url, (status, reply) = _execute(visit, block, "POST", '{"name": "user.current"}')
    assert (verb, url, status) == ("POST", f"{server.base}{hook}method.get", "200")
    assert reply["result"] == {"isExisting": True, "isAvailable": True}
    verb, url, (status, reply) = _execute(visit, block, "GET", '{"name": "no.such"}')
    assert (verb, url, status) == ("GET", f"{server.base}{hook}method.get?name=no.such", "200")
    assert reply["result"] == {"isExisting": False, "isAvailable": False}
    assert not visit.refused and not visit.errors
    visit.page.context.close()


def test_try_it_out_with_an_oauth_token_and_nested_get_parameters(browser: Any, server: DocsServer) -> None:
    visit = _visit(browser, server)
    visit.credential(server.token)
    expect(visit.page.locator("#b24-credential-state")).to_contain_text("OAuth")
    visit.search("user.get")
    block = visit.open("/rest/user.get")
    verb, url, (status, reply) = _execute(visit, block, "GET", '{"FILTER": {"ID": [2, 3]}}')
    assert verb == "GET" and status == "200"
    assert url.startswith(f"{server.base}/rest/user.get?")
    assert "auth=" + server.token in url and "FILTER%5BID%5D%5B0%5D=2" in url
    assert [u["ID"] for u in reply["result"]] == ["2", "3"]
    visit.page.get_by_role("button", name="Forget").click()
    expect(visit.page.locator("#b24-credential-state")).to_have_text("Calls are sent without credentials.")
    _, _, (status, reply) = _execute(visit, block, "POST", "{}")
    assert status == "401" and reply["error"] == "NO_AUTH_FOUND"
    visit.page.context.close()
