"""Limit counters in Redis, shared by every b24vote process pointed at one server.

Each update runs as one Lua script, so processes sharing a Redis server share one budget exactly; the
arithmetic is that of ``limits/bucket.py`` and ``limits/operating.py``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from b24vote.limits import operating
from b24vote.limits.operating import OperatingState

__all__ = ["RedisLimitStore"]

log = logging.getLogger("b24vote.limits")


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
_WINDOW = (str(operating.WINDOW_SECONDS), str(operating.BUCKET_SECONDS))  # the operating scripts' last arguments


class RedisLimitStore:
    """Counters in Redis under ``prefix``; several b24vote processes pointed at one server share them.

    A call's check is one script (bucket and operating time) before it runs: :meth:`enter` waits for it,
    :meth:`enter_async` awaits it with the checks of other calls in the same pipeline. The operating time a call
    then used is queued and written in the same pipeline as a later check, or by a background flush within
    50 ms when no call follows: other processes see it at most 50 ms later, and this process's next check sees
    it unless that check overtakes a flush already on its way.
    """

    def __init__(self, client: Any, prefix: str, aclient: Any = None) -> None:
        """``client``: a ``redis.Redis``; ``aclient``: a ``redis.asyncio.Redis`` to the same server, for
        :meth:`enter_async` (without it, calls check on ``client`` and the event loop waits for the reply)."""
        self._client = client
        self._aclient = aclient
        self._checks: list[tuple[_Command, asyncio.Future[Any]]] = []  # waiting for the next pipeline
        self._sender: asyncio.Task[None] | None = None
        self._prefix = prefix
        self._operating = client.register_script(_OPERATING)
        self._enter = client.register_script(_ENTER)
        self._pending: list[tuple[str, str, float, float]] = []
        self._pending_lock = threading.Lock()
        self._io_lock = threading.Lock()  # a flush and a check go out in the order their calls were made
        self._flusher: threading.Thread | None = None
        self._closed = threading.Event()

    def enter(
        self, key: str, method: str, now: float, bucket: tuple[float, float] | None
    ) -> tuple[bool, OperatingState]:
        """:meth:`enter_async` waiting for the reply (the synchronous client, behind the queued operating time)."""
        with self._io_lock:
            return _entered(self._run([*self._take_pending(), self._check(key, method, now, bucket)])[-1])

    async def enter_async(
        self, key: str, method: str, now: float, bucket: tuple[float, float] | None
    ) -> tuple[bool, OperatingState]:
        """:meth:`enter` on the asyncio client, coalesced: the checks of the calls that start while a round trip
        is out wait and go together in the next pipeline, behind the operating time queued by then.

        Under load one round trip carries the checks of many calls, so the socket work and the client's per-
        pipeline cost are shared; alone, a call costs one round trip as with :meth:`enter`. A flush already on
        its way (the background thread) may reach Redis after a check: that check then misses at most the
        calls of that one flush, which the next check sees.
        """
        if self._aclient is None:  # no asyncio client: the event loop waits for the reply
            return self.enter(key, method, now, bucket)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._checks.append((self._check(key, method, now, bucket), answer))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_checks())
        return _entered(await answer)

    def _check(self, key: str, method: str, now: float, bucket: tuple[float, float] | None) -> _Command:
        """The script of a call starting: the bucket (unless ``bucket`` is None) and a read of its operating time."""
        burst, drain = (repr(bucket[0]), repr(bucket[1])) if bucket is not None else ("", "")
        keys = [f"{self._prefix}bucket:{key}", f"{self._prefix}operating:{key}:{method}"]
        return self._enter, keys, [repr(now), burst, drain, *_WINDOW]

    async def _send_checks(self) -> None:
        """Send the waiting checks, one pipeline at a time, until none waits."""
        try:
            while self._checks:
                waiting, self._checks = self._checks, []
                records = self._take_pending()
                try:
                    results = await self._run_async([*records, *(command for command, _ in waiting)])
                except Exception as exc:  # Redis unreachable: every waiting call hears it (and is let through)
                    results = [exc] * (len(records) + len(waiting))
                for (_, answer), result in zip(waiting, results[len(records) :], strict=True):
                    if answer.done():  # the call went away (client disconnect)
                        continue
                    if isinstance(result, Exception):
                        answer.set_exception(result)
                    else:
                        answer.set_result(result)
        finally:
            self._sender = None

    async def _run_async(self, commands: list[_Command]) -> list[Any]:
        """:meth:`_run` on the asyncio client; a failing command's result is its exception."""
        pipe = _queue(self._aclient.pipeline(transaction=False), commands)
        results: list[Any] = await pipe.execute(raise_on_error=False)
        for index, result in enumerate(results):
            if _no_script(result):  # Redis lost the scripts (a restart): load them, rerun only what failed
                script, keys, args = commands[index]
                await self._aclient.script_load(script.script)
                try:
                    results[index] = await self._aclient.evalsha(script.sha, len(keys), *keys, *args)
                except Exception as exc:
                    results[index] = exc
        return results

    @property
    def awaits(self) -> bool:
        """True when calls can await their check (:meth:`enter_async`)."""
        return self._aclient is not None

    async def aclose(self) -> None:
        """Close the asyncio client's connections (they belong to the serving event loop, which is ending)."""
        if self._aclient is not None:
            await self._aclient.aclose()

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
        return self._operating, [f"{self._prefix}operating:{key}:{method}"], [repr(now), repr(seconds), *_WINDOW]

    def _run(self, commands: list[_Command]) -> list[Any]:
        """The scripts in one pipelined round trip, by their SHA (a redis-py script object in a pipeline would
        ask ``SCRIPT EXISTS`` first, a second round trip). Scripts Redis lost (a restart) are loaded and rerun
        one by one, so no command runs twice."""
        pipe = _queue(self._client.pipeline(transaction=False), commands)
        results: list[Any] = pipe.execute(raise_on_error=False)
        for index, result in enumerate(results):
            if _no_script(result):
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


def _queue(pipe: Any, commands: list[_Command]) -> Any:
    """``pipe`` (synchronous or asyncio) with each script queued by its SHA."""
    for script, keys, args in commands:
        pipe.evalsha(script.sha, len(keys), *keys, *args)
    return pipe


def _entered(result: Any) -> tuple[bool, OperatingState]:
    """The reply of the entering script: (admitted, the operating state before the call)."""
    admitted, used, reset_at = result
    return bool(admitted), OperatingState(float(used), int(float(reset_at)))


def _no_script(result: Any) -> bool:
    from redis.exceptions import NoScriptError  # redis is imported only by deployments that use it

    return isinstance(result, NoScriptError)
