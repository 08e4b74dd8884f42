"""The JSON objects of a JSON file, read incrementally: one object, a list of them, or several one after another.

An uploaded `[{},{},...]` of 64 MiB was decoded whole (1.77 GB resident) before the event limit could stop it.
Here `ijson` (yajl, in C) reads the file in 64 KiB pieces and each event is built alone, so memory is one event
plus a buffer, and the caller stops at the event limit without reading the rest. Nesting is counted while
reading, so the depth limit is checked before a deep value is built.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

import ijson

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"
OPENING, CLOSING = ("start_map", "start_array"), ("end_map", "end_array")


class JSONStreamError(ValueError):
    """Not JSON, or nested deeper than allowed; the message says where (bytes read so far) and what."""


class _Counted:
    """A binary reader that counts what it has handed out, to say roughly where a syntax error is."""

    def __init__(self, raw):
        self.raw, self.done, self.blank = raw, 0, True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.done += len(data)
        self.blank = self.blank and not data.strip()
        return data


class _Utf8FromText:
    """A UTF-16 file as the UTF-8 bytes ijson reads (invalid sequences replaced, as the old reader did)."""

    def __init__(self, raw: BinaryIO):
        self.text = io.TextIOWrapper(raw, encoding="utf-16", errors="replace")

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks for nothing first, to tell bytes from text
            return b""
        return self.text.read(size if size < 0 else max(1, size // 2)).encode("utf-8", errors="replace")


def _byte_source(handle: BinaryIO):
    head = handle.read(3)
    if head.startswith(UTF16_BOMS):
        handle.seek(0)
        return _Utf8FromText(handle)
    if not head.startswith(UTF8_BOM):
        handle.seek(0)
    return handle


def json_objects(handle: BinaryIO, max_depth: int) -> Iterator[dict]:
    """Each JSON object of the file, in order: the top-level objects and the objects directly in top-level
    lists (other values are skipped, as for pasted events). Raises JSONStreamError."""
    source = _Counted(_byte_source(handle))
    depth = 0
    builder = built_at = None
    in_list = False  # inside a top-level list
    try:
        for _prefix, event, value in ijson.parse(source, multiple_values=True, use_float=True):
            if event in OPENING:
                depth += 1
                if depth > max_depth:
                    raise JSONStreamError(f"JSON nested more than {max_depth} levels deep (at most {max_depth}).")
                if depth == 1:
                    in_list = event == "start_array"
                # An event: a top-level object, or an object directly inside a top-level list.
                if builder is None and event == "start_map" and (depth == 1 or (depth == 2 and in_list)):
                    builder, built_at = ijson.ObjectBuilder(), depth
            if builder is not None:
                builder.event(event, value)
            if event in CLOSING:
                if builder is not None and depth == built_at:
                    yield builder.value
                    builder = built_at = None
                depth -= 1
    except ijson.JSONError as exc:
        if source.blank:
            return  # an empty or blank file: no object (the caller says so)
        raise JSONStreamError(f"not valid JSON (in the first {source.done:,} bytes): {_detail(exc)}") from None


def _detail(exc: Exception) -> str:
    """The parser's complaint, first line only (yajl follows it with a quote of the input)."""
    message = exc.args[0] if exc.args else ""
    if isinstance(message, bytes):
        message = message.decode("utf-8", errors="replace")
    lines = str(message).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
