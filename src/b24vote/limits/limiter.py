"""The two limits of ../shared/reference/bitrix24-docs/platform/limits.md over one store, as the transport uses them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from b24vote.limits.operating import WINDOW_SECONDS, OperatingState
from b24vote.limits.stores import LimitStore, MemoryLimitStore

if TYPE_CHECKING:
    from b24vote.config import Settings

__all__ = ["Entry", "Limiter", "build_limiter"]

log = logging.getLogger("b24vote.limits")


@dataclass(frozen=True, slots=True)
class Entry:
    """What the limits said of a call about to run, and the operating state they read for it."""

    admitted: bool
    blocked: bool
    before: OperatingState | None = None


_OPEN = Entry(admitted=True, blocked=False)


def _let_through(now: float) -> Entry:
    """A call the store could not check (Redis down): admitted, and with an operating state, so that
    :meth:`Limiter.record` queues its time for the store's background flush. Without one, ``record`` wrote it
    at once, on the event loop: each call of a process then waited for Redis's connect timeout in turn while
    Redis did not answer, and the whole process stalled."""
    return Entry(admitted=True, blocked=False, before=OperatingState(0.0, int(now + WINDOW_SECONDS)))


@dataclass
class Limiter:
    """The leaky bucket (``burst``/``drain``, None = off) and the operating-time budget (None = off).

    A store that fails (Redis down) lets requests through: b24vote keeps answering and logs the problem.
    """

    store: LimitStore = field(default_factory=MemoryLimitStore)
    burst: float | None = None
    drain: float = 2.0
    operating_limit: float | None = None

    def enter(self, key: str, method: str, now: float, *, counted: bool = True) -> Entry:
        """A call of ``method`` starting: admitted by the bucket? blocked by its operating time? In one store round
        trip. ``counted``: False for the commands of a batch, which took its place in the bucket."""
        bucket = self._bucket(counted)
        if bucket is None and self.operating_limit is None:
            return _OPEN
        try:
            return self._entry(*self.store.enter(key, method, now, bucket))
        except Exception:
            log.exception("limit store failed; request let through")
            return _let_through(now)

    async def enter_async(self, key: str, method: str, now: float, *, counted: bool = True) -> Entry:
        """:meth:`enter` awaiting the store, so that the event loop serves other calls meanwhile (:attr:`awaits`)."""
        bucket = self._bucket(counted)
        if bucket is None and self.operating_limit is None:
            return _OPEN
        try:
            return self._entry(*await self.store.enter_async(key, method, now, bucket))
        except Exception:
            log.exception("limit store failed; request let through")
            return _let_through(now)

    @property
    def awaits(self) -> bool:
        """True when a call should await :meth:`enter_async` (a limit is on and the store answers over the
        network with an asyncio client) rather than block the event loop in :meth:`enter`."""
        on = self.burst is not None or self.operating_limit is not None
        return on and self.store.awaits

    def _bucket(self, counted: bool) -> tuple[float, float] | None:
        return (self.burst, self.drain) if counted and self.burst is not None else None

    def _entry(self, admitted: bool, before: OperatingState) -> Entry:
        return Entry(admitted, self.operating_limit is not None and before.used > self.operating_limit, before)

    def record(self, key: str, method: str, seconds: float, now: float, entry: Entry | None = None) -> OperatingState:
        """Count a finished call; with the limit off nothing is kept and the time block shows zero."""
        if self.operating_limit is None:
            return OperatingState(0.0, int(now + WINDOW_SECONDS))
        try:
            return self.store.add_operating(key, method, seconds, now, entry.before if entry else None)
        except Exception:
            log.exception("operating-time store failed; call not counted")
            return OperatingState(0.0, int(now + WINDOW_SECONDS))

    def close(self) -> None:
        """Write what the store still holds back (shutdown)."""
        try:
            self.store.close()
        except Exception:
            log.exception("limit store failed to write its last counts")

    async def aclose(self) -> None:
        """Close what the store holds on the event loop (shutdown, on the serving loop)."""
        await self.store.aclose()

    def idle(self, now: float) -> OperatingState:
        """The time block of a call that is not counted (the outer ``batch``)."""
        return OperatingState(0.0, int(now + WINDOW_SECONDS))


def build_limiter(settings: Settings, portal_id: str) -> Limiter:
    """The limiter the settings ask for; Redis keys are scoped to the portal, so portals can share a server."""
    store: LimitStore = MemoryLimitStore()
    if settings.redis_url:
        import redis  # imported here: only deployments with B24VOTE_REDIS_URL need it
        import redis.asyncio
        from redis.asyncio.retry import Retry as AsyncRetry
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        from b24vote.limits.redis_store import RedisLimitStore

        # One immediate retry (a pooled connection Redis closed meanwhile); redis-py's default of three with
        # backoff made every call wait ~0.2 s more while Redis was down, for a check that lets it through anyway.
        sync_retry, async_retry = Retry(NoBackoff(), 1), AsyncRetry(NoBackoff(), 1)
        url = settings.redis_url
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, retry=sync_retry)
        aclient = redis.asyncio.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, retry=async_retry)
        store = RedisLimitStore(client, f"b24vote:{portal_id}:limits:", aclient)
    rate = settings.rate_limit
    return Limiter(
        store,
        burst=rate.burst if rate else None,
        drain=rate.drain if rate else 2.0,
        operating_limit=settings.operating_limit,
    )
