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

__all__ = ["MAX_DEPTH", "DecodeError", "decode_pairs", "listify"]

# PHP's max_input_nesting_level is 64; deeper keys are refused here rather than silently cut.
MAX_DEPTH = 64
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


def _next_index(container: dict[str, Any]) -> str:
    highest = -1
    for existing in container:
        if _is_int_key(existing):
            highest = max(highest, int(existing))
    return str(highest + 1)


def _is_int_key(key: str) -> bool:
    # PHP casts only canonical decimal integers ("5", "-3"; not "05" or "+5") to integer keys.
    return key == "0" or bool(re.fullmatch(r"-?[1-9][0-9]{0,18}", key))


def decode_pairs(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Decode ordered (name, value) pairs into nested dicts/lists; the later of duplicate keys wins."""
    root: dict[str, Any] = {}
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
            key = _next_index(node) if segment == "" else segment
            if i == len(segments) - 1:
                node[key] = value
            else:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = {}
                    node[key] = child
                node = child
    return {key: listify(value) for key, value in root.items()}


def listify(value: Any) -> Any:
    """Turn maps keyed ``0..n-1`` (in order) into lists, recursively."""
    if isinstance(value, dict):
        converted = {k: listify(v) for k, v in value.items()}
        if converted and list(converted) == [str(i) for i in range(len(converted))]:
            return list(converted.values())
        return converted
    return value
