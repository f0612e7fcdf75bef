"""A bounded in-process map of versioned content, shared by the threads of one process (reads on the event loop,
writes in workers).

Each entry is the content of one thing (a poll's questions, their rendering) at one version (see
:func:`b24vote.storage.polls.new_version`): a read names the version it saw, and gets the content only if that
is the version kept, so an entry is never stale, only superseded. One version per thing is kept, the one put
last: a busy poll whose every vote makes a new version holds one entry, not one per vote. The oldest things are
dropped once the bound is reached.
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
        self._found: dict[K, tuple[int, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, version: int) -> V | None:
        """The content of ``key`` at ``version``, if that is the version kept."""
        found = self._found.get(key)
        return found[1] if found is not None and found[0] == version else None

    def version_of(self, key: K) -> int | None:
        """The version of ``key`` kept, if any."""
        found = self._found.get(key)
        return found[0] if found is not None else None

    def put(self, key: K, version: int, value: V) -> None:
        """Keep ``value`` as the content of ``key`` at ``version``, in place of any other version of it."""
        with self._lock:
            if key not in self._found and len(self._found) >= self._limit:
                del self._found[next(iter(self._found))]  # the oldest thing
            self._found[key] = (version, value)

    def clear(self) -> None:
        with self._lock:
            self._found.clear()
