"""Indicator normalization: a detection item's values -> (field, kind, value, transforms, cased).

Sigma compares strings case-insensitively with `*`/`?` wildcards escaped by `\\`. The kind is read
off the resulting pattern, so `Image|endswith: '\\net.exe'` and `Image: '*\\net.exe'` are the same
indicator (ends_with, `\\net.exe`). See docs/design.md, "Indicator normalization".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sigma.types import Placeholder, SigmaBool, SigmaNull, SigmaNumber, SigmaString, SpecialChars

from .model import IndicatorKey

TRANSFORMS = ("base64", "base64offset", "utf16", "utf16le", "utf16be", "wide", "windash", "expand")
COMPARISONS = ("lt", "lte", "gt", "gte")
TIME_PARTS = ("minute", "hour", "day", "week", "month", "year")
REGEX_FLAGS = {"i": "i", "ignorecase": "i", "m": "m", "multiline": "m", "s": "s", "dotall": "s"}
PATTERN_MODIFIERS = {"contains", "startswith", "endswith"}
SPECIAL = "*?\\"
# A literal `*` or `?`, or a literal backslash before a special character: each needs a backslash.
LITERAL_SPECIAL = re.compile(r"[*?]|\\(?=[*?\\])")
HAS_SPECIAL = re.compile(r"[*?\\]")


def render_parts(parts: Iterable[Any]) -> str:
    """Canonical Sigma text of string parts: wildcards as `*`/`?`, literal specials escaped.

    A literal backslash is doubled only where it would otherwise escape the next character,
    so ordinary Windows paths read exactly as written (`\\net.exe`).
    """
    if len(parts) == 1 and isinstance(parts[0], str) and not HAS_SPECIAL.search(parts[0]):
        return parts[0]  # the common case: plain text, nothing to escape
    pieces: list[tuple[str, bool]] = []  # (text, is_literal)
    for part in parts:
        if isinstance(part, str):
            if part:
                pieces.append((part, True))
        elif part is SpecialChars.WILDCARD_MULTI:
            pieces.append(("*", False))
        elif part is SpecialChars.WILDCARD_SINGLE:
            pieces.append(("?", False))
        elif isinstance(part, Placeholder):
            pieces.append((f"%{part.name}%", False))
    out = []
    for position, (text, literal) in enumerate(pieces):
        if not literal:
            out.append(text)
            continue
        out.append(LITERAL_SPECIAL.sub(_escape, text))
        if text.endswith("\\"):  # a final backslash escapes the next piece's first character
            following = pieces[position + 1][0][:1] if position + 1 < len(pieces) else ""
            if following and following in SPECIAL:
                out.append("\\")
    return "".join(out)


def _escape(match: re.Match) -> str:
    return "\\\\" if match.group(0) == "\\" else "\\" + match.group(0)


def pattern_kind(parts: list[Any]) -> tuple[str, list[Any]]:
    """Kind of a wildcard pattern and its core (the parts without the outer `*`)."""
    start, end = 0, len(parts)
    while start < end and parts[start] is SpecialChars.WILDCARD_MULTI:
        start += 1
    while end > start and parts[end - 1] is SpecialChars.WILDCARD_MULTI:
        end -= 1
    leading, trailing = start > 0, end < len(parts)
    core = parts[start:end]
    if not core:
        return ("match" if leading else "eq"), core
    inner = any(isinstance(part, SpecialChars) for part in core)
    if inner or (leading and trailing):
        return "match", core
    if leading:
        return "ends_with", core
    if trailing:
        return "starts_with", core
    return "eq", core


def _plain(value: Any) -> str:
    if isinstance(value, SigmaString):
        return value.original
    if isinstance(value, SigmaBool):
        return "true" if value.boolean else "false"
    if isinstance(value, SigmaNumber):
        return str(value.number)
    if isinstance(value, SigmaNull):
        return ""
    return str(value)


VALUE_KINDS = ("cidr", "exists", "fieldref", *COMPARISONS, *TIME_PARTS)  # the value is taken as is


def indicators_for(field: str | None, modifiers: list[str], values: list[Any]) -> list[IndicatorKey]:
    """Indicators of one detection item, given its modifier names and pySigma original values.

    How the item's values are read depends on its modifiers only, so that is decided once here.
    """
    field = field or ""
    mods = set(modifiers)
    cased = "cased" in mods
    transforms = "|".join(m for m in modifiers if m in TRANSFORMS)
    if "re" in mods:
        flags = "".join(sorted({REGEX_FLAGS[m] for m in modifiers if m in REGEX_FLAGS}))
        regex_transforms = "|".join(filter(None, [transforms, flags and f"flags:{flags}"]))
        return [
            _null(field, transforms, cased)
            if isinstance(v, SigmaNull)
            else IndicatorKey(field, "regex", _plain(v), regex_transforms, True, _plain(v))
            for v in values
        ]
    kind = next((k for k in VALUE_KINDS if k in mods), "neq" if "neq" in mods else "")
    if kind:
        result = []
        for value in values:
            if isinstance(value, SigmaNull):
                result.append(_null(field, transforms, cased))
                continue
            text = _plain(value)
            folded = text.casefold() if kind == "cidr" or (kind == "neq" and not cased) else text
            result.append(IndicatorKey(field, kind, folded, transforms, cased, text))
        return result
    leading = "contains" in mods or "endswith" in mods
    trailing = "contains" in mods or "startswith" in mods
    return [_pattern(field, value, leading, trailing, transforms, cased) for value in values]


def _null(field, transforms, cased) -> IndicatorKey:
    return IndicatorKey(field, "null", "", transforms, cased, "null")


def _pattern(field, value, leading, trailing, transforms, cased) -> IndicatorKey:
    """A string compared with wildcards: its kind is read off the resulting pattern."""
    if isinstance(value, SigmaNull):
        return _null(field, transforms, cased)
    if not isinstance(value, SigmaString):  # numbers and booleans
        text = _plain(value)
        return IndicatorKey(field, "keyword" if not field else "eq", text.casefold(), transforms, cased, text)
    parts = list(value.s)
    if trailing and (not parts or parts[-1] is not SpecialChars.WILDCARD_MULTI):
        parts.append(SpecialChars.WILDCARD_MULTI)
    if leading and (not parts or parts[0] is not SpecialChars.WILDCARD_MULTI):
        parts.insert(0, SpecialChars.WILDCARD_MULTI)
    kind, core = pattern_kind(parts)
    display = render_parts(core) if core else ("*" if kind == "match" else "")
    if not field:  # keywords match anywhere in the event: the pattern shape is not a kind
        kind = "keyword"
    return IndicatorKey(field, kind, display if cased else display.casefold(), transforms, cased, display)
