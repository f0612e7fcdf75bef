"""Server-Sent Events: a streaming response that ends as soon as the client leaves or the server stops.

Uvicorn's graceful shutdown waits for every open response to finish, and an event stream never finishes by
itself; so the stream also ends when the process is asked to stop (:class:`ShutdownWatch`), and the server
exits at once instead of waiting out its graceful timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncGenerator
from types import FrameType
from typing import Any

import anyio
import orjson
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = ["HEARTBEAT", "EventStream", "ShutdownWatch", "event", "shutdown_watch"]

# A comment line keeps proxies and browsers from timing the connection out; it carries no data.
HEARTBEAT = b": keep-alive\n\n"
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def event(name: str, data: Any) -> bytes:
    """One SSE event whose ``data`` is JSON (orjson never writes a newline, so one ``data:`` line is enough)."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class ShutdownWatch:
    """Set once the process is asked to stop (SIGTERM, SIGINT) or :meth:`trigger` is called.

    It chains the server's own signal handlers rather than replacing them, and only when the server installed
    Python-level handlers (uvicorn does): a process that kept the default action is left alone.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._armed = False

    @property
    def stopping(self) -> bool:
        return self._event.is_set()

    def arm(self) -> None:
        """Remember the serving loop and install the signal hooks once (only the main thread can)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self._armed or threading.current_thread() is not threading.main_thread():
            return
        self._armed = True
        for sig in _STOP_SIGNALS:
            previous = signal.getsignal(sig)
            if callable(previous):
                signal.signal(sig, self._chain(previous))

    def _chain(self, previous: Any) -> Any:
        def handler(sig: int, frame: FrameType | None) -> None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._event.set)
            previous(sig, frame)

        return handler

    def trigger(self) -> None:
        """Ask every open stream to end; safe from any thread (tests, a server stopped without a signal)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._event.set()
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._event.set()
        else:
            loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        await self._event.wait()


def shutdown_watch(app: Starlette) -> ShutdownWatch:
    """The application's watch, made on first use."""
    watch: ShutdownWatch | None = getattr(app.state, "sse_shutdown", None)
    if watch is None:
        watch = ShutdownWatch()
        app.state.sse_shutdown = watch
    return watch


class EventStream(Response):
    """``text/event-stream`` from an async generator of ready-made chunks.

    Three things race: sending the chunks, the client's ``http.disconnect`` and the shutdown watch. The first
    to finish cancels the others, and the generator is closed so that whatever it holds (a live subscription)
    is released at once rather than when the next write would have failed.
    """

    media_type = "text/event-stream"

    def __init__(
        self, chunks: AsyncGenerator[bytes, None], watch: ShutdownWatch, headers: dict[str, str] | None = None
    ) -> None:
        self.chunks = chunks
        self.watch = watch
        self.status_code = 200
        self.background = None
        # no-transform and X-Accel-Buffering keep compressing or buffering proxies from holding events back.
        self.init_headers({"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no", **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        gone = False

        async def pump(scope_: anyio.CancelScope) -> None:
            nonlocal gone
            try:
                async for chunk in self.chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except OSError:  # uvicorn's ClientDisconnected: the client left between two events
                gone = True
            scope_.cancel()

        async def listen(scope_: anyio.CancelScope) -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            scope_.cancel()

        async def stop_on_shutdown(scope_: anyio.CancelScope) -> None:
            await self.watch.wait()
            scope_.cancel()

        try:
            async with anyio.create_task_group() as group:
                for task in (pump, listen, stop_on_shutdown):
                    group.start_soon(task, group.cancel_scope)
        finally:
            with anyio.CancelScope(shield=True):
                await self.chunks.aclose()
        if not gone:
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
