"""uvicorn's httptools protocol with a deadline for receiving each request (``B24VOTE_REQUEST_TIMEOUT``).

uvicorn closes a keep-alive connection left idle after a response (``timeout_keep_alive``), but it has no
bound on a connection that never finishes its request: one that sends nothing after connecting, a head sent a
byte at a time, a body trickled for ever. Each such connection holds a file descriptor and a place in
``limit_concurrency`` for as long as the client likes, so enough of them lock everybody else out. Here every
request must arrive whole (head and body) within the timeout, counted from the connection or from the
request's first byte; a client that is slower is answered 408 in the Bitrix24 envelope and disconnected.

It also sends each response's head together with its body (:class:`_OneWrite`): uvicorn writes them apart, two
system calls and, on a connection with Nagle's algorithm off, two TCP segments per response.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from b24vote.config import Settings

__all__ = ["DeadlineProtocol", "response_408"]


@cache
def _timeout() -> float:
    # A worker process reads its settings from the environment `b24vote serve` checked and set.
    return float(Settings.from_env().request_timeout)


def response_408(timeout: float) -> bytes:
    text = f"The request was not received within {timeout:g} seconds"
    body = orjson.dumps({"error": "INVALID_REQUEST", "error_description": text})
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode()
    return head + body


class _OneWrite:
    """A transport that sends a response's head together with its body: one ``write`` (one system call, one TCP
    segment) where uvicorn makes two. The head is held until the next write or, at the latest, the end of the
    event loop's current step (a HEAD reply has no body to join)."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif data[-4:] == b"\r\n\r\n" and data[:5] == b"HTTP/":  # a response head: wait for its body
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class DeadlineProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that closes connections whose request does not arrive in time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_OneWrite(transport, self.loop))  # type: ignore[arg-type]
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a later request on a kept-alive connection: counted from its first byte
            self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        timeout = _timeout()
        self._deadline = self.loop.call_later(timeout, self._too_slow, timeout)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self, timeout: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(response_408(timeout))
        self.transport.close()  # connection_lost follows: the application's next receive() hears a disconnect
