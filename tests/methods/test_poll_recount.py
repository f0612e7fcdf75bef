"""``recounted``: the poll a vote's reply is built from, made from the counters the vote read back."""

from __future__ import annotations

from datetime import UTC, datetime

from b24vote.domain.polls import Answer, Poll, Question, recounted

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _poll() -> Poll:
    def question(qid: int, answers: list[int]) -> Question:
        listed = tuple(Answer(aid, qid, 10 * n, f"a{aid}", 5, AT) for n, aid in enumerate(answers, start=1))
        return Question(qid, 1, 10 * qid, f"q{qid}", 0, 5, AT, listed)

    return Poll(1, 7, 1, 1, True, AT, AT, 5, (question(1, [11, 12]), question(2, [21, 22])), version=99)


def test_moves_only_the_named_rows() -> None:
    before = _poll()
    after = recounted(before, ballots=6, questions={1: 6}, answers={11: 4, 12: 7}, version=123)
    assert (after.counter, after.version) == (6, 123)
    first, second = after.questions
    assert first.counter == 6
    assert [a.counter for a in first.answers] == [4, 7]
    assert second is before.questions[1]  # untouched: the very same value
    assert before.counter == 5 and before.questions[0].answers[0].counter == 5  # the original is not changed


def test_an_answer_moved_without_its_question_keeps_the_question_counter() -> None:
    # A re-vote inside one question: the question's counter does not move, one answer's does.
    after = recounted(_poll(), ballots=5, questions={}, answers={22: 0}, version=0)
    assert after.questions[1].counter == 5
    assert [a.counter for a in after.questions[1].answers] == [5, 0]
    assert after.version == 0
