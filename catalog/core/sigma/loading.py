"""Read a rule file safely: size, encoding and YAML shape limits, then libyaml parsing.

Two kinds of YAML can hurt whoever reads it:
- deep nesting: libyaml's composer recurses once per level (a 200 KB file of `- - - … x` crashes the
  process), so nesting is bounded *before* composing: a cheap bound from the text, and when that bound
  is too high, the real depth from libyaml's event stream, which is produced without recursion;
- aliases: libyaml shares aliased nodes instead of copying them, so a "billion laughs" file loads
  small but explodes for whoever walks it. Each document's *expanded* size and depth is measured once,
  memoised by node identity and without recursion, and the document rejected before anyone walks it.
Duplicate mapping keys, which YAML forbids but PyYAML silently resolves to the last value, are
reported as warnings with their line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .decoding import decode
from .problems import RuleFileError
from .yaml_repairs import repair

DOCUMENT_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)
# A run of compact block indicators after the indentation (`- - x`, `? - x`, `: - x`): each opens a level.
COMPACT_INDICATORS = re.compile(r"^[ \t]*((?:[-?:](?:[ \t]+|$))+)", re.M)
# Two indicators in a row: without one, no line opens more than one level (the common case).
COMPACT_PAIR = re.compile(r"[-?:][ \t]+[-?:](?:[ \t]|$)", re.M)
MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Limits:
    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 100_000
    # Values the windash / base64offset items of one file may expand to (catalog.core.sigma.expansion). SigmaHQ's
    # most make 165; 4096 lets five dashes under windash through (3,125 values, a ~170 KB query), not six.
    max_variants: int = 4096


@dataclass
class RawDocument:
    """One YAML document of a file: its data, its text as written and the line it starts on."""

    index: int
    line: int
    text: str
    data: Any


@dataclass
class LoadedFile:
    documents: list[RawDocument]
    warnings: list[tuple[int, str]] = field(default_factory=list)  # (line in the file, message)


def load_documents(data: bytes, limits: Limits) -> list[RawDocument]:
    """Parse a rule file's bytes into its non-empty documents, or raise RuleFileError."""
    return load_file(data, limits).documents


def load_file(data: bytes, limits: Limits) -> LoadedFile:
    """A rule file's non-empty documents and file-level warnings, or RuleFileError."""
    if len(data) > limits.max_bytes:
        raise RuleFileError(f"file is {len(data)} bytes, over the {limits.max_bytes}-byte limit")
    text, encoding_warning = decode(data)
    warnings = [(1, encoding_warning)] if encoding_warning else []
    if may_nest_deeper(text, limits.max_depth):
        depth, line = event_depth(text, limits.max_depth)
        if depth > limits.max_depth:
            raise RuleFileError(f"YAML nesting deeper than {limits.max_depth} levels", line)
    loaded, duplicates, repairs = _load_repaired(text)
    warnings += repairs + duplicates
    pieces = split_documents(text)
    docs = [d for d in loaded if d is not None]
    # Keep each document's own text when the split agrees with the parser; else the whole file.
    aligned = len(pieces) == len(docs)
    result = []
    for index, data_doc in enumerate(docs):
        line, doc_text = pieces[index] if aligned else (1, text)
        if "&" in doc_text:  # only anchors can make a document share (and so multiply) nodes
            try:
                check_shape(data_doc, limits)
            except RuleFileError as exc:
                raise RuleFileError(exc.message, line) from None
        result.append(RawDocument(index=index, line=line, text=doc_text, data=data_doc))
    return LoadedFile(result, warnings)


class _RuleLoader(yaml.CSafeLoader):
    """libyaml's safe loader, noting duplicate keys (PyYAML keeps the last value without a word)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []

    def construct_mapping(self, node, deep=False):
        pairs = node.value
        if len(pairs) > 1:
            # Cheap first: the keys as written. Only when two are equal (or a key is a collection)
            # are the constructed keys compared (`'1'` and `1` differ), which most mappings never need.
            try:
                distinct = len({key.value for key, _ in pairs}) == len(pairs)
            except TypeError:
                distinct = False
            if not distinct:
                self._note_duplicates(pairs)
        return super().construct_mapping(node, deep)

    def _note_duplicates(self, pairs) -> None:
        seen = set()
        for key_node, _ in pairs:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node)  # memoised: the mapping reuses it
            if key in seen:
                message = f"duplicate key '{key}': YAML forbids it; the last value is used"
                self.duplicates.append((key_node.start_mark.line + 1, message))
            seen.add(key)

    def construct_timestamp_or_text(self, node):
        """A date-shaped value that is no date (`2021-13-45`) stays text, for the quirks to report."""
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_RuleLoader.add_constructor("tag:yaml.org,2002:timestamp", _RuleLoader.construct_timestamp_or_text)


MAX_REPAIR_PASSES = 3  # one per kind of repair (yaml_repairs): each fixes the whole file


def _load_repaired(text: str) -> tuple[list[Any], list[tuple[int, str]], list[tuple[int, str]]]:
    """(documents, duplicate-key warnings, repair warnings); sure YAML repairs are tried, a few passes at most."""
    repairs: list[tuple[int, str]] = []
    passes = 0
    while True:
        try:
            documents, duplicates = _load_all(text)
            return documents, duplicates, repairs
        except yaml.MarkedYAMLError as exc:
            repaired = repair(text, exc) if passes < MAX_REPAIR_PASSES else None
            if repaired is None:
                raise RuleFileError(yaml_error_message(exc), _mark_line(exc.problem_mark or exc.context_mark)) from None
            text, notes = repaired
            repairs += notes
            passes += 1
        except yaml.YAMLError as exc:
            raise RuleFileError(f"invalid YAML: {exc}") from None
        except RecursionError:
            raise RuleFileError("invalid YAML: nested too deeply") from None
        except (ValueError, TypeError) as exc:  # a constructor refusing an explicitly tagged value
            raise RuleFileError(f"invalid YAML value: {exc}") from None


def _load_all(text: str) -> tuple[list[Any], list[tuple[int, str]]]:
    loader = _RuleLoader(text)
    try:
        documents = []
        while loader.check_data():
            documents.append(loader.get_data())
        return documents, loader.duplicates
    finally:
        loader.dispose()


def yaml_error_message(exc: yaml.MarkedYAMLError) -> str:
    """libyaml's problem and, when it has one, what it was parsing and where that started."""
    message = f"invalid YAML: {exc.problem or 'cannot be parsed'}"
    if exc.context:
        where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{where})"
    return message


