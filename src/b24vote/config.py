"""Settings: every ``B24VOTE_*`` variable, its default and its meaning, declared once.

Settings are read once at start-up; a bad value fails at once with the variable's name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta, timezone
from typing import Any, TypeVar

__all__ = ["LANGUAGES", "RateLimit", "Settings", "SettingsError"]

T = TypeVar("T")

# The portal languages b24vote has a catalogue of texts for (b24vote.methods.vote_language).
LANGUAGES = ("en", "ru")


class SettingsError(ValueError):
    """A setting has a value b24vote cannot use."""


@dataclass(frozen=True)
class RateLimit:
    """Leaky bucket parameters: ``burst`` requests of headroom, drained at ``drain`` per second."""

    burst: float
    drain: float


def _parse_rate_limit(raw: str) -> RateLimit | None:
    if raw.strip().lower() == "off":
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*", raw)
    if not match or float(match[1]) <= 0 or float(match[2]) <= 0:
        raise ValueError("expected BURST/DRAIN (e.g. 50/2) or 'off'")
    return RateLimit(float(match[1]), float(match[2]))


def _parse_tz(raw: str) -> timezone:
    if raw.upper() in ("UTC", "Z"):
        return timezone.utc  # noqa: UP017 - a `timezone` instance is wanted here
    match = re.fullmatch(r"([+-])(\d\d):?(\d\d)", raw.strip())
    if not match:
        raise ValueError("expected UTC or an offset such as +03:00")
    sign = 1 if match[1] == "+" else -1
    return timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))


def _parse_positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _parse_positive_seconds(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a positive number of seconds")
    return value


def _parse_operating_limit(raw: str) -> int | None:
    if raw.strip().lower() == "off":
        return None
    return _parse_positive_int(raw)


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _parse_token(raw: str) -> str | None:
    token = raw.strip()
    if not token:
        return None
    if len(token) < 8:
        raise ValueError("must be at least 8 characters")
    return token


def _parse_delays(raw: str) -> tuple[int, ...]:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not all(p.isdecimal() for p in parts):
        raise ValueError("expected comma-separated whole seconds, e.g. 60,300,3600")
    return tuple(int(p) for p in parts)


def _setting(env: str, default: str | None, parse: Callable[[str], Any], help: str) -> Any:
    return field(default=None, metadata={"env": env, "default": default, "parse": parse, "help": help})


@dataclass(frozen=True)
class Settings:
    """All of b24vote's settings; build with :meth:`from_env`."""

    database_url: str = _setting(
        "B24VOTE_DATABASE_URL",
        "sqlite:///./b24vote.db",
        str,
        "Any SQLAlchemy URL: sqlite:///path or postgresql://user@host/db.",
    )
    redis_url: str | None = _setting(
        "B24VOTE_REDIS_URL",
        None,
        str,
        "Redis for shared rate-limit buckets and live-update fan-out; unset keeps state in-process.",
    )
    public_url: str = _setting(
        "B24VOTE_PUBLIC_URL",
        "http://127.0.0.1:8000",
        lambda s: s.rstrip("/"),
        "The address clients reach: printed webhook URLs, OAuth endpoints and redirects, the OpenAPI servers entry.",
    )
    secret_key: str | None = _setting(
        "B24VOTE_SECRET_KEY",
        None,
        str,
        "Key that signs signedAttachId; generated once and stored in the database when unset.",
    )
    rate_limit: RateLimit | None = _setting(
        "B24VOTE_RATE_LIMIT",
        "50/2",
        _parse_rate_limit,
        "Leaky bucket: burst/drain per second; 'off' disables.",
    )
    operating_limit: int | None = _setting(
        "B24VOTE_OPERATING_LIMIT",
        "480",
        _parse_operating_limit,
        "Seconds of method time per method per app/webhook per 10 minutes; 'off' disables.",
    )
    timezone: timezone = _setting(
        "B24VOTE_TIMEZONE",
        "+03:00",
        _parse_tz,
        "Portal time zone used in ISO timestamps (date_start, TIMESTAMP_X...).",
    )
    language: str = _setting(
        "B24VOTE_LANGUAGE",
        "ru",
        lambda s: _choice(s.strip().lower(), LANGUAGES),
        "The portal's language (en or ru): error texts, the message posted when a poll is stopped, report headers,"
        " the results page.",
    )
    max_body_bytes: int = _setting(
        "B24VOTE_MAX_BODY_BYTES",
        str(8 * 1024 * 1024),
        _parse_positive_int,
        "Largest request body accepted; larger ones get HTTP 413.",
    )
    database_timeout: float = _setting(
        "B24VOTE_DATABASE_TIMEOUT",
        "30",
        _parse_positive_seconds,
        "PostgreSQL: seconds a REST call's transaction may take (waiting for a connection included) and a new "
        "connection may take to open; past it the call is answered INTERNAL_SERVER_ERROR and rolled back.",
    )
    request_timeout: float = _setting(
        "B24VOTE_REQUEST_TIMEOUT",
        "30",
        _parse_positive_seconds,
        "`b24vote serve`: seconds a client has to send a whole request (head and body), from connecting or from "
        "the request's first byte; slower clients get 408 and are disconnected.",
    )
    max_connections: int = _setting(
        "B24VOTE_MAX_CONNECTIONS",
        "1000",
        _parse_positive_int,
        "`b24vote serve`: connections (or requests in progress) one process serves at once; past it new "
        "requests get uvicorn's plain-text 503 at once instead of waiting for file descriptors to run out.",
    )
    keep_alive: int = _setting(
        "B24VOTE_KEEP_ALIVE",
        "5",
        _parse_positive_int,
        "`b24vote serve`: seconds an idle keep-alive connection is kept open after a response.",
    )
    sqlite_synchronous: str = _setting(
        "B24VOTE_SQLITE_SYNCHRONOUS",
        "FULL",
        lambda s: _choice(s.upper(), ("FULL", "NORMAL", "EXTRA")),
        "SQLite PRAGMA synchronous: FULL makes every acknowledged write durable on power loss.",
    )
    require_https: bool = _setting(
        "B24VOTE_REQUIRE_HTTPS",
        "0",
        _parse_bool,
        "Refuse plain-HTTP REST and OAuth calls with 400 INVALID_REQUEST 'Https required'.",
    )
    log_level: str = _setting(
        "B24VOTE_LOG_LEVEL",
        "info",
        lambda s: _choice(s.lower(), ("critical", "error", "warning", "info", "debug")),
        "Log level of the server.",
    )
    admin_token: str | None = _setting(
        "B24VOTE_ADMIN_TOKEN",
        None,
        _parse_token,
        "Enables the emulator controls under /_b24vote/ (bearer token); unset, they do not exist.",
    )
    journal_size: int = _setting(
        "B24VOTE_JOURNAL_SIZE",
        "10000",
        _parse_positive_int,
        "How many REST calls the emulator's journal keeps (oldest dropped first).",
    )
    seed: str | None = _setting(
        "B24VOTE_SEED",
        None,
        str,
        "A seed document (JSON or YAML) that `b24vote serve` applies to a new database, saved as snapshot 'seed'.",
    )
    poll_events: bool = _setting(
        "B24VOTE_POLL_EVENTS",
        "0",
        _parse_bool,
        "b24vote extension: send B24VOTE.POLL.* events (vote, recall, stop, resume) to bound handlers.",
    )
    event_retries: tuple[int, ...] = _setting(
        "B24VOTE_EVENT_RETRIES",
        "",
        _parse_delays,
        "Seconds between retries of a failed event delivery, e.g. '60,300,3600'; empty: none, as on a portal.",
    )
    event_timeout: int = _setting(
        "B24VOTE_EVENT_TIMEOUT",
        "10",
        _parse_positive_int,
        "Seconds an event handler has to answer before the delivery counts as failed.",
    )
    ready_file: str | None = _setting(
        "B24VOTE_READY_FILE",
        None,
        str,
        "Written by `b24vote serve` once the server answers: its URL and what the seed made, as JSON.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every setting from the environment (then defaults); ``overrides`` win over both."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            meta = f.metadata
            raw = env.get(meta["env"], meta["default"])
            if f.name in overrides:
                values[f.name] = overrides[f.name]
                continue
            if raw is None:
                values[f.name] = None
                continue
            try:
                values[f.name] = meta["parse"](raw)
            except ValueError as exc:
                raise SettingsError(f"{meta['env']}={raw!r}: {exc}") from exc
        return cls(**values)

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some values replaced."""
        return replace(self, **changes)

    @classmethod
    def describe(cls) -> list[tuple[str, str | None, str]]:
        """(variable, default, help) for every setting, for docs and ``--help``."""
        return [(f.metadata["env"], f.metadata["default"], f.metadata["help"]) for f in fields(cls)]


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"expected one of {', '.join(allowed)}")
    return value
