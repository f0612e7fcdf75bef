"""Access log and Prometheus metrics for every request, with secrets kept out of both.

Webhook codes sit in the URL path and tokens in the query string; the log shows neither, and the metrics are
labelled by REST method (or route) and status only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from b24vote.methods.registry import Registry

__all__ = ["Metrics", "ObserveMiddleware", "mask_path", "mask_query"]

log = logging.getLogger("b24vote.access")

# The second segment after /rest/ is a webhook code whatever the first one is (a typo in the user id must not
# print the code), and a secret parameter is masked also inside an encoded value (a batch command's query).
_WEBHOOK = re.compile(r"^(/+rest/+[^/]+/+)[^/]+")
_SECRET_PARAMS = re.compile(
    r"(?i)(^|&|\?|%3F|%26)"
    r"(auth|access_token|refresh_token|client_secret|code|password|signedAttachId|viewer)(=|%3D)"
    r".*?(?=&|%26|$)"
)
_RESULT_CODE = re.compile(r"^(/vote-result/)[^/?]+")


def mask_path(path: str) -> str:
    """``/rest/1/abc/m`` → ``/rest/1/***/m``; result-page codes are masked too."""
    return _RESULT_CODE.sub(r"\1***", _WEBHOOK.sub(r"\1***", path))


def mask_query(query: str) -> str:
    return _SECRET_PARAMS.sub(lambda m: f"{m[1]}{m[2]}{m[3]}***", query)


_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
_BOUNDS = (*_LATENCY_BUCKETS, float("inf"))


class _Tally:
    """What one (label, status) saw since the last flush: plain numbers, no lock (one event loop adds)."""

    __slots__ = ("buckets", "count", "timed", "total")

    def __init__(self) -> None:
        self.count = 0
        self.timed = 0
        self.total = 0.0
        self.buckets = [0] * len(_BOUNDS)


class Metrics:
    """The Prometheus collectors of one application.

    A request is tallied in plain numbers on the event loop (prometheus_client takes a lock per counter and per
    histogram value, three per request) and the tallies are added to the collectors in bulk by :meth:`flush`:
    before every scrape of this process and once a second (``flush_every``), which is when the other workers'
    scrapes see them in multiprocess mode.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "b24vote_requests_total",
            "HTTP requests by REST method (or route) and status",
            ["method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "b24vote_request_seconds",
            "Request latency by REST method (or route)",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.votes = Counter("b24vote_votes_total", "Ballots stored by vote.AttachedVote.vote", registry=self.registry)
        self.limit_rejections = Counter(
            "b24vote_limit_rejections_total", "Calls refused by a limit", ["error"], registry=self.registry
        )
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._tallies: dict[tuple[str, int], _Tally] = {}
        self._votes = 0

    def observe(self, label: str, status: int, elapsed: float | None) -> None:
        """Count a request and, unless ``elapsed`` is None, time it (added to the collectors at the next flush)."""
        tally = self._tallies.get((label, status))
        if tally is None:
            tally = self._tallies[(label, status)] = _Tally()
        tally.count += 1
        if elapsed is not None:
            tally.timed += 1
            tally.total += elapsed
            tally.buckets[bisect_left(_BOUNDS, elapsed)] += 1

    def vote_stored(self) -> None:
        self._votes += 1

    def flush(self) -> None:
        """Add what was tallied since the last flush to the collectors. Call it from the event loop's thread."""
        tallies, self._tallies = self._tallies, {}
        votes, self._votes = self._votes, 0
        if votes:
            self.votes.inc(votes)
        for key, tally in tallies.items():
            children = self._children.get(key)
            if children is None:
                label, status = key
                children = self._children[key] = (self.requests.labels(label, str(status)), self.latency.labels(label))
            children[0].inc(tally.count)
            if tally.timed:
                _add_observations(children[1], tally)

    async def flush_every(self, seconds: float) -> None:
        """Flush until cancelled (the application's lifespan runs it)."""
        try:
            while True:
                await asyncio.sleep(seconds)
                self.flush()
        finally:
            self.flush()

    def watch_pool(self, engine: Engine) -> None:
        self.registry.register(PoolCollector(engine))

    def scrape_registry(self) -> CollectorRegistry:
        """What /metrics shows: with several workers, the counters of all of them (Prometheus multiprocess mode)."""
        self.flush()
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return self.registry
        combined = CollectorRegistry()
        MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        return combined


def _add_observations(child: Any, tally: _Tally) -> None:
    """Add a tally's observations to a histogram child at once.

    prometheus_client keeps a child's sum and its per-bucket (not yet cumulative) counts as values it adds to
    one observation at a time (``_sum``, ``_buckets``); they are added to in bulk here. tests/transport/
    test_observe.py reads the exposition back, so a release that lays them out otherwise fails there.
    """
    child._sum.inc(tally.total)
    for index, count in enumerate(tally.buckets):
        if count:
            child._buckets[index].inc(count)


class PoolCollector(Collector):
    """Database connection pool usage, read at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool: Any = self.engine.pool
        for name, help_text, reader in (
            ("b24vote_db_pool_checked_out", "Connections in use", "checkedout"),
            ("b24vote_db_pool_size", "Connections the pool keeps", "size"),
            ("b24vote_db_pool_overflow", "Connections above the pool size", "overflow"),
        ):
            read = getattr(pool, reader, None)
            if callable(read):
                yield GaugeMetricFamily(name, help_text, value=float(read()))


class ObserveMiddleware:
    """Times each HTTP request, logs it with secrets masked, and counts it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, methods: Registry) -> None:
        self.app = app
        self.metrics = metrics
        self.methods = methods
        self._labels: dict[str, str] = {}  # path → label: a client repeats its few paths call after call

    def _label(self, path: str) -> str:
        found = self._labels.get(path)
        if found is None:
            if len(self._labels) >= 4096:  # paths carry webhook codes: bounded, not a policy
                self._labels.clear()
            found = self._labels[path] = self._label_of(path)
        return found

    def _label_of(self, path: str) -> str:
        if path.startswith(("/rest/", "//rest/")):
            last = [p for p in path.split("/") if p]
            name = last[-1].removesuffix(".json") if last else ""
            method = self.methods.get(name)
            if method is not None:
                return method.name
            return "batch" if name.lower() == "batch" else "rest:unknown"
        for prefix in ("/vote-result/", "/oauth/", "/bitrix/services/main/ajax.php", "/static/"):
            if path.startswith(prefix):
                return prefix.rstrip("/")
        return path if path in ("/healthz", "/readyz", "/metrics") else "other"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()  # latency only; never shown to clients
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed = time.perf_counter() - started
            path = scope.get("path", "")
            # A live stream's lifetime is not a latency.
            self.metrics.observe(self._label(path), status, None if path.endswith("/events") else elapsed)
            if log.isEnabledFor(logging.INFO):  # masking costs more than a cached read: only when printed
                query = scope.get("query_string", b"").decode("latin-1")
                log.info(
                    "%s %s%s %d %.1fms",
                    scope.get("method", "?"),
                    mask_path(path),
                    f"?{mask_query(query)}" if query else "",
                    status,
                    elapsed * 1000,
                )
