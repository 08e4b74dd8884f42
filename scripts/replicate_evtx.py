"""Replicate .evtx files into a folder of larger ones, deterministically, for the scan benchmark.

    python scripts/replicate_evtx.py SOURCE_DIR OUT_DIR [--bytes 1G] [--file-chunks 1024]

An EVTX file is a 4,096-byte header and 64 KiB chunks, each chunk self-contained (its own string and template
tables, its records' offsets relative to it, its own checksums). So the chunks of every .evtx file under
SOURCE_DIR (sorted by path; SigmaHQ's regression_data holds 163 files of one chunk each) are copied verbatim,
round after round in the same order, into OUT_DIR/replica-NNNN.evtx files of `--file-chunks` chunks (1,024:
64 MiB, the default per-file upload limit) behind a header written for them (chunk count, checksum), until the
files add up to `--bytes`. The same arguments always write the same bytes. OUT_DIR is created; files already
there are overwritten, never other files. Never point it into the repository.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path

MAGIC, CHUNK_MAGIC = b"ElfFile\x00", b"ElfChnk\x00"
HEADER, CHUNK = 4096, 65536


def source_chunks(folder: Path) -> list[bytes]:
    """Every chunk holding at least one record, file by file in path order."""
    chunks = []
    for path in sorted(folder.rglob("*.evtx")):
        data = path.read_bytes()
        if data[:8] != MAGIC:
            continue
        for offset in range(HEADER, len(data) - CHUNK + 1, CHUNK):
            chunk = data[offset : offset + CHUNK]
            first, last = struct.unpack("<QQ", chunk[8:24])
            if chunk[:8] == CHUNK_MAGIC and last >= first:
                chunks.append(chunk)
    return chunks


def file_header(chunk_count: int, next_record: int) -> bytes:
    """The file header (libevtx's layout): chunk numbers and count, version 3.1, clean, CRC32 of its first 120 bytes."""
    head = MAGIC + struct.pack("<QQQIHHHH", 0, chunk_count - 1, next_record, 128, 1, 3, HEADER, chunk_count)
    head = head.ljust(120, b"\x00") + struct.pack("<I", 0)  # flags: neither dirty nor full
    head += struct.pack("<I", zlib.crc32(head[:120]))
    return head.ljust(HEADER, b"\x00")


def replicate(source: Path, out: Path, total_bytes: int, file_chunks: int) -> tuple[int, int]:
    """Write the replicas; returns (files, records)."""
    chunks = source_chunks(source)
    if not chunks:
        raise SystemExit(f"{source}: no .evtx chunk with records found")
    if not 0 < file_chunks < 1 << 16:
        raise SystemExit("--file-chunks must be between 1 and 65535 (the header counts chunks in 16 bits)")
    out.mkdir(parents=True, exist_ok=True)
    files = records = written = turn = 0
    while written < total_bytes:
        picked = [chunks[(turn + i) % len(chunks)] for i in range(file_chunks)]
        turn += file_chunks
        last_ids = [struct.unpack("<Q", c[32:40])[0] for c in picked]
        records += sum(struct.unpack("<Q", c[16:24])[0] - struct.unpack("<Q", c[8:16])[0] + 1 for c in picked)
        path = out / f"replica-{files:04d}.evtx"
        with open(path, "wb") as handle:
            handle.write(file_header(len(picked), max(last_ids) + 1))
            for chunk in picked:
                handle.write(chunk)
        written += HEADER + CHUNK * len(picked)
        files += 1
    return files, records


def size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(text)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--bytes", type=size, default=size("1G"), help="total size to write (default 1G)")
    parser.add_argument("--file-chunks", type=int, default=1024, help="64 KiB chunks per file (default 1024)")
    args = parser.parse_args(argv)
    if (Path(__file__).resolve().parent.parent) in args.out.resolve().parents:
        raise SystemExit("write the replicas outside the repository")
    files, records = replicate(args.source, args.out, args.bytes, args.file_chunks)
    print(f"{files} file(s), {records:,} records, in {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
