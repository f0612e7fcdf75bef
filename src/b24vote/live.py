"""Live poll events: published after a call commits, delivered to open results pages (SSE).

In one process a :class:`MemoryBroker` hands events straight to local subscribers. With ``B24VOTE_REDIS_URL``
a :class:`RedisBroker` publishes them on a Redis channel, and every process relays what arrives there to its
own subscribers, so a vote taken by one app process reaches pages served by another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

__all__ = ["LiveEvent", "LiveHub", "MemoryBroker", "RedisBroker"]

log = logging.getLogger("b24vote.live")
CHANNEL = "b24vote:live"
_QUEUE_LIMIT = 256
_PUBLISH_TIMEOUT = 2.0  # seconds a publish (or a connection attempt) may take when Redis does not answer
_RETRY_FIRST, _RETRY_MAX = 0.1, 5.0  # the relay's pause before subscribing again, doubled each time up to the max


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One change of one poll: ``name`` is ``voting``, ``user_vote``, ``stop``, ``resume`` or ``delete``."""

    name: str
    vote_id: int
    attach_id: int
    params: dict[str, Any]
    to_user: int | None = None

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "name": self.name,
                "vote_id": self.vote_id,
                "attach_id": self.attach_id,
                "params": self.params,
                "to_user": self.to_user,
            }
        )

    @classmethod
    def decode(cls, raw: bytes | str) -> LiveEvent:
        data = orjson.loads(raw)
        return cls(data["name"], int(data["vote_id"]), int(data["attach_id"]), data["params"], data.get("to_user"))


class Broker(Protocol):
    """Moves events from publishers to the hub of every process."""

    async def start(self, deliver: Any) -> None: ...

    async def publish(self, event: LiveEvent) -> None: ...

    async def stop(self) -> None: ...


class MemoryBroker:
    """Same-process delivery."""

    def __init__(self) -> None:
        self._deliver: Any = None

    async def start(self, deliver: Any) -> None:
        self._deliver = deliver

    async def publish(self, event: LiveEvent) -> None:
        if self._deliver is not None:
            self._deliver(event)

    async def stop(self) -> None:
        self._deliver = None


class RedisBroker:
    """Delivery through a Redis pub/sub channel shared by every b24vote process.

    Redis is not needed to serve calls: the relay subscribes in the background, so a process starts while Redis
    is down, and subscribes again, with a growing pause, until Redis answers. Once subscribed, redis-py restores
    the subscription itself after a Redis restart; should ``listen`` still fail, the same loop takes over. Events
    published while Redis is away are lost (a page shows them with the next event or on reload); a publish
    waits at most ``_PUBLISH_TIMEOUT`` seconds.
    """

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis  # imported here: only needed when Redis is configured
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        timeout = _PUBLISH_TIMEOUT
        retry = Retry(NoBackoff(), 1)  # a publish while Redis is down fails at once (see build_limiter)
        self._redis = redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=retry)
        # The subscriber waits for messages indefinitely: a read timeout would end every quiet subscription.
        self._listener = redis.from_url(url, socket_connect_timeout=timeout, health_check_interval=30)
        self._task: asyncio.Task[None] | None = None

    async def start(self, deliver: Any) -> None:
        self._task = asyncio.create_task(self._relay(deliver))

    async def _relay(self, deliver: Any) -> None:
        pause = _RETRY_FIRST
        while True:
            pubsub = self._listener.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                if pause > _RETRY_FIRST:
                    log.warning("live events: subscribed to Redis again")
                pause = _RETRY_FIRST
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        try:
                            deliver(LiveEvent.decode(message["data"]))
                        except (ValueError, KeyError, TypeError):
                            log.warning("dropped a malformed live event")
            except Exception as exc:  # Redis unreachable or gone: subscribe again after a pause
                if pause == _RETRY_FIRST:
                    log.warning("live events: Redis unreachable (%s); subscribing again until it answers", exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RETRY_MAX)

    async def publish(self, event: LiveEvent) -> None:
        await self._redis.publish(CHANNEL, event.encode())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()
        await self._listener.aclose()


@dataclass
class LiveHub:
    """Local subscribers per poll, fed by the broker."""

    broker: Broker = field(default_factory=MemoryBroker)
    _subscribers: dict[int, set[asyncio.Queue[LiveEvent]]] = field(default_factory=dict)

    async def start(self) -> None:
        await self.broker.start(self._deliver)

    async def stop(self) -> None:
        await self.broker.stop()

    async def publish(self, events: list[LiveEvent]) -> None:
        for event in events:
            try:
                await self.broker.publish(event)
            except Exception:  # a broken broker must not fail the call that already committed
                log.exception("could not publish live event %s", event.name)

    def _deliver(self, event: LiveEvent) -> None:
        for queue in list(self._subscribers.get(event.vote_id, ())):
            if queue.full():  # a reader that stopped reading loses old events, never blocks the others
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, vote_id: int) -> AsyncIterator[asyncio.Queue[LiveEvent]]:
        """A queue that receives every event of ``vote_id`` while the block runs."""
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue(_QUEUE_LIMIT)
        self._subscribers.setdefault(vote_id, set()).add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(vote_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[vote_id]

    def subscriber_count(self, vote_id: int) -> int:
        return len(self._subscribers.get(vote_id, ()))
