"""The results page in a real browser (Debian's Chromium driven by Playwright) against a real server process.

The browser comes from tests/helpers/browser.py (Debian's Chromium). Screenshots go to test-artifacts/;
``B24VOTE_UPDATE_SCREENSHOT=1`` also refreshes docs/results-page.png.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from b24vote.clock import SystemClock
from b24vote.domain.polls import IM_ENTITY_TYPE
from b24vote.storage import people
from b24vote.storage.engine import Database
from tests.helpers.browser import expect, new_page
from tests.helpers.server import base_env, cli, running_server
from tests.helpers.wire import assert_envelope

pytestmark = pytest.mark.slow

DOCS = Path(__file__).parents[2] / "docs"
DOCS_SCREENSHOT = DOCS / "results-page.png"
PHONE = {"width": 375, "height": 740}  # CSS px of a common phone (iPhone SE/8: 375 x 667, plus the address bar)
TAP_MIN = 44  # CSS px: WCAG 2.5.5, Apple's Human Interface Guidelines, Android's 48 dp
LIVE_WAIT_MS = 5000


@dataclass
class Server:
    """A running b24vote with the demo portal: users 1–3 in chat 1, a webhook for each."""

    base: str
    hooks: dict[int, str]  # user id → "/rest/{id}/{code}/"
    names: list[str]  # every user's name, last name and position

    def call(self, user: int, method: str, **params: Any) -> Any:
        return assert_envelope(httpx.post(f"{self.base}{self.hooks[user]}{method}", json=params, timeout=10))

    def poll(self, question: str, answers: list[str], *, anonymity: int = 1) -> dict[str, Any]:
        data = {
            "QUESTIONS": [{"QUESTION": question, "FIELD_TYPE": 0, "ANSWERS": [{"MESSAGE": a} for a in answers]}],
            "ANONYMITY": anonymity,
            "OPTIONS": 1,
        }
        sent = self.call(1, "vote.Integration.Im.send", chatId=1, IM_MESSAGE_VOTE_DATA=data)
        found = self.call(
            1, "vote.AttachedVote.get", moduleId="im", entityType=IM_ENTITY_TYPE, entityId=sent["messageId"]
        )
        attach: dict[str, Any] = found["attach"]
        return attach

    def vote(self, user: int, attach: dict[str, Any], answer: int) -> None:
        (qid, question), *_ = attach["QUESTIONS"].items()
        aid = list(question["ANSWERS"])[answer]
        self.call(user, "vote.AttachedVote.vote", attachId=attach["ID"], ballot={qid: [aid]})

    def answer_id(self, attach: dict[str, Any], answer: int) -> str:
        (_, question), *_ = attach["QUESTIONS"].items()
        return list(question["ANSWERS"])[answer]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    path = tmp_path_factory.mktemp("browser") / "b24vote.db"
    env = base_env(B24VOTE_DATABASE_URL=f"sqlite:///{path}", B24VOTE_RATE_LIMIT="off")
    demo = orjson.loads(cli("init", "--demo", "--json", env=env).stdout)
    paths = {1: "/" + demo["webhook_url"].split("/", 3)[3]}
    # Two more voters and a webhook for every user, written straight to the new database (faster than the CLI).
    db = Database(f"sqlite:///{path}")
    now = SystemClock().now()
    with db.write() as conn:
        for name, position in (("Dmitri", "Head of Finance"), ("Elena", "Site Reliability Engineer")):
            uid = people.add_user(conn, now, name=name, last_name="Example", work_position=position)
            people.add_members(conn, now, demo["chat_id"], [uid])
        for uid in people.chat_member_ids(conn, demo["chat_id"]):
            if uid not in paths:
                _, code = people.add_webhook(conn, now, user_id=uid, scopes=["vote", "im", "user"])
                paths[uid] = f"/rest/{uid}/{code}/"
    db.dispose()
    with running_server(env) as (base, _proc):
        users = assert_envelope(httpx.post(f"{base}{paths[1]}user.get", json={}, timeout=10))
        names = [u[k] for u in users for k in ("NAME", "LAST_NAME", "WORK_POSITION") if u.get(k)]
        assert len(users) == 5
        yield Server(base, paths, names)


def _wait_live(page: Any) -> None:
    """Until the page's event stream is open (the status line says so)."""
    expect(page.locator('[data-field="live"]')).to_have_text(re.compile(r"^Live"), timeout=LIVE_WAIT_MS)


