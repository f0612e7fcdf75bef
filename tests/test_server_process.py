"""b24vote as users run it: a real server process, the printed curl line, graceful shutdown."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import threading
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.helpers.server import base_env, cli, running_server, server_log
from tests.helpers.wire import assert_envelope

pytestmark = pytest.mark.slow


def test_init_demo_then_the_printed_curl_works(tmp_path: Path) -> None:
    env = base_env(B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db")
    with running_server(env) as (base, _proc):
        env["B24VOTE_PUBLIC_URL"] = base
        printed = cli("init", "--demo", env=env).stdout
        line = next(ln.strip() for ln in printed.splitlines() if ln.strip().startswith("curl "))
        argv = shlex.split(line)
        assert argv[-1].startswith(base + "/rest/1/")
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout
        resp = httpx.Response(200, content=out.encode(), headers={"content-type": "application/json"})
        assert assert_envelope(resp)["NAME"] == "Anna"
        assert re.search(r"Webhook URL: http://127\.0\.0\.1:\d+/rest/1/[a-z0-9]{16}/", printed)


def test_graceful_shutdown_finishes_inflight_requests(tmp_path: Path) -> None:
    # 200 calls in a burst: the leaky bucket (50 by default) would answer some with 503.
    env = base_env(B24VOTE_DATABASE_URL=f"sqlite:///{tmp_path}/b24vote.db", B24VOTE_RATE_LIMIT="off")
    url = cli("init", "--demo", "--json", env=env).stdout.split('"webhook_url":"')[1].split('"')[0]
    path = url.removeprefix("http://127.0.0.1:8000")
    with running_server(env) as (base, proc):
        results: list[int] = []

        def hammer() -> None:
            with httpx.Client(base_url=base, timeout=10) as client:
                for _ in range(200):
                    try:
                        results.append(client.post(path + "server.time").status_code)
                    except httpx.TransportError:
                        return

        worker = threading.Thread(target=hammer)
        worker.start()
        while len(results) < 20:
            worker.join(0.01)
        proc.send_signal(signal.SIGTERM)
        worker.join(30)
        code = proc.wait(timeout=20)
        assert set(results) == {200}  # nothing half-answered: every reply that arrived is a success
        assert code in (0, -signal.SIGTERM)
        output = server_log(proc)
        assert "Finished server process" in output
        assert "Traceback" not in output
