"""Each process's sender: sends due deliveries off the request path, one at a time per handler, on b24vote's clock.

The sender sleeps until a call that queued deliveries commits (:meth:`Sender.wake`) or :data:`POLL_SECONDS` pass
(deliveries other processes queued, retries the clock made due, leases of a process that died). Every step is
bounded: at most :data:`BATCH` deliveries are taken per pass, each send has a timeout, and a slow handler holds
only its own task, never a call or another handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection

from b24vote.clock import Clock
from b24vote.domain.events import Delivery, form_body
from b24vote.events.http import DeliveryFailed, post_form
from b24vote.storage import deliveries
from b24vote.storage.engine import Database

__all__ = ["BATCH", "POLL_SECONDS", "Attempt", "HandlerFaults", "Sender"]

T = TypeVar("T")
log = logging.getLogger("b24vote.events")
POLL_SECONDS = 1.0
BATCH = 64
_LEASE_MARGIN = 30.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt did: for the journal."""

    delivery: Delivery
    attempt: int
    status: int | None  # the handler's HTTP status; None when it was not reached
    error: str | None
    duration_ms: float
    final: bool  # delivered, or no retry left


class Recorder(Protocol):
    def __call__(self, attempt: Attempt) -> None: ...


@dataclass
class HandlerFaults:
    """Emulator control: fail the next N deliveries to a handler URL with a status, without sending them."""

    _left: dict[str, tuple[int, int]] = field(default_factory=dict)

    def fail_next(self, url: str, count: int, status: int) -> None:
        if count <= 0:
            self._left.pop(url, None)
        else:
            self._left[url] = (count, status)

    def take(self, url: str) -> int | None:
        """The status to fail this delivery with, or None to send it."""
        found = self._left.get(url)
        if found is None:
            return None
        count, status = found
        if count <= 1:
            del self._left[url]
        else:
            self._left[url] = (count - 1, status)
        return status

    def listing(self) -> dict[str, dict[str, int]]:
        return {url: {"count": c, "status": s} for url, (c, s) in self._left.items()}


class Sender:
    """Claims due deliveries in the database and sends them; see the module docstring."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        retry_delays: tuple[int, ...],
        timeout: float,
        record: Recorder | None = None,
        faults: HandlerFaults | None = None,
    ) -> None:
        self.db, self.clock, self.retry_delays, self.timeout = db, clock, retry_delays, timeout
        self.record = record
        self.faults = faults or HandlerFaults()
        self.worker = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._wake: asyncio.Event | None = None  # made by start(): it belongs to the loop the sender runs on
        self._task: asyncio.Task[None] | None = None
        self._sending: dict[int, asyncio.Task[None]] = {}  # by handler id
        self._writes: set[asyncio.Future[Any]] = set()  # shielded writes still under way
        # One pass at a time: a drain that starts while the loop's pass is claiming waits for it, and so sees
        # the sends that pass started (else it could find nothing to claim and nothing under way, and return).
        self._passing: asyncio.Lock | None = None

    def wake(self) -> None:
        """Look for due deliveries now (a call that queued some has committed)."""
        if self._wake is not None:
            self._wake.set()

    async def start(self) -> None:
        self._wake, self._passing = asyncio.Event(), asyncio.Lock()  # both belong to the loop the sender runs on
        self._task = asyncio.create_task(self._loop(self._wake))

    async def stop(self) -> None:
        """Stop taking deliveries; a send under way is cancelled and its lease runs out for another process."""
        tasks = [t for t in (self._task, *self._sending.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # A write the cancelled send shielded still holds its connection: let it end before the engine goes.
        if self._writes:
            await asyncio.wait(self._writes, timeout=self.timeout + _LEASE_MARGIN)
        self._task = self._wake = self._passing = None

    async def _loop(self, woken: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await woken.wait()
            woken.clear()
            try:
                await self.pass_once()
            except Exception:  # a database hiccup must not end the sender
                log.exception("event sender pass failed")

    async def pass_once(self) -> list[asyncio.Task[None]]:
        """Claim what is due now and start sending it; returns the sends it started."""
        if self._passing is None:
            self._passing = asyncio.Lock()
        async with self._passing:
            return await self._claim_due()

    async def _claim_due(self) -> list[asyncio.Task[None]]:
        now = self.clock.now()
        due = await self._read(lambda conn: deliveries.due(conn, now, BATCH))
        started = []
        lease = timedelta(seconds=self.timeout + _LEASE_MARGIN)
        for delivery in due:
            if delivery.handler_id in self._sending:
                continue
            if await self._claim(delivery, now, lease):
                task = asyncio.create_task(self._send(delivery))
                self._sending[delivery.handler_id] = task
                started.append(task)
        return started

    async def _read(self, work: Callable[[Connection], list[Delivery]]) -> list[Delivery]:
        """A read as every call reads (transport/dispatch.in_transaction): SQLite inline, PostgreSQL on its driver."""
        if self.db.async_engine is None:
            with self.db.read_kept() as conn:
                return work(conn)
        return await self.db.run(work, write=False)

    async def pending(self) -> list[Delivery]:
        """Every queued delivery (emulator controls)."""
        return await self._read(deliveries.pending)

    async def _write(self, work: Callable[[Connection], T]) -> T:
        """A write that a stopping sender lets finish: cancelling it would orphan the writer's answer."""
        write = asyncio.ensure_future(self.db.run(work, write=True))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)
        return await asyncio.shield(write)

    async def _claim(self, delivery: Delivery, now: datetime, lease: timedelta) -> bool:
        return await self._write(lambda conn: deliveries.claim(conn, now, delivery.id, self.worker, lease))

    async def drain(self, rounds: int = 8) -> int:
        """Send everything due now and wait for it, a bounded number of passes (emulator controls)."""
        sent = 0
        for _ in range(rounds):
            started = await self.pass_once()
            busy = list(self._sending.values())
            if not started and not busy:
                break
            await asyncio.gather(*busy, return_exceptions=True)
            sent += len(started)
        return sent

    async def _send(self, delivery: Delivery) -> None:
        try:
            attempt = await self._attempt(delivery)
        finally:
            self._sending.pop(delivery.handler_id, None)
            self.wake()  # the handler's next delivery may be due
        if self.record is not None:
            self.record(attempt)

    async def _attempt(self, delivery: Delivery) -> Attempt:
        """One try: send, then leave the queue (delivered, or no retry left) or wait for the next retry."""
        attempt = delivery.attempt + 1
        started = self.clock.monotonic()
        # A retry is due its delay after this attempt began: the clock may move (a test's advance) while it runs.
        began = self.clock.now()
        status, error = await self._post(delivery)
        duration_ms = (self.clock.monotonic() - started) * 1000
        final = error is None or attempt > len(self.retry_delays)
        if final:
            await self._write(lambda conn: deliveries.finish(conn, delivery.id))
        else:
            due_at = began + timedelta(seconds=self.retry_delays[attempt - 1])
            await self._write(lambda conn: deliveries.reschedule(conn, delivery.id, due_at))
        return Attempt(delivery, attempt, status, error, duration_ms, final)

    async def _post(self, delivery: Delivery) -> tuple[int | None, str | None]:
        faulted = self.faults.take(delivery.url)
        if faulted is not None:
            return faulted, "failed by the emulator controls"
        payload = dict(delivery.payload)
        payload["ts"] = str(int(self.clock.now().timestamp()))
        try:
            status = await post_form(delivery.url, form_body(payload), self.timeout)
        except DeliveryFailed as exc:
            return None, str(exc)
        return status, None if 200 <= status < 300 else f"HTTP {status}"
