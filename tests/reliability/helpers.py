"""What the fault tests share: a world of voters, a ledger of what clients were told, private services.

Every load here is bounded in calls and in time. The ledger keeps, per voter, the ballot of the last call the
client saw acknowledged and the ballots of calls whose outcome it never learnt (an error, a cut connection):
afterwards the database must hold, for each voter, one of those, and the counters must equal the rows.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
from bench.seed import post_chat_poll, voters_in_chat
from sqlalchemy import func, select

from b24vote.storage.engine import Database
from b24vote.storage.tables import ballot_answers, ballots, vote_answers, vote_questions, votes
from tests.helpers.server import BIN, free_port, stop
from tests.helpers.services import require


@dataclass
class World:
    """Voters with their webhooks, one chat, and (once made through the server) one poll."""

    url: str
    hooks: dict[int, str]
    chat: int
    attach_id: int = 0
    question_id: str = ""
    answers: list[int] = field(default_factory=list)

    @property
    def first_hook(self) -> str:
        return next(iter(self.hooks.values()))

    def make_poll(self, base: str) -> None:
        """A chat poll, posted through the server (so its caches see it as a client would)."""
        attach = post_chat_poll(base, self.first_hook, self.chat, question="Which?", anonymity=1)
        ((qid, question),) = attach["QUESTIONS"].items()
        self.attach_id, self.question_id, self.answers = attach["ID"], qid, [int(a) for a in question["ANSWERS"]]


def make_world(url: str, users: int) -> World:
    """Migrate ``url`` and add ``users`` voters (one webhook each) in one chat."""
    hooks, chat = voters_in_chat(url, users, name="Voter", scopes=["vote", "im"])
    return World(url, hooks, chat)


@dataclass
class Voter:
    confirmed: list[int] | None = None  # the ballot as of the last acknowledged call (None: no ballot)
    unknown: list[list[int] | None] = field(default_factory=list)  # ballots of calls with no clear outcome


@dataclass
class Ledger:
    """What the clients were told, call by call (thread-safe)."""

    voters: dict[int, Voter] = field(default_factory=dict)
    acknowledged: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # error code (or transport error) -> count
    problems: list[str] = field(default_factory=list)  # replies that break the contract
    slowest: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, uid: int, after: list[int] | None, resp: httpx.Response | None, error: str, took: float) -> None:
        """One call's outcome; ``resp`` None means a transport error named ``error``."""
        with self.lock:
            voter = self.voters.setdefault(uid, Voter())
            self.slowest = max(self.slowest, took)
            if resp is not None and resp.status_code == 200:
                body = resp.json()
                if body.get("result") in (None, []):
                    self.problems.append(f"200 without a result: {resp.text[:200]}")
                voter.confirmed, voter.unknown = after, []
                self.acknowledged += 1
                return
            voter.unknown.append(after)
            if resp is None:
                self.errors[error] = self.errors.get(error, 0) + 1
                return
            problem = envelope_problem(resp)
            if problem:
                self.problems.append(problem)
                return
            code = resp.json()["error"]
            self.errors[code] = self.errors.get(code, 0) + 1


def envelope_problem(resp: httpx.Response) -> str | None:
    """Why ``resp`` is not a proper Bitrix24 error envelope (None when it is one)."""
    if not resp.headers.get("content-type", "").startswith("application/json"):
        return f"HTTP {resp.status_code} not JSON: {resp.text[:200]!r}"
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code} unparsable: {resp.text[:200]!r}"
    if not isinstance(body, dict) or set(body) != {"error", "error_description"}:
        return f"HTTP {resp.status_code} not an error envelope: {resp.text[:200]!r}"
    if "Traceback" in resp.text or 'File "' in resp.text:
        return f"HTTP {resp.status_code} shows a traceback: {resp.text[:200]!r}"
    return None


