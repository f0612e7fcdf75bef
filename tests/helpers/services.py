"""Real PostgreSQL and Redis for the tests that need them: fail under CI=true, skip elsewhere, when absent."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
import redis

PG_ADMIN_DSN = os.environ.get("B24VOTE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("B24VOTE_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(service: str, problem: str | None) -> None:
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{service} is required under CI=true but unreachable: {problem}")
    pytest.skip(f"{service} unreachable: {problem}")


def pg_problem() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc)


def redis_problem() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return str(exc)
    return None


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards. Yields its URL."""
    require("PostgreSQL", pg_problem())
    name = f"b24vote_t_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
