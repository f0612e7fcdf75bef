"""A user's own results link (``?viewer=``, ``b24vote poll link --user``): their choice is marked, in both
languages, on public and anonymous polls, on the page and in its stream; a link that does not verify gets a
403 page and nobody's choice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from b24vote.app import create_app
from b24vote.cli import app as cli
from b24vote.clock import FrozenClock
from b24vote.config import LANGUAGES, Settings
from b24vote.domain.signing import sign_viewer, unsign_viewer
from b24vote.storage.engine import Database
from b24vote.transport.observe import mask_query
from tests.conftest import Portal
from tests.helpers.reports import add_hook
from tests.helpers.results import OpenStream, add_voters, links, poll_with_votes
from tests.helpers.votes import ChatPoll, call, send_poll

runner = CliRunner()
SECRET = "test-secret"  # the app_client's B24VOTE_SECRET_KEY (tests/conftest.py)
PUBLIC = "http://portal.example.test"
TEXTS = {
    "en": {
        "mine": "Your choice",
        "voted": "This is your personal link: your choice is marked “Your choice”.",
        "not_voted": "This is your personal link: you have not voted in this poll.",
        "private": "Anyone who opens this link sees your choice, so keep it to yourself.",
        "refused": "Personal link not valid",
    },
    "ru": {
        "mine": "Ваш выбор",
        "voted": "Это ваша личная ссылка: ваш ответ отмечен «Ваш выбор».",
        "not_voted": "Это ваша личная ссылка: вы не голосовали в этом опросе.",
        "private": "Ваш выбор увидит любой, кто откроет эту ссылку, поэтому не пересылайте её.",
        "refused": "Личная ссылка недействительна",
    },
}
NAMES = ("Anna", "Admin", "Boris", "Belov", "Cleo", "Carter")


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    language: str = request.param
    return language


@pytest.fixture
def texts(language: str) -> dict[str, str]:
    return TEXTS[language]


@pytest.fixture
def cleo_hook(db: Database, clock: FrozenClock, portal: Portal) -> str:
    return add_hook(db, clock.now(), portal.cleo)


def poll_link(db: Database, attach_id: int, *extra: str, secret: str | None = SECRET) -> Any:
    """``b24vote poll link`` as a person runs it, with the server's secret key (or the database's: None)."""
    url = db.url.render_as_string(hide_password=False)
    env = {"B24VOTE_SECRET_KEY": secret, "B24VOTE_PUBLIC_URL": PUBLIC}
    return runner.invoke(cli, ["poll", "link", str(attach_id), *extra, "--database-url", url], env=env)


def own_link(db: Database, poll: ChatPoll, user: int) -> str:
    """The path and query of the user's own link, as the command prints it."""
    result = poll_link(db, poll.attach_id, "--user", str(user))
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith(PUBLIC + "/vote-result/")
    return url.removeprefix(PUBLIC)


def answer_blocks(html: str) -> list[str]:
    return re.split(r'<li class="answer(?= |")', html)[1:]


def marked(html: str) -> list[bool]:
    """Per answer: carries the visible "your choice" mark (class and label)."""
    found = []
    for block in answer_blocks(html):
        head = block.split(">", 1)[0]
        tag = re.search(r'<span class="tag tag-mine" data-field="mine"( hidden)?>', block)
        assert tag is not None
        assert (" mine" in head) is (tag[1] is None), block[:300]
        found.append(tag[1] is None)
    return found


def test_the_command_prints_the_result_url_and_a_personal_link(
    app_client: TestClient, portal: Portal, db: Database, cleo_hook: str
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook)
    result_url = links(app_client, portal, poll).result_url
    plain = poll_link(db, poll.attach_id)
    assert plain.exit_code == 0 and plain.stdout.strip() == PUBLIC + result_url
    made = orjson.loads(poll_link(db, poll.attach_id, "--user", str(portal.bob), "--json").stdout)
    assert made["attachId"] == poll.attach_id and made["voteId"] == poll.vote_id and made["user"] == portal.bob
    viewer = sign_viewer(poll.attach_id, portal.bob, SECRET)
    assert made["url"] == f"{PUBLIC}{result_url}?viewer={quote(viewer)}"
    assert unsign_viewer(viewer, poll.attach_id, SECRET) == portal.bob
    assert unsign_viewer(viewer, poll.attach_id + 1, SECRET) is None
    for args, message in (
        (("424242",), "no such attach: 424242"),
        ((str(poll.attach_id), "--user", "9999"), "no such user: 9999"),
    ):
        failed = poll_link(db, int(args[0]), *args[1:])
        assert failed.exit_code == 1 and message in failed.output


