"""Counters equal the ballots after any sequence of votes, re-votes, recalls, stops and resumes.

A hypothesis state machine drives the HTTP API with several voters and checks, after every step, the API's
view against a model and the stored counters against the ballot rows.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import people, questions
from b24vote.storage.admin import wipe
from b24vote.storage.engine import Database
from b24vote.storage.tables import ballot_answers, ballots, vote_answers, vote_questions, votes
from tests.conftest import START

VOTERS = 4


def run_machine(database: Database, field_type: int, options: int) -> None:
    class Polls(RuleBasedStateMachine):
        @initialize()
        def setup(self) -> None:
            wipe(database)
            self.clock = FrozenClock(START)
            settings_ = Settings.from_env({}, database_url=str(database.url), secret_key="k", rate_limit=None)
            self.client = TestClient(create_app(settings_, clock=self.clock, db=database))
            self.client.__enter__()
            now = self.clock.now()
            self.hooks: list[str] = []
            with database.write() as conn:
                uids = [people.add_user(conn, now, name=f"U{i}") for i in range(VOTERS)]
                chat = people.add_chat(conn, now, title="t", owner_id=uids[0])
                people.add_members(conn, now, chat, uids)
                for uid in uids:
                    _, code = people.add_webhook(conn, now, user_id=uid, scopes=["vote"])
                    self.hooks.append(f"/rest/{uid}/{code}")
            data = {
                "QUESTIONS": [{"QUESTION": "Q", "FIELD_TYPE": field_type, "ANSWERS": [{"MESSAGE": m} for m in "abcd"]}],
                "OPTIONS": options,
            }
            sent = self.post(0, "vote.Integration.Im.send", chatId=chat, IM_MESSAGE_VOTE_DATA=data)["result"]
            attach = self.post(
                0,
                "vote.AttachedVote.get",
                moduleId="im",
                entityType="Bitrix\\Vote\\Attachment\\ImMessageConnector",
                entityId=sent["messageId"],
            )["result"]["attach"]
            self.attach_id = attach["ID"]
            (qid, question), *_ = attach["QUESTIONS"].items()
            self.qid = qid
            self.answers = [int(a) for a in question["ANSWERS"]]
            self.model: dict[int, list[int]] = {}
            self.open = True

        def teardown(self) -> None:
            if hasattr(self, "client"):
                self.client.__exit__(None, None, None)

        def post(self, who: int, method: str, **params: Any) -> Any:
            resp = self.client.post(f"{self.hooks[who]}/{method}", json=params)
            assert resp.status_code in (200, 400), resp.text
            return resp.json()

        @rule(who=st.integers(0, VOTERS - 1), picks=st.lists(st.integers(0, 5), max_size=4))
        def vote(self, who: int, picks: list[int]) -> None:
            ballot = [self.answers[p] if p < 4 else 9_999_999 for p in picks]
            reply = self.post(who, "vote.AttachedVote.vote", attachId=self.attach_id, ballot={self.qid: ballot})
            valid = list(dict.fromkeys(a for a in ballot if a in self.answers))
            if field_type == 0:
                valid = valid[:1]
            if not self.open:
                assert reply == {"error": "403", "error_description": "Опрос неактивен."}
                return
            if not valid or (who in self.model and not options & 1):
                assert reply["result"] == []
                return
            assert reply["result"]["attach"]["isVoted"] is True
            self.model[who] = valid
            self.counters_match_model(reply["result"]["attach"])  # the reply is built without reading the poll again

        @rule(who=st.integers(0, VOTERS - 1))
        def recall(self, who: int) -> None:
            reply = self.post(who, "vote.AttachedVote.recall", attachId=self.attach_id)
            if not self.open or (who in self.model and not options & 1):
                assert reply["result"] == []
                return
            assert reply["result"]["attach"]["userAnswerMap"] == []
            self.model.pop(who, None)
            self.counters_match_model(reply["result"]["attach"])

        @rule()
        def stop(self) -> None:
            assert self.post(0, "vote.AttachedVote.stop", attachId=self.attach_id)["result"] == []
            self.open = False

        @rule()
        def resume(self) -> None:
            assert self.post(0, "vote.AttachedVote.resume", attachId=self.attach_id)["result"] == []
            self.open = True

        @invariant()
        def api_matches_model(self) -> None:
            if not hasattr(self, "attach_id"):
                return
            attach = self.post(1, "vote.AttachedVote.get", attachId=self.attach_id)["result"]["attach"]
            self.counters_match_model(attach)
            mine = attach["userAnswerMap"]
            assert (mine == []) == (1 not in self.model)
            if 1 in self.model:
                assert sorted(int(a) for a in mine[self.qid]) == sorted(self.model[1])

        def counters_match_model(self, attach: dict[str, Any]) -> None:
            question = attach["QUESTIONS"][self.qid]
            assert attach["COUNTER"] == len(self.model)
            assert int(question["COUNTER"]) == len(self.model)
            for aid in self.answers:
                expected = sum(aid in chosen for chosen in self.model.values())
                assert int(question["ANSWERS"][str(aid)]["COUNTER"]) == expected

        @invariant()
        def cached_questions_are_the_rows(self) -> None:
            with database.read() as conn:
                for vote_id, version in conn.execute(select(votes.c.id, votes.c.version)).all():
                    cached = questions.QUESTIONS.get(vote_id, version)
                    if cached is not None:
                        assert (version, cached) == questions.versioned_questions(conn, [vote_id])[vote_id]

        @invariant()
        def counters_equal_rows(self) -> None:
            with database.read() as conn:
                for row in conn.execute(select(vote_answers.c.id, vote_answers.c.counter)):
                    rows = conn.execute(
                        select(func.count()).select_from(ballot_answers).where(ballot_answers.c.answer_id == row.id)
                    ).scalar_one()
                    assert row.counter == rows
                for row in conn.execute(select(votes.c.id, votes.c.counter)):
                    assert (
                        row.counter
                        == conn.execute(
                            select(func.count()).select_from(ballots).where(ballots.c.vote_id == row.id)
                        ).scalar_one()
                    )
                for row in conn.execute(select(vote_questions.c.counter)):
                    assert row.counter == conn.execute(select(func.count()).select_from(ballots)).scalar_one()

    run_state_machine_as_test(
        Polls,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_radio_with_revote(database: Database) -> None:
    run_machine(database, field_type=0, options=1)


def test_checkbox_with_revote(database: Database) -> None:
    run_machine(database, field_type=1, options=1)


def test_radio_without_revote(database: Database) -> None:
    run_machine(database, field_type=0, options=0)
