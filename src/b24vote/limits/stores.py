"""Where the limit counters live: this process (the default) or Redis, shared by every process.

Both stores implement :class:`LimitStore`; the Redis one runs each update as one Lua script, so processes
sharing a Redis server share one budget exactly. Times are unix seconds from the caller's clock.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from b24vote.limits import operating
from b24vote.limits.bucket import BucketState, take
from b24vote.limits.operating import Minute, OperatingState

__all__ = ["LimitStore", "MemoryLimitStore", "RedisLimitStore"]


class LimitStore(Protocol):
    """Counters for the leaky bucket and for operating time."""

    def take(self, key: str, now: float, burst: float, drain: float) -> bool:
        """Admit one request for ``key`` or refuse it (the bucket is full)."""
        ...

    def operating(self, key: str, method: str, now: float) -> OperatingState:
        """Operating time of ``method`` for ``key`` at ``now``."""
        ...

    def add_operating(self, key: str, method: str, seconds: float, now: float) -> OperatingState:
        """Add ``seconds`` of ``method`` time and return the new state."""
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

    def take(self, key: str, now: float, burst: float, drain: float) -> bool:
        with self._lock:
            admitted, self._buckets[key] = take(self._buckets.get(key), now, burst, drain)
            return admitted

    def operating(self, key: str, method: str, now: float) -> OperatingState:
        with self._lock:
            return operating.summarise(self._minutes.get((key, method), {}), now)

    def add_operating(self, key: str, method: str, seconds: float, now: float) -> OperatingState:
        with self._lock:
            buckets = operating.add(self._minutes.get((key, method), {}), max(seconds, 0.0), now)
            self._minutes[(key, method)] = buckets
            return operating.summarise(buckets, now)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._minutes.clear()


# The same arithmetic as limits/bucket.py. Numbers are stored with 17 significant digits so that a
# float survives the round trip through a Redis string unchanged.
_TAKE = """
local now, burst, drain = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local saved = redis.call('HMGET', KEYS[1], 'level', 'at')
local level, at = 0, now
if saved[1] then
  level, at = tonumber(saved[1]), tonumber(saved[2])
  local elapsed = now - at
  if elapsed < 0 then elapsed = 0 end
  level = math.max(level - elapsed * drain, 0)
  if now > at then at = now end
end
local admitted = 0
if level + 1 <= burst then
  level = level + 1
  admitted = 1
end
redis.call('HSET', KEYS[1], 'level', string.format('%.17g', level), 'at', string.format('%.17g', at))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / drain * 1000) + 60000)
return admitted
"""

# The same arithmetic as limits/operating.py: fields "<minute>" hold "start total".
_OPERATING = """
local now, seconds, window, width = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local minute = tostring(math.floor(now / width))
local fields = redis.call('HGETALL', KEYS[1])
local used, oldest, seen = 0, nil, false
for i = 1, #fields, 2 do
  local start, total = string.match(fields[i + 1], '^(%S+) (%S+)$')
  start, total = tonumber(start), tonumber(total)
  if now >= start + window then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    if fields[i] == minute and seconds >= 0 then
      total = total + seconds
      seen = true
      redis.call('HSET', KEYS[1], minute, string.format('%.17g %.17g', start, total))
    end
    used = used + total
    if oldest == nil or start < oldest then oldest = start end
  end
end
if seconds >= 0 and not seen then
  redis.call('HSET', KEYS[1], minute, string.format('%.17g %.17g', now, seconds))
  used = used + seconds
  if oldest == nil or now < oldest then oldest = now end
end
if oldest == nil then oldest = now end
redis.call('EXPIRE', KEYS[1], window + width)
return {string.format('%.17g', used), string.format('%.17g', oldest + window)}
"""


class RedisLimitStore:
    """Counters in Redis under ``prefix``; several b24vote processes pointed at one server share them."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)
        self._operating = client.register_script(_OPERATING)

    def take(self, key: str, now: float, burst: float, drain: float) -> bool:
        return bool(self._take(keys=[f"{self._prefix}bucket:{key}"], args=[repr(now), repr(burst), repr(drain)]))

    def operating(self, key: str, method: str, now: float) -> OperatingState:
        return self._run_operating(key, method, -1.0, now)

    def add_operating(self, key: str, method: str, seconds: float, now: float) -> OperatingState:
        return self._run_operating(key, method, max(seconds, 0.0), now)

    def _run_operating(self, key: str, method: str, seconds: float, now: float) -> OperatingState:
        args = [repr(now), repr(seconds), str(operating.WINDOW_SECONDS), str(operating.BUCKET_SECONDS)]
        used, reset_at = self._operating(keys=[f"{self._prefix}operating:{key}:{method}"], args=args)
        return OperatingState(float(used), int(float(reset_at)))

    def clear(self) -> None:
        for name in self._client.scan_iter(match=f"{self._prefix}*", count=500):
            self._client.delete(name)
