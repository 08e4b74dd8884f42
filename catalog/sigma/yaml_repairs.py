"""Repairs for YAML mistakes that hand-written rule repositories make, each unambiguous.

When libyaml rejects a file, these look at what it rejected and, only where the author's intent is
beyond doubt, rewrite that spot and let the parser try again; every repair becomes a warning naming
its line. Line numbers never change, so every other line reference stays right.
- `- *evil.exe*` unquoted: YAML reads the leading `*` as an alias that does not exist; the author
  meant a wildcard value, so the value is quoted.
- `"C:\\Windows\\x.exe"` in double quotes with single backslashes: YAML stops at an unknown escape
  such as `\\W`; the author meant literal backslashes, so the scalars of that line are single-quoted.
  (Where the line also has a `\\\\` or `\\"`, the intent is not clear and nothing is changed.)
- Text after the rule that is not YAML (a pasted SIEM query, notes): when the lines from the first
  one YAML cannot place to the end hold no further `key:` line, they are left out.
"""

from __future__ import annotations

import re

import yaml

TOP_LEVEL_KEY = re.compile(r"^[^\s#\-'\"][^:]*:(?:\s|$)")
DOUBLE_QUOTED = re.compile(r'"([^"\n]*)"')
# What may precede a block value: a sequence dash or a mapping key.
VALUE_START = re.compile(r"^[ \t]*(?:-[ \t]+|[^#\n]*?:[ \t]+)$")


def repair(text: str, error: yaml.MarkedYAMLError) -> tuple[str, int, str] | None:
    """(repaired text, line, warning) for a YAML error with a sure repair, else None."""
    problem = error.problem or ""
    if "undefined alias" in problem:
        return _quote_alias_value(text, error.problem_mark)
    if "unknown escape character" in problem:
        return _single_quote_line(text, error.context_mark or error.problem_mark)
    return _drop_trailing_text(text, error)


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _quote_alias_value(text: str, mark) -> tuple[str, int, str] | None:
    if mark is None:
        return None
    lines = _lines(text)
    line = lines[mark.line]
    before, value = line[: mark.column], line[mark.column :]
    if not value.startswith("*") or not VALUE_START.match(before):
        return None
    comment = re.search(r"[ \t]+#", value)
    if comment:
        value, rest = value[: comment.start()], value[comment.start() :]
    else:
        rest = ""
    value = value.rstrip()
    lines[mark.line] = before + "'" + value.replace("'", "''") + "'" + rest
    message = f"unquoted value {_short(value)} starts with '*', which YAML reads as an alias; read as text (quote it)"
    return "\n".join(lines), mark.line + 1, message


def _single_quote_line(text: str, mark) -> tuple[str, int, str] | None:
    if mark is None:
        return None
    lines = _lines(text)
    line = lines[mark.line]
    if "\\\\" in line or '\\"' in line or not DOUBLE_QUOTED.search(line):
        return None
    lines[mark.line] = DOUBLE_QUOTED.sub(lambda m: "'" + m.group(1).replace("'", "''") + "'", line)
    message = (
        "double-quoted value with single backslashes (YAML escapes); read with literal backslashes"
        " (use single quotes for Windows paths)"
    )
    return "\n".join(lines), mark.line + 1, message


def _drop_trailing_text(text: str, error: yaml.MarkedYAMLError) -> tuple[str, int, str] | None:
    marks = [m for m in (error.context_mark, error.problem_mark) if m is not None]
    if not marks:
        return None
    lines = _lines(text)
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
    return head + "\n" * (len(rest)), cut + 1, message


def _short(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")
