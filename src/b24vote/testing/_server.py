"""b24vote served from a background thread of this process, on a loopback port the kernel picked."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

    from b24vote.config import Settings
    from b24vote.testing._tls import TestCertificates

__all__ = ["ServerThread"]


class ServerThread:
    """Start with :meth:`start` (the base URL once it answers), end with :meth:`stop`; HTTPS with ``tls``."""

    def __init__(self, settings: Settings, tls: TestCertificates | None = None) -> None:
        self._settings = settings
        self._tls = tls
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None

    def start(self, timeout: float) -> str:
        """Bind, build the app for that address, serve; the base URL once the server accepts connections."""
        import uvicorn

        from b24vote.app import create_app
        from b24vote.cli._common import database

        # Bound before the app is built, so no other process can take the port between choosing and serving.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        scheme = "https" if self._tls else "http"
        base = f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
        settings = self._settings.with_changes(public_url=base)
        with database(settings):  # created and migrated, as `b24vote serve` does
            pass
        config = uvicorn.Config(
            create_app(settings),
            log_config=None,  # the host process (pytest) keeps its own logging set-up
            log_level=settings.log_level,
            access_log=False,
            timeout_graceful_shutdown=5,
            server_header=False,
            ssl_certfile=self._tls.cert if self._tls else None,
            ssl_keyfile=self._tls.key if self._tls else None,
        )
        up = threading.Event()

        class Announcing(uvicorn.Server):
            """uvicorn's server, telling the waiting thread once it listens (uvicorn has no callback for that)."""

            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets)
                up.set()

        server = Announcing(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="b24vote", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not up.wait(0.02):
            if not self._thread.is_alive():
                sock.close()
                raise RuntimeError("b24vote stopped while starting: see the log above")
            if time.monotonic() > deadline:
                self.stop(timeout)
                raise RuntimeError(f"b24vote did not start within {timeout:g}s")
        return base

    def stop(self, timeout: float) -> None:
        """Ask the server to finish its requests and stop; wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"b24vote did not stop within {timeout:g}s")
        self._thread = self._server = None
