"""The README's first command, proved the way a new user meets it: on a fresh virtualenv, from the lock.

Standard library only: it builds and starts everything else itself. Steps, each named when it fails:

  build     ``python -m build``: a wheel and an sdist that carry every file of ``src/b24vote``
  venv      a fresh virtualenv with the runtime lock only (hash-checked), then the wheel without dependencies
  imports   every module of the package imports there, and ``pip check`` finds nothing missing
  version   ``b24vote --version`` prints the wheel's version
  init      ``b24vote init --demo --json`` on a new database prints the demo's webhook and ready calls
  serve     ``b24vote serve`` on a free port answers ``/healthz``
  readme    the README's curl lines answer as documented
  kit       pytest and fast-bitrix24 (versions of the dev lock) join that virtualenv, and the testing docs'
            example of a poll, a vote, the clock, a fault and the journal passes there through the wheel's plugin
  make-run  ``make run`` in a fresh copy of the tree (new ``.venv``, new database) serves, and the curl lines it
            printed answer

Run by ``make smoke``, which ``make test`` runs first: ``python tools/smoke.py [--python python3] [--keep]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "b24vote"
# Modules that only run inside another program: Alembic's environment script expects Alembic's context.
NOT_IMPORTABLE = ("b24vote.storage.migrations.env", "b24vote.testing.plugin")  # the plugin imports pytest
SERVE_WAIT = 60.0  # seconds for an installed server to answer /healthz
MAKE_RUN_WAIT = 600.0  # seconds for `make run` to install everything and answer
CALL_TIMEOUT = 20.0


class StepFailed(Exception):
    """A step of the smoke test did not do what it must; the message says what was seen."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="python3", help="the interpreter fresh virtualenvs are made from")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (its path is printed)")
    parser.add_argument("--skip-make-run", action="store_true", help="leave out the make-run step")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="b24vote-smoke-"))
    smoke = Smoke(work, args.python)
    steps: list[tuple[str, Callable[[], str | None]]] = [
        ("build", smoke.build),
        ("venv", smoke.venv),
        ("imports", smoke.imports),
        ("version", smoke.version),
        ("init", smoke.init),
        ("serve", smoke.serve),
        ("readme", smoke.readme),
        ("kit", smoke.kit),
    ]
    if not args.skip_make_run:
        steps.append(("make-run", smoke.make_run))
    try:
        for name, step in steps:
            started = time.monotonic()
            try:
                detail = step()
            except StepFailed as exc:
                print(f"smoke: step {name!r} failed: {exc}", file=sys.stderr)
                return 1
            said = f": {detail}" if detail else ""
            print(f"smoke: {name} ok ({time.monotonic() - started:.1f} s){said}", flush=True)
    finally:
        smoke.stop_server()
        if args.keep:
            print(f"smoke: working folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any b24vote setting or active virtualenv, so a fresh install sees only its own."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("B24VOTE_") and k not in ("PYTHONPATH", "PYTHONHOME")
    }
    active = env.pop("VIRTUAL_ENV", None)
    if active:
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(active))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def run(cmd: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Run a command to its end; its output is the failure's message when it fails."""
    try:
        done = subprocess.run(
            cmd, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise StepFailed(f"{shlex.join(cmd)} did not finish in {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        raise StepFailed(f"{shlex.join(cmd)} exited with {done.returncode}:\n{tail}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data)  # noqa: S310 - loopback URLs this script built
    try:
        with urllib.request.urlopen(request, timeout=CALL_TIMEOUT) as reply:  # noqa: S310
            return int(reply.status), reply.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def wait_healthy(base: str, deadline: float, alive: Callable[[], bool], log: Path) -> None:
    while time.monotonic() < deadline:
        if not alive():
            raise StepFailed(f"the server stopped before it answered; its output ends:\n{tail_of(log)}")
        try:
            status, _ = fetch(f"{base}/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise StepFailed(f"{base}/healthz did not answer 200 in time; the output ends:\n{tail_of(log)}")


def tail_of(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


def shipped_files() -> set[str]:
    """Every file of the package's source tree, as a path inside the wheel."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def readme_calls(text: str) -> list[str]:
    """The curl commands of the README's block that sets ``HOOK``, each a whole shell command."""
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        if "HOOK=" in block:
            return shell_commands(block, "curl ")
    raise StepFailed("README.md has no ```sh block that sets HOOK= and calls it")


def shell_commands(text: str, prefix: str) -> list[str]:
    """Commands starting with ``prefix``; a quoted string may run over several lines, as in a shell."""
    commands: list[str] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and not stripped.startswith(prefix):
            continue
        pending = f"{pending}\n{line}" if pending else stripped
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        commands.append(pending)
        pending = ""
    return commands


def check_answer(command: str, output: str, expected: dict[str, Any]) -> dict[str, Any]:
    """The reply of one documented call: a success envelope with the answer the README promises."""
    try:
        reply = json.loads(output)
    except ValueError as exc:
        raise StepFailed(f"{command}\n  answered no JSON: {output[:300]!r}") from exc
    if not isinstance(reply, dict) or "result" not in reply or "time" not in reply or "error" in reply:
        raise StepFailed(f"{command}\n  answered no success envelope: {output[:300]}")
    method = re.search(r"/([A-Za-z][A-Za-z.]*[A-Za-z])(?=[\s'\"]|$)", command)
    name = method.group(1).removesuffix(".json") if method else ""
    result: dict[str, Any] = reply["result"]
    checks: dict[str, Callable[[dict[str, Any]], bool]] = {
        "user.current": lambda r: r.get("ID") == str(expected["user_id"]),
        "vote.Integration.Im.send": lambda r: isinstance(r.get("messageId"), int) and isinstance(r.get("voteId"), int),
        "vote.AttachedVote.get": lambda r: r.get("attach", {}).get("ID") == expected["attach_id"],
        "vote.AttachedVote.vote": lambda r: (
            r.get("attach", {}).get("COUNTER", 0) >= 1 and r.get("attach", {}).get("isVoted") is True
        ),
    }
    if name not in checks:
        raise StepFailed(f"{command}\n  calls {name!r}, which the smoke test has no documented answer for")
    if not checks[name](result if isinstance(result, dict) else {}):
        raise StepFailed(f"{command}\n  answered other than documented: {output[:400]}")
    return reply


class Smoke:
    """The steps, sharing the working folder, the built wheel and the fresh virtualenv."""

    def __init__(self, work: Path, python: str) -> None:
        self.work = work
        self.python = python
        self.dist = work / "dist"
        self.venv_dir = work / "venv"
        self.wheel: Path | None = None
        self.demo: dict[str, Any] = {}
        self.port = 0
        self.server: subprocess.Popen[bytes] | None = None

    @property
    def built_wheel(self) -> Path:
        if self.wheel is None:
            raise StepFailed("no wheel: the build step did not run")
        return self.wheel

    @property
    def bin(self) -> Path:
        return self.venv_dir / "bin"

    def build(self) -> str | None:
        run([sys.executable, "-m", "build", "--outdir", str(self.dist), str(ROOT)], timeout=600)
        wheels = sorted(self.dist.glob("b24vote-*.whl"))
        sdists = sorted(self.dist.glob("b24vote-*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            raise StepFailed(f"expected one wheel and one sdist, found {[p.name for p in self.dist.iterdir()]}")
        self.wheel = wheels[0]
        wanted = shipped_files()
        with zipfile.ZipFile(self.wheel) as wheel:
            missing = wanted - set(wheel.namelist())
        if missing:
            raise StepFailed(f"the wheel lacks {sorted(missing)} (pyproject.toml: [tool.setuptools.package-data])")
        with tarfile.open(sdists[0]) as sdist:
            inside = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
        missing = {f"src/{name}" for name in wanted} - inside
        if missing:
            raise StepFailed(f"the sdist lacks {sorted(missing)}")
        return f"{self.wheel.name}, {len(wanted)} package files in each"

    def venv(self) -> str | None:
        run([self.python, "-m", "venv", str(self.venv_dir)])
        pip = [str(self.bin / "python"), "-m", "pip", "install", "--quiet"]
        run([*pip, "--require-hashes", "-r", str(ROOT / "requirements" / "runtime.txt")])
        run([*pip, "--no-deps", str(self.built_wheel)])
        dev_only = run([str(self.bin / "python"), "-m", "pip", "list", "--format=freeze"])
        for name in ("pytest", "ruff", "mypy", "hypothesis"):
            if re.search(rf"^{name}==", dev_only, flags=re.MULTILINE | re.IGNORECASE):
                raise StepFailed(f"{name} is in the runtime-only virtualenv: the runtime lock pulls a dev package")
        return f"{len(dev_only.splitlines())} packages"

    def imports(self) -> str | None:
        script = (
            "import importlib, pkgutil, b24vote\n"
            f"skip = set({list(NOT_IMPORTABLE)!r})\n"
            "names = [m.name for m in pkgutil.walk_packages(b24vote.__path__, 'b24vote.') if m.name not in skip]\n"
            "for name in names:\n"
            "    importlib.import_module(name)\n"
            "print(len(names))\n"
        )
        count = run([str(self.bin / "python"), "-c", script], cwd=self.work)
        if int(count.strip() or 0) < 50:
            raise StepFailed(f"only {count.strip()} modules found: is the wheel complete?")
        run([str(self.bin / "python"), "-m", "pip", "check"])
        return f"{count.strip()} modules"

    def version(self) -> str | None:
        built = self.built_wheel.name.split("-")[1]
        printed = run([str(self.bin / "b24vote"), "--version"], cwd=self.work).strip()
        if printed != f"b24vote {built}":
            raise StepFailed(f"b24vote --version printed {printed!r}, the wheel is {built}")
        return printed

    def _env(self) -> dict[str, str]:
        return clean_env(
            B24VOTE_DATABASE_URL=f"sqlite:///{self.work}/b24vote.db",
            B24VOTE_PUBLIC_URL=f"http://127.0.0.1:{self.port}",
        )

    def init(self) -> str | None:
        self.port = free_port()
        out = run([str(self.bin / "b24vote"), "init", "--demo", "--json"], cwd=self.work, env=self._env())
        self.demo = json.loads(out)
        if not self.demo.get("created") or "poll" not in self.demo or len(self.demo.get("curl", [])) < 3:
            raise StepFailed(f"init --demo printed no demo poll and calls: {out}")
        return f"attach {self.demo['poll']['attach_id']}, {len(self.demo['curl'])} calls printed"

    def serve(self) -> str | None:
        log = self.work / "serve.log"
        with log.open("wb") as out:
            self.server = subprocess.Popen(
                [str(self.bin / "b24vote"), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.work,
                env=self._env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = self.server
        wait_healthy(f"http://127.0.0.1:{self.port}", time.monotonic() + SERVE_WAIT, lambda: server.poll() is None, log)
        return f"port {self.port}"

    def readme(self) -> str | None:
        hook = self.demo["webhook_url"].rstrip("/")
        expected = {"user_id": self.demo["user_ids"][0], "attach_id": self.demo["poll"]["attach_id"]}
        calls = readme_calls((ROOT / "README.md").read_text())
        if len(calls) < 4:
            raise StepFailed(
                f"the README's block shows {len(calls)} curl lines, expected user.current, send, get, vote"
            )
        for command in calls:
            out = run(["sh", "-c", command], env=clean_env(HOOK=hook), timeout=CALL_TIMEOUT + 5)
            check_answer(command, out, expected)
        return f"{len(calls)} calls answered"

    def kit(self) -> str | None:
        # The dev lock's versions without its hashes: a constraints file may not carry them.
        pins = [line.split(" \\")[0] for line in (ROOT / "requirements" / "dev.txt").read_text().splitlines()]
        constraints = self.work / "constraints.txt"
        constraints.write_text("\n".join(line for line in pins if "==" in line and not line.startswith("#")) + "\n")
        pip = [str(self.bin / "python"), "-m", "pip", "install", "--quiet", "-c", str(constraints)]
        run([*pip, "pytest", "fast-bitrix24"])
        docs = (ROOT / "docs" / "testing-with-b24vote.md").read_text()
        examples = [block.split("```", 1)[0] for block in docs.split("```python\n")[1:]]
        example = next((code for code in examples if "clock.advance" in code and "faults.add" in code), None)
        if example is None:
            raise StepFailed("docs/testing-with-b24vote.md has no example that moves the clock and adds a fault")
        suite = self.work / "kit"
        suite.mkdir()
        (suite / "test_docs_example.py").write_text(example)
        out = run([str(self.bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=suite, timeout=300)
        if "1 passed" not in out:
            raise StepFailed(f"the docs' example did not pass: {out[-500:]}")
        return "the docs' example passed with the wheel's pytest plugin"

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    def make_run(self) -> str | None:
        tree = self.work / "checkout"
        copy_tree(tree)
        port = free_port()
        log = self.work / "make-run.log"
        with (
            log.open("wb") as out,
            started(["make", "run", f"PORT={port}", f"PYTHON={self.python}"], tree, out) as process,
        ):
            wait_healthy(
                f"http://127.0.0.1:{port}", time.monotonic() + MAKE_RUN_WAIT, lambda: process.poll() is None, log
            )
            printed = shell_commands(log.read_text(errors="replace"), "curl ")
            if len(printed) < 3:
                raise StepFailed(f"make run printed {len(printed)} curl lines; its output:\n{tail_of(log)}")
            expected = {"user_id": 1, "attach_id": 1}
            for command in printed:
                out_text = run(["sh", "-c", command], env=clean_env(), timeout=CALL_TIMEOUT + 5)
                check_answer(command, out_text, expected)
        if not (tree / ".venv" / ".installed").exists() or not (tree / "b24vote.db").exists():
            raise StepFailed("make run left no .venv/.installed or b24vote.db in the fresh tree")
        return f"{len(printed)} printed calls answered"


# What a fresh clone never has: what a build, a run or a test leaves behind.
_LEFT_BEHIND = (".git", ".venv", "__pycache__", "*.egg-info", "*.db", "*.db-*", "build", "dist", "node_modules")
_CACHES = (".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "test-artifacts")


def copy_tree(target: Path) -> None:
    """The tree as a fresh clone would have it, with this checkout's uncommitted changes: tracked and new files
    (outside a git checkout, everything but what builds, runs and tests leave behind)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*_LEFT_BEHIND, *_CACHES))
        return
    for raw in listed.stdout.split(b"\0"):
        if not raw:
            continue
        source = ROOT / raw.decode()
        if not source.is_file():  # deleted in the work tree but not yet in the index
            continue
        dest = target / raw.decode()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


@contextmanager
def started(cmd: list[str], cwd: Path, out: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A command in its own process group, stopped with everything it started when the block ends."""
    process = subprocess.Popen(
        cmd, cwd=cwd, env=clean_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield process
    finally:
        # The whole group: `make` may be gone while the server it started still runs.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


if __name__ == "__main__":
    sys.exit(main())
