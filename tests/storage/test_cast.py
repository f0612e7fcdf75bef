"""``cast_ballot`` stores and counts a ballot the same way on both backends (SQLite statement by statement,
PostgreSQL in one call of ``b24vote_cast``): what it answers equals a fresh read after it, re-votes replace,
a poll without re-voting refuses and changes nothing, and concurrent ballots of one voter never double-count.
"""

from __future__ import annotations

import threading
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b24vote.clock import FrozenClock
from b24vote.domain.poll_data import NewAnswer, NewPoll, NewQuestion
from b24vote.domain.polls import ALLOW_REVOTE, Poll
from b24vote.storage import ballots, people, polls
from b24vote.storage.engine import Database
from b24vote.storage.polls import Cast

_POLL = NewPoll(
    (
        NewQuestion("Lunch?", 0, (NewAnswer("soup"), NewAnswer("salad"), NewAnswer("both"))),
        NewQuestion("Where?", 1, (NewAnswer("in"), NewAnswer("out"))),
    ),
    anonymity=1,
    options=ALLOW_REVOTE,
)


def _world(db: Database, clock: FrozenClock, options: int, voters: int) -> tuple[int, list[int]]:
    now = clock.now()
    with db.write() as conn:
        author = people.add_user(conn, now, name="Author")
        poll = NewPoll(_POLL.questions, anonymity=_POLL.anonymity, options=options)
        vote_id = polls.create_poll(conn, now, author_id=author, poll=poll, date_end=now.replace(year=2036))
        return vote_id, [people.add_user(conn, now, name=f"V{i}") for i in range(voters)]


def _loaded(db: Database, vote_id: int) -> Poll:
    with db.read() as conn:
        poll = polls.load_poll(conn, vote_id)
    assert poll is not None
    return poll


def _counters(poll: Poll) -> tuple[int, list[tuple[int, int, list[tuple[int, int]]]]]:
    return poll.counter, [(q.id, q.counter, [(a.id, a.counter) for a in q.answers]) for q in poll.questions]


def _cast(db: Database, clock: FrozenClock, vote_id: int, voter: int, chosen: dict[int, list[int]]) -> Cast | None:
    with db.write() as conn:
        poll = polls.load_poll(conn, vote_id)
        assert poll is not None
        return polls.cast_ballot(conn, clock.now(), poll, voter, chosen)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 1)), min_size=1, max_size=8))
def test_what_a_cast_answers_is_what_a_fresh_read_finds(
    db: Database, clock: FrozenClock, steps: list[tuple[int, int, int]]
) -> None:
    vote_id, voters = _world(db, clock, ALLOW_REVOTE, 3)
    shape = _loaded(db, vote_id)
    first, second = shape.questions
    for who, pick, where in steps:
        chosen = {first.id: [first.answers[pick].id], second.id: [second.answers[where].id]}
        cast = _cast(db, clock, vote_id, voters[who], chosen)
        assert cast is not None
        fresh = _loaded(db, vote_id)
        assert _counters(cast.poll) == _counters(fresh)  # one writer at a time: the reply is exact
        with db.read() as conn:
            stored = ballots.ballot_of(conn, vote_id, voters[who])
        assert stored == cast.ballot
        assert {q: set(a) for q, a in cast.ballot.choices.items()} == {q: set(a) for q, a in chosen.items()}
        assert cast.added.answers == {first.answers[pick].id, second.answers[where].id}
    voted = {who for who, _, _ in steps}
    assert _loaded(db, vote_id).counter == len(voted)
    assert sum(a.counter for a in _loaded(db, vote_id).questions[0].answers) == len(voted)


def test_a_revote_replaces_and_a_poll_without_revoting_refuses(db: Database, clock: FrozenClock) -> None:
    vote_id, (anna, _) = _world(db, clock, ALLOW_REVOTE, 2)
    question = _loaded(db, vote_id).questions[0]
    soup, salad, both = (a.id for a in question.answers)
    _cast(db, clock, vote_id, anna, {question.id: [soup]})
    again = _cast(db, clock, vote_id, anna, {question.id: [salad]})
    assert again is not None
    assert again.removed.answers == {soup} and again.added.answers == {salad}
    counts = {a.id: a.counter for a in _loaded(db, vote_id).questions[0].answers}
    assert (counts, _loaded(db, vote_id).counter) == ({soup: 0, salad: 1, both: 0}, 1)

    closed_id, (cleo,) = _world(db, clock, 0, 1)
    closed = _loaded(db, closed_id).questions[0]
    assert _cast(db, clock, closed_id, cleo, {closed.id: [closed.answers[0].id]}) is not None
    before = _counters(_loaded(db, closed_id))
    assert _cast(db, clock, closed_id, cleo, {closed.id: [closed.answers[1].id]}) is None
    assert _counters(_loaded(db, closed_id)) == before
    with db.read() as conn:
        kept = ballots.ballot_of(conn, closed_id, cleo)
    assert kept is not None and set(kept.choices[closed.id]) == {closed.answers[0].id}


def test_one_voter_casting_from_many_threads_is_counted_once(db: Database, clock: FrozenClock) -> None:
    vote_id, (anna,) = _world(db, clock, ALLOW_REVOTE, 1)
    question = _loaded(db, vote_id).questions[0]
    errors: list[Any] = []

    def cast(pick: int) -> None:
        try:
            for _ in range(5):  # bounded
                _cast(db, clock, vote_id, anna, {question.id: [question.answers[pick % 3].id]})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=cast, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    poll = _loaded(db, vote_id)
    assert poll.counter == 1
    assert sum(a.counter for a in poll.questions[0].answers) == 1
