"""The results page at ``resultUrl`` and its event stream, in-process: access, content, escaping, paging, SSE.

These run on an English-language portal and read its labels; test_results_language.py reads the Russian ones
(the default) and test_results_viewer.py a user's own link.
"""

from __future__ import annotations

import re
from html import unescape

import jsonschema_rs
import pytest
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.domain.signing import sign_attach
from b24vote.openapi import RESULTS_EVENT
from b24vote.state import AppState
from b24vote.storage import people
from b24vote.storage.engine import Database
from b24vote.web import sse
from b24vote.web.results import Focus, results_stream
from tests.conftest import Portal
from tests.helpers.reports import add_hook
from tests.helpers.results import OpenStream, add_voters, links, poll_with_votes
from tests.helpers.votes import ANSWERS, call, send_poll

NAMES = ("Anna", "Admin", "Boris", "Belov", "Cleo", "Carter", "Administrator", "Developer", "Designer")


@pytest.fixture
def language() -> str:
    return "en"


@pytest.fixture
def cleo_hook(db: Database, clock: FrozenClock, portal: Portal) -> str:
    return add_hook(db, clock.now(), portal.cleo)


def _text(html: str) -> str:
    """The page's visible text, tags dropped and entities decoded (good enough for assertions)."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_page_shows_counts_bars_state_voters_and_downloads(
    app_client: TestClient, portal: Portal, cleo_hook: str
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook)
    link = links(app_client, portal, poll)
    resp = app_client.get(link.result_url)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    text = _text(resp.text)
    assert "Как дела?" in text
    assert "3 voters" in text and "Open" in text
    # A chat poll runs to its default end ten years ahead: no date is shown for it.
    assert re.search(
        r'<li data-field="ends-item" hidden><time data-field="ends" datetime="[^"]+"></time></li>', resp.text
    )
    blocks = re.split(r'<li class="answer(?= |")', resp.text)[1:]
    assert [f'data-answer-id="{a}"' in b for a, b in zip(poll.answer_ids, blocks, strict=True)] == [True] * 3
    assert "2 votes" in _text(blocks[0]) and ">67%</strong>" in blocks[0] and 'title="66.67%"' in blocks[0]
    assert "1 vote " in _text(blocks[1]) and ">33%</strong>" in blocks[1] and 'title="33.33%"' in blocks[1]
    assert "0 votes" in _text(blocks[2]) and ">0%</strong>" in blocks[2]
    # The leading answer is marked, the others carry the mark hidden (the live updates move it).
    assert blocks[0].startswith(' leading"') and 'data-field="leading">Leading<' in blocks[0]
    assert [" leading" in b.split(">", 1)[0] for b in blocks] == [True, False, False]
    assert 'data-field="leading" hidden>' in blocks[1]
    assert re.search(r'<meter class="bar" min="0" max="100" value="66\.66\d*"', blocks[0])
    assert 'value="0.0"' in blocks[2]
    assert "Anna Admin" in blocks[0] and "Boris Belov" in blocks[0] and "Cleo Carter" in blocks[1]
    assert "Developer" in blocks[0] and ">AA<" in blocks[0]
    for fmt in ("xlsx", "csv", "xls"):
        url = (
            "/bitrix/services/main/ajax.php?action=vote.AttachedVote.download&amp;SITE_ID=s1"
            f"&amp;signedAttachId={link.signed}&amp;format={fmt}"
        )
        assert url in resp.text
    report = app_client.get(unescape(re.findall(r'href="(/bitrix[^"]+format=csv)"', resp.text)[0]))
    assert report.status_code == 200 and "Boris" in report.text


def test_the_signed_id_opens_the_same_page(app_client: TestClient, portal: Portal, cleo_hook: str) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook)
    link = links(app_client, portal, poll)
    assert re.fullmatch(r"/vote-result/[a-z0-9]{16}", link.result_url)
    by_uid = app_client.get(link.result_url)
    by_signed = app_client.get(f"/vote-result/{link.signed}")
    assert by_signed.status_code == 200
    assert "66.67%" in by_signed.text
    assert _text(by_signed.text) == _text(by_uid.text)


def test_unknown_tampered_and_foreign_codes_get_a_404_page_with_no_data(
    app_client: TestClient, portal: Portal, cleo_hook: str
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook)
    link = links(app_client, portal, poll)
    uid = link.result_url.rsplit("/", 1)[1]
    attach_id, signature = link.signed.split(".")
    flipped = ("0" if signature[-1] != "0" else "1") + signature[1:]
    bad = [
        "a" * 16,
        uid[:-1] + ("x" if uid[-1] != "x" else "y"),
        uid.upper(),
        f"{attach_id}.{flipped}",
        sign_attach(poll.attach_id, "another-portal's-secret"),
        f"{int(attach_id) + 1}.{signature}",
        "%3Cscript%3E",
        "x" * 300,
    ]
    for code in bad:
        for suffix in ("", "/events"):
            resp = app_client.get(f"/vote-result/{code}{suffix}")
            assert resp.status_code == 404, code
            assert resp.headers["content-type"] == "text/html; charset=utf-8"
            assert "Poll not found" in resp.text
            for leaked in ("Как дела?", *ANSWERS, *NAMES, "vote", "signedAttachId"):
                assert leaked not in resp.text.replace("b24vote", ""), (code, leaked)


def test_anonymous_poll_names_nobody_on_the_page_or_in_the_stream(
    app_client: TestClient, portal: Portal, cleo_hook: str
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook, anonymity=2)
    link = links(app_client, portal, poll)
    page = app_client.get(link.result_url)
    assert page.status_code == 200
    assert ">67%<" in page.text and "3 voters" in page.text
    assert "anonymous" in page.text
    for name in NAMES:
        assert name not in page.text, name
    assert 'data-field="voters"' not in page.text
    stream = OpenStream(app_client, link.result_url + "/events")
    try:
        first = stream.next_event()
        call(app_client, portal, "vote.AttachedVote.recall", cleo_hook, attachId=poll.attach_id)
        second = stream.next_event()
    finally:
        stream.close()
    for data in (first, second):
        assert all("voters" not in a for q in data["questions"] for a in q["answers"])
        raw = repr(data)
        for name in NAMES:
            assert name not in raw
        assert "user" not in data and "AUTHOR_ID" not in raw and "userAnswerMap" not in raw
    assert second["total"] == 2


def test_every_text_is_escaped(app_client: TestClient, db: Database, clock: FrozenClock, portal: Portal) -> None:
    with db.write() as conn:
        people.add_user(conn, clock.now(), name="x")  # keeps ids apart from the evil user below
        evil = people.add_user(conn, clock.now(), name="<b>Eve</b>", work_position="<i>boss</i>")
        people.add_members(conn, clock.now(), portal.chat, [evil])
    evil_hook = add_hook(db, clock.now(), evil)
    poll = send_poll(
        app_client,
        portal,
        question="<script>alert('q')</script>",
        answers=('<img src=x onerror="alert(1)">', "a & b"),
    )
    call(
        app_client,
        portal,
        "vote.AttachedVote.vote",
        evil_hook,
        attachId=poll.attach_id,
        ballot={str(poll.question_id): [poll.answer_ids[0]]},
    )
    html = app_client.get(links(app_client, portal, poll).result_url).text
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "a &amp; b" in html
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert "<i>boss</i>" not in html and "&lt;i&gt;boss&lt;/i&gt;" in html


def test_voters_are_paged_fifty_at_a_time(
    app_client: TestClient, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    poll = send_poll(app_client, portal)
    answer = poll.answer_ids[1]
    voter_ids = add_voters(db, portal, poll, answer, 120, clock.now())
    url = links(app_client, portal, poll).result_url

    def listed(query: str) -> list[str]:
        html = app_client.get(url + query).text
        block = html.split(f'id="answer-{answer}"')[1].split('<li class="answer')[0]
        return re.findall(r'<span class="voter-name">([^<]+)</span>', block)

    first = app_client.get(url).text
    assert "120 votes" in first and "1–50 of 120" in first
    assert f'href="?answer={answer}&amp;page=2#answer-{answer}"' in first
    assert listed("") == [f"Voter{n:03d} Many" for n in range(50)]
    assert listed(f"?answer={answer}&page=2") == [f"Voter{n:03d} Many" for n in range(50, 100)]
    third = listed(f"?answer={answer}&page=3")
    assert third == [f"Voter{n:03d} Many" for n in range(100, 120)]
    assert listed(f"?answer={answer}&page=99") == third  # past the end: the last page
    assert listed(f"?answer={answer}&page=abc") == listed("")
    assert listed(f"?answer={poll.answer_ids[0]}&page=2") == listed("")  # another answer's page
    page3 = app_client.get(url + f"?answer={answer}&page=3").text
    assert "101–120 of 120" in page3
    assert (
        f'rel="next" href="?answer={answer}&amp;page=4#answer-{answer}" hidden' in page3
    )  # no "next" on the last page
    api = call(app_client, portal, "vote.AttachedVote.getAnswerVoted", attachId=poll.attach_id, answerId=answer)
    assert [v["ID"] for v in api["items"]] == voter_ids[:50]  # the same order as the API


def test_stopped_poll_shows_its_state(app_client: TestClient, portal: Portal, clock: FrozenClock) -> None:
    poll = send_poll(app_client, portal)
    clock.advance(60)
    call(app_client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id)
    clock.advance(1)
    html = app_client.get(links(app_client, portal, poll).result_url).text
    assert 'class="badge badge-stopped"' in html and ">Stopped<" in html
    assert "ended 25 Nov 2026, 12:01 UTC+03:00" in html  # the portal's offset (B24VOTE_TIMEZONE)
    assert '<li data-field="ends-item"><time' in html  # a stopped poll says when it ended


def test_event_stream_sends_the_counts_now_and_after_each_vote(
    app_client: TestClient, portal: Portal, cleo_hook: str
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook)
    link = links(app_client, portal, poll)
    hub = app_client.app.state.b24.live  # type: ignore[attr-defined]
    stream = OpenStream(app_client, link.result_url + "/events")
    try:
        assert stream.status == 200
        assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert stream.headers["cache-control"] == "no-cache, no-transform"
        assert stream.read_block() == b"retry: 3000"
        first = stream.next_event()
        assert first["state"] == "open" and first["total"] == 3 and first["total_label"] == "3 voters"
        answers = first["questions"][0]["answers"]
        assert [a["counter"] for a in answers] == [2, 1, 0]
        assert [a["percent"] for a in answers] == [66.67, 33.33, 0]
        assert [v["name"] for v in answers[0]["voters"]["items"]] == ["Anna Admin", "Boris Belov"]
        assert hub.subscriber_count(poll.vote_id) == 1
        call(app_client, portal, "vote.AttachedVote.recall", portal.bob_hook, attachId=poll.attach_id)
        after_recall = stream.next_event(timeout=2)
        assert [a["counter"] for a in after_recall["questions"][0]["answers"]] == [1, 1, 0]
        assert [v["name"] for v in after_recall["questions"][0]["answers"][0]["voters"]["items"]] == ["Anna Admin"]
        call(app_client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id)
        stopped = stream.next_event(timeout=2)
        assert stopped["state"] == "stopped" and stopped["state_label"] == "Stopped"
        # Every event is what /openapi.json says the stream carries.
        documented = jsonschema_rs.validator_for(RESULTS_EVENT)
        for event in (first, after_recall, stopped):
            assert not [e.message for e in documented.iter_errors(event)], event
    finally:
        stream.close()
    assert hub.subscriber_count(poll.vote_id) == 0  # the client left: the subscription is gone at once


def test_event_stream_ends_when_the_server_stops(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    stream = OpenStream(app_client, links(app_client, portal, poll).result_url + "/events")
    stream.next_event()
    sse.shutdown_watch(app_client.app).trigger()  # type: ignore[arg-type]
    assert stream.ended()
    assert app_client.app.state.b24.live.subscriber_count(poll.vote_id) == 0  # type: ignore[attr-defined]


def test_quiet_stream_sends_heartbeats(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    code = links(app_client, portal, poll).result_url.rsplit("/", 1)[1]
    state: AppState = app_client.app.state.b24  # type: ignore[attr-defined]

    async def first_blocks() -> list[bytes]:
        chunks = results_stream(state, code, Focus(), poll.vote_id, heartbeat=0.05)
        try:
            return [await anext(chunks) for _ in range(4)]
        finally:
            await chunks.aclose()

    blocks = app_client.portal.call(first_blocks)  # type: ignore[union-attr]
    assert blocks[0] == b"retry: 3000\n\n"
    assert blocks[1].startswith(b"event: results\ndata: {")
    assert blocks[2:] == [sse.HEARTBEAT, sse.HEARTBEAT]


def test_static_files_are_served(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    html = app_client.get(links(app_client, portal, poll).result_url).text
    for asset, kind in ((r"/static/results\.css\?v=\w+", "text/css"), (r"/static/results\.js\?v=\w+", "javascript")):
        found = re.search(asset, html)
        assert found is not None
        resp = app_client.get(found[0])
        assert resp.status_code == 200 and kind in resp.headers["content-type"]


def test_head_of_the_stream_answers_at_once(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    resp = app_client.head(links(app_client, portal, poll).result_url + "/events")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert app_client.head("/vote-result/aaaaaaaaaaaaaaaa/events").status_code == 404
