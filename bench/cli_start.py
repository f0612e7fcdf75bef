"""``python -m bench.cli_start``: how long the ``b24vote`` command takes to start, against a bare typer app.

Each command runs ``--runs`` times as a new process (what a script calling the CLI pays each time); the
median wall time is reported next to the baseline of the same run, a typer app with one command and nothing
else, whose ``--help`` is the floor any typer CLI on this interpreter pays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BARE = """import typer
app = typer.Typer()
@app.command()
def hello(name: str = "x") -> None:
    print(name)
app()
"""


def timed(argv: list[str], env: dict[str, str], runs: int) -> float:
    """Median seconds of ``runs`` runs of a command that must succeed."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "B24VOTE_DATABASE_URL": f"sqlite:///{folder}/b24vote.db"}
        bare = Path(folder) / "bare.py"
        bare.write_text(BARE)
        subprocess.run([str(BIN / "b24vote"), "init", "--demo"], env=env, check=True, stdout=subprocess.DEVNULL)
        rows = [
            ("bare typer app --help (baseline)", [sys.executable, str(bare), "--help"]),
            ("b24vote --version", [str(BIN / "b24vote"), "--version"]),
            ("b24vote --help", [str(BIN / "b24vote"), "--help"]),
            ("b24vote user add --name X", [str(BIN / "b24vote"), "user", "add", "--name", "X"]),
            ("b24vote chat join 1 2", [str(BIN / "b24vote"), "chat", "join", "1", "2"]),
        ]
        baseline = 0.0
        print(f"{'command':<36} {'median':>9} {'vs baseline':>12}")
        for name, argv in rows:
            seconds = timed(argv, env, args.runs)
            baseline = baseline or seconds
            print(f"{name:<36} {seconds * 1000:>7.0f} ms {seconds / baseline:>11.2f}×")


if __name__ == "__main__":
    main()
