"""Group commit for SQLite: REST writes of one process share transactions, and so their fsyncs.

SQLite lets one writer in at a time and, with ``synchronous=FULL``, each commit waits for the disk. One writer
thread takes the queued calls, runs each inside its own savepoint of one transaction, and commits them
together: a call that fails rolls back to its savepoint alone, and no call is answered before the commit that
holds it reached the disk. Under load the calls that arrive while a group runs form the next group, so the
number of fsyncs per vote falls as the load rises; an idle server commits each call on its own at once.

The writer records which tables each group wrote (statements through ``raw.Prepared`` and SQLAlchemy on the
connection it hands the calls) and publishes them with the commit headers around the group's commit
(:class:`b24vote.storage.changes.OwnCommits`), so that the process's kept readers drop only what changed. A call
must not run SQL on the driver connection itself: such a write would go unrecorded.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from b24vote.storage.changes import OwnCommits
from b24vote.storage.raw import recording_writes

__all__ = ["GroupWriter"]

log = logging.getLogger("b24vote.storage")

_MAX_GROUP = 128  # calls per transaction: bounds the work one failed commit can take down


@dataclass(slots=True)
class _Call:
    work: Callable[[Connection], Any]
    done: Future[Any] = field(default_factory=Future)


class GroupWriter:
    """One thread and one transaction per group of queued calls."""

    def __init__(
        self, engine: Engine, writer_lock: AbstractContextManager[Any], commits: OwnCommits | None = None
    ) -> None:
        self._engine = engine
        self._writer_lock = writer_lock  # the process's other SQLite writers queue on the same lock
        self.commits = commits  # where what each group changed is published (None: nowhere)
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, work: Callable[[Connection], Any]) -> Future[Any]:
        """Queue ``work``; the future completes once its group committed (or with the error that ended it)."""
        self._ensure_thread()
        call = _Call(work)
        self._queue.put(call)
        return call.done

    def stop(self) -> None:
        """Finish the queued calls, then end the thread (a later submit starts a new one). For shutdown: a call
        submitted while this runs may wait for that next submit."""
        with self._start_lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="b24vote-group-writer", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        # Calls must not open a write of their own (Database.write) from here: SQLite's lock is this
        # thread's until the group commits. REST handlers write through the connection they are given.
        while (group := self._next_group()) is not None:
            self._run_group(group)

    def _next_group(self) -> list[_Call] | None:
        first = self._queue.get()
        if first is None:
            return None
        group = [first]
        while len(group) < _MAX_GROUP:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                self._queue.put(None)  # stop after this group
                break
            group.append(more)
        return group

    def _run_group(self, group: list[_Call]) -> None:
        # A call its caller gave up on (a client gone, a task cancelled) before it ran is left out; once running,
        # its future can no longer be cancelled, so answering it below never meets a cancelled one.
        group = [call for call in group if call.done.set_running_or_notify_cancel()]
        if not group:
            return
        outcomes: list[tuple[_Call, Any, BaseException | None]] = []
        commits = self.commits
        try:
            with self._writer_lock, self._engine.connect() as pooled:
                conn = pooled.execution_options(b24vote_write=True)
                driver: Any = conn.connection.dbapi_connection
                with conn.begin(), recording_writes(conn) as written:  # BEGIN IMMEDIATE (the engine's begin hook)
                    started = commits.start(driver) if commits is not None else None
                    for call in group:
                        outcomes.append((call, *self._run_one(conn, call)))
                # Committed. Published before any call is answered: a client's next read finds its own write.
                if commits is not None:
                    commits.publish(driver, started, written)
        except BaseException as exc:  # the transaction itself failed: nothing of the group is stored
            log.exception("group commit of %d calls failed", len(group))
            for call in group:
                call.done.set_exception(exc)
            return
        for call, value, error in outcomes:
            if error is None:
                call.done.set_result(value)
            else:
                call.done.set_exception(error)

    @staticmethod
    def _run_one(conn: Connection, call: _Call) -> tuple[Any, BaseException | None]:
        # The savepoint is set on the driver: SQLAlchemy's nested-transaction bookkeeping costs more than the
        # statements. A call that opens savepoints of its own closes them before it returns or raises.
        driver: Any = conn.connection.dbapi_connection
        driver.execute("SAVEPOINT b24vote_call")
        try:
            value = call.work(conn)
        except Exception as exc:
            # This call's writes only; raises if the transaction is gone, which ends the whole group.
            driver.execute("ROLLBACK TO SAVEPOINT b24vote_call")
            driver.execute("RELEASE SAVEPOINT b24vote_call")
            return None, exc
        driver.execute("RELEASE SAVEPOINT b24vote_call")  # the call's writes join the group's transaction
        return value, None
