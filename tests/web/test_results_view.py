"""The results page's view model: pure functions over domain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from b24vote.domain.people import User
from b24vote.domain.polls import Answer, Poll, Question, poll_end, resume_end
from b24vote.web.page_texts import EN, RU
from b24vote.web.view import build_results, initials, live_payload, voter_page

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MSK = timezone(timedelta(hours=3))


def _user(uid: int, name: str, last: str = "", photo: str | None = None) -> User:
    return User(uid, name, last, "", "", "", photo, False, True, NOW)


def _poll(anonymity: int = 1, counts: tuple[int, ...] = (2, 1), end: datetime | None = None) -> Poll:
    answers = tuple(Answer(10 + i, 1, i, f"A{i}", c, NOW) for i, c in enumerate(counts))
    question = Question(1, 7, 10, "Q?", 1, sum(counts), NOW, answers)
    return Poll(7, 1, anonymity, 1, True, NOW, end or NOW + timedelta(days=1), sum(counts), (question,))


def test_initials_and_photos() -> None:
    assert initials(_user(1, "anna", "admin")) == "AA"
    assert initials(_user(1, "Ю", "")) == "Ю"
    assert initials(_user(1, "", "")) == "?"
    page = voter_page(
        10,
        [
            _user(1, "A", photo="https://example.test/a.png"),
            _user(2, "B", photo="javascript:alert(1)"),
            _user(3, "C", photo="//evil.test/x.png"),
            _user(4, "", photo="/upload/d.png"),
        ],
        total=4,
        page=1,
        texts=EN,
    )
    assert [v.photo for v in page.voters] == ["https://example.test/a.png", None, None, "/upload/d.png"]
    assert page.voters[3].name == "User 4"
    assert voter_page(10, [_user(4, "")], total=1, page=1, texts=RU).voters[0].name == "Пользователь 4"


def test_voter_pages_clamp() -> None:
    assert voter_page(10, [], total=0, page=5, texts=EN).page == 1
    last = voter_page(10, [_user(1, "A")], total=101, page=9, texts=EN)
    assert (last.page, last.pages, last.first, last.last) == (3, 3, 101, 101)


def test_percentages_state_and_anonymity() -> None:
    view = build_results(_poll(), NOW, MSK, voters={}, texts=EN)
    answers = view.questions[0].answers
    assert [(a.percent, a.percent_label, a.exact_label, a.count_label, a.leading) for a in answers] == [
        (66.67, "67%", "66.67%", "2 votes", True),
        (33.33, "33%", "33.33%", "1 vote", False),
    ]
    assert view.questions[0].multiple and view.state == "open" and view.total_label == "3 voters"
    assert view.ends_label == "closes 26 Nov 2026, 12:00 UTC+03:00"
    assert all(a.voters is not None and a.voters.total == 0 for a in answers)
    stopped = build_results(_poll(end=NOW), NOW, MSK, voters=None, texts=EN)
    assert (stopped.state, stopped.state_label, stopped.ends_label) == (
        "stopped",
        "Stopped",
        "ended 25 Nov 2026, 12:00 UTC+03:00",
    )
    anonymous = build_results(
        _poll(anonymity=2), NOW, MSK, voters={10: voter_page(10, [_user(1, "A")], total=1, page=1, texts=EN)}, texts=EN
    )
    assert all(a.voters is None for a in anonymous.questions[0].answers)  # ignored even when given
    payload = live_payload(anonymous)
    assert all("voters" not in a for q in payload["questions"] for a in q["answers"])


def test_moments_in_both_languages() -> None:
    assert EN.moment(datetime(2026, 1, 5, 7, 3, tzinfo=UTC)) == "5 Jan 2026, 07:03 UTC+00:00"
    assert RU.moment(datetime(2026, 1, 5, 7, 3, tzinfo=MSK)) == "5 января 2026, 07:03 UTC+03:00"
    assert RU.moment(datetime(2026, 11, 25, 12, 0, tzinfo=UTC)) == "25 ноября 2026, 12:00 UTC+00:00"


def test_russian_counts_take_the_three_plural_forms() -> None:
    forms = {n: RU.count(n, RU.votes) for n in (0, 1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111, 112, 122)}
    assert forms == {
        0: "0 голосов",
        1: "1 голос",
        2: "2 голоса",
        4: "4 голоса",
        5: "5 голосов",
        11: "11 голосов",
        12: "12 голосов",
        14: "14 голосов",
        21: "21 голос",
        22: "22 голоса",
        25: "25 голосов",
        101: "101 голос",
        111: "111 голосов",
        112: "112 голосов",
        122: "122 голоса",
    }
    assert [EN.count(n, EN.voters) for n in (0, 1, 2, 21)] == ["0 voters", "1 voter", "2 voters", "21 voters"]


def test_the_russian_page_model() -> None:
    view = build_results(_poll(), NOW, MSK, voters={}, texts=RU)
    answers = view.questions[0].answers
    assert [(a.count_label, a.percent_label, a.exact_label) for a in answers] == [
        ("2 голоса", "67%", "66,67%"),
        ("1 голос", "33%", "33,33%"),
    ]
    assert (view.state_label, view.total_label) == ("Идёт", "3 участника")
    assert view.ends_label == "завершится 26 ноября 2026, 12:00 UTC+03:00"
    stopped = build_results(_poll(end=NOW), NOW, MSK, voters=None, texts=RU)
    assert (stopped.state_label, stopped.ends_label) == ("Завершён", "завершён 25 ноября 2026, 12:00 UTC+03:00")
    payload = live_payload(view)
    assert payload["total_label"] == "3 участника" and payload["questions"][0]["counter_label"] == "3 участника"


def test_the_viewer_s_choices_are_marked_only_when_the_viewer_is_known() -> None:
    nobody = build_results(_poll(), NOW, MSK, voters={}, texts=EN)
    assert nobody.viewer_voted is None and nobody.viewer_label == ""
    assert not any(a.mine for a in nobody.questions[0].answers)
    plain = live_payload(nobody)
    assert "viewer" not in plain and all("mine" not in a for a in plain["questions"][0]["answers"])
    voted = build_results(_poll(anonymity=2), NOW, MSK, voters=None, texts=EN, mine=frozenset({11}))
    assert [a.mine for a in voted.questions[0].answers] == [False, True]
    payload = live_payload(voted)
    assert [a["mine"] for a in payload["questions"][0]["answers"]] == [False, True]
    assert payload["viewer"] == {"voted": True, "label": EN.viewer_voted}
    not_voted = build_results(_poll(), NOW, MSK, voters={}, texts=RU, mine=frozenset())
    assert not_voted.viewer_voted is False and not_voted.viewer_label == RU.viewer_not_voted
    assert live_payload(not_voted)["viewer"]["voted"] is False


def test_whole_percentages_round_half_away_from_zero() -> None:
    # 1 of 8 is 12.5 %: 13 %, as PHP's round() and people do (Python's round() would give 12).
    view = build_results(_poll(counts=(1, 7)), NOW, MSK, voters={}, texts=EN)
    assert [a.percent_label for a in view.questions[0].answers] == ["13%", "88%"]
    assert [a.exact_label for a in view.questions[0].answers] == ["12.5%", "87.5%"]
    nobody = build_results(_poll(counts=(0, 0)), NOW, MSK, voters={}, texts=EN)
    assert [(a.percent_label, a.leading) for a in nobody.questions[0].answers] == [("0%", False), ("0%", False)]


def test_every_answer_of_a_tie_leads() -> None:
    view = build_results(_poll(counts=(2, 2, 1)), NOW, MSK, voters={}, texts=EN)
    assert [a.leading for a in view.questions[0].answers] == [True, True, False]
    payload = live_payload(view)
    assert [a["leading"] for a in payload["questions"][0]["answers"]] == [True, True, False]


def test_the_default_far_end_is_not_shown() -> None:
    created = _poll(end=poll_end(NOW, MSK))
    view = build_results(created, NOW + timedelta(days=400), MSK, voters={}, texts=EN)
    assert (view.shows_end, view.ends_label, view.state) == (False, "", "open")
    assert live_payload(view)["ends_label"] == ""
    resumed = build_results(_poll(end=resume_end(NOW, MSK)), NOW, MSK, voters={}, texts=EN)
    assert resumed.shows_end and resumed.ends_label.startswith("closes ")
    # Once the far end has passed (a poll left alone for ten years) the date is shown again.
    over = build_results(created, poll_end(NOW, MSK), MSK, voters={}, texts=EN)
    assert over.shows_end and over.ends_label.startswith("ended ")
