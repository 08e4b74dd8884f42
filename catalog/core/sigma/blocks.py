"""Where things are in a rule's own YAML text: each detection block as written, the line of a key.

The rule page shows each stage as its author wrote it (comments, quoting and order kept), which
re-dumping the parsed YAML cannot give. Every pattern here is linear in the text: no `\\s*` that can
run across lines and no lazy group followed by optional whitespace, which backtrack quadratically
on long runs of blank lines or spaces.
"""

from __future__ import annotations

import re


def block_texts(text: str, owner: str = "detection") -> dict[str, str]:
    """Each block under the top-level `owner:` key, exactly as written (dedented), by name."""
    found = re.search(rf"^{re.escape(owner)}[ \t]*:", text, re.M)
    if found is None:
        return {}
    lines = text[found.start() :].splitlines()
    start = 1
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    child = None
    for line in lines[start:]:
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            if current is not None:
                current.append(line)
            continue
        indent = len(line) - len(stripped)
        if indent == 0:
            break
        if child is None:
            child = indent
        if indent <= child:
            name = _key_name(stripped)
            current = blocks.setdefault(name, []) if name is not None and indent == child else None
        if current is not None:
            current.append(line[child:])
    result = {}
    for name, block in blocks.items():
        while block and not block[-1].strip():
            block.pop()
        result[name] = "\n".join(block) + "\n"
    return result


def top_level_block(text: str, key: str) -> str:
    """A whole top-level block (`key:` and everything indented under it) exactly as written."""
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if line.startswith(key) and re.match(rf"^{re.escape(key)}\s*:", line):
            end = start + 1
            while end < len(lines) and (
                not lines[end].strip() or lines[end][0].isspace() or lines[end].startswith("#")
            ):
                end += 1
            block = lines[start:end]
            while block and not block[-1].strip():
                block.pop()
            return "\n".join(block) + "\n"
    return ""


def _key_name(line: str) -> str | None:
    """The key of a `key: value` line (quotes removed), or None when the line is not one."""
    quote = line[0]
    if quote in "'\"":
        end = line.find(quote, 1)
        if end > 1 and re.match(r"[ \t]*:(?:\s|$)", line[end + 1 :]):
            return line[1:end]
    match = _KEY_END.search(line, 1)
    return line[: match.start()].rstrip() if match else None


_KEY_END = re.compile(r":(?:\s|$)")


def find_key_line(text: str, key: str) -> int | None:
    """1-based line of the first `key:` in a document's text, at any indentation, or None."""
    match = re.search(rf"^[ \t]*['\"]?{re.escape(key)}['\"]?[ \t]*:", text, re.M)
    return text.count("\n", 0, match.start()) + 1 if match else None


def key_line(text: str, key: str) -> int:
    """1-based line of `key:` in a document's text (1, the document's first line, when absent)."""
    return find_key_line(text, key) or 1
