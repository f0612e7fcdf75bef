"""Helpers for the emulator-control tests: an app with the admin API on, and calls to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from b24vote.app import create_app
from b24vote.clock import Clock
from b24vote.config import Settings
from b24vote.storage.engine import Database
from b24vote.storage.snapshots import delete_snapshot, list_snapshots, portal_tables

TOKEN = "admin-token-for-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@contextmanager
def admin_client(settings: Settings, db: Database, clock: Clock, **changes: Any) -> Iterator[TestClient]:
    """A test client of an app whose admin API is enabled with :data:`TOKEN`; no snapshots at the start."""
    for snapshot in list_snapshots(db):  # the session's database outlives each test's wipe
        delete_snapshot(db, snapshot.name)
    app = create_app(settings.with_changes(admin_token=TOKEN, **changes), clock=clock, db=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def admin(client: TestClient, method: str, path: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
    """One admin call that must answer ``status``; returns the JSON body."""
    if body is not None:
        kwargs["json"] = body
    resp = client.request(method, f"/_b24vote{path}", headers=BEARER, **kwargs)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    return resp.json()


def admin_error(client: TestClient, method: str, path: str, body: Any, status: int, *fragments: str) -> str:
    """An admin call answered with ``{error, error_description}``; the description contains ``fragments``."""
    found = admin(client, method, path, body, status)
    assert list(found) == ["error", "error_description"], found
    for fragment in fragments:
        assert fragment in found["error_description"], found
    return str(found["error_description"])


def portal_rows(db: Database) -> int:
    """How many rows the portal's tables hold together (what reset and restore act on)."""
    with db.read() as conn:
        return sum(int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in portal_tables())
