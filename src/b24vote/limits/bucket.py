"""The leaky bucket of ../shared/reference/bitrix24-docs/platform/limits.md, as pure arithmetic.

Each admitted request adds 1 to a counter that drains at ``drain`` per second; a request that would lift the
counter above ``burst`` is refused (and not counted), so ``burst`` requests in a row pass, the next one gets
``503 QUERY_LIMIT_EXCEEDED``, and one more passes every ``1 / drain`` seconds after that.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BucketState", "take"]


@dataclass(frozen=True, slots=True)
class BucketState:
    """The counter and the (unix) time it was last brought up to date."""

    level: float
    at: float


def take(state: BucketState | None, now: float, burst: float, drain: float) -> tuple[bool, BucketState]:
    """Try to admit one request at ``now``; returns whether it passed and the new state.

    A clock that steps backwards (another process's, through Redis) drains nothing rather than refilling.
    """
    if state is None:
        level, at = 0.0, now
    else:
        elapsed = max(now - state.at, 0.0)
        level, at = max(state.level - elapsed * drain, 0.0), max(state.at, now)
    if level + 1 > burst:
        return False, BucketState(level, at)
    return True, BucketState(level + 1, at)
