"""Start b24vote as a real server process for tests that need real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx

BIN = Path(sys.executable).parent / "b24vote"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=60, check=True)


@contextmanager
def running_server(
    env: dict[str, str],
    *extra: str,
    scheme: str = "http",
    verify: ssl.SSLContext | bool = False,
    port: int | None = None,
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Serve on ``port`` (a free one by default); yields the base URL and the process, stops it with SIGTERM."""
    port = port or free_port()
    log = tempfile.NamedTemporaryFile(prefix="b24vote-server-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), *extra], env=env, text=True, stdout=log, stderr=subprocess.STDOUT
    )
    proc.log_path = log.name  # type: ignore[attr-defined]
    base = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited early: {Path(log.name).read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1, verify=verify).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 30 s")
            time.sleep(0.1)
        yield base, proc
    finally:
        stop(proc)
        log.close()


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM (a graceful shutdown), then SIGKILL after 20 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("B24VOTE_")}
    env.update(extra)
    return env


def server_log(proc: subprocess.Popen[str]) -> str:
    """Everything the server printed so far."""
    return Path(proc.log_path).read_text()  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DemoPortal:
    """A fresh SQLite database with the demo portal, and the environment to serve it on ``port``."""

    base: str
    port: int
    env: dict[str, str]
    demo: dict[str, Any]


def demo_portal(folder: Path, *, scheme: str = "http", **settings: str) -> DemoPortal:
    """``b24vote init --demo`` on a new database in ``folder``; printed URLs point at the port to serve."""
    port = free_port()
    base = f"{scheme}://127.0.0.1:{port}"
    env = base_env(
        B24VOTE_DATABASE_URL=f"sqlite:///{folder}/b24vote.db",
        B24VOTE_PUBLIC_URL=base,
        B24VOTE_SQLITE_SYNCHRONOUS="NORMAL",
        **settings,
    )
    demo = json.loads(cli("init", "--demo", "--json", env=env).stdout)
    return DemoPortal(base, port, env, demo)
