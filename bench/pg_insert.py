"""The PostgreSQL peer of ``vote``: a bare route doing one ``INSERT … RETURNING`` per request.

``uvicorn --factory bench.pg_insert:create`` (with the options ``b24vote serve`` gives uvicorn), the database
in ``B24VOTE_BENCH_INSERT_URL``. Each ``POST`` with a JSON body ``{"user": N}`` inserts one row in its own
transaction and answers ``{"result": <the new id>}``. The statement goes through b24vote's own database handle
(:class:`b24vote.storage.engine.Database`: SQLAlchemy's asyncio engine on psycopg, the same pool settings, the
same ``Database.run`` a REST write takes), so the distance from this row to the ``vote`` row on the same
database is what b24vote does beyond one durable insert per request.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from sqlalchemy import Connection

from b24vote.storage.engine import Database

__all__ = ["CREATE_TABLE", "create"]

CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_inserts ("
    "id bigserial PRIMARY KEY, user_id integer NOT NULL, created timestamptz NOT NULL DEFAULT now())"
)
INSERT = "INSERT INTO bench_inserts (user_id) VALUES (%s) RETURNING id"
JSON = [(b"content-type", b"application/json")]


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [*JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def create() -> Any:
    """The ASGI app over one :class:`Database` of ``B24VOTE_BENCH_INSERT_URL``."""
    db = Database(os.environ["B24VOTE_BENCH_INSERT_URL"])

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await db.dispose_async()
                    db.dispose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":  # the readiness probe
            await _answer(send, 200, b'{"ok":true}')
            return
        try:
            user = int(orjson.loads(await _body(receive))["user"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            await _answer(send, 400, b'{"error":"INVALID_REQUEST"}')
            return

        def insert(conn: Connection) -> int:
            return int(conn.exec_driver_sql(INSERT, (user,)).scalar_one())

        new_id = await db.run(insert, write=True)
        await _answer(send, 200, b'{"result":%d}' % new_id)

    return app
