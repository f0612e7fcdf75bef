"""Helpers for the results page tests: polls with known voters, and an event stream read in-process.

Starlette's TestClient waits for a response to finish, and an event stream never does; :class:`OpenStream`
drives the ASGI app directly on the TestClient's own event loop, so REST calls made through the client reach
the same live hub, and the test decides when the "browser" goes away.
"""

from __future__ import annotations

import queue
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from starlette.testclient import TestClient

from b24vote.storage import people, polls
from b24vote.storage.engine import Database
from tests.conftest import Portal
from tests.helpers.votes import ChatPoll, call, send_poll


@dataclass(frozen=True)
class Links:
    """A poll's two result codes: the UID of ``resultUrl`` and the signed attach id."""

    result_url: str
    signed: str


def links(client: TestClient, portal: Portal, poll: ChatPoll) -> Links:
    attach = call(client, portal, "vote.AttachedVote.get", attachId=poll.attach_id)["attach"]
    return Links(attach["resultUrl"], attach["signedAttachId"])


def poll_with_votes(client: TestClient, portal: Portal, cleo_hook: str, **opts: Any) -> ChatPoll:
    """Anna and Boris choose the first answer, Cleo the second."""
    poll = send_poll(client, portal, **opts)
    for hook, answer in ((portal.hook, 0), (portal.bob_hook, 0), (cleo_hook, 1)):
        call(
            client,
            portal,
            "vote.AttachedVote.vote",
            hook,
            attachId=poll.attach_id,
            ballot={str(poll.question_id): [poll.answer_ids[answer]]},
        )
    return poll


def add_voters(db: Database, portal: Portal, poll: ChatPoll, answer_id: int, count: int, now: Any) -> list[int]:
    """``count`` new chat members who all chose ``answer_id``, stored directly (fast); returns their ids."""
    ids = []
    with db.write() as conn:
        for n in range(count):
            uid = people.add_user(conn, now, name=f"Voter{n:03d}", last_name="Many", work_position="Tester")
            people.add_members(conn, now, portal.chat, [uid])
            chosen = {poll.question_id: [answer_id]}
            polls.insert_ballot(conn, now, vote_id=poll.vote_id, user_id=uid, chosen=chosen, visible=True)
            ids.append(uid)
    return ids


class OpenStream:
    """A GET of an event stream that stays open until :meth:`close` (the client leaving)."""

    def __init__(self, client: TestClient, path: str) -> None:
        self.client = client
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._gone: anyio.Event | None = None
        self.buffer = b""
        self.finished: Future[None] = client.portal.start_task_soon(self._run, path)  # type: ignore[union-attr]
        self.start = self._next(5.0)
        assert self.start["type"] == "http.response.start"

    async def _run(self, path: str) -> None:
        self._gone = anyio.Event()
        gone = self._gone
        raw_path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }

        async def receive() -> dict[str, Any]:
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            self.messages.put(message)

        await self.client.app(scope, receive, send)

    def _next(self, timeout: float) -> dict[str, Any]:
        return self.messages.get(timeout=timeout)

    @property
    def status(self) -> int:
        return int(self.start["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode().lower(): v.decode() for k, v in self.start["headers"]}

    def read_block(self, timeout: float = 5.0) -> bytes:
        """The next blank-line-terminated block: an event, a comment or the ``retry`` line."""
        deadline = time.monotonic() + timeout
        while b"\n\n" not in self.buffer:
            message = self._next(max(0.01, deadline - time.monotonic()))
            assert message["type"] == "http.response.body"
            self.buffer += message.get("body", b"")
            if not message.get("more_body", False) and b"\n\n" not in self.buffer:
                raise EOFError("the stream ended")
        block, _, self.buffer = self.buffer.partition(b"\n\n")
        return block

    def next_event(self, name: str = "results", timeout: float = 5.0) -> dict[str, Any]:
        """The data of the next event called ``name``, skipping comments and other lines."""
        deadline = time.monotonic() + timeout
        while True:
            block = self.read_block(max(0.01, deadline - time.monotonic()))
            lines = dict(line.split(b": ", 1) for line in block.split(b"\n") if b": " in line)
            if lines.get(b"event") == name.encode():
                data: dict[str, Any] = orjson.loads(lines[b"data"])
                return data

    def ended(self, timeout: float = 5.0) -> bool:
        """True once the app sent its last body message and returned."""
        self.finished.result(timeout)
        last: dict[str, Any] | None = None
        while not self.messages.empty():
            last = self.messages.get_nowait()
        return last is None or not last.get("more_body", False)

    def close(self) -> None:
        gone = self._gone
        if gone is not None and not self.finished.done():
            self.client.portal.call(gone.set)  # type: ignore[union-attr]
            self.finished.result(5.0)
