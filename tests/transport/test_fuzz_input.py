"""Property tests for hostile input: the PHP bracket decoder, raw bodies and query strings, deep JSON,
oversized bodies, and arbitrary ballots.

Whatever arrives, the answer is a success or a clear 400/413 in the Bitrix24 envelope — never a 500, never a
hang — and after any ballot the stored counters still equal the ballot rows. Everything is derandomized.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage import people
from b24vote.storage.engine import Database
from b24vote.storage.migrate import migrate
from b24vote.storage.tables import ballot_answers, ballot_questions, ballots, vote_answers, vote_questions, votes
from b24vote.transport.decode import MAX_DEPTH, DecodeError, decode_pairs
from tests.conftest import START
from tests.helpers.wire import assert_b24_error, assert_envelope

MAX_BODY = 64 * 1024
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
CONNECTOR = "Bitrix\\Vote\\Attachment\\ImMessageConnector"


@dataclass
class World:
    client: TestClient
    db: Database
    hooks: list[str]
    attach_ids: list[int]
    question_ids: list[str]
    answer_ids: list[int]

    def post(self, method: str, who: int = 0, **kwargs: Any) -> Any:
        return self.client.post(f"{self.hooks[who]}/{method}", **kwargs)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A small portal on its own SQLite file: three chat members, a radio and a checkbox poll with re-voting."""
    path: Path = tmp_path_factory.mktemp("fuzz-input") / "b24vote.db"
    db = Database(f"sqlite:///{path}", sqlite_synchronous="NORMAL")
    migrate(db)
    clock = FrozenClock(START)
    config = Settings.from_env(
        {}, database_url=str(db.url), secret_key="k", rate_limit=None, operating_limit=None, max_body_bytes=MAX_BODY
    )
    now = clock.now()
    with db.write() as conn:
        uids = [people.add_user(conn, now, name=f"User{i}") for i in range(3)]
        chat = people.add_chat(conn, now, title="t", owner_id=uids[0])
        people.add_members(conn, now, chat, uids)
        hooks = [f"/rest/{u}/{people.add_webhook(conn, now, user_id=u, scopes=['vote', 'user'])[1]}" for u in uids]
    with TestClient(create_app(config, clock=clock, db=db), raise_server_exceptions=False) as client:
        found = World(client, db, hooks, [], [], [])
        for field_type in (0, 1):
            data = {
                "QUESTIONS": [{"QUESTION": "Q", "FIELD_TYPE": field_type, "ANSWERS": [{"MESSAGE": m} for m in "abc"]}],
                "OPTIONS": 1,
            }
            sent = assert_envelope(
                found.post("vote.Integration.Im.send", json={"chatId": chat, "IM_MESSAGE_VOTE_DATA": data})
            )
            get = {"moduleId": "im", "entityType": CONNECTOR, "entityId": sent["messageId"]}
            attach = assert_envelope(found.post("vote.AttachedVote.get", json=get))["attach"]
            (qid, question), *_ = attach["QUESTIONS"].items()
            found.attach_ids.append(attach["ID"])
            found.question_ids.append(qid)
            found.answer_ids.extend(int(a) for a in question["ANSWERS"])
        yield found
    db.dispose()


def assert_answered(resp: Any, *, allowed: tuple[int, ...] = (200, 400)) -> Any:
    """A success envelope, or an error in the Bitrix24 envelope with one of the ``allowed`` statuses."""
    assert resp.status_code in allowed, (resp.status_code, resp.text[:300])
    if resp.status_code == 200:
        return assert_envelope(resp)
    assert_b24_error(resp, resp.json()["error"], resp.status_code)
    return None


# --- the decoder ------------------------------------------------------------------------------------------------

_segment = st.one_of(
    st.just(""),
    st.integers(-(10**30), 10**30).map(str),
    st.text(st.characters(blacklist_characters="[]", blacklist_categories=("Cs",)), max_size=6),
)
_key = st.builds(
    lambda base, segments, tail: base + "".join(f"[{s}]" for s in segments) + tail,
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=6),
    st.lists(_segment, max_size=MAX_DEPTH + 6),
    st.sampled_from(["", "[", "]", "[x", "]]", "[[]"]),
)


