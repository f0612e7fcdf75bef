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


def test_server_limits_defaults_and_values() -> None:
    found = Settings.from_env({})
    assert (found.request_timeout, found.max_connections, found.keep_alive) == (30, 1000, 5)
    changed = Settings.from_env(
        {"B24VOTE_REQUEST_TIMEOUT": "0.5", "B24VOTE_MAX_CONNECTIONS": "64", "B24VOTE_KEEP_ALIVE": "2"}
    )
    assert (changed.request_timeout, changed.max_connections, changed.keep_alive) == (0.5, 64, 2)
    for name in ("B24VOTE_REQUEST_TIMEOUT", "B24VOTE_MAX_CONNECTIONS", "B24VOTE_KEEP_ALIVE"):
        with pytest.raises(SettingsError, match=f"^{name}="):
            Settings.from_env({name: "0"})
