"""Read a rule file safely: size, encoding and YAML shape limits, then libyaml parsing.

libyaml (CSafeLoader) shares aliased nodes instead of copying them, so a "billion laughs"
file loads small but explodes for whoever walks it. We therefore measure each document's
*expanded* size and depth once, memoised by node identity, and reject it before anyone walks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from .problems import RuleFileError

DOCUMENT_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)


@dataclass
class Limits:
    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 100_000


@dataclass
class RawDocument:
    """One YAML document of a file: its data, its text as written and the line it starts on."""

    index: int
    line: int
    text: str
    data: Any


def decode(data: bytes) -> str:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise RuleFileError("binary file (NUL byte), not a YAML rule", line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RuleFileError(f"not UTF-8: invalid byte 0x{data[exc.start]:02x} at offset {exc.start}", line) from None
    return text.removeprefix("\ufeff")


def split_documents(text: str) -> list[tuple[int, str]]:
    """(first line, text) of each non-empty YAML document, split at '---' lines."""
    pieces = []
    start, line = 0, 1
    for match in DOCUMENT_SEPARATOR.finditer(text):
        pieces.append((line, text[start : match.start()]))
        line = text.count("\n", 0, match.end()) + 2
        start = match.end() + 1
    pieces.append((line, text[start:]))
    result = []
    for first_line, piece in pieces:
        stripped = piece.lstrip("\n")
        if not stripped.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in stripped.splitlines()):
            continue
        result.append((first_line + len(piece) - len(stripped), stripped.rstrip() + "\n"))
    return result


def _measure(node: Any, depth: int, limits: Limits, memo: dict, on_path: set) -> tuple[int, int]:
    """(expanded node count, height) of a YAML value, each shared node measured once."""
    if not isinstance(node, (dict, list)):
        return 1, 0
    key = id(node)
    if key in memo:
        size, height = memo[key]
    else:
        if key in on_path:
            raise RuleFileError("recursive YAML alias (a node that contains itself)")
        on_path.add(key)
        size, height = 1, 0
        children = list(node.keys()) + list(node.values()) if isinstance(node, dict) else node
        for child in children:
            child_size, child_height = _measure(child, depth + 1, limits, memo, on_path)
            size += child_size
            height = max(height, child_height + 1)
            if size > limits.max_nodes:
                raise RuleFileError(f"YAML expands to more than {limits.max_nodes} nodes (alias expansion bomb?)")
        on_path.discard(key)
        memo[key] = (size, height)
    if depth + height > limits.max_depth:
        raise RuleFileError(f"YAML nesting deeper than {limits.max_depth} levels")
    return size, height


def check_shape(data: Any, limits: Limits) -> None:
    _measure(data, 0, limits, {}, set())


def load_documents(data: bytes, limits: Limits) -> list[RawDocument]:
    """Parse a rule file's bytes into its non-empty documents, or raise RuleFileError."""
    if len(data) > limits.max_bytes:
        raise RuleFileError(f"file is {len(data)} bytes, over the {limits.max_bytes}-byte limit")
    text = decode(data)
    try:
        # libyaml's constructor recurses per level and can crash the process on absurd nesting,
        # so anything that might be deep is measured on the event stream first.
        if _nesting_bound(text) > limits.max_depth and _event_depth(text, limits.max_depth) > limits.max_depth:
            raise RuleFileError(f"YAML nesting deeper than {limits.max_depth} levels")
        loaded = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise RuleFileError(f"invalid YAML: {exc.problem or exc}", line) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise RuleFileError(f"invalid YAML: {exc}") from None
    pieces = split_documents(text)
    docs = [d for d in loaded if d is not None]
    # Keep each document's own text when the split agrees with the parser; else the whole file.
    aligned = len(pieces) == len(docs)
    result = []
    for index, data_doc in enumerate(docs):
        line, doc_text = pieces[index] if aligned else (1, text)
        if "&" in doc_text:  # only anchors can make a document share (and so multiply) nodes
            check_shape(data_doc, limits)
        result.append(RawDocument(index=index, line=line, text=doc_text, data=data_doc))
    return result


def _nesting_bound(text: str) -> int:
    """A cheap upper bound of the nesting depth: deepest indentation plus every flow bracket."""
    indents = re.findall(r"^[ \t]*", text, re.M)
    return max(map(len, indents), default=0) + text.count("[") + text.count("{")


def _event_depth(text: str, limit: int) -> int:
    """The real nesting depth, from libyaml's event stream (no Python objects are built)."""
    depth = deepest = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return deepest
