"""``python -m bench.kit``: what the testing kit costs a test suite.

- **start**: ``Portal()`` entered to its first answered REST call, against a bare uvicorn app started the same
  way in a thread of this process (the floor of any in-process server);
- **restore**: bringing the demo world back before a test (what ``b24portal`` does), and a world of 1,000 polls;
- **empty test**: what one more empty test that uses ``b24portal`` adds to a pytest session (sessions of 40 and
  80 such tests, less the same for tests without the fixture: the session's own start is left out).

Targets (issue 19): start ≤ 1 s, demo restore ≤ 20 ms, empty-test overhead ≤ 25 ms. Medians of several runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import uvicorn

from b24vote.testing import Portal
from bench.baseline import app as bare_app

EMPTY_TESTS = 40


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bare_start() -> float:
    """A bare ASGI app on uvicorn in a thread: start to first answer, in seconds."""
    started = time.perf_counter()
    config = uvicorn.Config(bare_app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.001)
    port = server.servers[0].sockets[0].getsockname()[1]
    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
    elapsed = time.perf_counter() - started
    server.should_exit = True
    thread.join(timeout=10)
    return elapsed


def portal_start() -> float:
    started = time.perf_counter()
    with Portal() as portal:
        urllib.request.urlopen(portal.webhook_url(1) + "user.current.json", timeout=10).read()  # noqa: S310
        return time.perf_counter() - started


def restores(portal: Portal, name: str, runs: int) -> list[float]:
    portal.snapshot(name)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        portal.restore(name)
        samples.append(time.perf_counter() - started)
    return samples


def big_world(polls: int) -> dict[str, object]:
    return {
        "polls": [
            {"chat": 1, "author": 1, "question": f"Question {i}?", "answers": ["Yes", "No"], "ballots": {2: [0]}}
            for i in range(polls)
        ]
    }


def pytest_session(folder: Path, with_portal: bool, tests: int) -> float:
    body = "def test_{i}(b24portal):\n    pass\n" if with_portal else "def test_{i}():\n    pass\n"
    (folder / "test_empty.py").write_text("\n".join(body.format(i=i) for i in range(tests)))
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--polls", type=int, default=1000, help="polls of the big world")
    args = parser.parse_args()
    bare = _median_ms([bare_start() for _ in range(args.runs)])
    start = _median_ms([portal_start() for _ in range(args.runs)])
    print(f"{'start to first answer':<40} {start:>8.0f} ms   bare uvicorn app: {bare:.0f} ms ({start / bare:.1f}×)")
    with Portal() as portal:
        demo = _median_ms(restores(portal, "bench-demo", args.runs * 4))
        print(f"{'restore the demo world':<40} {demo:>8.1f} ms")
        portal.seed(big_world(args.polls))
        big = _median_ms(restores(portal, "bench-big", args.runs))
        print(f"{f'restore a world of {args.polls} polls':<40} {big:>8.1f} ms")
    with tempfile.TemporaryDirectory() as folder:

        def session(with_portal: bool, tests: int) -> float:
            return statistics.median(pytest_session(Path(folder), with_portal, tests) for _ in range(3))

        kit = session(True, 2 * EMPTY_TESTS) - session(True, EMPTY_TESTS)
        plain = session(False, 2 * EMPTY_TESTS) - session(False, EMPTY_TESTS)
    per_test = (kit - plain) / EMPTY_TESTS * 1000
    bare_test = plain / EMPTY_TESTS * 1000
    print(f"{'one more empty test with b24portal':<40} {per_test:>8.1f} ms   (without the fixture: {bare_test:.1f} ms)")


if __name__ == "__main__":
    main()
