"""Idle and slow clients do not starve normal calls (a real server process, raw sockets).

Hundreds of connections that never send a request, keep-alive connections left idle after one call, and
uploads trickled a byte at a time are open while a normal client calls: every normal call is answered,
correctly and within a generous bound, and the slow uploads are answered too once their last byte arrives.
How much they cost the normal calls' latency is measured by bench/soak.py (--slow-clients), not here.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from tests.helpers.server import base_env, running_server
from tests.reliability.helpers import make_world

pytestmark = pytest.mark.slow

SILENT = 300  # connections that never send a byte
IDLE = 100  # keep-alive connections left idle after one call
TRICKLES = 30  # uploads sent one byte every TRICKLE_PAUSE seconds
TRICKLE_PAUSE = 0.1
NORMAL_CALLS = 60
BOUND = 10.0  # seconds a normal call may take here (a loaded test machine; typical is milliseconds)


async def _request(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        writer.write(head + body)
        await writer.drain()
        return _parse(await asyncio.wait_for(reader.read(), BOUND))
    finally:
        writer.close()


def _parse(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def _scenario(port: int, hook: str, attach_id: int) -> dict[str, object]:
    path = f"{hook}/vote.AttachedVote.get"
    body = orjson.dumps({"attachId": attach_id})
    silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(SILENT)]
    idle = []
    for _ in range(IDLE):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # the answer's head; the connection stays open (keep-alive)
        idle.append((reader, writer))

    async def trickle() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            )
            for byte in body:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(TRICKLE_PAUSE)
            return _parse(await asyncio.wait_for(reader.read(), BOUND))
        finally:
            writer.close()

    trickles = [asyncio.create_task(trickle()) for _ in range(TRICKLES)]
    took = []
    statuses = []
    for _ in range(NORMAL_CALLS):
        started = time.monotonic()
        status, answer = await _request(port, path, body)
        took.append(time.monotonic() - started)
        statuses.append(status)
        assert orjson.loads(answer)["result"]["attach"]["ID"] == attach_id
    slow = await asyncio.wait_for(asyncio.gather(*trickles), len(body) * TRICKLE_PAUSE * 10 + BOUND)
    for _, writer in silent + idle:
        writer.close()
    return {"took": took, "statuses": statuses, "slow": slow}


def test_idle_and_slow_clients_do_not_starve_normal_calls(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/b24vote.db"
    world = make_world(url, 5)
    env = base_env(B24VOTE_DATABASE_URL=url, B24VOTE_RATE_LIMIT="off", B24VOTE_SECRET_KEY="slow")
    with running_server(env) as (base, proc):
        world.make_poll(base)
        port = int(base.rsplit(":", 1)[1])
        outcome = asyncio.run(_scenario(port, world.first_hook, world.attach_id))
        assert proc.poll() is None
    assert set(outcome["statuses"]) == {200}  # type: ignore[arg-type]
    assert max(outcome["took"]) < BOUND  # type: ignore[type-var]
    for status, answer in outcome["slow"]:  # type: ignore[attr-defined]
        assert status == 200 and orjson.loads(answer)["result"]["attach"]["ID"] == world.attach_id


def _head(path: str, length: int) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}"
    return f"{head}\r\n\r\n".encode()


async def _silent(port: int) -> tuple[bytes, float]:
    """A connection that sends nothing: what it receives before the server closes it, and after how long."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        return await asyncio.wait_for(reader.read(), BOUND), time.monotonic() - started
    finally:
        writer.close()


async def _too_slow_upload(port: int, path: str) -> tuple[bytes, float]:
    """Headers, then a body one byte every 0.4 s: too slow for a 1 s request timeout. Read while writing (the
    answer arrives before the upload would end)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    body = b'{"attachId": 1}'
    writer.write(_head(path, len(body)))
    answer = asyncio.create_task(reader.read(4096))
    try:
        for byte in body:
            if answer.done():
                break
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.4)
        return await asyncio.wait_for(answer, BOUND), time.monotonic() - started
    finally:
        writer.close()


async def _idle_after_call(port: int, path: str) -> tuple[bytes, float]:
    """One call on a keep-alive connection, then silence: the server closes it without a word."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = b'{"attachId": 1}'
    writer.write(_head(path, len(body)) + body)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1]
    )
    await reader.readexactly(length)
    started = time.monotonic()
    try:
        return await asyncio.wait_for(reader.read(), BOUND), time.monotonic() - started
    finally:
        writer.close()


def test_requests_that_do_not_arrive_in_time_are_cut(tmp_path: Path) -> None:
    """B24VOTE_REQUEST_TIMEOUT bounds connecting-and-saying-nothing and trickled bodies; B24VOTE_KEEP_ALIVE idle
    keep-alive connections; normal calls do not notice either."""
    url = f"sqlite:///{tmp_path}/b24vote.db"
    world = make_world(url, 5)
    env = base_env(
        B24VOTE_DATABASE_URL=url,
        B24VOTE_RATE_LIMIT="off",
        B24VOTE_SECRET_KEY="slow",
        B24VOTE_REQUEST_TIMEOUT="1",
        B24VOTE_KEEP_ALIVE="1",
    )
    with running_server(env) as (base, proc):
        world.make_poll(base)
        port = int(base.rsplit(":", 1)[1])
        path = f"{world.first_hook}/vote.AttachedVote.get"

        async def scenario() -> list[tuple[bytes, float]]:
            return list(await asyncio.gather(_silent(port), _too_slow_upload(port, path), _idle_after_call(port, path)))

        (silent, silent_took), (upload, upload_took), (idle, idle_took) = asyncio.run(scenario())
        status, body = asyncio.run(_request(port, path, orjson.dumps({"attachId": world.attach_id})))
        assert status == 200 and orjson.loads(body)["result"]["attach"]["ID"] == world.attach_id
        assert proc.poll() is None
    for answer, took in ((silent, silent_took), (upload, upload_took)):
        status, body = _parse(answer)
        assert status == 408
        assert orjson.loads(body) == {
            "error": "INVALID_REQUEST",
            "error_description": "The request was not received within 1 seconds",
        }
        assert 0.9 < took < BOUND
    assert idle == b"" and 0.9 < idle_took < BOUND
