"""Operating time: seconds of method execution per credential and method, in one-minute buckets.

../shared/reference/bitrix24-docs/platform/limits.md: the time of a method is summed in ten one-minute buckets;
a bucket counts from the first call of its minute for ten minutes. ``operating`` is the sum of the live buckets
and ``operating_reset_at`` the moment the oldest one drops out. A call is refused when, before it starts, the
sum is already above the limit; the call that pushes it over still completes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUCKET_SECONDS", "WINDOW_SECONDS", "Minute", "OperatingState", "add", "live", "summarise"]

WINDOW_SECONDS = 600
BUCKET_SECONDS = 60


@dataclass(frozen=True, slots=True)
class OperatingState:
    """The time used in the live buckets and when the oldest of them expires (unix seconds)."""

    used: float
    reset_at: int


@dataclass(frozen=True, slots=True)
class Minute:
    """One bucket: when its first call started and the seconds summed in it."""

    start: float
    total: float


def live(buckets: dict[int, Minute], now: float) -> dict[int, Minute]:
    """The buckets that still count at ``now``."""
    return {index: b for index, b in buckets.items() if now < b.start + WINDOW_SECONDS}


def add(buckets: dict[int, Minute], seconds: float, now: float) -> dict[int, Minute]:
    """The live buckets after adding ``seconds`` to the bucket of ``now``'s minute."""
    current = live(buckets, now)
    index = int(now // BUCKET_SECONDS)
    bucket = current.get(index) or Minute(now, 0.0)
    current[index] = Minute(bucket.start, bucket.total + seconds)
    return current


def summarise(buckets: dict[int, Minute], now: float) -> OperatingState:
    """``operating`` and ``operating_reset_at`` for the time block; a fresh window when nothing counts."""
    current = live(buckets, now)
    if not current:
        return OperatingState(0.0, int(now + WINDOW_SECONDS))
    oldest = min(b.start for b in current.values())
    return OperatingState(sum(b.total for b in current.values()), int(oldest + WINDOW_SECONDS))
