"""Repairs for YAML mistakes that hand-written rule repositories make, each unambiguous.

When libyaml rejects a file, these look at what it rejected and, only where the author's intent is
beyond doubt, rewrite that spot and let the parser try again; every repair becomes a warning naming
its line. Line numbers never change, so every other line reference stays right.
- `- *evil.exe*` unquoted: YAML reads the leading `*` as an alias that does not exist; the author
  meant a wildcard value, so every such value (whose name no `&anchor` defines) is quoted.
- `"C:\\Windows\\x.exe"` in double quotes with single backslashes: YAML stops at an unknown escape
  such as `\\W`; the author meant literal backslashes, so the scalars of each such line are
  single-quoted. (Where the line also has a `\\\\` or `\\"`, the intent is not clear: no change.)
- Text after the rule that is not YAML (a pasted SIEM query, notes): when the lines from the first
  one YAML cannot place to the end hold no further `key:` line, they are left out.
"""

from __future__ import annotations

import re

import yaml

TOP_LEVEL_KEY = re.compile(r"^[^\s#\-'\"][^:]*:(?:\s|$)")
DOUBLE_QUOTED = re.compile(r'"([^"\n]*)"')
ANCHOR = re.compile(r"&([^\s,\[\]{}]+)")
# What comes before a block value that starts with `*`: a sequence dash or a simple mapping key.
BEFORE_ALIAS = re.compile(r"^[ \t]*(?:-[ \t]+|[^#'\"\n:]*:[ \t]+)(?=\*)")
ALIAS_NAME = re.compile(r"\*([^\s,\[\]{}]+)")
COMMENT = re.compile(r"[ \t]#")
# An escape YAML does not know (valid: 0 a b t TAB n v f r e space " / \\ N _ L P x u U).
BAD_ESCAPE = re.compile(r'\\[^0abt\tnvfre "/\\N_LPxuU]')


def repair(text: str, error: yaml.MarkedYAMLError) -> tuple[str, list[tuple[int, str]]] | None:
    """(repaired text, [(line, warning)]) for a YAML error with a sure repair, else None.

    Each kind of repair is applied to the whole file at once, so a file needs a few passes at most.
    """
    problem = error.problem or ""
    if "undefined alias" in problem:
        return _quote_alias_values(text)
    if "unknown escape character" in problem:
        return _single_quote_lines(text)
    return _drop_trailing_text(text, error)


def _quote_alias_values(text: str) -> tuple[str, list[tuple[int, str]]] | None:
    anchors = set(ANCHOR.findall(text))
    lines = text.split("\n")
    notes = []
    for number, line in enumerate(lines):
        before = BEFORE_ALIAS.match(line)
        if not before:
            continue
        value = line[before.end() :]
        comment = COMMENT.search(value)
        rest = value[comment.start() :] if comment else ""
        value = (value[: comment.start()] if comment else value).rstrip()
        name = ALIAS_NAME.match(value)
        if not name or name.group(1) in anchors:
            continue
        lines[number] = before.group(0) + "'" + value.replace("'", "''") + "'" + rest
        notes.append(
            (number + 1, f"unquoted value {_short(value)} starts with '*', which YAML reads as an alias; read as text")
        )
    return ("\n".join(lines), notes) if notes else None


def _single_quote_lines(text: str) -> tuple[str, list[tuple[int, str]]] | None:
    lines = text.split("\n")
    notes = []
    for number, line in enumerate(lines):
        if "\\\\" in line or '\\"' in line or not any(BAD_ESCAPE.search(m) for m in DOUBLE_QUOTED.findall(line)):
            continue
        lines[number] = DOUBLE_QUOTED.sub(lambda m: "'" + m.group(1).replace("'", "''") + "'", line)
        message = "double-quoted value with single backslashes (YAML escapes); read with literal backslashes"
        notes.append((number + 1, message))
    return ("\n".join(lines), notes) if notes else None


def _drop_trailing_text(text: str, error: yaml.MarkedYAMLError) -> tuple[str, list[tuple[int, str]]] | None:
    marks = [m for m in (error.context_mark, error.problem_mark) if m is not None]
    if not marks:
        return None
    lines = text.split("\n")
    first_bad = min(m.line for m in marks)
    cut = next(
        (i for i in range(min(first_bad, len(lines) - 1), 0, -1) if lines[i][:1] not in ("", " ", "\t", "#")),
        None,
    )
    if cut is None or TOP_LEVEL_KEY.match(lines[cut]) or lines[cut].startswith(("-", "---")):
        return None
    rest = lines[cut:]
    if any(TOP_LEVEL_KEY.match(line) or line.startswith("---") for line in rest):
        return None
    head = "\n".join(lines[:cut])
    if "detection:" not in head and "correlation:" not in head:
        return None
    last = len(lines) - (1 if lines[-1] == "" else 0)
    message = f"lines {cut + 1}-{last} are not YAML (text after the rule?); ignored"
    return head + "\n" * (len(rest)), [(cut + 1, message)]


def _short(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")
