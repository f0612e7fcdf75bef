"""The server's clock, fault rules and journal, as typed Python objects over the admin API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from b24vote.testing._http import AdminClient

__all__ = ["Call", "Clock", "FaultRule", "Faults", "Journal"]


class Clock:
    """The time every part of the server reads: the ``time`` block, poll end dates, token expiry, rate limits."""

    def __init__(self, admin: AdminClient) -> None:
        self._admin = admin

    def _post(self, **change: Any) -> datetime:
        return datetime.fromisoformat(self._admin.call("POST", "/clock", change)["now"])

    def now(self) -> datetime:
        """The server's current time."""
        return datetime.fromisoformat(self._admin.call("GET", "/clock")["now"])

    @property
    def frozen(self) -> bool:
        return bool(self._admin.call("GET", "/clock")["frozen"])

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock (at ``at``, an aware datetime, when given)."""
        return self._post(freeze=True, **({"set": at.isoformat()} if at is not None else {}))

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (an aware datetime), frozen or running as before."""
        return self._post(set=when.isoformat())

    def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds`` (to go back, use :meth:`set`)."""
        return self._post(advance=seconds)

    def release(self) -> datetime:
        """Let a frozen clock run again from where it stands."""
        return self._post(freeze=False)

    def reset(self) -> datetime:
        """Back to the real time, running."""
        return self._post(reset=True)


@dataclass(frozen=True, slots=True)
class FaultRule:
    """A fault rule as the server holds it: how often it may still fire (``None``: always) and has fired."""

    id: int
    method: str
    caller: int | None
    probability: float
    remaining: int | None
    fired: int
    error: str | None
    status: int | None
    description: str | None
    latency_ms: float
    drop: bool


class Faults:
    """Rules that make matching REST calls fail, slow down or drop, before the method runs."""

    def __init__(self, admin: AdminClient) -> None:
        self._admin = admin

    def add(
        self,
        method: str = "*",
        *,
        error: str | None = None,
        count: int | None = None,
        latency_ms: float = 0,
        drop: bool = False,
        probability: float = 1.0,
        caller: int | None = None,
        status: int | None = None,
        description: str | None = None,
        seed: int | None = None,
    ) -> FaultRule:
        """Add one rule (``method`` is a name or glob such as ``vote.*``); the rule as registered."""
        rule: dict[str, Any] = {"method": method, "latency_ms": latency_ms, "drop": drop, "probability": probability}
        optional = {"error": error, "count": count, "caller": caller, "status": status, "description": description}
        rule.update({key: value for key, value in optional.items() if value is not None})
        listed = self._admin.call("POST", "/faults", {"rules": [rule], "seed": seed})["rules"]
        return FaultRule(**listed[-1])

    def rules(self) -> list[FaultRule]:
        return [FaultRule(**rule) for rule in self._admin.call("GET", "/faults")["rules"]]

    def remove(self, rule: FaultRule | int) -> None:
        self._admin.call("DELETE", f"/faults/{rule.id if isinstance(rule, FaultRule) else rule}")

    def clear(self) -> None:
        self._admin.call("DELETE", "/faults")


@dataclass(frozen=True, slots=True)
class Call:
    """One REST call the server recorded; secrets in ``params`` read ``***``; a dropped call has ``status=None``."""

    id: int
    time: datetime
    caller_kind: str  # "webhook" | "oauth" | "none"
    user_id: int | None
    method: str
    params: Any
    status: int | None
    error: str | None
    duration_ms: float
    fault: int | None

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> Call:
        caller = entry["caller"]
        return cls(
            id=entry["id"],
            time=datetime.fromisoformat(entry["time"]),
            caller_kind=caller["kind"],
            user_id=caller["user_id"],
            method=entry["method"],
            params=entry["params"],
            status=entry["status"],
            error=entry["error"],
            duration_ms=entry["duration_ms"],
            fault=entry["fault"],
        )


class Journal:
    """The REST calls the server received, oldest first."""

    def __init__(self, admin: AdminClient) -> None:
        self._admin = admin

    def calls(
        self, method: str | None = None, *, since: datetime | None = None, limit: int | None = None
    ) -> list[Call]:
        """Calls whose method matches ``method`` (a name or glob), at or after ``since``, the newest ``limit``."""
        query = {"method": method, "since": since.isoformat() if since else None, "limit": limit}
        params = {key: str(value) for key, value in query.items() if value is not None}
        entries = self._admin.call("GET", "/journal", query=params)["entries"]
        return [Call.from_json(entry) for entry in entries]

    def clear(self) -> None:
        self._admin.call("DELETE", "/journal")
