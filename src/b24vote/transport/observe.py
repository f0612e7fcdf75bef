"""Access log and Prometheus metrics for every request, with secrets kept out of both.

Webhook codes sit in the URL path and tokens in the query string; the log shows neither, and the metrics are
labelled by REST method (or route) and status only.
"""

from __future__ import annotations

import logging
import os
import re
import time
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


class Metrics:
    """The Prometheus collectors of one application."""

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
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        self.votes = Counter("b24vote_votes_total", "Ballots stored by vote.AttachedVote.vote", registry=self.registry)
        self.limit_rejections = Counter(
            "b24vote_limit_rejections_total", "Calls refused by a limit", ["error"], registry=self.registry
        )

        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, label: str, status: int, elapsed: float | None) -> None:
        """Count a request and, unless ``elapsed`` is None, time it (labelled children are looked up once)."""
        found = self._children.get((label, status))
        if found is None:
            found = (self.requests.labels(label, str(status)), self.latency.labels(label))
            self._children[(label, status)] = found
        found[0].inc()
        if elapsed is not None:
            found[1].observe(elapsed)

    def watch_pool(self, engine: Engine) -> None:
        self.registry.register(PoolCollector(engine))

    def scrape_registry(self) -> CollectorRegistry:
        """What /metrics shows: with several workers, the counters of all of them (Prometheus multiprocess mode)."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return self.registry
        combined = CollectorRegistry()
        MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        return combined


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
