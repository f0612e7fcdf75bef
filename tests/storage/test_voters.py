"""Paging through an answer's voters reads the back half from the end of the index; pages must not change."""

from __future__ import annotations

from b24vote.clock import FrozenClock
from b24vote.domain.poll_data import NewAnswer, NewPoll, NewQuestion
from b24vote.storage import ballots, people, polls
from b24vote.storage.engine import Database


def test_every_page_equals_the_plain_offset_read(db: Database, clock: FrozenClock) -> None:
    now = clock.now()
    poll = NewPoll((NewQuestion("Q", 1, (NewAnswer("a"), NewAnswer("b"))),), anonymity=1, options=0)
    with db.write() as conn:
        author = people.add_user(conn, now, name="Author")
        vote_id = polls.create_poll(conn, now, author_id=author, poll=poll, date_end=now.replace(year=2036))
        loaded = polls.load_poll(conn, vote_id)
        assert loaded is not None
        question, answer = loaded.questions[0], loaded.questions[0].answers[0]
        # 37 voters with gaps in their ids (every other user of 74), inserted in descending id order.
        voters = [people.add_user(conn, now, name=f"V{i}") for i in range(74)][::-2]
        for uid in voters:
            polls.insert_ballot(
                conn, now, vote_id=vote_id, user_id=uid, chosen={question.id: [answer.id]}, visible=True
            )
    expected = sorted(voters)
    with db.read() as conn:
        total = polls.load_poll(conn, vote_id).questions[0].answers[0].counter  # type: ignore[union-attr]
        assert total == len(voters)
        for limit in (1, 5, 50):
            for offset in range(0, 41):
                got = ballots.voters_of_answer(conn, answer.id, offset=offset, limit=limit, total=total)
                assert got == expected[offset : offset + limit], (offset, limit)