def test_counts_bars_and_voters_are_right(browser: Any, server: Server) -> None:
    attach = server.poll("Which day suits the release?", ["Tuesday", "Thursday", "Friday"])
    for user, answer in ((1, 0), (2, 0), (3, 1)):
        server.vote(user, attach, answer)
    page = new_page(browser)
    response = page.goto(server.base + attach["resultUrl"])
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Which day suits the release?"
    assert page.locator('[data-field="total"]').inner_text() == "3 voters"
    assert page.locator('[data-field="state"]').inner_text() == "Open"
    rows = page.locator("li.answer")
    assert rows.count() == 3
    expected = [
        ("2 votes", "67%", "66.67%", 66.6667),
        ("1 vote", "33%", "33.33%", 33.3333),
        ("0 votes", "0%", "0%", 0.0),
    ]
    for i, (count, percent, exact, value) in enumerate(expected):
        row = rows.nth(i)
        assert row.locator('[data-field="count"]').inner_text() == count
        assert row.locator('[data-field="percent"]').inner_text() == percent
        assert row.locator('[data-field="percent"]').get_attribute("title") == exact
        meter = row.get_by_role("meter")
        assert meter.get_attribute("aria-valuetext") == f"{exact}, {count}"
        assert abs(float(meter.evaluate("m => m.value")) - value) < 0.01
    widths = [rows.nth(i).locator("meter").bounding_box()["width"] for i in range(3)]
    assert widths[0] == widths[1] == widths[2] > 0  # the track; the fill is the meter's value
    first = rows.nth(0)
    assert first.locator(".voter-name").all_inner_texts() == ["Anna Admin", "Boris Belov"]
    assert first.locator(".avatar").all_inner_texts() == ["AA", "BB"]
    links = page.get_by_role("link", name="CSV")
    with page.expect_download() as download:
        links.click()
    assert download.value.suggested_filename.endswith(".csv")
    page.context.close()


def test_a_vote_through_the_api_appears_without_reload(browser: Any, server: Server) -> None:
    attach = server.poll("Lunch at noon?", ["Yes", "No"])
    page = new_page(browser)
    page.goto(server.base + attach["resultUrl"])
    _wait_live(page)
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    started = time.monotonic()
    server.vote(2, attach, 1)
    yes, no = (f'[data-answer-id="{server.answer_id(attach, i)}"]' for i in (0, 1))
    expect(page.locator(f'{no} [data-field="count"]')).to_have_text("1 vote", timeout=LIVE_WAIT_MS)
    latency = time.monotonic() - started
    assert page.locator(f'{no} [data-field="percent"]').inner_text() == "100%"
    expect(page.locator(f'{no} [data-field="leading"]')).to_be_visible()
    expect(page.locator(f'{yes} [data-field="leading"]')).to_be_hidden()
    assert page.locator(f"{no} .voter-name").all_inner_texts() == ["Boris Belov"]
    assert page.locator('[data-field="total"]').inner_text() == "1 voter"
    server.vote(3, attach, 0)
    expect(page.locator(f'{yes} [data-field="percent"]')).to_have_text("50%", timeout=LIVE_WAIT_MS)
    expect(page.locator(f'{yes} [data-field="leading"]')).to_be_visible()  # a tie: both lead
    expect(page.locator(f'{no} [data-field="leading"]')).to_be_visible()
    expect(page.locator('[data-field="ends"]')).to_be_hidden()  # the default end, ten years ahead
    server.call(1, "vote.AttachedVote.stop", attachId=attach["ID"])
    expect(page.locator('[data-field="state"]')).to_have_text("Stopped", timeout=LIVE_WAIT_MS)
    expect(page.locator('[data-field="ends"]')).to_have_text(re.compile(r"^ended "))
    server.call(1, "vote.AttachedVote.resume", attachId=attach["ID"])
    expect(page.locator('[data-field="state"]')).to_have_text("Open", timeout=LIVE_WAIT_MS)
    assert page.evaluate("window.loadedOnce") is True
    assert latency < 1.5, f"the vote took {latency:.2f} s to show"
    page.context.close()


def _stream_events(url: str, count: int, during: Any) -> list[str]:
    """The raw text of the first ``count`` events of an event stream; ``during`` runs after the first."""
    events: list[str] = []
    with httpx.stream("GET", url, timeout=10) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        block: list[str] = []
        for line in resp.iter_lines():
            if line:
                block.append(line)
                continue
            if any(b.startswith("event: results") for b in block):
                events.append("\n".join(block))
                if len(events) == 1:
                    threading.Thread(target=during).start()
                if len(events) == count:
                    break
            block = []
    return events


def test_an_anonymous_poll_names_nobody(browser: Any, server: Server) -> None:
    attach = server.poll("Rate the retro (anonymous)", ["Useful", "Too long"], anonymity=2)
    for user, answer in ((1, 0), (2, 1), (3, 0)):
        server.vote(user, attach, answer)
    page = new_page(browser)
    page.goto(server.base + attach["resultUrl"])
    _wait_live(page)
    server.vote(4, attach, 1)  # a vote while the page is open: the live update must not name the voter either
    expect(page.locator('[data-field="total"]')).to_have_text("4 voters", timeout=LIVE_WAIT_MS)
    html = page.content()
    assert "66.67" not in html and ">50%<" in html
    for name in server.names:
        assert name not in html, name
    assert page.locator(".voter, .voters").count() == 0
    page.context.close()
    events = _stream_events(f"{server.base}{attach['resultUrl']}/events", 2, lambda: server.vote(5, attach, 1))
    assert '"total":5' in events[1]
    for text in events:
        for name in [*server.names, "AUTHOR_ID", "userAnswerMap", '"user"', '"voters"']:
            assert name not in text, name


