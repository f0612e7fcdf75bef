"""The results page in the portal's language (``B24VOTE_LANGUAGE``, or the seed document's ``language``).

Every label is written out here for both languages, not read from b24vote.web.page_texts: the catalogue is
what is under test. docs/results-page.md lists the same texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, timedelta
from html import unescape

import pytest
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import LANGUAGES, Settings
from b24vote.domain.poll_data import parse_poll_data
from b24vote.domain.polls import BLOG_ENTITY_TYPE, poll_end
from b24vote.domain.signing import sign_attach
from b24vote.storage import people, polls
from b24vote.storage.engine import Database
from b24vote.web.page_texts import CATALOGUES
from tests.conftest import Portal
from tests.helpers.admin import BEARER, admin_client
from tests.helpers.reports import add_hook
from tests.helpers.results import OpenStream, add_voters, links, poll_with_votes
from tests.helpers.votes import call, send_poll

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Как дела? · results — b24vote",
        "eyebrow": "Poll results",
        "about": 'aria-label="About this poll"',
        "open": "Open",
        "stopped": "Stopped",
        "total": "3 voters",
        "counts": "2 votes|1 vote|0 votes",
        "exact": "66.67%",
        "valuetext": 'aria-valuetext="66.67%, 2 votes"',
        "leading": "Leading",
        "answers": "Answers",
        "who": "Who voted",
        "list": "Voted for “Отлично!”",
        "downloads": "Download the report",
        "anonymous": "This poll is anonymous: who voted for what is not shown.",
        "ended": "ended 25 Nov 2026, 12:01 UTC+03:00",
        "range": "1–50 of 120",
        "next": "Next 50",
        "pager": "Pages of voters for “Лучше всех!”",
        "not_found": "Poll not found",
        "several": "Poll results",
        "multiple": "Several answers could be chosen, so the percentages may add up to more than 100 %.",
        "question_total": "1 voter",
        "live_on": "Live: results update as people vote.",
        "live_gone": "This poll is no longer available.",
        "live_stopped": "Live updates stopped. Reload the page to see new votes.",
        "live_retrying": "Reconnecting…",
        "script_range": "{first}–{last} of {total}",
    },
    "ru": {
        "title": "Как дела? · результаты — b24vote",
        "eyebrow": "Результаты опроса",
        "about": 'aria-label="Об опросе"',
        "open": "Идёт",
        "stopped": "Завершён",
        "total": "3 участника",
        "counts": "2 голоса|1 голос|0 голосов",
        "exact": "66,67%",
        "valuetext": 'aria-valuetext="66,67%, 2 голоса"',
        "leading": "Лидирует",
        "answers": "Ответы",
        "who": "Кто голосовал",
        "list": "Проголосовали за «Отлично!»",
        "downloads": "Скачать отчёт",
        "anonymous": "Опрос анонимный: кто за что голосовал, не показывается.",
        "ended": "завершён 25 ноября 2026, 12:01 UTC+03:00",
        "range": "1–50 из 120",
        "next": "Следующие 50",
        "pager": "Страницы проголосовавших за «Лучше всех!»",
        "not_found": "Опрос не найден",
        "several": "Результаты опроса",
        "multiple": "Можно было выбрать несколько ответов, поэтому сумма процентов может быть больше 100 %.",
        "question_total": "1 участник",
        "live_on": "Результаты обновляются по мере голосования.",
        "live_gone": "Этот опрос больше недоступен.",
        "live_stopped": "Обновление остановлено. Обновите страницу, чтобы увидеть новые голоса.",
        "live_retrying": "Переподключение…",
        "script_range": "{first}–{last} из {total}",
    },
}


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    language: str = request.param
    return language


@pytest.fixture
def labels(language: str) -> dict[str, str]:
    return LABELS[language]


@pytest.fixture
def cleo_hook(db: Database, clock: FrozenClock, portal: Portal) -> str:
    return add_hook(db, clock.now(), portal.cleo)


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_default_portal_language_is_russian() -> None:
    assert Settings.from_env({}).language == "ru"
    assert set(CATALOGUES) == set(LANGUAGES) == set(LABELS)


def test_every_label_of_the_page_is_in_the_portal_language(
    app_client: TestClient, portal: Portal, cleo_hook: str, language: str, labels: dict[str, str]
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook)
    html = app_client.get(links(app_client, portal, poll).result_url).text
    text = _text(html)
    assert f'<html lang="{language}">' in html
    assert f"<title>{labels['title']}</title>" in html
    for key in ("eyebrow", "open", "total", "leading", "answers", "who", "downloads"):
        assert labels[key] in text, key
    assert labels["about"] in html and labels["valuetext"] in html
    assert f'title="{labels["exact"]}"' in html
    assert f'aria-label="{labels["list"]}"' in unescape(html)
    blocks = re.split(r'<li class="answer(?= |")', html)[1:]
    counts = [re.search(r'data-field="count">([^<]+)<', b)[1] for b in blocks]  # type: ignore[index]
    assert counts == labels["counts"].split("|")
    # What results.js writes itself comes from the page, in the same language.
    for key, name in (
        ("live_on", "live-on"),
        ("live_gone", "live-gone"),
        ("live_stopped", "live-stopped"),
        ("live_retrying", "live-retrying"),
        ("script_range", "range"),
    ):
        assert f'data-text-{name}="{labels[key]}"' in html, name
    # No text of the other language is left on the page (the poll's own texts are Russian on both).
    other = LABELS["ru" if language == "en" else "en"]
    own = _text(
        html.replace("Как дела?", "").replace("Отлично!", "").replace("Лучше всех!", "").replace("Какие дела??", "")
    )
    for key in ("eyebrow", "open", "leading", "who", "downloads"):
        assert other[key] not in own, key


def test_anonymous_stopped_and_paged_pages(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock, labels: dict[str, str]
) -> None:
    anonymous = send_poll(app_client, portal, anonymity=2)
    assert labels["anonymous"] in _text(app_client.get(links(app_client, portal, anonymous).result_url).text)
    paged = send_poll(app_client, portal)
    add_voters(db, portal, paged, paged.answer_ids[1], 120, clock.now())
    html = unescape(app_client.get(links(app_client, portal, paged).result_url).text)
    assert labels["range"] in html and f">{labels['next']}</a>" in html and f'aria-label="{labels["pager"]}"' in html
    clock.advance(60)
    call(app_client, portal, "vote.AttachedVote.stop", attachId=paged.attach_id)
    clock.advance(1)
    stopped = _text(app_client.get(links(app_client, portal, paged).result_url).text)
    assert labels["stopped"] in stopped and labels["ended"] in stopped


def test_a_poll_of_several_questions(
    app_client: TestClient, db: Database, clock: FrozenClock, portal: Portal, labels: dict[str, str]
) -> None:
    raw = {
        "QUESTIONS": [
            {"QUESTION": "Куда едем?", "FIELD_TYPE": 0, "ANSWERS": [{"MESSAGE": "Горы"}, {"MESSAGE": "Море"}]},
            {"QUESTION": "Что берём?", "FIELD_TYPE": 1, "ANSWERS": [{"MESSAGE": "Палатку"}, {"MESSAGE": "Кота"}]},
        ]
    }
    now = clock.now() - timedelta(minutes=1)
    with db.write() as conn:
        vote_id = polls.create_poll(
            conn, now, author_id=portal.admin, poll=parse_poll_data(raw, chat=False), date_end=poll_end(now, UTC)
        )
        attach_id = polls.add_attach(
            conn,
            now,
            vote_id=vote_id,
            module_id="blog",
            entity_type=BLOG_ENTITY_TYPE,
            entity_id=77,
            uid=None,
            created_by=portal.admin,
        )
        poll = polls.load_poll(conn, vote_id)
        assert poll is not None
        chosen = {q.id: [q.answers[0].id] for q in poll.questions}
        polls.insert_ballot(conn, now, vote_id=vote_id, user_id=portal.bob, chosen=chosen, visible=True)
    html = app_client.get(f"/vote-result/{sign_attach(attach_id, 'test-secret')}").text
    text = _text(html)
    assert f"<title>{labels['several']} — b24vote</title>" in html and f"<h1>{labels['several']}</h1>" in html
    assert labels["multiple"] in text
    assert text.count(labels["question_total"]) == 3  # the poll's voters, and each question's


def test_the_not_found_page_is_in_the_portal_language(
    app_client: TestClient, language: str, labels: dict[str, str]
) -> None:
    for path in ("/vote-result/aaaaaaaaaaaaaaaa", "/vote-result/aaaaaaaaaaaaaaaa/events"):
        resp = app_client.get(path)
        assert resp.status_code == 404
        assert f'<html lang="{language}">' in resp.text and f"<h1>{labels['not_found']}</h1>" in resp.text


def test_the_stream_s_labels_are_in_the_portal_language(
    app_client: TestClient, portal: Portal, cleo_hook: str, labels: dict[str, str]
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook)
    stream = OpenStream(app_client, links(app_client, portal, poll).result_url + "/events")
    try:
        first = stream.next_event()
        call(app_client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id)
        stopped = stream.next_event(timeout=2)
    finally:
        stream.close()
    answers = first["questions"][0]["answers"]
    assert first["total_label"] == labels["total"] and first["state_label"] == labels["open"]
    assert [a["count_label"] for a in answers] == labels["counts"].split("|")
    assert answers[0]["exact_label"] == labels["exact"] and answers[0]["percent_label"] == "67%"
    assert stopped["state_label"] == labels["stopped"]


@pytest.fixture
def seeded_english(db: Database, clock: FrozenClock) -> Iterator[TestClient]:
    """B24VOTE_LANGUAGE=ru, but the portal's seed document chose English (kept in the settings table)."""
    with db.write() as conn:
        people.set_setting(conn, people.LANGUAGE_KEY, "en")
    settings = Settings.from_env(
        {"B24VOTE_LANGUAGE": "ru"}, database_url=str(db.url), secret_key="test-secret", rate_limit=None
    )
    with TestClient(create_app(settings, clock=clock, db=db), raise_server_exceptions=False) as client:
        yield client


def test_a_seed_document_s_language_wins(seeded_english: TestClient, portal: Portal) -> None:
    poll = send_poll(seeded_english, portal)
    html = seeded_english.get(links(seeded_english, portal, poll).result_url).text
    assert '<html lang="en">' in html and "Poll results" in html and "0 voters" in _text(html)


def test_a_seed_document_switches_a_running_server_s_page(
    settings: Settings, db: Database, clock: FrozenClock, language: str
) -> None:
    other = "en" if language == "ru" else "ru"
    with admin_client(settings, db, clock) as client:
        assert f'<html lang="{language}">' in client.get("/vote-result/aaaaaaaaaaaaaaaa").text
        assert client.post("/_b24vote/seed", headers=BEARER, json={"language": other}).status_code == 200
        page = client.get("/vote-result/aaaaaaaaaaaaaaaa").text
        assert f'<html lang="{other}">' in page and f"<h1>{LABELS[other]['not_found']}</h1>" in page
