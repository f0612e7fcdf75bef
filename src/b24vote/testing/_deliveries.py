"""The event deliveries the server holds, as typed Python objects over ``/_b24vote/deliveries`` (docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from b24vote.testing._http import AdminClient

__all__ = ["Deliveries", "HandlerFailure", "PendingDelivery"]


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A POST waiting to be sent (or being sent: ``sending``); ``attempts`` counts the tries made so far."""

    id: int
    handler_id: int
    handler: str
    event: str
    attempts: int
    due_at: datetime
    sending: bool

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> PendingDelivery:
        return cls(**{**entry, "due_at": datetime.fromisoformat(entry["due_at"])})


@dataclass(frozen=True, slots=True)
class HandlerFailure:
    """The next ``count`` deliveries to a handler fail with ``status`` without being sent."""

    count: int
    status: int


class Deliveries:
    """Events on their way to handlers: list them, send them now, make a handler's next ones fail."""

    def __init__(self, admin: AdminClient) -> None:
        self._admin = admin

    def pending(self) -> list[PendingDelivery]:
        """The deliveries waiting, oldest first."""
        return [PendingDelivery.from_json(d) for d in self._admin.call("GET", "/deliveries")["deliveries"]]

    def failing(self) -> dict[str, HandlerFailure]:
        """The handler URLs set to fail, with what is left of it."""
        found = self._admin.call("GET", "/deliveries")["failing"]
        return {url: HandlerFailure(**left) for url, left in found.items()}

    def send_now(self) -> list[PendingDelivery]:
        """Make every waiting retry due, send what is due and wait for those sends; what still waits."""
        return [PendingDelivery.from_json(d) for d in self._admin.call("POST", "/deliveries/send")["deliveries"]]

    def fail_next(self, handler: str, count: int = 1, *, status: int = 500) -> None:
        """Fail the next ``count`` deliveries to ``handler`` with ``status`` (0 stops failing; this process)."""
        self._admin.call("POST", "/deliveries/fail", {"handler": handler, "count": count, "status": status})