def test_a_bad_or_tampered_link_shows_a_404_page_without_data(browser: Any, server: Server) -> None:
    attach = server.poll("Secret question", ["Hidden answer", "Other hidden answer"])
    server.vote(2, attach, 0)
    signed = attach["signedAttachId"]
    tampered = signed[:-1] + ("0" if signed[-1] != "0" else "1")
    page = new_page(browser)
    for code in ("zzzzzzzzzzzzzzzz", tampered, attach["resultUrl"].rsplit("/", 1)[1][::-1]):
        response = page.goto(f"{server.base}/vote-result/{code}")
        assert response is not None and response.status == 404
        assert page.locator("h1").inner_text() == "Poll not found"
        html = page.content()
        for leaked in ("Secret question", "Hidden answer", *server.names):
            assert leaked not in html
    page.context.close()


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.fixture(scope="module")
def layout_poll(server: Server) -> dict[str, Any]:
    """One poll for every layout case: a long unbroken answer, and voters with long positions."""
    attach = server.poll(
        "Where should the team offsite be held this spring?",
        ["Lisbon", "A cabin in the mountains near the lake", "Supercalifragilisticexpialidocious" * 3, "Online"],
    )
    for user, answer in ((1, 0), (2, 1), (3, 0), (4, 0), (5, 2)):
        server.vote(user, attach, answer)
    return attach


@pytest.mark.parametrize(("width", "scheme"), [(375, "light"), (1280, "light"), (375, "dark"), (1280, "dark")])
def test_layout_holds_from_phone_to_desktop(
    browser: Any, server: Server, layout_poll: dict[str, Any], artefacts: Path, width: int, scheme: str
) -> None:
    page = new_page(browser, width, 900, color_scheme=scheme)
    page.goto(server.base + layout_poll["resultUrl"])
    _wait_live(page)
    assert _fits(page), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    for box in page.locator("li.answer, .downloads, .voter").all():
        bounds = box.bounding_box()
        assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= width
    shot = artefacts / f"results-{width}-{scheme}.png"
    page.screenshot(path=str(shot), full_page=True)
    if (width, scheme) == (1280, "light"):
        _copy_to_docs(shot, DOCS_SCREENSHOT.name)
    page.context.close()


def test_keyboard_reaches_voters_and_downloads(browser: Any, server: Server) -> None:
    attach = server.poll("Keyboard check", ["One", "Two"])
    server.vote(2, attach, 0)
    page = new_page(browser)
    page.goto(server.base + attach["resultUrl"])
    details = page.locator("details.voters").first
    assert details.evaluate("d => d.open") is True
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert details.evaluate("d => d.open") is False
    page.keyboard.press("Enter")
    assert details.evaluate("d => d.open") is True
    focused = []
    for _ in range(3):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert focused == ["Excel (XLSX)", "CSV", "Excel 97 (XLS)"]  # the empty answer's hidden list is skipped
    page.context.close()


def _copy_to_docs(shot: Path, name: str) -> None:
    """Refresh a picture of docs/ only when it is missing or B24VOTE_UPDATE_SCREENSHOT=1 is set."""
    target = DOCS / name
    if os.environ.get("B24VOTE_UPDATE_SCREENSHOT") or not target.exists():
        shutil.copyfile(shot, target)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone_the_leader_is_marked_and_every_tap_target_is_44px(
    browser: Any, server: Server, artefacts: Path, scheme: str
) -> None:
    attach = server.poll("Which day suits the demo?", ["Monday", "Wednesday", "Friday"])
    for user, answer in ((1, 1), (2, 1), (3, 0), (4, 1), (5, 2)):
        server.vote(user, attach, answer)
    page = new_page(browser, PHONE["width"], PHONE["height"], color_scheme=scheme, has_touch=True, is_mobile=True)
    page.goto(server.base + attach["resultUrl"])
    _wait_live(page)
    assert _fits(page)
    leading = page.locator("li.answer.leading")
    expect(leading).to_have_count(1)
    assert leading.get_attribute("data-answer-id") == server.answer_id(attach, 1)
    expect(leading.locator('[data-field="leading"]')).to_have_text("Leading")
    assert leading.locator('[data-field="percent"]').inner_text() == "60%"
    expect(page.locator('[data-field="ends"]')).to_be_hidden()
    targets = page.locator("main a:visible, main summary:visible, main button:visible")
    assert targets.count() >= 6  # three "Who voted", three downloads
    for target in targets.all():
        box = target.bounding_box()
        label = target.inner_text()
        assert box["height"] >= TAP_MIN and box["width"] >= TAP_MIN, (label, box)
    shot = artefacts / f"results-phone-{scheme}.png"
    page.screenshot(path=str(shot), full_page=True)
    _copy_to_docs(shot, f"results-page-phone-{scheme}.png")
    # A finger's tap opens and closes a voter list.
    summary = page.locator("details.voters summary").first
    opened = summary.evaluate("s => s.parentElement.open")
    summary.tap()
    assert summary.evaluate("s => s.parentElement.open") is (not opened)
    page.context.close()
