"""uvicorn's httptools protocol with a deadline for receiving each request (``B24VOTE_REQUEST_TIMEOUT``).

uvicorn closes a keep-alive connection left idle after a response (``timeout_keep_alive``), but it has no
bound on a connection that never finishes its request: one that sends nothing after connecting, a head sent a
byte at a time, a body trickled for ever. Each such connection holds a file descriptor and a place in
``limit_concurrency`` for as long as the client likes, so enough of them lock everybody else out. Here every
request must arrive whole (head and body) within the timeout, counted from the connection or from the
request's first byte; a client that is slower is answered 408 in the Bitrix24 envelope and disconnected.
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


class DeadlineProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that closes connections whose request does not arrive in time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
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
