"""Where the limit counters live: the protocol every store follows, and this process (the default).

The Redis store (``limits/redis_store.py``) shares the counters between processes. Times are unix seconds
from the caller's clock.
"""

from __future__ import annotations

import threading
from typing import Protocol

from b24vote.limits import operating
from b24vote.limits.bucket import BucketState, take
from b24vote.limits.operating import Minute, OperatingState

__all__ = ["LimitStore", "MemoryLimitStore"]


class LimitStore(Protocol):
    """Counters for the leaky bucket and for operating time, checked with or without awaiting the store."""

    def enter(
        self, key: str, method: str, now: float, bucket: tuple[float, float] | None
    ) -> tuple[bool, OperatingState]:
        """A call starting: take from the bucket (``(burst, drain)``, None = not counted) and read the operating
        time of ``method``, at once; returns (admitted, the operating state before the call)."""
        ...

    async def enter_async(
        self, key: str, method: str, now: float, bucket: tuple[float, float] | None
    ) -> tuple[bool, OperatingState]:
        """:meth:`enter` for a caller on the event loop; it awaits the store when :attr:`awaits` says so."""
        ...

    @property
    def awaits(self) -> bool:
        """True when :meth:`enter_async` awaits the network (the event loop serves other calls meanwhile)."""
        ...

    def add_operating(
        self, key: str, method: str, seconds: float, now: float, before: OperatingState | None = None
    ) -> OperatingState:
        """Add ``seconds`` of ``method`` time and return the new state. ``before``: the state :meth:`enter` read
        for this call; a store may then write the addition later (no later than the next :meth:`enter`)."""
        ...

    def close(self) -> None:
        """Write what is still pending (shutdown)."""
        ...

    async def aclose(self) -> None:
        """Close what the store holds on the event loop (shutdown, on the serving loop)."""
        ...

    def clear(self) -> None:
        """Forget every counter (tests, emulator reset)."""
        ...


class MemoryLimitStore:
    """Counters in this process, behind one lock."""

    def __init__(self) -> None:
        self._buckets: dict[str, BucketState] = {}
        self._minutes: dict[tuple[str, str], dict[int, Minute]] = {}
        self._lock = threading.Lock()

    def enter(
        self, key: str, method: str, now: float, bucket: tuple[float, float] | None
    ) -> tuple[bool, OperatingState]:
        with self._lock:
            admitted = True
            if bucket is not None:
                admitted, self._buckets[key] = take(self._buckets.get(key), now, *bucket)
            return admitted, operating.summarise(self._minutes.get((key, method), {}), now)

    async def enter_async(
        self, key: str, method: str, now: float, bucket: tuple[float, float] | None
    ) -> tuple[bool, OperatingState]:
        return self.enter(key, method, now, bucket)

    @property
    def awaits(self) -> bool:
        return False

    def add_operating(
        self, key: str, method: str, seconds: float, now: float, before: OperatingState | None = None
    ) -> OperatingState:
        with self._lock:
            buckets = operating.add(self._minutes.get((key, method), {}), max(seconds, 0.0), now)
            self._minutes[(key, method)] = buckets
            return operating.summarise(buckets, now)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._minutes.clear()

    def close(self) -> None:
        return

    async def aclose(self) -> None:
        return