@FUZZ
@given(st.lists(st.tuples(_key, st.text(max_size=4)), max_size=25))
def test_bracket_keys_decode_or_refuse_as_too_deep(pairs: list[tuple[str, str]]) -> None:
    try:
        decoded = decode_pairs(pairs)
    except DecodeError:
        assert any(name.count("[") >= MAX_DEPTH for name, _ in pairs)
        return
    assert isinstance(decoded, dict)
    assert all(isinstance(k, str) and k for k in decoded)


@FUZZ
@given(st.lists(st.integers(-(2**70), 2**70), max_size=8))
def test_appending_after_any_indexes_takes_the_next_integer_key(indexes: list[int]) -> None:
    pairs = [(f"a[{i}]", "x") for i in indexes] + [("a[]", "appended")]
    decoded = decode_pairs(pairs)["a"]
    as_map = {str(i): v for i, v in enumerate(decoded)} if isinstance(decoded, list) else decoded
    php_ints = [i for i in indexes if -(10**19) < i < 10**19]
    assert as_map[str(max([-1, *php_ints]) + 1)] == "appended"


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.text(max_size=3)), min_size=1, max_size=12))
def test_duplicate_names_keep_the_last_value(pairs: list[tuple[str, str]]) -> None:
    assert decode_pairs(pairs) == dict(pairs)


def test_thousands_of_appends_keep_every_value() -> None:
    # Once a scan per append (about 10 s for the first line); how fast it is now is for bench/, not a test.
    assert decode_pairs([("a[]", "x")] * 5000)["a"] == ["x"] * 5000
    deep = decode_pairs([("a" + "[]" * (MAX_DEPTH - 1), "x")] * 5000)
    assert len(deep["a"]) == 5000 and all(len(item) == 1 for item in deep["a"])


# --- raw requests -----------------------------------------------------------------------------------------------

_CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/json",
    "multipart/form-data; boundary=xx",
    "text/plain",
    "",
]


@FUZZ
@given(body=st.binary(max_size=300), ctype=st.sampled_from(_CONTENT_TYPES))
def test_any_body_is_answered(world: World, body: bytes, ctype: str) -> None:
    headers = {"content-type": ctype} if ctype else {}
    assert_answered(world.post("user.current", content=body, headers=headers))


@FUZZ
@given(raw=st.binary(max_size=120))
def test_any_query_string_is_answered(world: World, raw: bytes) -> None:
    query = quote(raw, safe="=&[]")
    assert_answered(world.client.get(f"{world.hooks[0]}/user.current?{query}"))


def _nested(depth: int, as_list: bool) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if as_list else {"k": value}
    return value


@FUZZ
@given(depth=st.integers(0, 3 * MAX_DEPTH), as_list=st.booleans())
def test_deep_json_is_refused_past_the_limit(world: World, depth: int, as_list: bool) -> None:
    # {"p": <depth containers>} has the same depth as p[k][k]…=1 with `depth` brackets.
    resp = world.post("user.current", json={"p": _nested(depth, as_list)})
    if depth < MAX_DEPTH:
        assert_envelope(resp)
    else:
        assert_b24_error(resp, "INVALID_REQUEST", 400)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(extra=st.integers(-3, 3) | st.integers(4, 3 * MAX_BODY), chunked=st.booleans())
def test_oversized_bodies_get_413(world: World, extra: int, chunked: bool) -> None:
    body = b"a=" + b"x" * (MAX_BODY - 2 + extra)
    content: Any = iter([body[i : i + 8192] for i in range(0, len(body), 8192)]) if chunked else body
    resp = world.post("user.current", content=content, headers={"content-type": "application/x-www-form-urlencoded"})
    if len(body) > MAX_BODY:
        assert_b24_error(resp, "REQUEST_TOO_LARGE", 413)
    else:
        assert_envelope(resp)


