"""Event handlers as small local HTTP servers, and an application with tokens to bind them."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from starlette.testclient import TestClient
from typer.testing import CliRunner

from b24vote.cli import app as cli
from b24vote.clock import Clock
from b24vote.storage import oauth
from b24vote.storage.engine import Database
from b24vote.transport.decode import decode_pairs
from tests.helpers.wire import assert_envelope

WAIT = 10.0  # seconds a test waits for a delivery before it fails (a bound, not a measurement)


@dataclass
class Received:
    """One POST a handler received, decoded with PHP's bracket rules."""

    path: str
    content_type: str
    form: dict[str, Any]


class LocalHandler:
    """A handler on 127.0.0.1 that records every POST; answers ``status`` (a list is used up first)."""

    def __init__(self, statuses: list[int] | None = None, hold: threading.Event | None = None) -> None:
        self.received: queue.Queue[Received] = queue.Queue()
        self.statuses = list(statuses or [])
        self.hold = hold
        outer = self

        class Handle(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                form = decode_pairs(parse_qsl(body, keep_blank_values=True))
                outer.received.put(Received(self.path, self.headers.get("Content-Type", ""), form))
                if outer.hold is not None:
                    outer.hold.wait(WAIT)
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/handler/"

    def next(self) -> Received:
        """The next POST, waiting at most :data:`WAIT` seconds."""
        return self.received.get(timeout=WAIT)

    def nothing_more(self) -> bool:
        return self.received.empty()


@contextmanager
def local_handler(statuses: list[int] | None = None, hold: threading.Event | None = None) -> Iterator[LocalHandler]:
    handler = LocalHandler(statuses, hold)
    thread = threading.Thread(target=handler.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler
    finally:
        if hold is not None:
            hold.set()
        handler.server.shutdown()
        handler.server.server_close()
        thread.join(WAIT)


@dataclass
class App:
    """An installed OAuth application with an access token for a user."""

    id: int
    token: str


def install(db: Database, clock: Clock, user_id: int, scopes: tuple[str, ...] = ("im", "user", "vote")) -> App:
    with db.write() as conn:
        app, _ = oauth.add_app(conn, clock.now(), name=f"Events {user_id}", scopes=list(scopes))
        return App(app.id, oauth.issue_tokens(conn, clock.now(), app, user_id).access_token)


def rest(client: TestClient, app: App, method: str, **params: Any) -> Any:
    """A successful call as the application; returns ``result``."""
    return assert_envelope(client.post(f"/rest/{method}", json={**params, "auth": app.token}))


def run_cli(db: Database, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``b24vote ARGS --database-url …`` in-process: exit code, standard output, standard error."""
    url = db.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, [*args, "--database-url", url], env=env)
    return result.exit_code, result.stdout, result.stderr
