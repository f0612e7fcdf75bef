"""The method registry: every REST method b24vote serves, with its scope and whether it writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection

from b24vote.domain.people import User
from b24vote.live import LiveEvent

if TYPE_CHECKING:
    from b24vote.config import Settings
    from b24vote.methods.params import Params

__all__ = ["CallContext", "Caller", "FileResult", "Method", "Page", "Registry", "registry"]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the acting user and what their credential grants."""

    user_id: int
    scopes: frozenset[str]
    kind: str  # "webhook" | "oauth"
    credential_id: int
    # The acting user as authentication read them (None for a signed reader): a vote on a public poll names them.
    user: User | None = field(default=None, compare=False)

    @property
    def limit_key(self) -> str:
        """Rate limits and operating time are counted per webhook or per application token owner."""
        return f"{self.kind}:{self.credential_id}"


@dataclass(slots=True)
class CallContext:
    """Everything a method handler may use; ``conn`` is inside the call's transaction."""

    conn: Connection
    caller: Caller
    now: datetime
    settings: Settings
    secret_key: str
    tz: timezone
    # Opens a fresh read transaction for work that outlives the call's own (streamed reports).
    open_read: Callable[[], AbstractContextManager[Connection]] | None = None
    events: list[LiveEvent] = field(default_factory=list)
    # The call's source key (``auth_connector``, an OAuth call's only): divides the offline queues, and keeps the
    # calling application's own changes out of its queue of the same key (methods/events.py, events/queue.py).
    auth_connector: str = ""
    queued: int = 0  # event deliveries queued in this transaction: the sender is woken after the commit

    def emit(self, event: LiveEvent) -> None:
        """Queue a live event; the transport publishes it after the transaction commits."""
        self.events.append(event)


@dataclass(frozen=True, slots=True)
class Page:
    """A list result: Bitrix24 lifts ``total`` and ``next`` to the top level of the reply."""

    result: Any
    total: int
    next: int | None = None


@dataclass(frozen=True, slots=True)
class FileResult:
    """A non-JSON reply (report downloads)."""

    filename: str
    media_type: str
    chunks: Callable[[], Iterator[bytes]]
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["CallContext", "Params"], Any]


Ahead = Literal["", "poll", "poll+ballot"]


@dataclass(frozen=True, slots=True)
class Method:
    """One REST method."""

    name: str
    scope: str | None  # None: basic methods every credential may call
    handler: Handler
    write: bool = False
    batchable: bool = True
    # Its writes are one statement (the vote's ``b24vote_cast``): on PostgreSQL it may run in autocommit, so the
    # rows that statement locks are held while it runs, not until the process gets round to a COMMIT.
    one_statement: bool = False
    # What the call reads that can be read before it runs, in one round trip on PostgreSQL (storage/ahead.py):
    # "poll" — the attach its parameters name with its poll and questions; "poll+ballot" — and the caller's ballot.
    ahead: Ahead = ""


class Registry:
    """Methods by lower-cased name (Bitrix24 routes names case-insensitively)."""

    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}

    def add(
        self,
        name: str,
        *,
        scope: str | None,
        write: bool = False,
        batchable: bool = True,
        one_statement: bool = False,
        ahead: Ahead = "",
    ) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            key = name.lower()
            if key in self._methods:
                raise ValueError(f"method {name} registered twice")
            self._methods[key] = Method(name, scope, handler, write, batchable, one_statement, ahead)
            return handler

        return decorate

    def get(self, name: str) -> Method | None:
        return self._methods.get(name.lower())

    def __iter__(self) -> Iterator[Method]:
        return iter(sorted(self._methods.values(), key=lambda m: m.name.lower()))

    def scopes(self) -> list[str]:
        return sorted({m.scope for m in self._methods.values() if m.scope})


registry = Registry()
