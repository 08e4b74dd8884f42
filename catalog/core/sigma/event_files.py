"""Logged events from files: Windows EVTX, JSON (one event, a list, or objects one after another) and
JSON lines, read as the flat events rules are written against, within limits.

EVTX is parsed by `evtx` (pyevtx-rs, a maintained Rust parser on PyPI), which renders each record
as the same JSON that SigmaHQ's regression data holds, so both go through `shaped_event` (which also
renames the fields of ECS, Splunk, Sentinel and Defender XDR events: catalog.core.sigma.shapes).

Limits are checked before parsing where the format allows it: the caller checks the byte size
(`check_size`); an EVTX file's record count is read from its chunk headers and a JSON-lines file's
from its line count (`count_events`), before any event is decoded; a JSON document is read one event
at a time (catalog.core.sigma.json_stream) and stopped at the first event past the limit. Per event,
`logged_events` checks fields and value lengths. NUL characters (EVTX binary data holds them) are
dropped from names and values, and lone surrogates replaced, so every event can be stored and shown.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .evtx_ranges import ChunkRange
from .json_stream import JSONStreamError, json_objects
from .logged_events import NO_LIMITS, EventInputError, EventLimits, shaped_event

EVTX_MAGIC = b"ElfFile\x00"
CHUNK_MAGIC = b"ElfChnk\x00"
EVTX_HEADER_BYTES, EVTX_CHUNK_BYTES = 4096, 65536
TIME_FIELDS = (
    *("TimeCreated", "@timestamp", "timestamp", "UtcTime", "EventTime", "time", "_time"),
    *("TimeGenerated", "Timestamp"),  # Sentinel's and Defender XDR's rows
)


class EventFileError(ValueError):
    """A file that cannot be read as events, or breaks a limit; the message names file and place."""


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int
    max_events: int
    per_event: EventLimits


@dataclass
class LoggedEvent:
    number: int  # 1-based, in file order
    timestamp: str  # as logged ('' when the event has none)
    flat: dict[str, Any]
    shape: str = ""  # the shape it was recognised in (catalog.core.sigma.shapes)


def check_size(name: str, size: int, limits: FileLimits) -> None:
    if size > limits.max_bytes:
        raise EventFileError(f"{name}: {size:,} bytes (at most {limits.max_bytes:,}).")


def file_format(path: Path) -> str:
    """'evtx' (by its signature), 'jsonl' (by name: .jsonl, .ndjson) or 'json'."""
    with open(path, "rb") as handle:
        if handle.read(8) == EVTX_MAGIC:
            return "evtx"
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "json"


def count_events(path: Path, name: str, kind: str, chunks: tuple[int, int] | None = None) -> int | None:
    """How many events the file holds, read without parsing them (None: JSON, known only by parsing).
    `chunks`: an EVTX file's chunks [first, stop) only (catalog.core.sigma.evtx_ranges)."""
    if kind == "evtx":
        return _evtx_records(path, name, chunks)
    if kind == "jsonl":
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    return None


def _evtx_records(path: Path, name: str, chunks: tuple[int, int] | None = None) -> int:
    """Records in an EVTX file, summed from its chunk headers (first and last record number of each)."""
    size = path.stat().st_size
    start, stop = EVTX_HEADER_BYTES, size
    if chunks is not None:
        start, stop = (EVTX_HEADER_BYTES + n * EVTX_CHUNK_BYTES for n in chunks)
    total = 0
    with open(path, "rb") as handle:
        if handle.read(8) != EVTX_MAGIC:
            raise EventFileError(f"{name}: not an EVTX file (no ElfFile signature).")
        for offset in range(start, min(stop, size), EVTX_CHUNK_BYTES):
            handle.seek(offset)
            header = handle.read(24)
            if len(header) < 24 or header[:8] != CHUNK_MAGIC:
                continue  # an unused or damaged chunk: the parser skips it too
            first, last = struct.unpack("<QQ", header[8:24])
            if last >= first:
                total += last - first + 1
    return total


