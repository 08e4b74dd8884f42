"""A range of an EVTX file's chunks, read as an EVTX file of its own: how one big file is split over processes.

An EVTX file is a 4,096-byte header and 64 KiB chunks, each self-contained: its records' templates, strings and
offsets are the chunk's own, and so are its checksums. The `evtx` parser reads a path or a file-like object and has
no record range of its own, so `ChunkRange` is a read-only file-like object presenting a header written for the
range (chunk count, checksum) followed by those chunks of the real file, read in place: the parser reads exactly
the records it would read in them as part of the whole file, in the same order (tests/matching/test_scanning.py).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

EVTX_MAGIC = b"ElfFile\x00"
HEADER_BYTES, CHUNK_BYTES = 4096, 65536


def chunk_count(path: Path) -> int:
    """How many whole 64 KiB chunks follow the header (used or not: the parser skips an unused one)."""
    return max(0, (path.stat().st_size - HEADER_BYTES) // CHUNK_BYTES)


def ranges(path: Path, per_piece: int) -> list[tuple[int, int]]:
    """The file's chunks as [first, stop) ranges of at most `per_piece` chunks, in order (one range when it fits)."""
    total = chunk_count(path)
    if total <= per_piece:
        return [(0, total)]
    return [(first, min(total, first + per_piece)) for first in range(0, total, per_piece)]


def range_header(original: bytes, count: int) -> bytes:
    """The file's own header with the range's chunk numbers and count, and its checksum (CRC32 of 120 bytes)."""
    head = bytearray(original[:HEADER_BYTES].ljust(HEADER_BYTES, b"\x00"))
    head[8:24] = struct.pack("<QQ", 0, max(0, count - 1))  # first and last chunk number
    head[42:44] = struct.pack("<H", min(count, 0xFFFF))  # chunk count (16 bits; the parser reads to the end)
    head[124:128] = struct.pack("<I", zlib.crc32(bytes(head[:120])))
    return bytes(head)


class ChunkRange(io.RawIOBase):
    """Chunks [first, stop) of the EVTX file at `path`, behind a header of their own."""

    def __init__(self, path: Path, first: int, stop: int):
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed with the range
        self._header = range_header(self._file.read(HEADER_BYTES), stop - first)
        self._base = HEADER_BYTES + first * CHUNK_BYTES - HEADER_BYTES  # file offset of the range's byte HEADER
        self._size = HEADER_BYTES + (stop - first) * CHUNK_BYTES
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        start = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, start + offset)
        return self._position

    def readinto(self, buffer) -> int:
        wanted = min(len(buffer), max(0, self._size - self._position))
        done = 0
        while done < wanted:
            if self._position < HEADER_BYTES:
                piece = self._header[self._position : self._position + wanted - done]
            else:
                self._file.seek(self._base + self._position)
                piece = self._file.read(wanted - done)
                if not piece:
                    break
            buffer[done : done + len(piece)] = piece
            done += len(piece)
            self._position += len(piece)
        return done

    def close(self) -> None:
        self._file.close()
        super().close()
