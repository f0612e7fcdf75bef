"""Request parameters: PHP bracket syntax (``ballot[5][]=12``) decoded as PHP's ``parse_str`` does.

Bitrix24 reads parameters through PHP, so form and query keys such as
``IM_MESSAGE_VOTE_DATA[QUESTIONS][0][ANSWERS][1][MESSAGE]`` become nested arrays
(../shared/reference/bitrix24-docs/platform/data-encoding.md). PHP arrays are ordered maps; here a map whose
keys are exactly ``0..n-1`` in order becomes a list, so a JSON body and the same call form-encoded decode to
the same structure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_PARAMS", "DecodeError", "check_structure", "decode_pairs", "listify"]

# PHP's max_input_nesting_level is 64; deeper keys are refused here rather than silently cut.
MAX_DEPTH = 64
MAX_PARAMS = 5000  # parameters in one request, or in one command of a batch
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class DecodeError(ValueError):
    """A parameter name or structure b24vote refuses (too deep)."""


def _split_key(raw: str) -> tuple[str, list[str]] | None:
    """``a[b][]`` → ("a", ["b", ""]); None when PHP would drop the variable (empty base name)."""
    key = raw.lstrip(" ")
    bracket = key.find("[")
    if bracket == -1:
        base, rest = key, ""
    else:
        base, rest = key[:bracket], key[bracket:]
    segments: list[str] = []
    pos = 0
    while pos < len(rest):
        match = _SEGMENT.match(rest, pos)
        if not match:
            # PHP ignores anything after the last well-formed segment; an unclosed first bracket
            # becomes part of the name with '[' turned into '_'.
            if not segments:
                base = key.replace("[", "_", 1)
            break
        segments.append(match[1])
        pos = match.end()
    # PHP turns spaces and dots in the top-level name into underscores.
    base = base.replace(" ", "_").replace(".", "_")
    if not base:
        return None
    if len(segments) >= MAX_DEPTH:
        raise DecodeError(f"parameter {raw[:80]!r} is nested deeper than {MAX_DEPTH} levels")
    return base, segments


class _NextIndex:
    """PHP's next free integer key of each array, kept as keys arrive: ``a[]`` is O(1), not a scan.

    The containers are held here as well as by id, so no id can be reused while the decoding runs.
    """

    def __init__(self) -> None:
        self._next: dict[int, tuple[dict[str, Any], int]] = {}

    def take(self, container: dict[str, Any]) -> str:
        index = self._peek(container)
        self._next[id(container)] = (container, index + 1)
        return str(index)

    def saw(self, container: dict[str, Any], key: str) -> None:
        if _is_int_key(key):
            self._next[id(container)] = (container, max(self._peek(container), int(key) + 1))

    def _peek(self, container: dict[str, Any]) -> int:
        known = self._next.get(id(container))
        if known is not None:
            return known[1]
        if not container:
            return 0
        highest = max((int(k) for k in container if _is_int_key(k)), default=-1)
        return max(highest + 1, 0)


def _is_int_key(key: str) -> bool:
    # PHP casts only canonical decimal integers ("5", "-3"; not "05" or "+5") to integer keys.
    return key == "0" or bool(re.fullmatch(r"-?[1-9][0-9]{0,18}", key))


def decode_pairs(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Decode ordered (name, value) pairs into nested dicts/lists; the later of duplicate keys wins."""
    root: dict[str, Any] = {}
    indexes = _NextIndex()
    for name, value in pairs:
        split = _split_key(name)
        if split is None:
            continue
        base, segments = split
        if not segments:
            root[base] = value
            continue
        node = root.get(base)
        if not isinstance(node, dict):
            node = {}
            root[base] = node
        for i, segment in enumerate(segments):
            if segment == "":
                key = indexes.take(node)
            else:
                key = segment
                indexes.saw(node, key)
            if i == len(segments) - 1:
                node[key] = value
            else:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = {}
                    node[key] = child
                node = child
    return {key: listify(value) for key, value in root.items()}


def check_structure(data: Any, max_leaves: int) -> None:
    """Hold a JSON body to the limits of a form: at most ``max_leaves`` values, nested at most MAX_DEPTH deep.

    The top-level object is the parameter map, so ``{"a": {"b": 1}}`` is ``a[b]=1``: one level of brackets.
    Empty arrays and objects count as one value each. Iterative, so no body can exhaust the stack.
    """
    leaves = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if not children:
            leaves += 1
            if leaves > max_leaves:
                raise DecodeError(f"Too many parameters (more than {max_leaves})")
            continue
        if depth >= MAX_DEPTH:
            raise DecodeError(f"JSON body is nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def listify(value: Any) -> Any:
    """Turn maps keyed ``0..n-1`` (in order) into lists, recursively."""
    if isinstance(value, dict):
        converted = {k: listify(v) for k, v in value.items()}
        if converted and list(converted) == [str(i) for i in range(len(converted))]:
            return list(converted.values())
        return converted
    return value
