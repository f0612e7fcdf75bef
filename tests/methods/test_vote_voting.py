"""Voting, re-voting, recall, stop/resume, anonymity, counters and percentages, read methods' lists."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from b24vote.clock import FrozenClock
from b24vote.domain.polls import IM_ENTITY_TYPE
from b24vote.storage import people
from b24vote.storage.engine import Database
from b24vote.storage.tables import messages
from tests.conftest import Portal
from tests.helpers.votes import ChatPoll, call, cast, send_poll
from tests.helpers.wire import assert_b24_error, assert_envelope

INACTIVE = ("403", 400, "Опрос неактивен.")


def get(client: TestClient, portal: Portal, poll: ChatPoll, hook: str | None = None) -> dict[str, Any]:
    attach: dict[str, Any] = call(client, portal, "vote.AttachedVote.get", hook, attachId=poll.attach_id)["attach"]
    return attach


def counters(attach: dict[str, Any]) -> tuple[int, int, list[int]]:
    (question,) = attach["QUESTIONS"].values()
    return attach["COUNTER"], int(question["COUNTER"]), [int(a["COUNTER"]) for a in question["ANSWERS"].values()]


def vote_raw(client: TestClient, portal: Portal, poll: ChatPoll, ballot: Any, hook: str | None = None) -> Any:
    return client.post(portal.url("vote.AttachedVote.vote", hook), json={"attachId": poll.attach_id, "ballot": ballot})


def test_vote_then_read(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, options=0)
    fresh = get(app_client, portal, poll)
    assert fresh["userAnswerMap"] == [] and fresh["isVoted"] is False and fresh["canVote"] is True
    voted = cast(app_client, portal, poll, poll.answer_ids[0])["attach"]
    assert counters(voted) == (1, 1, [1, 0, 0])
    (question,) = voted["QUESTIONS"].values()
    answers = list(question["ANSWERS"].values())
    # Counters this call changed are ints; untouched ones keep the strings of a fresh read.
    assert question["COUNTER"] == 1 and answers[0]["COUNTER"] == 1 and answers[1]["COUNTER"] == "0"
    (mapping,) = voted["userAnswerMap"].values()
    (choice,) = mapping.values()
    assert choice["ANSWER_ID"] == str(poll.answer_ids[0]) and choice["EVENT_ID"] == choice["ID"]
    assert all(isinstance(v, str) for v in choice.values())
    assert (voted["isVoted"], voted["canVote"], voted["canRevote"]) == (True, False, False)
    reread = get(app_client, portal, poll)
    (question,) = reread["QUESTIONS"].values()
    assert question["COUNTER"] == "1" and reread["userAnswerMap"] == voted["userAnswerMap"]


def test_radio_keeps_the_first_valid_answer(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    a1, a2, _ = poll.answer_ids
    ballot = {str(poll.question_id): [999, a2, a1], "777": [a1]}
    assert counters(assert_envelope(vote_raw(app_client, portal, poll, ballot))["attach"]) == (1, 1, [0, 1, 0])


def test_checkbox_keeps_every_valid_answer_once(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, field_type=1)
    a1, _, a3 = poll.answer_ids
    attach = assert_envelope(vote_raw(app_client, portal, poll, {str(poll.question_id): [a3, a1, a3, "x"]}))["attach"]
    assert counters(attach) == (1, 1, [1, 0, 1])
    attach = cast(app_client, portal, poll, a1, hook=portal.bob_hook)["attach"]
    (question,) = attach["QUESTIONS"].values()
    percents = [(a["~PERCENT"], a["PERCENT"]) for a in question["ANSWERS"].values()]
    assert percents == [(100, 100), (0, 0), (50, 50)]  # percentages of voters can sum above 100


@pytest.mark.parametrize(
    "ballot",
    [
        lambda p: {str(p.question_id): str(p.answer_ids[1])},
        lambda p: {str(p.question_id): {"0": p.answer_ids[1]}},
        lambda p: {p.question_id: [str(p.answer_ids[1])]},
    ],
)
def test_ballot_forms(app_client: TestClient, portal: Portal, ballot: Any) -> None:
    poll = send_poll(app_client, portal)
    assert counters(assert_envelope(vote_raw(app_client, portal, poll, ballot(poll)))["attach"])[2] == [0, 1, 0]


def test_ballot_in_form_encoding(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, field_type=1)
    q, (a1, a2, _) = poll.question_id, poll.answer_ids
    body = f"attachId={poll.attach_id}&ballot%5B{q}%5D%5B%5D={a1}&ballot[{q}][]={a2}"
    resp = app_client.post(
        portal.url("vote.AttachedVote.vote"),
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert counters(assert_envelope(resp)["attach"])[2] == [1, 1, 0]


@pytest.mark.parametrize("ballot", [{}, {"777": [1]}, {"Q": ["x"]}])
def test_empty_ballot_is_an_empty_success(app_client: TestClient, portal: Portal, ballot: Any) -> None:
    poll = send_poll(app_client, portal)
    if ballot == {}:
        ballot = {str(poll.question_id): []}
    assert assert_envelope(vote_raw(app_client, portal, poll, ballot)) == []
    assert counters(get(app_client, portal, poll)) == (0, 0, [0, 0, 0])


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({}, "Could not find value for parameter {ballot}"),
        ({"ballot": "12"}, "Invalid value {12} to match with parameter {ballot}. Should be value of type array."),
    ],
)
def test_ballot_binder_errors(app_client: TestClient, portal: Portal, params: dict[str, Any], text: str) -> None:
    poll = send_poll(app_client, portal)
    resp = app_client.post(portal.url("vote.AttachedVote.vote"), json={"attachId": poll.attach_id, **params})
    assert_b24_error(resp, "100", 400, text)
    # The binder runs before the attach is looked up.
    resp = app_client.post(portal.url("vote.AttachedVote.vote"), json={"attachId": 424242, **params})
    assert_b24_error(resp, "100", 400, text)


def test_second_vote_without_revote(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, options=0)
    cast(app_client, portal, poll, poll.answer_ids[0])
    assert cast(app_client, portal, poll, poll.answer_ids[1]) == []
    assert counters(get(app_client, portal, poll)) == (1, 1, [1, 0, 0])
    assert call(app_client, portal, "vote.AttachedVote.recall", attachId=poll.attach_id) == []
    assert counters(get(app_client, portal, poll)) == (1, 1, [1, 0, 0])


def test_revote_moves_the_counters(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, options=1)
    a1, a2, _ = poll.answer_ids
    cast(app_client, portal, poll, a1)
    cast(app_client, portal, poll, a1, hook=portal.bob_hook)
    attach = cast(app_client, portal, poll, a2)["attach"]
    assert counters(attach) == (2, 2, [1, 1, 0])
    (question,) = attach["QUESTIONS"].values()
    assert [a["COUNTER"] for a in question["ANSWERS"].values()] == [1, 1, "0"]
    assert attach["canRevote"] is True and attach["canVote"] is False


def test_action_uuid_is_not_an_idempotency_key(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, options=1)
    for answer in poll.answer_ids[:2]:
        call(
            app_client,
            portal,
            "vote.AttachedVote.vote",
            attachId=poll.attach_id,
            ballot={str(poll.question_id): [answer]},
            actionUuid="same-uuid",
        )
    assert counters(get(app_client, portal, poll)) == (1, 1, [0, 1, 0])


def test_recall(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, options=1)
    # Recalling without a ballot succeeds and changes nothing.
    noop = call(app_client, portal, "vote.AttachedVote.recall", attachId=poll.attach_id)["attach"]
    assert counters(noop) == (0, 0, [0, 0, 0]) and noop["userAnswerMap"] == []
    cast(app_client, portal, poll, poll.answer_ids[2])
    recalled = call(app_client, portal, "vote.AttachedVote.recall", attachId=poll.attach_id)["attach"]
    assert counters(recalled) == (0, 0, [0, 0, 0])
    assert recalled["userAnswerMap"] == [] and recalled["isVoted"] is False
    assert (recalled["canVote"], recalled["canRevote"]) == (True, True)
    (question,) = recalled["QUESTIONS"].values()
    assert question["COUNTER"] == 0 and list(question["ANSWERS"].values())[2]["COUNTER"] == 0


def test_stop_and_resume(app_client: TestClient, portal: Portal, clock: FrozenClock, db: Database) -> None:
    poll = send_poll(app_client, portal, options=1)
    cast(app_client, portal, poll, poll.answer_ids[0], hook=portal.bob_hook)
    assert call(app_client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id, actionUuid="u1") == []
    stopped = get(app_client, portal, poll, portal.bob_hook)
    assert (stopped["isFinished"], stopped["canVote"], stopped["canRevote"]) == (True, False, False)
    assert_b24_error(vote_raw(app_client, portal, poll, {str(poll.question_id): [poll.answer_ids[1]]}), *INACTIVE)
    assert call(app_client, portal, "vote.AttachedVote.recall", portal.bob_hook, attachId=poll.attach_id) == []
    # Stopping twice moves the end date again and tells the chat only once.
    clock.advance(60)
    assert call(app_client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id) == []
    with db.read() as conn:
        system = conn.execute(
            select(func.count()).select_from(messages).where(messages.c.system.is_(True))
        ).scalar_one()
    assert system == 1
    assert call(app_client, portal, "vote.AttachedVote.resume", attachId=poll.attach_id) == []
    resumed = get(app_client, portal, poll)
    assert (resumed["isFinished"], resumed["canVote"]) == (False, True)
    cast(app_client, portal, poll, poll.answer_ids[1])
    assert call(app_client, portal, "vote.AttachedVote.stop", attachId=poll.attach_id) == []
    assert call(app_client, portal, "vote.AttachedVote.resume", attachId=poll.attach_id) == []
    with db.read() as conn:
        system = conn.execute(
            select(func.count()).select_from(messages).where(messages.c.system.is_(True))
        ).scalar_one()
    assert system == 1
    # Resume reopens for one year only.
    clock.advance(364 * 86400)
    assert get(app_client, portal, poll)["isFinished"] is False
    clock.advance(2 * 86400)
    assert get(app_client, portal, poll)["isFinished"] is True


def test_chat_polls_end_after_ten_years(app_client: TestClient, portal: Portal, clock: FrozenClock) -> None:
    poll = send_poll(app_client, portal)
    clock.advance(3650 * 86400)
    assert get(app_client, portal, poll)["isFinished"] is False
    clock.advance(3 * 86400)
    attach = get(app_client, portal, poll)
    assert attach["isFinished"] is True and attach["canVote"] is False
    assert_b24_error(vote_raw(app_client, portal, poll, {str(poll.question_id): [poll.answer_ids[0]]}), *INACTIVE)


def test_percent_rounding(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    a1, a2, _ = poll.answer_ids
    cast(app_client, portal, poll, a1)
    cast(app_client, portal, poll, a2, hook=portal.bob_hook)
    call(app_client, portal, "im.chat.user.add", CHAT_ID=portal.chat, USERS=[portal.outsider])
    attach = cast(app_client, portal, poll, a2, hook=portal.outsider_hook)["attach"]
    (question,) = attach["QUESTIONS"].values()
    got = [(a["~PERCENT"], a["PERCENT"]) for a in question["ANSWERS"].values()]
    assert got == [(33.333333333333336, 33.33), (66.66666666666667, 66.67), (0, 0)]


# --- who voted ---------------------------------------------------------------------------------------------------


def _crowd(db: Database, clock: FrozenClock, portal: Portal, n: int) -> list[tuple[int, str]]:
    """n more chat members with their webhooks."""
    found = []
    with db.write() as conn:
        for i in range(n):
            uid = people.add_user(conn, clock.now(), name=f"Voter{i:03d}", last_name="X", work_position="Tester")
            people.add_members(conn, clock.now(), portal.chat, [uid])
            _, code = people.add_webhook(conn, clock.now(), user_id=uid, scopes=["vote"])
            found.append((uid, f"/rest/{uid}/{code}"))
    return found


def test_get_with_voted(app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock) -> None:
    poll = send_poll(app_client, portal, anonymity=1)
    a1, a2, _ = poll.answer_ids
    crowd = _crowd(db, clock, portal, 3)
    for _uid, hook in crowd:
        cast(app_client, portal, poll, a1, hook=hook)
    cast(app_client, portal, poll, a2, hook=portal.bob_hook)
    result = call(app_client, portal, "vote.AttachedVote.getWithVoted", attachId=poll.attach_id, pageSize=2)
    assert list(result) == ["attach", "voted"]
    assert list(result["voted"]) == [str(a1), str(a2)]
    assert [u["ID"] for u in result["voted"][str(a1)]] == [crowd[0][0], crowd[1][0]]
    assert result["voted"][str(a2)] == [
        {"ID": portal.bob, "NAME": "Boris Belov", "IMAGE": None, "WORK_POSITION": "Developer"}
    ]
    one = call(app_client, portal, "vote.AttachedVote.getWithVoted", attachId=poll.attach_id, pageSize=0)
    assert len(one["voted"][str(a1)]) == 1
    empty = send_poll(app_client, portal)
    assert call(app_client, portal, "vote.AttachedVote.getWithVoted", attachId=empty.attach_id)["voted"] == []


def test_get_answer_voted_pages(app_client: TestClient, portal: Portal, db: Database, clock: FrozenClock) -> None:
    poll = send_poll(app_client, portal, anonymity=0)
    crowd = _crowd(db, clock, portal, 120)
    for _uid, hook in crowd:
        cast(app_client, portal, poll, poll.answer_ids[0], hook=hook)
    url = portal.url("vote.AttachedVote.getAnswerVoted")
    first = app_client.post(url, json={"attachId": poll.attach_id, "answerId": poll.answer_ids[0]}).json()
    assert list(first) == ["result", "next", "total", "time"]
    assert (len(first["result"]["items"]), first["next"], first["total"]) == (50, 50, 120)
    ids = [
        u["ID"]
        for start in (0, 50, 100)
        for u in app_client.post(
            url, json={"attachId": poll.attach_id, "answerId": poll.answer_ids[0], "start": start}
        ).json()["result"]["items"]
    ]
    assert ids == [uid for uid, _ in crowd]
    last = app_client.post(url, json={"attachId": poll.attach_id, "answerId": poll.answer_ids[0], "start": 100}).json()
    assert "next" not in last and len(last["result"]["items"]) == 20
    middle = app_client.post(url, json={"attachId": poll.attach_id, "answerId": poll.answer_ids[0], "start": 75}).json()
    assert middle["result"]["items"][0]["ID"] == crowd[50][0]  # start picks a page of 50
    nobody = app_client.post(url, json={"attachId": poll.attach_id, "answerId": poll.answer_ids[1]}).json()
    assert nobody["result"] == {"items": []} and nobody["total"] == 0


def test_get_answer_voted_errors(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal)
    other = send_poll(app_client, portal)
    url = portal.url("vote.AttachedVote.getAnswerVoted")
    assert_b24_error(
        app_client.post(url, json={"attachId": poll.attach_id, "answerId": other.answer_ids[0]}),
        "403",
        400,
        "Access denied.",
    )
    assert_b24_error(
        app_client.post(url, json={"attachId": poll.attach_id}),
        "100",
        400,
        "Could not find value for parameter {answerId}",
    )


def test_anonymous_poll_hides_voters(app_client: TestClient, portal: Portal) -> None:
    poll = send_poll(app_client, portal, anonymity=2)
    cast(app_client, portal, poll, poll.answer_ids[0], hook=portal.bob_hook)
    mine = cast(app_client, portal, poll, poll.answer_ids[0])["attach"]
    assert counters(mine) == (2, 2, [2, 0, 0])
    assert mine["userAnswerMap"] != []  # a voter still sees their own ballot
    with_voted = call(app_client, portal, "vote.AttachedVote.getWithVoted", attachId=poll.attach_id)
    assert with_voted["voted"] == []
    resp = app_client.post(
        portal.url("vote.AttachedVote.getAnswerVoted"),
        json={"attachId": poll.attach_id, "answerId": poll.answer_ids[0]},
    ).json()
    assert resp["result"] == {"items": []} and resp["total"] == 0
    for text in (str(with_voted), str(resp)):
        assert "Boris" not in text and "Belov" not in text


def test_get_many(app_client: TestClient, portal: Portal) -> None:
    polls_ = [send_poll(app_client, portal) for _ in range(3)]
    ids = [polls_[2].message_id, polls_[0].message_id]

    def many(hook: str | None = None, **params: Any) -> Any:
        base = {"moduleId": "Im", "entityType": IM_ENTITY_TYPE}
        return call(app_client, portal, "vote.AttachedVote.getMany", hook, **{**base, **params})

    assert [i["ID"] for i in many(entityIds=ids)["items"]] == [polls_[2].attach_id, polls_[0].attach_id]
    assert [i["ID"] for i in many(entityIds=[0, "x", *ids])["items"]] == [polls_[2].attach_id, polls_[0].attach_id]
    assert many(entityIds=[]) == {"items": []}
    assert many(entityIds=[*ids, 424242]) == []
    assert many(portal.outsider_hook, entityIds=ids) == []
    assert many(entityIds=list(range(1, 52))) == []
    resp = app_client.post(
        portal.url("vote.AttachedVote.getMany"), json={"moduleId": "im", "entityType": IM_ENTITY_TYPE}
    )
    assert_b24_error(resp, "100", 400, "Could not find value for parameter {entityIds}")
    # The doc pages call the parameter entityId; the real server reads only entityIds.
    resp = app_client.post(
        portal.url("vote.AttachedVote.getMany"), json={"moduleId": "im", "entityType": IM_ENTITY_TYPE, "entityId": ids}
    )
    assert_b24_error(resp, "100", 400)
