"""Where the limit counters live: this process (the default) or Redis, shared by every process.

Both stores implement :class:`LimitStore`; the Redis one runs each update as one Lua script, so processes
sharing a Redis server share one budget exactly. Times are unix seconds from the caller's clock.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from b24vote.limits import operating
from b24vote.limits.bucket import BucketState, take
from b24vote.limits.operating import Minute, OperatingState

__all__ = ["LimitStore", "MemoryLimitStore", "RedisLimitStore"]

log = logging.getLogger("b24vote.limits")


class LimitStore(Protocol):
    """Counters for the leaky bucket and for operating time."""

    def take(self, key: str, now: float, burst: float, drain: float) -> bool:
        """Admit one request for ``key`` or refuse it (the bucket is full)."""
        ...

    def add_operating(
        self, key: str, method: str, seconds: float, now: float, before: OperatingState | None = None
    ) -> OperatingState:
        """Add ``seconds`` of ``method`` time and return the new state. ``before``: the state :meth:`enter` read
        for this call; a store may then write the addition later (no later than the next :meth:`enter`)."""
        ...

    def enter(
        self, key: str, method: str, now: float, bucket: tuple[float, float] | None
    ) -> tuple[bool, OperatingState]:
        """A call starting: take from the bucket (``(burst, drain)``, None = not counted) and read the operating
        time of ``method``, at once; returns (admitted, the operating state before the call)."""
        ...

    def close(self) -> None:
        """Write what is still pending (shutdown)."""
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

    def enter(
        self, key: str, method: str, now: float, bucket: tuple[float, float] | None
    ) -> tuple[bool, OperatingState]:
        with self._lock:
            admitted = True
            if bucket is not None:
                admitted, self._buckets[key] = take(self._buckets.get(key), now, *bucket)
            return admitted, operating.summarise(self._minutes.get((key, method), {}), now)

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


# The same arithmetic as limits/bucket.py. Numbers are stored with 17 significant digits so that a
# float survives the round trip through a Redis string unchanged.
_BUCKET = """
local function bucket_take(key, now, burst, drain)
  local saved = redis.call('HMGET', key, 'level', 'at')
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
  redis.call('HSET', key, 'level', string.format('%.17g', level), 'at', string.format('%.17g', at))
  redis.call('PEXPIRE', key, math.ceil(burst / drain * 1000) + 60000)
  return admitted
end
"""

# The same arithmetic as limits/operating.py: fields "<minute>" hold "start total"; seconds < 0 only reads.
_MINUTES = """
local function operating_update(key, now, seconds, window, width)
  local minute = tostring(math.floor(now / width))
  local fields = redis.call('HGETALL', key)
  local used, oldest, seen = 0, nil, false
  for i = 1, #fields, 2 do
    local start, total = string.match(fields[i + 1], '^(%S+) (%S+)$')
    start, total = tonumber(start), tonumber(total)
    if now >= start + window then
      redis.call('HDEL', key, fields[i])
    else
      if fields[i] == minute and seconds >= 0 then
        total = total + seconds
        seen = true
        redis.call('HSET', key, minute, string.format('%.17g %.17g', start, total))
      end
      used = used + total
      if oldest == nil or start < oldest then oldest = start end
    end
  end
  if seconds >= 0 and not seen then
    redis.call('HSET', key, minute, string.format('%.17g %.17g', now, seconds))
    used = used + seconds
    if oldest == nil or now < oldest then oldest = now end
  end
  if oldest == nil then oldest = now end
  redis.call('EXPIRE', key, window + width)
  return {string.format('%.17g', used), string.format('%.17g', oldest + window)}
end
"""

_TAKE = _BUCKET + "return bucket_take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))"
_OPERATING = (
    _MINUTES + "return operating_update(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), "
    "tonumber(ARGV[4]))"
)
# A call starting: the bucket (unless ARGV[2] is empty: not counted) and a read of the operating time, in one
# round trip.
_ENTER = (
    _BUCKET
    + _MINUTES
    + """
