"""The text of each detection block exactly as written, cut from the rule's own YAML.

The rule page shows each stage as its author wrote it (comments, quoting and order kept), which
re-dumping the parsed YAML cannot give.
"""

from __future__ import annotations

import re


def block_texts(text: str, owner: str = "detection") -> dict[str, str]:
    """Each block under the top-level `owner:` key, exactly as written (dedented), by name."""
    lines = text.splitlines()
    start = None
    for i, line in enumerate(lines):
        if line.startswith(owner) and re.match(rf"^{re.escape(owner)}\s*:", line):
            start = i + 1
            break
    if start is None:
        return {}
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
            match = re.match(r"(['\"]?)(.+?)\1\s*:(\s|$)", stripped)
            current = blocks.setdefault(match.group(2), []) if match and indent == child else None
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
