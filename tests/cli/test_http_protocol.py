"""The server's HTTP protocol sends each response's head with its body in one write (``cli/http_protocol.py``).

The wrapper's rule is checked on a transport that records what it is given; a real ``b24vote serve`` process is
then driven over raw sockets through the cases where a head has no body to join (HEAD, an error, a 100 Continue
before the body), pipelined requests and a closing connection, to show every byte still arrives in order.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from b24vote.cli.http_protocol import _OneWrite
from tests.helpers.server import base_env, running_server
from tests.reliability.helpers import make_world


class _Recorder:
    """The part of an asyncio transport the wrapper uses, keeping what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


def test_a_head_goes_out_with_the_body_that_follows_it() -> None:
    loop = asyncio.new_event_loop()
    try:
        raw = _Recorder()
        wrapped = _OneWrite(raw, loop)  # type: ignore[arg-type]
        wrapped.write(HEAD)
        assert raw.sent == []
        wrapped.write(b"{}")
        assert raw.sent == [HEAD + b"{}"]
        wrapped.write(b"more")  # not a head: straight through
        assert raw.sent[-1] == b"more"
        assert wrapped.is_closing() is False  # everything else is the transport's own
    finally:
        loop.close()


def test_a_head_without_a_body_goes_out_at_the_end_of_the_loop_step_or_on_close() -> None:
    loop = asyncio.new_event_loop()
    try:
        raw = _Recorder()
        wrapped = _OneWrite(raw, loop)  # type: ignore[arg-type]
        wrapped.write(HEAD)  # a HEAD reply: nothing follows
        loop.run_until_complete(asyncio.sleep(0))
        assert raw.sent == [HEAD]
        wrapped.write(HEAD)
        wrapped.close()
        assert raw.sent == [HEAD, HEAD] and raw.closed
        loop.run_until_complete(asyncio.sleep(0))  # the scheduled flush finds nothing left
        assert raw.sent == [HEAD, HEAD]
    finally:
        loop.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    folder: Path = tmp_path_factory.mktemp("protocol")
    world = make_world(f"sqlite:///{folder}/p.db", 1)
    env = base_env(B24VOTE_DATABASE_URL=world.url, B24VOTE_SQLITE_SYNCHRONOUS="NORMAL", B24VOTE_RATE_LIMIT="off")
    with running_server(env) as (base, _):
        (hook,) = world.hooks.values()
        yield int(base.rsplit(":", 1)[1]), hook


def _exchange(
    port: int, request: bytes, responses: int, head_replies: tuple[int, ...] = ()
) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``request`` on one connection; read ``responses`` whole responses (by content-length; the ones at
    ``head_replies`` answer HEAD and have none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        buffer = b""
        found: list[tuple[int, dict[str, str], bytes]] = []
        while len(found) < responses:
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {len(found)} responses: {buffer!r}"
                buffer += chunk
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = 0 if len(found) in head_replies else int(headers.get("content-length", "0"))
            while len(buffer) < length:
                chunk = sock.recv(65536)
                assert chunk
                buffer += chunk
            found.append((status, headers, buffer[:length]))
            buffer = buffer[length:]
        return found


def _post(path: str, body: bytes, *extra: str) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: x", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join([*head, *extra]) + "\r\n\r\n").encode() + body


def test_pipelined_calls_errors_and_head_requests_arrive_whole(served: tuple[int, str]) -> None:
    port, hook = served
    call = _post(f"{hook}/server.time", b"{}")
    unknown = _post(f"{hook}/no.such.method", b"{}")
    (first, second, third) = _exchange(port, call + unknown + call, 3)
    assert first[0] == 200 and "result" in orjson.loads(first[2])
    assert second[0] == 404 and orjson.loads(second[2])["error"] == "ERROR_METHOD_NOT_FOUND"
    assert third[0] == 200 and int(third[1]["content-length"]) == len(third[2])

    (head,) = _exchange(port, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 1, (0,))
    assert head[0] == 200 and head[2] == b""
    # The connection a HEAD reply went out on carries the next call.
    (after_head, again) = _exchange(port, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + call, 2, (0,))
    assert after_head[0] == 200 and again[0] == 200 and len(again[2]) == int(again[1]["content-length"])


def test_a_100_continue_then_the_reply(served: tuple[int, str]) -> None:
    port, hook = served
    body = b"{}"
    head = _post(f"{hook}/server.time", b"", "Expect: 100-continue").replace(b"Content-Length: 0", b"Content-Length: 2")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        reply = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n") :]
        while b"\r\n\r\n" not in reply or not reply.endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_closing_connection_gets_its_whole_reply(served: tuple[int, str]) -> None:
    port, hook = served
    request = _post(f"{hook}/server.time", b"{}", "Connection: close")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head.lower()
    assert "result" in orjson.loads(body)