# --- ballots ----------------------------------------------------------------------------------------------------


def _ballot_values(world: World) -> st.SearchStrategy[Any]:
    ids = st.sampled_from(world.answer_ids) | st.sampled_from(world.question_ids)
    scalar = (
        ids
        | ids.map(str)
        | st.integers(-(2**66), 2**66)
        | st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither; the raw tokens: below
        | st.text(max_size=5)
        | st.booleans()
        | st.none()
    )
    keys = st.sampled_from(world.question_ids) | st.text(max_size=4) | st.integers(-5, 10**20).map(str)
    return st.recursive(
        scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=3), max_leaves=10
    )


def counters_match_rows(db: Database) -> None:
    with db.read() as conn:
        for answer in conn.execute(select(vote_answers.c.id, vote_answers.c.counter)):
            rows = select(func.count()).select_from(ballot_answers).where(ballot_answers.c.answer_id == answer.id)
            assert answer.counter == conn.execute(rows).scalar_one()
        for question in conn.execute(select(vote_questions.c.id, vote_questions.c.counter)):
            rows = (
                select(func.count()).select_from(ballot_questions).where(ballot_questions.c.question_id == question.id)
            )
            assert question.counter == conn.execute(rows).scalar_one()
        for vote in conn.execute(select(votes.c.id, votes.c.counter)):
            rows = select(func.count()).select_from(ballots).where(ballots.c.vote_id == vote.id)
            assert vote.counter == conn.execute(rows).scalar_one()


def _check_vote_reply(resp: Any) -> None:
    result = assert_answered(resp)
    if result is None:
        assert resp.json()["error"] == "100", resp.json()  # a missing or mistyped ballot: the binder's error
    else:
        assert result == [] or set(result) == {"attach"}, result


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), who=st.integers(0, 2), poll=st.integers(0, 1))
def test_any_json_ballot(world: World, data: st.DataObject, who: int, poll: int) -> None:
    ballot = data.draw(_ballot_values(world), label="ballot")
    body = {"attachId": world.attach_ids[poll], "ballot": ballot}
    _check_vote_reply(world.post("vote.AttachedVote.vote", who, json=body))
    counters_match_rows(world.db)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_a_json_body_with_a_non_number_is_refused_whole(world: World, token: str) -> None:
    """Python's json module writes these tokens by default; JSON has no such numbers."""
    body = f'{{"attachId": {world.attach_ids[0]}, "ballot": {{"{world.question_ids[0]}": [{token}]}}}}'
    resp = world.post("vote.AttachedVote.vote", 0, content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["error"] == "INVALID_REQUEST", resp.text
    counters_match_rows(world.db)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), who=st.integers(0, 2), poll=st.integers(0, 1))
def test_any_form_ballot(world: World, data: st.DataObject, who: int, poll: int) -> None:
    key = st.sampled_from(world.question_ids) | st.text(max_size=3) | st.just("")
    value = st.sampled_from(world.answer_ids).map(str) | st.text(max_size=4)
    pairs = data.draw(st.lists(st.tuples(st.lists(key, max_size=3), value), max_size=6), label="pairs")
    form = [("attachId", str(world.attach_ids[poll]))]
    form += [("ballot" + "".join(f"[{k}]" for k in keys), v) for keys, v in pairs]
    body = "&".join(f"{quote(k, safe='[]')}={quote(v)}" for k, v in form)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    _check_vote_reply(world.post("vote.AttachedVote.vote", who, content=body, headers=headers))
    counters_match_rows(world.db)


def test_the_ballot_fuzzing_reached_real_votes(world: World) -> None:
    """Runs after the two ballot tests (file order): some generated ballots were valid and stored."""
    with world.db.read() as conn:
        stored = conn.execute(select(func.count()).select_from(ballots)).scalar_one()
        checked = conn.execute(select(func.count()).select_from(ballot_answers)).scalar_one()
    assert stored >= 2 and checked >= 2
