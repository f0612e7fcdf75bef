"""Operating time: seconds of method execution per credential and method in a 10-minute window.

Bitrix24 reports the running total as ``time.operating`` and the end of the window as
``time.operating_reset_at`` (../shared/reference/bitrix24-docs/platform/limits.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["WINDOW_SECONDS", "MemoryOperatingStore", "OperatingState"]

WINDOW_SECONDS = 600


@dataclass(frozen=True, slots=True)
class OperatingState:
    """The budget used in the current window and when the window resets (unix seconds)."""

    used: float
    reset_at: int


class MemoryOperatingStore:
    """Windows kept in this process."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def peek(self, key: str, method: str, now: float) -> OperatingState:
        """The state before a call, without adding to it."""
        with self._lock:
            start, used = self._current(key, method, now)
            return OperatingState(used, int(start + WINDOW_SECONDS))

    def add(self, key: str, method: str, seconds: float, now: float) -> OperatingState:
        """Add ``seconds`` of method time and return the new state."""
        with self._lock:
            start, used = self._current(key, method, now)
            used += max(seconds, 0.0)
            self._windows[(key, method)] = (start, used)
            return OperatingState(used, int(start + WINDOW_SECONDS))

    def _current(self, key: str, method: str, now: float) -> tuple[float, float]:
        start, used = self._windows.get((key, method), (now, 0.0))
        if now >= start + WINDOW_SECONDS:
            start, used = now, 0.0
        return start, used

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
