"""A small JSON client of the admin API (``/_b24vote/``) on one kept-alive connection: standard library only."""

from __future__ import annotations

import http.client
import ssl
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

__all__ = ["AdminClient", "PortalError"]


class PortalError(Exception):
    """The server refused an admin call: ``status``, ``code`` and ``description`` say why."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description


class AdminClient:
    """Calls ``/_b24vote{path}`` with the bearer token; one connection, reused, safe to share between threads.

    An ``https`` URL is verified with ``context`` (default: the system's trust, ``SSL_CERT_FILE`` included).
    """

    def __init__(
        self, base_url: str, token: str, timeout: float = 30.0, *, context: ssl.SSLContext | None = None
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout
        self._context = context
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One admin call; the answer's JSON, or :class:`PortalError` for an error answer."""
        data = raw if raw is not None else (None if body is None else orjson.dumps(body))
        target = f"/_b24vote{path}" + (f"?{urlencode(query)}" if query else "")
        headers = {**self._headers, **({"Content-Type": content_type} if data is not None else {})}
        with self._lock:
            status, payload = self._send(method, target, data, headers)
        answer = orjson.loads(payload) if payload else {}
        if status >= 400:
            fields = answer if isinstance(answer, dict) else {}
            raise PortalError(status, str(fields.get("error", status)), str(fields.get("error_description", "")))
        return answer

    def _send(self, method: str, target: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        # A kept connection the server has closed meanwhile fails on first use: that one is retried once, fresh.
        for fresh in (self._conn is None, True):
            conn = self._connection()
            try:
                conn.request(method, target, body=data, headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if fresh:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout, context=self._context
                )
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