def read_events(
    path: Path, name: str, limits: FileLimits, kind: str | None = None, chunks: tuple[int, int] | None = None
) -> Iterator[LoggedEvent]:
    """The file's events in order, flattened and checked; EventFileError names the file and place.
    `chunks`: only those chunks [first, stop) of an EVTX file, numbered from 1 (catalog.core.sigma.evtx_ranges)."""
    kind = kind or file_format(path)
    if chunks is not None and kind != "evtx":
        raise ValueError("only an EVTX file is read by chunks")
    size = path.stat().st_size
    check_size(name, size, limits)
    # Counted up front only where the limit can be reached: every event takes at least a byte of its file (a trusted
    # scan's many small files each paid the reading of their chunk headers).
    count = count_events(path, name, kind, chunks) if size > limits.max_events else None
    if count is not None and count > limits.max_events:
        raise EventFileError(f"{name}: {count:,} events (at most {limits.max_events:,}).")
    if kind == "evtx":
        raw = _evtx(path, name, limits, chunks)
    else:
        raw = {"jsonl": _json_lines, "json": _json}[kind](path, name, limits)
    checked = limits.per_event != NO_LIMITS
    for number, (timestamp, event, plain) in enumerate(raw, start=1):
        if number > limits.max_events:
            raise EventFileError(
                f"{name}: more than {limits.max_events:,} events (at most {limits.max_events:,} per file); "
                f"stopped reading at event {number:,}."
            )
        flat, shape = shaped_event(event)
        if not plain:
            flat = _clean(flat)
        if checked:  # NULs and lone surrogates are gone (_clean): only the sizes are left to check
            try:
                _check_sizes(flat, number, limits.per_event)
            except EventInputError as exc:
                raise EventFileError(f"{name}: {exc}") from None
        yield LoggedEvent(number, timestamp or _time_of(flat), flat, shape)


def _evtx(path: Path, name: str, limits: FileLimits, chunks: tuple[int, int] | None = None):
    import evtx  # a compiled extension: imported where it is needed

    source = str(path) if chunks is None else ChunkRange(path, *chunks)
    loads = json.loads
    try:
        parser = evtx.PyEvtxParser(source, 1)
        for record in parser.records_json():
            data = record["data"]
            # ASCII JSON without escapes decodes to ASCII text without NULs or surrogates: nothing for _clean to
            # do (a NUL, a lone surrogate and any non-ASCII character are escaped as \uXXXX, or not ASCII).
            yield str(record.get("timestamp") or "").removesuffix(" UTC"), loads(data), _plain(data)
    except (OSError, RuntimeError, ValueError) as exc:
        raise EventFileError(f"{name}: not a readable EVTX file: {exc}") from None
    finally:
        if chunks is not None:
            source.close()


def _plain(text: str) -> bool:
    return text.isascii() and "\\u" not in text


def _json(path: Path, name: str, limits: FileLimits):
    """Read incrementally (catalog.core.sigma.json_stream): the caller stops at the event limit, memory is one event."""
    found = False
    with open(path, "rb") as handle:
        try:
            for event in json_objects(handle, limits.per_event.max_depth):
                found = True
                yield "", event, False
        except JSONStreamError as exc:
            raise EventFileError(f"{name}: {exc}") from None
    if not found:
        raise EventFileError(f"{name}: no JSON object found.")


def _json_lines(path: Path, name: str, limits: FileLimits):
    decoder = json.JSONDecoder()
    found = False
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.strip().lstrip("\ufeff")
            if not line:
                continue
            try:
                value, end = decoder.raw_decode(line)
            except json.JSONDecodeError as exc:
                raise EventFileError(f"{name}: line {line_number}, column {exc.colno}: {exc.msg}.") from None
            if end != len(line) or not isinstance(value, dict):
                raise EventFileError(f"{name}: line {line_number}: not one JSON object.")
            found = True
            yield "", value, False
    if not found:
        raise EventFileError(f"{name}: no JSON object found.")


def _check_sizes(flat: dict[str, Any], number: int, limits: EventLimits) -> None:
    """logged_events._check's limits on a cleaned event (which has no NUL and no lone surrogate left)."""
    if len(flat) > limits.max_fields:
        raise EventInputError(f"Event {number} has {len(flat)} fields (at most {limits.max_fields}).")
    longest = limits.max_value_chars
    for key, value in flat.items():
        size = len(value) if value.__class__ is str else len(str(value))
        if size > longest:
            raise EventInputError(
                f"Event {number}, field {key[:80]!r}: value of {size} characters (at most {longest})."
            )


def _clean(flat: dict[str, Any]) -> dict[str, Any]:
    """NULs dropped and lone surrogates replaced in names and string values (others are kept as they
    are, so a file's event matches exactly as the same event pasted would)."""
    return {
        (key if key.__class__ is str and key.isascii() and "\x00" not in key else _fix(str(key))): (
            value if value.__class__ is not str or (value.isascii() and "\x00" not in value) else _fix(value)
        )
        for key, value in flat.items()
    }


def _fix(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text


def _time_of(flat: dict[str, Any]) -> str:
    for key in TIME_FIELDS:
        value = flat.get(key)
        if value not in (None, ""):
            return str(value)
    return ""
