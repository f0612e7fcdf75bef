"""``b24vote serve --seed FILE --ready-file PATH``: a ready world for a test suite, announced once it answers.

A suite in any language starts the server with one command and waits for the ready file instead of polling:
the file appears (atomically, complete or not at all) once ``/healthz`` answers, and holds the base URL and
what the seed made. When PATH is a named pipe (``mkfifo``), the same JSON line is written into it, so
``timeout 30 cat PATH`` blocks until the server is ready — no loop in the CI script at all.
"""

from __future__ import annotations

import logging
import os
import ssl
import stat
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from b24vote.config import Settings
    from b24vote.storage.engine import Database

__all__ = ["SEED_SNAPSHOT", "ReadyFile", "probe_url", "seed_new_portal"]

log = logging.getLogger("b24vote")

SEED_SNAPSHOT = "seed"  # the seeded world, kept so that a suite can restore it before each test
READY_WAIT = 60.0  # seconds the server has to answer before the ready file is given up
READY_STEP = 0.05  # seconds between two probes of /healthz (inside the server: the suite itself never polls)


class SeedFailed(Exception):
    """The seed document cannot be read or applied; the message names the file and the bad path."""


def seed_new_portal(found: Settings, db: Database, file: Path) -> dict[str, Any] | None:
    """Apply the seed document when the portal is new (no users) and save it as snapshot ``seed``.

    Returns what the seed made, or ``None`` when the portal was not new (a restart on the same database keeps
    the world the suite left, and its ``seed`` snapshot).
    """
    from sqlalchemy import func, select

    from b24vote.admin.seed import SeedTarget, apply_seed
    from b24vote.admin.seed_doc import SeedError, load
    from b24vote.clock import SystemClock
    from b24vote.state import load_secret_key
    from b24vote.storage.snapshots import save_snapshot
    from b24vote.storage.tables import users

    try:
        doc = load(file.read_bytes(), yaml_ok=file.suffix.lower() != ".json")
    except OSError as exc:
        raise SeedFailed(f"cannot read {file}: {exc.strerror}") from exc
    except (SeedError, UnicodeDecodeError) as exc:
        raise SeedFailed(f"{file}: {exc}") from exc
    with db.read() as conn:
        if conn.execute(select(func.count()).select_from(users)).scalar_one():
            return None
    now = SystemClock().now()
    try:
        made = apply_seed(SeedTarget(db, found, load_secret_key(found, db), now), doc)
    except SeedError as exc:
        raise SeedFailed(f"{file}: {exc}") from exc
    save_snapshot(db, SEED_SNAPSHOT, now)
    return made


def probe_url(host: str, port: int, tls: bool) -> str:
    """The address that reaches a server bound to ``host`` from this machine."""
    reach = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host, host)  # noqa: S104 - mapped, not bound
    if ":" in reach and not reach.startswith("["):
        reach = f"[{reach}]"
    return f"{'https' if tls else 'http'}://{reach}:{port}"


class ReadyFile:
    """The file (or named pipe) that says the server answers, written by a thread of the serving process."""

    def __init__(self, path: Path, url: str, content: dict[str, Any]) -> None:
        self.path = path
        self.url = url
        self.line = orjson.dumps({"url": url, "pid": os.getpid(), **content}) + b"\n"

    def forget_stale(self) -> None:
        """A ready file left by an earlier run must not announce this one."""
        if self.path.is_file():
            self.path.unlink()

    def start(self) -> None:
        threading.Thread(target=self._announce, name="b24vote-ready-file", daemon=True).start()

    def _announce(self) -> None:
        deadline = time.monotonic() + READY_WAIT
        while not self._answers():
            if time.monotonic() > deadline:
                log.error(
                    "ready file %s not written: %s/healthz did not answer within %gs", self.path, self.url, READY_WAIT
                )
                return
            time.sleep(READY_STEP)
        try:
            self._write()
        except OSError as exc:
            log.error("cannot write the ready file %s: %s", self.path, exc.strerror)
            return
        log.info("ready: %s (announced in %s)", self.url, self.path)

    def _answers(self) -> bool:
        # The probe goes to this very process on loopback: its certificate need not be checked.
        context = ssl._create_unverified_context() if self.url.startswith("https") else None  # noqa: S323
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2, context=context) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _write(self) -> None:
        if self.path.exists() and stat.S_ISFIFO(self.path.stat().st_mode):
            with self.path.open("wb") as pipe:  # blocks until the suite opens the pipe to read
                pipe.write(self.line)
            return
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        partial.write_bytes(self.line)
        partial.replace(self.path)  # atomic: a reader sees the whole file or none
