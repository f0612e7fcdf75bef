"""The one HTTP request the sender makes: a form POST, answered by a status line (the body is not read).

Plain asyncio streams rather than an HTTP client library: a delivery needs no redirects, cookies or pooling,
and the server's runtime dependencies stay as they are.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

__all__ = ["DeliveryFailed", "post_form"]

USER_AGENT = "b24vote event sender"


class DeliveryFailed(Exception):
    """The handler could not be reached or did not answer a status line in time."""


async def post_form(url: str, body: bytes, timeout: float) -> int:
    """POST ``body`` to ``url`` and return the HTTP status; raises :class:`DeliveryFailed`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryFailed(f"not an http(s) URL: {url}")
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            context = ssl.create_default_context() if https else None
            reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=context)
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
            status_line = await reader.readline()
    except (OSError, TimeoutError, UnicodeEncodeError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        if writer is not None:
            writer.close()
    fields = status_line.split(b" ", 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        raise DeliveryFailed(f"no HTTP status line: {status_line[:80]!r}")
    return int(fields[1])
