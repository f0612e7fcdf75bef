"""The request journal: the last N REST calls with their caller, parameters (secrets masked) and outcome."""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

__all__ = ["Entry", "Journal", "mask_params"]

MASK = "***"
_SECRET_KEYS = frozenset(
    {"auth", "access_token", "code", "client_secret", "refresh_token", "password", "signedattachid"}
)
# The same names inside query strings (batch commands carry their parameters that way).
_SECRET_IN_QUERY = re.compile(
    r"(?i)(^|[?&])(auth|access_token|refresh_token|client_secret|code|password|signedAttachId)=[^&]*"
)


def mask_params(value: Any) -> Any:
    """A copy of decoded parameters with every secret replaced by ``***``, at any depth."""
    if isinstance(value, dict):
        return {k: MASK if str(k).lower() in _SECRET_KEYS else mask_params(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_params(v) for v in value]
    if isinstance(value, str) and "=" in value:
        return _SECRET_IN_QUERY.sub(lambda m: f"{m[1]}{m[2]}={MASK}", value)
    return value


@dataclass(slots=True)
class Entry:
    """One REST call. ``token_hash`` (never shown) lets an OAuth caller be named when the journal is read."""

    id: int
    time: datetime
    kind: str  # "webhook" | "oauth" | "none"; "delivery" for an event sent to a handler
    user_id: int | None
    method: str
    params: Any
    status: int | None
    error: str | None
    duration_ms: float
    fault: int | None = None
    token_hash: str | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "caller": {"kind": self.kind, "user_id": self.user_id},
            "method": self.method,
            "params": self.params,
            "status": self.status,
            "error": self.error,
            "duration_ms": round(self.duration_ms, 3),
            "fault": self.fault,
        }


class Journal:
    """A bounded ring buffer of entries: the oldest fall off once ``size`` is reached."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._entries: deque[Entry] = deque(maxlen=size)
        self._next_id = 1
        self._lock = threading.Lock()

    def record(self, **values: Any) -> Entry:
        with self._lock:
            entry = Entry(id=self._next_id, **values)
            self._next_id += 1
            self._entries.append(entry)
            return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def query(self, method: str | None = None, since: datetime | None = None, limit: int | None = None) -> list[Entry]:
        """Entries oldest first; with ``limit``, the newest ``limit`` of those that match."""
        with self._lock:
            entries: Iterable[Entry] = list(self._entries)
        if method:
            pattern = method.lower()
            entries = [e for e in entries if fnmatchcase(e.method.lower(), pattern)]
        if since is not None:
            entries = [e for e in entries if e.time >= since]
        found = list(entries)
        return found[-limit:] if limit is not None else found
