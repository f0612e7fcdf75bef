"""``batch``: parsing its commands and resolving ``$result[key][field]`` references.

Follows ../shared/reference/bitrix24-docs/platform/batch.md and the REST module's batch code as the real
server runs it: at most 50 commands run, later ones fail one by one with ``ERROR_BATCH_LENGTH_EXCEEDED``;
``halt`` is PHP's ``(bool)`` cast; a reference is ``$result``/``$next``/``$total``/``$time``/``$error``
followed by ``[segment]``s and runs to the next white space. The commands themselves are run by the
transport (``transport/batch.py``), each through the ordinary dispatch.
"""

from __future__ import annotations

import re
from typing import Any

from b24vote.errors import ErrorCode, PlatformError
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext, registry

__all__ = ["MAX_COMMANDS", "commands", "halt_requested", "php_array", "resolve_references", "split_command"]

MAX_COMMANDS = 50
_REFERENCE = re.compile(r"\$(result|next|total|time|error)(\S*)", re.IGNORECASE)
_SEGMENT = re.compile(r"\[([^\]]+)\]")
_INT_KEY = re.compile(r"-?(0|[1-9][0-9]{0,18})")


@registry.add("batch", scope=None, batchable=False)
def batch(ctx: CallContext, params: Params) -> Any:
    # The transport runs batch itself; dispatch reaches this only for a batch nested in a batch,
    # which it refuses first (batchable=False). Kept so that `methods` and `method.get` list it.
    raise PlatformError(ErrorCode.ERROR_BATCH_METHOD_NOT_ALLOWED)


def _upper_keys(params: dict[str, Any]) -> dict[str, Any]:
    # array_change_key_case(..., CASE_UPPER): "cmd", "CMD" and "Cmd" are one parameter.
    return {key.upper(): value for key, value in params.items()}


def commands(params: dict[str, Any]) -> list[tuple[str, Any]]:
    """``cmd`` as (key, command) pairs in order; list indexes become the keys "0", "1", …"""
    cmd = _upper_keys(params).get("CMD")
    if isinstance(cmd, dict):
        return [(str(k), v) for k, v in cmd.items()]
    if isinstance(cmd, list):
        return [(str(i), v) for i, v in enumerate(cmd)]
    return []


def php_bool(value: Any) -> bool:
    """PHP's ``(bool)``: ``"0"``, ``""``, ``0``, ``false``, empty arrays and null are false; ``"false"`` is true."""
    if value is None:
        return False
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, (list, dict)):
        return len(value) > 0
    return bool(value)


def halt_requested(params: dict[str, Any]) -> bool:
    return php_bool(_upper_keys(params).get("HALT"))


def split_command(call: str) -> tuple[str, str]:
    """``method?query#fragment`` → (method, query), as PHP's ``parse_url`` splits it."""
    call = call.split("#", 1)[0]
    method, _, query = call.partition("?")
    return method, query


def php_array(entries: dict[str, Any]) -> dict[str, Any] | list[Any]:
    """How PHP's json_encode shows an array: keys ``0..n-1`` in order make a list (so empty is ``[]``)."""
    if list(entries) == [str(i) for i in range(len(entries))]:
        return list(entries.values())
    return entries


def _step(node: Any, segment: str) -> tuple[bool, Any]:
    """PHP's ``isset($node[$segment])`` and the value."""
    if isinstance(node, dict):
        value = node.get(segment)
        return value is not None, value
    if isinstance(node, list) and _INT_KEY.fullmatch(segment):
        index = int(segment)
        if 0 <= index < len(node) and node[index] is not None:
            return True, node[index]
    return False, None


def _follow(results: dict[str, dict[str, Any]], name: str, path: str) -> tuple[bool, Any]:
    segments = _SEGMENT.findall(path)
    if not segments:
        return False, None
    node: Any = results.get(name)
    for segment in segments:
        found, value = _step(node, segment)
        if not found:
            break  # the real server keeps what it reached so far
        node = value
    return True, node


def _resolve_string(text: str, results: dict[str, dict[str, Any]]) -> Any:
    for match in list(_REFERENCE.finditer(text)):
        applies, value = _follow(results, match[1], match[2])
        if not applies:
            continue
        if match[0] == text:
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # PHP's (string) of a number; floats with its 14 significant digits.
            value = str(value) if isinstance(value, int) else format(value, ".14G")
        if not isinstance(value, str):
            continue
        text = text.replace(match[0], value)
    return text


def resolve_references(params: Any, results: dict[str, dict[str, Any]]) -> Any:
    """Parameters with every ``$result[key]…`` reference to an earlier command's output filled in."""
    if isinstance(params, dict):
        return {key: resolve_references(value, results) for key, value in params.items()}
    if isinstance(params, list):
        return [resolve_references(value, results) for value in params]
    if isinstance(params, str):
        return _resolve_string(params, results)
    return params
