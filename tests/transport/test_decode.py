"""PHP bracket decoding (unit and property tests)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b24vote.transport.decode import MAX_DEPTH, DecodeError, decode_pairs, listify


def decode_qs(qs: str) -> dict[str, Any]:
    return decode_pairs(parse_qsl(qs, keep_blank_values=True))


@pytest.mark.parametrize(
    ("qs", "expected"),
    [
        ("a=1", {"a": "1"}),
        ("a=", {"a": ""}),
        ("a", {"a": ""}),
        ("ballot[5][]=12&ballot[5][]=13", {"ballot": {"5": ["12", "13"]}}),
        ("ballot%5B5%5D%5B0%5D=12&ballot%5B5%5D%5B1%5D=13", {"ballot": {"5": ["12", "13"]}}),
        (
            "IM_MESSAGE_VOTE_DATA[QUESTIONS][0][ANSWERS][1][MESSAGE]=b"
            "&IM_MESSAGE_VOTE_DATA[QUESTIONS][0][ANSWERS][0][MESSAGE]=a",
            {"IM_MESSAGE_VOTE_DATA": {"QUESTIONS": [{"ANSWERS": {"1": {"MESSAGE": "b"}, "0": {"MESSAGE": "a"}}}]}},
        ),
        ("x[]=1&x[]=2&x[]=3", {"x": ["1", "2", "3"]}),
        ("x[3]=a&x[]=b", {"x": {"3": "a", "4": "b"}}),
        ("x[05]=a", {"x": {"05": "a"}}),
        ("x[a]=1&x[a]=2", {"x": {"a": "2"}}),
        ("a=1&a[b]=2", {"a": {"b": "2"}}),
        ("a[b]=2&a=1", {"a": "1"}),
        ("a.b=1&c d=2", {"a_b": "1", "c_d": "2"}),
        ("a[b=1", {"a_b": "1"}),
        ("a[b]c]=1", {"a": {"b": "1"}}),
        ("[x]=1&=2", {}),
        ("cmd[get]=vote.AttachedVote.get%3FattachId%3D1", {"cmd": {"get": "vote.AttachedVote.get?attachId=1"}}),
    ],
)
def test_php_semantics(qs: str, expected: dict[str, Any]) -> None:
    assert decode_qs(qs) == expected


def test_depth_limit() -> None:
    ok = "a" + "[x]" * (MAX_DEPTH - 1) + "=1"
    assert decode_qs(ok)
    with pytest.raises(DecodeError):
        decode_qs("a" + "[x]" * MAX_DEPTH + "=1")


def test_listify_only_sequential_zero_based() -> None:
    assert listify({"0": "a", "1": "b"}) == ["a", "b"]
    assert listify({"1": "a", "0": "b"}) == {"1": "a", "0": "b"}
    assert listify({"1": "a"}) == {"1": "a"}
    assert listify({"0": {"0": "x"}}) == [["x"]]


# --- property: encoding a structure the way PHP's http_build_query does and decoding it gives it back ---

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
tree = st.recursive(
    values,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4),
        st.dictionaries(names, children, min_size=1, max_size=4),
    ),
    max_leaves=20,
)


def build_query(data: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}[{k}]", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        else:
            pairs.append((prefix, value))

    for key, value in data.items():
        walk(key, value)
    return pairs


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.dictionaries(names, tree, min_size=1, max_size=5))
def test_round_trip(data: dict[str, Any]) -> None:
    encoded = urlencode(build_query(data))
    assert decode_qs(encoded) == data


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=10)), max_size=30))
def test_never_crashes(pairs: list[tuple[str, str]]) -> None:
    try:
        result = decode_pairs(pairs)
    except DecodeError:
        return
    assert isinstance(result, dict)