def _mark_line(mark) -> int:
    return mark.line + 1 if mark else 1


def split_documents(text: str) -> list[tuple[int, str]]:
    """(first line, text) of each non-empty YAML document, split at '---' lines."""
    pieces = []
    start, line = 0, 1
    for match in DOCUMENT_SEPARATOR.finditer(text):
        pieces.append((line, text[start : match.start()]))
        line += text.count("\n", start, match.end()) + 1  # counted from the last cut: linear overall
        start = match.end() + 1
    pieces.append((line, text[start:]))
    result = []
    for first_line, piece in pieces:
        stripped = piece.lstrip("\n")
        if not stripped.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in stripped.splitlines()):
            continue
        result.append((first_line + len(piece) - len(stripped), stripped.rstrip() + "\n"))
    return result


def may_nest_deeper(text: str, limit: int) -> bool:
    """Whether the text might nest deeper than `limit`, from a cheap upper bound of its depth.

    A block level needs more indentation, except a sequence under a mapping key, so a line is at
    most twice its indentation deep, plus one level per compact indicator opening it (`- - - x`).
    Flow collections (`[`, `{`) may nest across lines, so every bracket of the file counts. Only
    whether the bound passes `limit` matters, so the indentation is only searched for past the
    point where it would.
    """
    indicators = max(map(len, COMPACT_INDICATORS.findall(text)), default=1) if COMPACT_PAIR.search(text) else 1
    room = limit - 2 - indicators - text.count("[") - text.count("{")
    if room < 0:
        return True
    return re.search(rf"^[ \t]{{{room // 2 + 1},}}", text, re.M) is not None


def event_depth(text: str, limit: int) -> tuple[int, int]:
    """(depth, line) of the real nesting, from libyaml's event stream; stops once past `limit`."""
    depth = deepest = 0
    line = 1
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > deepest:
                    deepest, line = depth, _mark_line(event.start_mark)
                if deepest > limit:
                    break
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        if deepest <= limit:  # not too deep before the syntax error: report the error itself
            raise RuleFileError(yaml_error_message(exc), _mark_line(exc.problem_mark or exc.context_mark)) from None
    except yaml.YAMLError as exc:
        raise RuleFileError(f"invalid YAML: {exc}") from None
    return deepest, line


_DONE = object()


def _children(node: Any):
    if isinstance(node, dict):
        return iter([*node.keys(), *node.values()])
    return iter(node)


def check_shape(data: Any, limits: Limits) -> None:
    """Reject a document whose expanded size or depth is over the limits, walking shared nodes once.

    Iterative (an explicit stack), so an alias chain of any length cannot exhaust Python's stack.
    """
    if not isinstance(data, (dict, list)):
        return
    memo: dict[int, tuple[int, int]] = {}  # id -> (expanded node count, height)
    stack = [(data, _children(data))]
    sizes, heights = [1], [0]
    on_path = {id(data)}
    while stack:
        node, children = stack[-1]
        child = next(children, _DONE)
        if child is _DONE:
            stack.pop()
            on_path.discard(id(node))
            size, height = sizes.pop(), heights.pop()
            memo[id(node)] = (size, height)
            if len(stack) + height > limits.max_depth:
                raise RuleFileError(f"YAML nesting deeper than {limits.max_depth} levels")
            if stack:
                _add(sizes, heights, size, height + 1, limits)
            continue
        if not isinstance(child, (dict, list)):
            _add(sizes, heights, 1, 1, limits)
            continue
        key = id(child)
        if key in memo:
            size, height = memo[key]
            if len(stack) + height > limits.max_depth:
                raise RuleFileError(f"YAML nesting deeper than {limits.max_depth} levels")
            _add(sizes, heights, size, height + 1, limits)
            continue
        if key in on_path:
            raise RuleFileError("recursive YAML alias (a node that contains itself)")
        if len(stack) > limits.max_depth:
            raise RuleFileError(f"YAML nesting deeper than {limits.max_depth} levels")
        on_path.add(key)
        stack.append((child, _children(child)))
        sizes.append(1)
        heights.append(0)


def _add(sizes: list[int], heights: list[int], size: int, height: int, limits: Limits) -> None:
    sizes[-1] += size
    heights[-1] = max(heights[-1], height)
    if sizes[-1] > limits.max_nodes:
        raise RuleFileError(f"YAML expands to more than {limits.max_nodes} nodes (alias expansion bomb?)")
