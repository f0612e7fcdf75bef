"""``python -m bench.fuzz_api``: schemathesis with every check and every phase against a served demo portal.

The longer run of what tests/test_fuzz_api.py does in the suite: a real ``b24vote serve`` on 127.0.0.1 (limits
off) with the demo portal, ``/openapi.json`` as the document, schemathesis.toml as the configuration plus the
demo webhook as the path parameters, and the examples, coverage, fuzzing and stateful phases, bounded by
``--max-time`` seconds and ``--max-examples`` per operation. Exits with schemathesis' status: 0 when it found
nothing. The endless results stream is left out (tests/web reads it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.__main__ import ROOT, server

BIN = Path(sys.executable).parent
STREAM = "/vote-result/{code}/events"


def _config(folder: Path, webhook_path: str) -> Path:
    """The project's schemathesis.toml, with the webhook's user id and code as the path parameters."""
    user_id, code = webhook_path.strip("/").split("/")[1:3]
    text = (ROOT / "schemathesis.toml").read_text()
    text += f'\n[parameters]\n"path.user_id" = {int(user_id)}\n"path.code" = "{code}"\n'
    path = folder / "schemathesis.toml"
    path.write_text(text)
    return path


def run(max_time: int, max_examples: int, seed: int | None, report: Path | None) -> int:
    with tempfile.TemporaryDirectory(prefix="b24vote-fuzz-") as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("B24VOTE_")}
        env |= {
            "B24VOTE_DATABASE_URL": f"sqlite:///{folder}/b24vote.db",
            "B24VOTE_RATE_LIMIT": "off",
            "B24VOTE_OPERATING_LIMIT": "off",
        }
        init = subprocess.run(
            [str(BIN / "b24vote"), "init", "--demo", "--json"], env=env, capture_output=True, text=True, check=True
        )
        webhook = json.loads(init.stdout)["webhook_url"]
        with server([str(BIN / "b24vote"), "serve"], env) as (base, _proc):
            argv = [
                str(BIN / "schemathesis"),
                "--config-file",
                str(_config(folder, "/" + webhook.split("/", 3)[3])),
                "run",
                f"{base}/openapi.json",
                "--url",  # the document's server is the public URL, which is not this port
                base,
                "--checks",
                "all",
                "--max-time",
                str(max_time),
                "--max-examples",
                str(max_examples),
                "--exclude-path",
                STREAM,
                "--workers",
                "1",
                "--suppress-health-check",
                "all",
            ]
            if seed is not None:
                argv += ["--seed", str(seed)]
            if report is not None:
                argv += ["--report", "junit", "--report-junit-path", str(report)]
            # The run stops itself after max_time; the timeout only guards against a hang.
            return subprocess.run(argv, cwd=folder, timeout=max_time + 600, check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-time", type=int, default=900, help="seconds for the whole run (default 900)")
    parser.add_argument("--max-examples", type=int, default=100, help="examples per operation (default 100)")
    parser.add_argument("--seed", type=int, help="schemathesis' seed, to repeat a run")
    parser.add_argument("--report", type=Path, help="write a JUnit XML report here")
    args = parser.parse_args()
    sys.exit(run(args.max_time, args.max_examples, args.seed, args.report))


if __name__ == "__main__":
    main()