def test_the_viewer_s_own_choice_is_marked(
    app_client: TestClient, portal: Portal, db: Database, cleo_hook: str, language: str, texts: dict[str, str]
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook)  # Anna and Boris chose the first answer, Cleo the second
    html = app_client.get(own_link(db, poll, portal.cleo)).text
    assert marked(html) == [False, True, False]
    assert f'<span aria-hidden="true">✓ </span>{texts["mine"]}</span>' in html
    assert f'<span data-field="viewer">{texts["voted"]}</span>' in html.replace("&#34;", '"')
    assert texts["private"] not in html  # a public poll shows every choice anyway
    assert marked(app_client.get(own_link(db, poll, portal.bob)).text) == [True, False, False]
    outsider = app_client.get(own_link(db, poll, portal.outsider)).text
    assert marked(outsider) == [False, False, False] and texts["not_voted"] in outsider
    # The shared link marks nothing and says nothing about a viewer.
    shared = app_client.get(links(app_client, portal, poll).result_url).text
    assert 'data-field="mine"' not in shared and 'data-field="viewer"' not in shared and " mine" not in shared
    assert texts["mine"] not in shared


def test_on_an_anonymous_poll_only_the_own_link_shows_the_own_choice(
    app_client: TestClient, portal: Portal, db: Database, cleo_hook: str, texts: dict[str, str]
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook, anonymity=2)
    cleo = app_client.get(own_link(db, poll, portal.cleo))
    assert cleo.status_code == 200
    assert marked(cleo.text) == [False, True, False]
    assert texts["private"] in cleo.text
    for name in NAMES:
        assert name not in cleo.text, name  # still nobody's name, not even the viewer's
    assert marked(app_client.get(own_link(db, poll, portal.bob)).text) == [True, False, False]
    shared = app_client.get(links(app_client, portal, poll).result_url).text
    assert 'data-field="mine"' not in shared and texts["mine"] not in shared


def test_the_stream_of_an_own_link_follows_the_viewer_s_ballot(
    app_client: TestClient, portal: Portal, db: Database, cleo_hook: str, texts: dict[str, str]
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook, anonymity=2)
    path, _, query = own_link(db, poll, portal.bob).partition("?")
    stream = OpenStream(app_client, f"{path}/events?{query}")
    plain = OpenStream(app_client, f"{path}/events")
    try:
        first = stream.next_event()
        assert [a["mine"] for a in first["questions"][0]["answers"]] == [True, False, False]
        assert first["viewer"] == {"voted": True, "label": texts["voted"]}
        call(app_client, portal, "vote.AttachedVote.recall", portal.bob_hook, attachId=poll.attach_id)
        recalled = stream.next_event(timeout=2)
        assert [a["mine"] for a in recalled["questions"][0]["answers"]] == [False, False, False]
        assert recalled["viewer"] == {"voted": False, "label": texts["not_voted"]}
        ballot = {str(poll.question_id): [poll.answer_ids[2]]}
        call(app_client, portal, "vote.AttachedVote.vote", portal.bob_hook, attachId=poll.attach_id, ballot=ballot)
        moved = stream.next_event(timeout=2)
        assert [a["mine"] for a in moved["questions"][0]["answers"]] == [False, False, True]
        # The shared link's stream saw the same votes and never says whose they were.
        for _ in range(3):
            event = plain.next_event(timeout=2)
            assert "viewer" not in event and all("mine" not in a for a in event["questions"][0]["answers"])
    finally:
        stream.close()
        plain.close()


