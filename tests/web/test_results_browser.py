"""The results page in a real browser (Debian's Chromium driven by Playwright) against a real server process.

The browser comes from tests/helpers/browser.py (Debian's Chromium). Screenshots go to test-artifacts/;
``B24VOTE_UPDATE_SCREENSHOT=1`` also refreshes docs/results-page.png. Most tests read an English-language
portal's page; a second server on the default Russian one checks the live texts and a personal link there.
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
from tests.helpers.server import base_env, cli, free_port, running_server
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
    env: dict[str, str]  # for the command line on the same database

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

    def own_link(self, attach: dict[str, Any], user: int) -> str:
        """The user's personal results link, as `b24vote poll link --user` prints it."""
        printed = cli("poll", "link", str(attach["ID"]), "--user", str(user), env=self.env).stdout.strip()
        assert printed.startswith(self.base + attach["resultUrl"] + "?viewer=")
        return printed


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An English-language portal."""
    yield from _serve(tmp_path_factory, B24VOTE_LANGUAGE="en")


@pytest.fixture(scope="module")
def russian_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A portal in the default language, Russian."""
    yield from _serve(tmp_path_factory)


def _serve(tmp_path_factory: pytest.TempPathFactory, **extra: str) -> Iterator[Server]:
    path = tmp_path_factory.mktemp("browser") / "b24vote.db"
    port = free_port()
    env = base_env(
        B24VOTE_DATABASE_URL=f"sqlite:///{path}",
        B24VOTE_RATE_LIMIT="off",
        B24VOTE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        **extra,
    )
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
    with running_server(env, port=port) as (base, _proc):
        users = assert_envelope(httpx.post(f"{base}{paths[1]}user.get", json={}, timeout=10))
        names = [u[k] for u in users for k in ("NAME", "LAST_NAME", "WORK_POSITION") if u.get(k)]
        assert len(users) == 5
        yield Server(base, paths, names, env)


def _wait_live(page: Any, text: str = "Live: results update as people vote.") -> None:
    """Until the page's event stream is open (the status line says so)."""
    expect(page.locator('[data-field="live"]')).to_have_text(text, timeout=LIVE_WAIT_MS)


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


def _mine(page: Any, server: Server, attach: dict[str, Any]) -> list[bool]:
    """Per answer: whether its "your choice" label is shown (and the row carries the mark)."""
    marks = []
    for i in range(len(attach["QUESTIONS"][next(iter(attach["QUESTIONS"]))]["ANSWERS"])):
        row = page.locator(f'[data-answer-id="{server.answer_id(attach, i)}"]')
        shown = row.locator('[data-field="mine"]').is_visible()
        assert ("mine" in (row.get_attribute("class") or "").split()) is shown
        marks.append(shown)
    return marks


def test_an_own_link_marks_the_viewer_s_choice_and_follows_it_live(
    browser: Any, server: Server, artefacts: Path
) -> None:
    attach = server.poll("Which colour for the new logo? (anonymous)", ["Red", "Green", "Blue"], anonymity=2)
    for user, answer in ((1, 0), (2, 1), (3, 1)):
        server.vote(user, attach, answer)
    page = new_page(browser, PHONE["width"], PHONE["height"], has_touch=True, is_mobile=True)
    page.goto(server.own_link(attach, 2))
    _wait_live(page)
    assert _fits(page)
    assert _mine(page, server, attach) == [False, True, False]
    shot = artefacts / "results-phone-own-link.png"
    page.screenshot(path=str(shot), full_page=True)
    _copy_to_docs(shot, "results-page-own-link.png")
    green = page.locator(f'[data-answer-id="{server.answer_id(attach, 1)}"]')
    # Not by colour alone: a text label (the tick is decoration), part of the bar's accessible name too.
    assert green.locator('[data-field="mine"]').inner_text() == "✓ Your choice"
    name = page.evaluate("id => document.getElementById(id).textContent", f"a-{server.answer_id(attach, 1)}")
    assert "Your choice" in name
    assert page.locator('[data-field="viewer"]').inner_text() == (
        "This is your personal link: your choice is marked “Your choice”."
    )
    html = page.content()
    for person in server.names:
        assert person not in html, person
    page.evaluate("window.loadedOnce = true")
    server.call(2, "vote.AttachedVote.recall", attachId=attach["ID"])
    expect(page.locator('[data-field="viewer"]')).to_have_text(
        "This is your personal link: you have not voted in this poll.", timeout=LIVE_WAIT_MS
    )
    assert _mine(page, server, attach) == [False, False, False]
    server.vote(2, attach, 2)
    expect(page.locator(f'[data-answer-id="{server.answer_id(attach, 2)}"] [data-field="mine"]')).to_be_visible(
        timeout=LIVE_WAIT_MS
    )
    assert _mine(page, server, attach) == [False, False, True]
    assert page.evaluate("window.loadedOnce") is True
    # The shared link of the same poll marks nothing, live or not.
    shared = new_page(browser)
    shared.goto(server.base + attach["resultUrl"])
    _wait_live(shared)
    assert shared.locator('[data-field="mine"], [data-field="viewer"], li.mine').count() == 0
    shared.context.close()
    # A tampered link is refused outright.
    link = server.own_link(attach, 3)
    response = page.goto(link[:-1] + ("0" if link[-1] != "0" else "1"))
    assert response is not None and response.status == 403
    assert page.locator("h1").inner_text() == "Personal link not valid"
    page.context.close()


def test_a_russian_portal_s_page_speaks_russian_live(browser: Any, russian_server: Server) -> None:
    server = russian_server
    attach = server.poll("Обедаем в полдень?", ["Да", "Нет"])
    server.vote(1, attach, 0)
    page = new_page(browser)
    page.goto(server.own_link(attach, 2))
    assert page.locator("html").get_attribute("lang") == "ru"
    _wait_live(page, "Результаты обновляются по мере голосования.")
    assert page.locator('[data-field="viewer"]').inner_text() == (
        "Это ваша личная ссылка: вы не голосовали в этом опросе."
    )
    assert page.locator('[data-field="total"]').inner_text() == "1 участник"
    no = f'[data-answer-id="{server.answer_id(attach, 1)}"]'
    server.vote(2, attach, 1)
    expect(page.locator(f'{no} [data-field="mine"]')).to_be_visible(timeout=LIVE_WAIT_MS)
    assert page.locator(f'{no} [data-field="mine"]').inner_text() == "✓ Ваш выбор"
    assert (
        page.locator('[data-field="viewer"]').inner_text() == "Это ваша личная ссылка: ваш ответ отмечен «Ваш выбор»."
    )
    assert page.locator(f'{no} [data-field="count"]').inner_text() == "1 голос"
    assert page.locator('[data-field="total"]').inner_text() == "2 участника"
    assert page.locator(f'{no} [data-field="leading"]').inner_text() == "Лидирует"
    assert page.locator(f"{no} summary").inner_text() == "Кто голосовал (1)"
    server.call(1, "vote.AttachedVote.stop", attachId=attach["ID"])
    expect(page.locator('[data-field="state"]')).to_have_text("Завершён", timeout=LIVE_WAIT_MS)
    expect(page.locator('[data-field="ends"]')).to_have_text(re.compile(r"^завершён \d+ [а-я]+ \d{4}, "))
    page.context.close()
