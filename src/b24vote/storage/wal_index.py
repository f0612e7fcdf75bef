"""The header of a SQLite database's WAL index (the ``-shm`` file), mapped once per file for the whole process.

Every commit rewrites the first 48 bytes of the WAL index (change counter, last frame, salts:
https://sqlite.org/walformat.html), so equal bytes mean no commit since; the read model compares them
(``Database.read_inline``) and the group writer reads them around its commits (``changes.OwnCommits``).

**A descriptor of the file is never closed while the file is live.** SQLite locks the WAL index with POSIX
advisory locks, and POSIX drops *every* lock a process holds on a file when the process closes *any*
descriptor of that file (https://sqlite.org/howtocorrupt.html, section 2.2). Closing one of ours — after each
read, or when a kept reader is replaced — released the locks this process's SQLite connections held at that
moment, the writer's included, and another process could then write the database at the same time: the
reliability test that restarts two workers under load found "database disk image is malformed". So each file
is opened and mapped once, kept in a registry by device and inode, and closed only once the file has been
removed (no link left): SQLite removes the index only when no connection anywhere has it open, so no lock of
this process can be on it by then.
"""

from __future__ import annotations

import mmap
import os
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HEADER_SIZE", "WalIndex", "wal_index"]

HEADER_SIZE = 48


@dataclass(frozen=True, slots=True)
class WalIndex:
    """One WAL-index file mapped for reading its header."""

    fd: int
    mapped: mmap.mmap
    key: tuple[int, int]  # (device, inode)

    def read(self) -> bytes:
        return self.mapped[:HEADER_SIZE]


_open: dict[tuple[int, int], WalIndex] = {}
_kept: list[int] = []  # descriptors opened in a race for a file already mapped: never closed while it is live
_lock = threading.Lock()


def wal_index(path: str) -> WalIndex | None:
    """The mapping of the WAL index at ``path``, or None when there is no initialised index there."""
    try:
        found = Path(path).stat()
    except OSError:
        return None
    key = (found.st_dev, found.st_ino)
    with _lock:
        known = _open.get(key)
        if known is not None:
            return known
        _forget_removed()
        if found.st_size < HEADER_SIZE:
            return None
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        opened = os.fstat(fd)
        key = (opened.st_dev, opened.st_ino)
        known = _open.get(key)
        if known is not None or opened.st_size < HEADER_SIZE:  # replaced meanwhile: keep the descriptor open
            _kept.append(fd)
            return known
        mapped = mmap.mmap(fd, HEADER_SIZE, prot=mmap.PROT_READ)
        index = _open[key] = WalIndex(fd, mapped, key)
        return index


def _forget_removed() -> None:
    """Close the mappings of files that are gone (see the module: no lock can be held on them)."""
    for key, index in list(_open.items()):
        if os.fstat(index.fd).st_nlink == 0:
            del _open[key]
            index.mapped.close()
            os.close(index.fd)
    for fd in list(_kept):
        if os.fstat(fd).st_nlink == 0:
            _kept.remove(fd)
            os.close(fd)
