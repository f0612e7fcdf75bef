"""Fault injection: rules that make matching REST calls fail, slow down or lose their connection.

A rule matches a call by method name (a case-insensitive glob), optionally by the calling user, fires with a
probability and at most ``count`` times. The first live rule that matches and fires decides; the random
draws come from one generator that a ``seed`` makes repeatable.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from b24vote.errors import AdminError, B24Error, ErrorCode

__all__ = ["Fault", "FaultSet", "parse_faults"]

MAX_LATENCY_MS = 120_000
_CODES = {code.wire.lower(): code for code in ErrorCode}


@dataclass(frozen=True, slots=True)
class Fault:
    """What a rule does to a call: wait, then answer an error or drop the connection."""

    error_code: str | None = None
    status: int = 500
    description: str = ""
    latency_ms: float = 0.0
    drop: bool = False

    def error(self) -> B24Error | None:
        if self.error_code is None:
            return None
        return B24Error(self.error_code, self.description, self.status)


@dataclass(slots=True)
class FaultRule:
    """One registered rule and how often it may still fire."""

    id: int
    method: str
    caller: int | None
    probability: float
    remaining: int | None
    fault: Fault
    fired: int = 0

    def matches(self, method: str, caller: int | None) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if not fnmatchcase(method.lower(), self.method.lower()):
            return False
        return self.caller is None or self.caller == caller

    def as_dict(self) -> dict[str, Any]:
        f = self.fault
        return {
            "id": self.id,
            "method": self.method,
            "caller": self.caller,
            "probability": self.probability,
            "remaining": self.remaining,
            "fired": self.fired,
            "error": f.error_code,
            "status": f.status if f.error_code else None,
            "description": f.description if f.error_code else None,
            "latency_ms": f.latency_ms,
            "drop": f.drop,
        }


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A validated rule before it gets an id."""

    method: str
    caller: int | None
    probability: float
    count: int | None
    fault: Fault


class FaultSet:
    """The rules of one process, safe to use from several threads."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._random = random.Random()  # noqa: S311 - repeatable test behaviour, not security
        self._lock = threading.Lock()

    def add(self, specs: list[RuleSpec], seed: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if seed is not None:
                self._random.seed(seed)
            for spec in specs:
                rule = FaultRule(self._next_id, spec.method, spec.caller, spec.probability, spec.count, spec.fault)
                self._rules.append(rule)
                self._next_id += 1
            return [r.as_dict() for r in self._rules]

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.as_dict() for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    @property
    def active(self) -> bool:
        return bool(self._rules)

    def wants_caller(self, method: str) -> bool:
        """True when a live rule for ``method`` names a caller (so the caller is worth resolving)."""
        with self._lock:
            return any(r.caller is not None and r.matches(method, r.caller) for r in self._rules)

    def pick(self, method: str, caller: int | None) -> tuple[int, Fault] | None:
        """The rule that fires for this call, if any, counted as fired."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, caller):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule.id, rule.fault
        return None


def parse_faults(data: Any) -> tuple[list[RuleSpec], int | None]:
    """``[rule, …]`` or ``{"rules": [rule, …], "seed": n}``, validated; errors name the bad path."""
    seed: int | None = None
    if isinstance(data, dict):
        unknown = set(data) - {"rules", "seed"}
        if unknown:
            raise AdminError(f"{sorted(unknown)[0]}: unknown field (expected rules, seed)")
        if "seed" in data and data["seed"] is not None:
            if not isinstance(data["seed"], int) or isinstance(data["seed"], bool):
                raise AdminError("seed: must be an integer")
            seed = data["seed"]
        data = data.get("rules", [])
    if not isinstance(data, list):
        raise AdminError("rules: must be a list of rules")
    return [_rule(raw, f"rules[{i}]") for i, raw in enumerate(data)], seed


_FIELDS = {"method", "caller", "probability", "count", "error", "status", "description", "latency_ms", "drop"}


def _rule(raw: Any, path: str) -> RuleSpec:
    if not isinstance(raw, dict):
        raise AdminError(f"{path}: must be an object")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise AdminError(f"{path}.{sorted(unknown)[0]}: unknown field")
    method = raw.get("method")
    if not isinstance(method, str) or not method.strip():
        raise AdminError(f"{path}.method: a method name or glob is required (e.g. vote.* or *)")
    caller = _optional_int(raw, "caller", path, minimum=1)
    count = _optional_int(raw, "count", path, minimum=1)
    probability = _number(raw, "probability", path, 1.0)
    if not 0.0 <= probability <= 1.0:
        raise AdminError(f"{path}.probability: must be between 0 and 1")
    fault = _fault(raw, path)
    return RuleSpec(method.strip(), caller, probability, count, fault)


def _fault(raw: dict[str, Any], path: str) -> Fault:
    latency = _number(raw, "latency_ms", path, 0.0)
    if not 0 <= latency <= MAX_LATENCY_MS:
        raise AdminError(f"{path}.latency_ms: must be between 0 and {MAX_LATENCY_MS}")
    drop = raw.get("drop", False)
    if not isinstance(drop, bool):
        raise AdminError(f"{path}.drop: must be true or false")
    code, status, description = _error(raw, path)
    if drop and code is not None:
        raise AdminError(f"{path}: a rule either drops the connection or answers an error, not both")
    if not drop and code is None and latency == 0:
        raise AdminError(f"{path}: give error, latency_ms or drop")
    return Fault(code, status, description, latency, drop)


def _error(raw: dict[str, Any], path: str) -> tuple[str | None, int, str]:
    code = raw.get("error")
    status = _optional_int(raw, "status", path, minimum=400, maximum=599)
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise AdminError(f"{path}.description: must be a string")
    if code is None:
        if status is not None or description is not None:
            raise AdminError(f"{path}.error: status and description need an error code")
        return None, 500, ""
    if not isinstance(code, str) or not code.strip():
        raise AdminError(f"{path}.error: must be a Bitrix24 error code such as QUERY_LIMIT_EXCEEDED")
    known = _CODES.get(code.strip().lower())
    if known is not None:
        return known.wire, status or known.status, description or known.description
    if status is None:
        raise AdminError(f"{path}.status: {code!r} is not a code b24vote knows; give its HTTP status")
    return code.strip(), status, description or ""


def _optional_int(raw: dict[str, Any], key: str, path: str, *, minimum: int, maximum: int | None = None) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or (maximum and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
        raise AdminError(f"{path}.{key}: must be an integer {bound}")
    return value


def _number(raw: dict[str, Any], key: str, path: str, default: float) -> float:
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise AdminError(f"{path}.{key}: must be a number")
    return float(value)
