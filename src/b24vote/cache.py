"""A bounded in-process map shared by the threads of one process (reads on the event loop, writes in workers).

Entries are keyed by content versions (see :func:`b24vote.storage.polls.new_version`), so they are never stale,
only unused: the oldest are dropped once the bound is reached.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

__all__ = ["BoundedCache"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._found: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._found.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if key not in self._found and len(self._found) >= self._limit:
                del self._found[next(iter(self._found))]  # the oldest entry
            self._found[key] = value

    def clear(self) -> None:
        with self._lock:
            self._found.clear()
