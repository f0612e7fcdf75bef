"""The settings this area added: their parsing and where they reach."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from b24vote.config import Settings, SettingsError
from b24vote.storage.engine import Database


def test_database_timeout_default_and_value() -> None:
    assert Settings.from_env({}).database_timeout == 30
    assert Settings.from_env({"B24VOTE_DATABASE_TIMEOUT": "2.5"}).database_timeout == 2.5


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "inf", "nan"])
def test_a_bad_database_timeout_names_the_variable(raw: str) -> None:
    with pytest.raises(SettingsError, match=r"^B24VOTE_DATABASE_TIMEOUT="):
        Settings.from_env({"B24VOTE_DATABASE_TIMEOUT": raw})


def test_a_silent_postgres_fails_pings_within_the_timeout() -> None:
    """A port that accepts TCP connections and never speaks (a hung server): both pools give up in time."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes handshakes; nobody reads or writes
        port = silent.getsockname()[1]
        db = Database(f"postgresql://nobody@127.0.0.1:{port}/none", timeout=2)
        try:
            started = time.monotonic()
            assert db.ping() is False  # the synchronous pool (CLI, reports): libpq's connect_timeout
            assert asyncio.run(db.ping_async()) is False  # REST calls and /readyz: the transaction's bound
            assert time.monotonic() - started < 12
        finally:
            db.dispose()