def vote_call(
    client: httpx.Client, base: str, world: World, uid: int, roll: int, ledger: Ledger, timeout: float
) -> None:
    """One vote (three in four) or recall for ``uid``, noted in the ledger."""
    if roll % 4 == 3:
        method, params, after = "recall", {}, None
    else:
        after = sorted({world.answers[roll % 4], world.answers[(roll // 4) % 4]})
        method, params = "vote", {"ballot": {world.question_id: after}}
    started = time.monotonic()
    try:
        resp = client.post(
            f"{base}{world.hooks[uid]}/vote.AttachedVote.{method}",
            json={"attachId": world.attach_id, **params},
            timeout=timeout,
        )
    except httpx.TransportError as exc:
        ledger.note(uid, after, None, type(exc).__name__, time.monotonic() - started)
        return
    ledger.note(uid, after, resp, "", time.monotonic() - started)


@contextmanager
def load(
    bases: list[str],
    world: World,
    ledger: Ledger,
    *,
    threads: int = 6,
    calls: int = 4000,
    seconds: float = 60,
    spare: int = 5,
) -> Iterator[Running]:
    """Votes and recalls from ``threads`` clients in the background while the block runs (at most ``calls``
    calls and ``seconds``); set the yielded event, or leave the block, to stop them. The last ``spare`` voters
    are left out, for the test's own calls. A test that waits for progress after a fault must give a budget the
    server cannot spend before then (a faster server ran a 3,000-call budget dry mid-test): leave the block to end
    the load, and let ``seconds`` be the bound."""
    stop = threading.Event()
    deadline = time.monotonic() + seconds
    uids = list(world.hooks)[: len(world.hooks) - spare]
    counter = iter(range(calls))
    counter_lock = threading.Lock()

    def client_loop(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set() and time.monotonic() < deadline:
                with counter_lock:
                    n = next(counter, None)
                if n is None:
                    return
                # Each thread keeps to its own voters, so one voter's calls are never in flight at once.
                mine = uids[index::threads]
                uid = mine[n % len(mine)]
                vote_call(client, bases[n % len(bases)], world, uid, n * 7 + index, ledger, timeout=30)

    workers = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    try:
        yield Running(stop, workers)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)


@dataclass
class Running:
    """A load in the background: ``stop`` ends it early, :meth:`finish` waits for its last call."""

    stop: threading.Event
    workers: list[threading.Thread]

    def finish(self, seconds: float = 60) -> None:
        for worker in self.workers:
            worker.join(timeout=seconds)


def check_database(url: str, world: World, ledger: Ledger) -> None:
    """The rows agree with every acknowledged call, and every counter equals its rows."""
    db = Database(url, pool_size=1)
    try:
        with db.read() as conn:
            stored: dict[int, list[int]] = {}
            for row in conn.execute(select(ballot_answers.c.user_id, ballot_answers.c.answer_id)):
                stored.setdefault(row.user_id, []).append(row.answer_id)
            voters = conn.execute(select(func.count()).select_from(ballots)).scalar_one()
            assert voters == len(stored)
            assert conn.execute(select(votes.c.counter)).scalar_one() == voters
            assert conn.execute(select(vote_questions.c.counter)).scalar_one() == voters
            for answer in world.answers:
                counter = conn.execute(select(vote_answers.c.counter).where(vote_answers.c.id == answer)).scalar_one()
                assert counter == sum(answer in chosen for chosen in stored.values()), answer
    finally:
        db.dispose()
    for uid, voter in ledger.voters.items():
        have = sorted(stored[uid]) if uid in stored else None
        assert have in [voter.confirmed, *voter.unknown], (uid, have, voter)


def wait_until(predicate: Any, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def answers_ok(base: str, hook: str, method: str = "server.time", timeout: float = 5) -> bool:
    try:
        return httpx.post(f"{base}{hook}/{method}", timeout=timeout).status_code == 200
    except httpx.TransportError:
        return False


# --- private services -------------------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    """A redis-server of this test's own on a free port, without persistence."""

    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        require("redis-server (a private instance)", None if binary else "the binary is not installed")
        assert binary is not None
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        assert wait_until(lambda: _pings(client), 10), "private redis-server did not start"
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)  # an outage, not a shutdown
            self.proc.wait(timeout=10)
        self.proc = None


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@contextmanager
def private_redis(start: bool = True) -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port())
    if start:
        server.start()
    try:
        yield server
    finally:
        server.stop()


def pg_bin() -> Path | None:
    """The directory of initdb/pg_ctl of the newest PostgreSQL installed, if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster of this test's own (initdb), so that the test may stop and start the server."""

    bindir: Path
    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "30", *args],
            check=True,
            capture_output=True,
            timeout=60,
            preexec_fn=_as_postgres_user(self.datadir),
        )

    def start(self) -> None:
        self._ctl("-l", str(self.datadir / "server.log"), "-o", f"-p {self.port} -k {self.datadir}", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._ctl("-m", mode, "stop")


def _as_postgres_user(datadir: Path) -> Any:
    """PostgreSQL refuses to run as root: when root, run its tools as the owner of the data directory."""
    if os.geteuid() != 0:
        return None
    stat = datadir.stat()

    def demote() -> None:
        os.setgid(stat.st_gid)
        os.setuid(stat.st_uid)

    return demote


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    bindir = pg_bin()
    found = bindir is not None and (bindir / "initdb").exists()
    require("PostgreSQL server binaries (a private cluster)", None if found else "initdb/pg_ctl are not installed")
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="b24vote-pg-"))
    datadir = root / "data"
    datadir.mkdir()
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        os.chown(datadir, owner.pw_uid, owner.pw_gid)
    subprocess.run(
        [str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
        preexec_fn=_as_postgres_user(datadir),
    )
    with (datadir / "postgresql.conf").open("a") as conf:
        conf.write("fsync = off\nfull_page_writes = off\nshared_buffers = 16MB\nmax_connections = 60\n")
    cluster = PrivateCluster(bindir, datadir, free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Served:
    """A ``b24vote serve`` process whose output is read through a pipe (not a file: a file-size limit set on
    the process must not cut its log)."""

    base: str
    proc: subprocess.Popen[str]
    output: list[str]

    @property
    def log(self) -> str:
        return "".join(self.output)


@contextmanager
def serve_piped(env: dict[str, str], *extra: str, preexec_fn: Any = None) -> Iterator[Served]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), *extra],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=preexec_fn,
    )
    served = Served(f"http://127.0.0.1:{port}", proc, [])
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: served.output.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:

        def up() -> bool:
            assert proc.poll() is None, f"server exited early: {served.log}"
            try:
                return httpx.get(f"{served.base}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        assert wait_until(up, 30), "server did not start within 30 s"
        yield served
    finally:
        stop(proc)
        reader.join(timeout=10)
        proc.stdout.close()
