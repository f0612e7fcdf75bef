"""A serving process tunes the garbage collector while it runs, and gives the settings back when it stops."""

from __future__ import annotations

import gc

import pytest
from starlette.testclient import TestClient

from b24vote import asgi
from b24vote.app import SERVER_GC_THRESHOLD, create_app
from b24vote.clock import FrozenClock
from b24vote.config import Settings
from b24vote.storage.engine import Database
from tests.conftest import Portal


def test_a_serving_app_freezes_startup_objects_and_widens_the_young_generation(
    settings: Settings, db: Database, clock: FrozenClock, portal: Portal
) -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(settings, clock=clock, db=db, serving=True)) as client:
        assert gc.get_threshold() == SERVER_GC_THRESHOLD
        assert gc.get_freeze_count() > 0  # what startup built is never scanned again
        reply = client.post(portal.url("user.current"))
        assert reply.status_code == 200, reply.text
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_an_embedded_app_leaves_the_collector_alone(settings: Settings, db: Database, clock: FrozenClock) -> None:
    before = gc.get_threshold()
    with TestClient(create_app(settings, clock=clock, db=db)):
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0


def test_the_server_entry_point_is_a_serving_app(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B24VOTE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("B24VOTE_SECRET_KEY", "k")
    with TestClient(asgi.create()):  # what `b24vote serve` and `uvicorn --factory b24vote.asgi:create` run
        assert gc.get_threshold() == SERVER_GC_THRESHOLD
    assert gc.get_freeze_count() == 0