local now = tonumber(ARGV[1])
local admitted = 1
if ARGV[2] ~= '' then admitted = bucket_take(KEYS[1], now, tonumber(ARGV[2]), tonumber(ARGV[3])) end
local state = operating_update(KEYS[2], now, -1, tonumber(ARGV[4]), tonumber(ARGV[5]))
return {admitted, state[1], state[2]}
"""
)


_FLUSH_SECONDS = 0.05  # the longest a call's operating time waits to be written when no call follows it
_Command = tuple[Any, list[str], list[str]]  # a registered script, its keys, its arguments


class RedisLimitStore:
    """Counters in Redis under ``prefix``; several b24vote processes pointed at one server share them.

    A call costs one round trip before it runs (:meth:`enter`: bucket and operating check in one script). The
    operating time it then used is queued and written in the same pipeline as the next call's check, or by a
    background flush within 50 ms when no call follows: this process's own calls are always counted before its
    next check, other processes see them at most 50 ms later.
    """

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)
        self._operating = client.register_script(_OPERATING)
        self._enter = client.register_script(_ENTER)
        self._pending: list[tuple[str, str, float, float]] = []
        self._pending_lock = threading.Lock()
        self._io_lock = threading.Lock()  # a flush and a check go out in the order their calls were made
        self._flusher: threading.Thread | None = None
        self._closed = threading.Event()

    def take(self, key: str, now: float, burst: float, drain: float) -> bool:
        return bool(self._take(keys=[f"{self._prefix}bucket:{key}"], args=[repr(now), repr(burst), repr(drain)]))

    def enter(
        self, key: str, method: str, now: float, bucket: tuple[float, float] | None
    ) -> tuple[bool, OperatingState]:
        burst, drain = (repr(bucket[0]), repr(bucket[1])) if bucket is not None else ("", "")
        check = (
            self._enter,
            [f"{self._prefix}bucket:{key}", f"{self._prefix}operating:{key}:{method}"],
            [repr(now), burst, drain, str(operating.WINDOW_SECONDS), str(operating.BUCKET_SECONDS)],
        )
        with self._io_lock:
            admitted, used, reset_at = self._run([*self._take_pending(), check])[-1]
        return bool(admitted), OperatingState(float(used), int(float(reset_at)))

    def add_operating(
        self, key: str, method: str, seconds: float, now: float, before: OperatingState | None = None
    ) -> OperatingState:
        seconds = max(seconds, 0.0)
        if before is None:  # no state read for this call: write now and read the result
            with self._io_lock:
                used, reset_at = self._run([self._record(key, method, seconds, now)])[0]
            return OperatingState(float(used), int(float(reset_at)))
        with self._pending_lock:
            self._pending.append((key, method, seconds, now))
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = threading.Thread(target=self._flush_loop, name="b24vote-limits-flush", daemon=True)
                self._flusher.start()
        # What the script will compute once it runs, unless another process adds to the same minute meanwhile.
        return OperatingState(before.used + seconds, before.reset_at)

    def close(self) -> None:
        self._closed.set()
        self.flush()

    def flush(self) -> None:
        """Write the queued operating time now (lost, and logged by the caller, if Redis fails)."""
        with self._io_lock:
            pending = self._take_pending()
            if pending:
                self._run(pending)

    def _flush_loop(self) -> None:
        while not self._closed.wait(_FLUSH_SECONDS):
            try:
                self.flush()
            except Exception:
                log.exception("writing operating time to Redis failed; those calls are not counted")

    def _take_pending(self) -> list[_Command]:
        with self._pending_lock:
            pending, self._pending = self._pending, []
        return [self._record(key, method, seconds, now) for key, method, seconds, now in pending]

    def _record(self, key: str, method: str, seconds: float, now: float) -> _Command:
        args = [repr(now), repr(seconds), str(operating.WINDOW_SECONDS), str(operating.BUCKET_SECONDS)]
        return self._operating, [f"{self._prefix}operating:{key}:{method}"], args

    def _run(self, commands: list[_Command]) -> list[Any]:
        """The scripts in one pipelined round trip, by their SHA (a redis-py script object in a pipeline would
        ask ``SCRIPT EXISTS`` first, a second round trip). Scripts Redis lost (a restart) are loaded and rerun
        one by one, so no command runs twice."""
        from redis.exceptions import NoScriptError  # redis is imported only by deployments that use it

        pipe = self._client.pipeline(transaction=False)
        for script, keys, args in commands:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        results: list[Any] = pipe.execute(raise_on_error=False)
        for index, result in enumerate(results):
            if isinstance(result, NoScriptError):
                script, keys, args = commands[index]
                results[index] = script(keys=keys, args=args)  # EVALSHA, loading the script on NOSCRIPT
            elif isinstance(result, Exception):
                raise result
        return results

    def clear(self) -> None:
        with self._pending_lock:
            self._pending.clear()
        for name in self._client.scan_iter(match=f"{self._prefix}*", count=500):
            self._client.delete(name)