def test_a_forged_or_tampered_viewer_gets_a_403_page_and_no_choice(
    app_client: TestClient, portal: Portal, db: Database, cleo_hook: str, texts: dict[str, str]
) -> None:
    poll = poll_with_votes(app_client, portal, cleo_hook, anonymity=2)
    other = send_poll(app_client, portal)
    code = links(app_client, portal, poll).result_url
    bob = sign_viewer(poll.attach_id, portal.bob, SECRET)
    user, signature = bob.split(".")
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    refused = [
        f"{user}.{flipped}",  # tampered signature
        f"{portal.cleo}.{signature}",  # Bob's signature on Cleo's id
        sign_viewer(other.attach_id, portal.bob, SECRET),  # Bob's link to another poll
        sign_viewer(poll.attach_id, portal.bob, "another portal's secret"),
        f"{user}.{signature.upper()}",
        f"0{user}.{signature}",
        f"{user}.{signature}.",
        user,
        "",
        "<script>",
    ]
    for viewer in refused:
        for suffix in ("", "/events"):
            resp = app_client.get(f"{code}{suffix}?viewer={quote(viewer)}")
            assert resp.status_code == 403, viewer
            assert resp.headers["cache-control"] == "no-store"
            assert f"<h1>{texts['refused']}</h1>" in resp.text
            for leaked in ("Как дела?", "Отлично!", texts["mine"], *NAMES, "<script>"):
                assert leaked not in resp.text, (viewer, leaked)
    # Given twice, even when one of them is right.
    assert app_client.get(f"{code}?viewer={quote(bob)}&viewer={quote(refused[0])}").status_code == 403
    # An unknown code is a 404 whatever the viewer says: the poll's existence is never confirmed.
    assert app_client.get(f"/vote-result/aaaaaaaaaaaaaaaa?viewer={quote(bob)}").status_code == 404


def test_the_pages_of_voters_keep_the_link_personal(
    app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock
) -> None:
    poll = send_poll(app_client, portal)
    answer = poll.answer_ids[1]
    add_voters(db, portal, poll, answer, 60, clock.now())
    call(
        app_client,
        portal,
        "vote.AttachedVote.vote",
        portal.bob_hook,
        attachId=poll.attach_id,
        ballot={str(poll.question_id): [answer]},
    )
    link = own_link(db, poll, portal.bob)
    viewer = link.split("viewer=", 1)[1]
    html = app_client.get(link).text
    assert f'href="?answer={answer}&amp;page=2&amp;viewer={viewer}#answer-{answer}"' in html
    assert f'data-keep="&amp;viewer={viewer}"' in html
    assert f"/events?viewer={viewer}" in html
    second = app_client.get(f"{link}&answer={answer}&page=2").text
    assert marked(second) == [False, True, False]
    assert f"/events?answer={answer}&amp;page=2&amp;viewer={viewer}" in second


@pytest.fixture
def stored_secret(db: Database, clock: FrozenClock, settings: Settings) -> Iterator[TestClient]:
    """A server without B24VOTE_SECRET_KEY: it and the command share the key kept in the database."""
    own = settings.with_changes(secret_key=None)
    with TestClient(create_app(own, clock=clock, db=db), raise_server_exceptions=False) as client:
        yield client


def test_the_command_signs_with_the_key_kept_in_the_database(
    stored_secret: TestClient, portal: Portal, db: Database
) -> None:
    poll = send_poll(stored_secret, portal)
    call(
        stored_secret,
        portal,
        "vote.AttachedVote.vote",
        portal.bob_hook,
        attachId=poll.attach_id,
        ballot={str(poll.question_id): [poll.answer_ids[0]]},
    )
    result = poll_link(db, poll.attach_id, "--user", str(portal.bob), secret=None)
    assert result.exit_code == 0, result.output
    resp = stored_secret.get(result.stdout.strip().removeprefix(PUBLIC))
    assert resp.status_code == 200 and marked(resp.text) == [True, False, False]
    # The test's fixed key is not this server's: a link signed with it is refused.
    assert stored_secret.get(own_link(db, poll, portal.bob)).status_code == 403


def test_the_access_log_masks_the_viewer() -> None:
    viewer = sign_viewer(5, 2, SECRET)
    assert mask_query(f"answer=7&page=2&viewer={quote(viewer)}") == "answer=7&page=2&viewer=***"
    assert mask_query(f"viewer={viewer}") == "viewer=***"
