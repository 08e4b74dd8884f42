"""Sigma regexes and wildcard strings compiled for RE2, a matching engine that runs in linear time.

Python's `re` backtracks: one stock SigmaHQ regex takes seconds on a few KB of crafted input, and
`*A*B*` wildcard patterns are quadratic. RE2 never backtracks, so the time to test a value is
proportional to its length whatever the pattern. The price: RE2 does not support backreferences
or lookaround. A rule regex that RE2 cannot compile is not dropped and never falls back to `re`:
`regex_source()` returns an `Uncompilable` that evaluation treats as "cannot be decided" (the rule then
does not fire on it), the reason is logged once, and `catalog.matching.engine.uncompilable_rules()` lists
such rules for the match page.

All the string and regex values of one predicate become one alternation (`any_of`), so a list
of 50 values is one pass over the event value, not 50. Values are compared as UTF-8 bytes
(`as_bytes`), encoded once per event rather than once per pattern.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import re2
from sigma.types import SpecialChars

log = logging.getLogger(__name__)

# RE2's metacharacters, escaped so a Sigma string's text is matched literally. (str.translate is about
# ten times faster than re2.escape, which matters when compiling the catalog's ~45,000 string values.)
_LITERAL = str.maketrans({c: "\\" + c for c in "\\.+*?()|[]{}^$"})

# Sigma's regex flags (`re|i`, `re|m`, `re|s`) as RE2 inline flags.
INLINE_FLAGS = {"IGNORECASE": "i", "MULTILINE": "m", "DOTALL": "s"}


@dataclass(frozen=True)
class Uncompilable:
    """A rule regex RE2 cannot run (backreference, lookaround, ...): evaluates as unknown."""

    pattern: str
    reason: str

    def __str__(self) -> str:
        return f"regex {self.pattern!r} is not supported by the linear-time engine: {self.reason}"


def _options() -> re2.Options:
    options = re2.Options()
    options.never_capture = True  # only "does it match?" is asked; no spans of groups
    options.log_errors = False  # failures are reported through `Uncompilable`, not stderr
    options.max_mem = 32 << 20  # one alternation may hold a few hundred values of a rule
    return options


@lru_cache(maxsize=20_000)
def regex_source(pattern: str, flags: frozenset[str] = frozenset()) -> str | Uncompilable:
    """A rule's regex (`|re`, Sigma flag names such as IGNORECASE) as an RE2 group to search for,
    or Uncompilable (logged once) when RE2 cannot run it."""
    inline = "".join(sorted(INLINE_FLAGS[f] for f in flags if f in INLINE_FLAGS))
    source = f"(?{inline}:{pattern})" if inline else f"(?:{pattern})"
    try:
        re2.compile(source, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "not supported"
        problem = Uncompilable(pattern, reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason))
        log.warning("%s", problem)
        return problem
    return source


def wildcard_source(parts: tuple, cased: bool, anywhere: bool = False) -> str:
    """A Sigma string (literal parts, `*` any run, `?` one character) as an RE2 group to search for.

    The whole value must match, so the group is anchored unless it starts or ends with `*`
    (`*\\net.exe` is an unanchored search for `\\net.exe` at the end). `anywhere`: keywords,
    found anywhere in a value. A `*` spans line breaks; case is ignored unless `cased`.
    """
    parts = list(parts)
    starts_open = anywhere or (bool(parts) and parts[0] is SpecialChars.WILDCARD_MULTI)
    ends_open = anywhere or (bool(parts) and parts[-1] is SpecialChars.WILDCARD_MULTI)
    while parts and parts[0] is SpecialChars.WILDCARD_MULTI:
        parts.pop(0)
    while parts and parts[-1] is SpecialChars.WILDCARD_MULTI:
        parts.pop()
    pieces = []
    for part in parts:
        if part is SpecialChars.WILDCARD_MULTI:
            pieces.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            pieces.append(".")
        else:
            pieces.append(part.translate(_LITERAL))
    body = "".join(pieces)
    return f"(?{'s' if cased else 'is'}:{'' if starts_open else '^'}{body}{'' if ends_open else '$'})"


@lru_cache(maxsize=50_000)
def any_of(sources: tuple[str, ...]) -> re2._Regexp:
    """One RE2 program matching when any of the sources does: a value list is read in one pass.

    Raises re2.error only if the alternation outgrows RE2's memory budget (callers then compile
    the sources one by one)."""
    return re2.compile("|".join(sources), _options())


def as_bytes(value) -> bytes:
    """An event value as the UTF-8 bytes RE2 reads (a lone surrogate becomes `?`, never an error)."""
    return str(value).encode("utf-8", errors="replace")
