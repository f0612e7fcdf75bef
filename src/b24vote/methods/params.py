"""Reading method parameters the way PHP would: form values arrive as strings, JSON ones typed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from b24vote.errors import MethodError

__all__ = ["Params", "php_int", "to_list"]

_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


def php_int(value: Any) -> int:
    """PHP's ``(int)`` cast: ``"12"`` → 12, ``"12abc"`` → 12, ``"abc"`` → 0, ``True`` → 1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else 0  # as for strings: beyond PHP's int range is 0
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 2**63 else 0
    if isinstance(value, str):
        match = _LEADING_INT.match(value)
        if not match:
            return 0
        number = int(match[1])
        return number if -(2**63) <= number < 2**63 else 0
    return 0


def to_list(value: Any) -> list[Any]:
    """A PHP array's values in order: lists as they are, maps by value, a scalar as one element."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]


class Params:
    """The decoded parameters of one call."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)
        self._upper = {k.upper(): k for k in self.data}

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, *, any_case: bool = False) -> Any:
        """The value as decoded, or None; ``any_case`` matches the name case-insensitively (im.* methods)."""
        if name in self.data:
            return self.data[name]
        if any_case:
            key = self._upper.get(name.upper())
            if key is not None:
                return self.data[key]
        return None

    def has(self, name: str, *, any_case: bool = False) -> bool:
        value = self.raw(name, any_case=any_case)
        return value is not None and value != ""

    def integer(self, name: str, default: int = 0, *, any_case: bool = False) -> int:
        value = self.raw(name, any_case=any_case)
        return default if value is None or value == "" else php_int(value)

    def string(self, name: str, default: str = "", *, any_case: bool = False) -> str:
        value = self.raw(name, any_case=any_case)
        if value is None:
            return default
        if isinstance(value, bool):
            return "1" if value else ""
        if isinstance(value, (dict, list)):
            raise MethodError("ERROR_ARGUMENT", f"Parameter '{name}' must be a string")
        return str(value)

    def boolean(self, name: str, default: bool = False, *, any_case: bool = False) -> bool:
        """Y/N, true/false, 1/0 as Bitrix24 accepts them."""
        value = self.raw(name, any_case=any_case)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return value != 0
        if isinstance(value, str):
            return value.strip().lower() in ("y", "yes", "true", "1", "on")
        return bool(value)

    def array(self, name: str, *, any_case: bool = False) -> list[Any]:
        return to_list(self.raw(name, any_case=any_case))

    def mapping(self, name: str, *, any_case: bool = False) -> dict[str, Any]:
        """A PHP array as a map with string keys (a list becomes ``{"0": …, "1": …}``)."""
        value = self.raw(name, any_case=any_case)
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        if isinstance(value, list):
            return {str(i): v for i, v in enumerate(value)}
        return {}
