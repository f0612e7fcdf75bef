"""Turning text pieces and files into byte chunks of a streamed response."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["CHUNK_SIZE", "encode_chunks", "file_chunks"]

CHUNK_SIZE = 64 * 1024


def encode_chunks(pieces: Iterable[str], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """UTF-8 bytes of the pieces, gathered into chunks of about ``size`` characters."""
    buffer: list[str] = []
    length = 0
    for piece in pieces:
        buffer.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(buffer).encode()
            buffer.clear()
            length = 0
    if buffer:
        yield "".join(buffer).encode()


def file_chunks(path: Path, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """A file's bytes, chunk by chunk."""
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk
