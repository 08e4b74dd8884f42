"""The values a compiled rule compares an event with, and the event as evaluation reads it.

Strings and regexes run on RE2 (catalog.core.sigma.patterns) in time linear in the value's length. A
rule regex RE2 cannot run (backreference, lookaround) runs on the `regex` module, Python's `re`
syntax with a `timeout`: a `Fallback`. Its time comes out of a `RegexBudget` shared by every event
of one request; a search that runs out of it is *unknown* (neither true nor false) and its pattern
is recorded in `budget.cut_off`, so the answer can say so. Pure Python `re` cannot be interrupted,
which is why `regex` (pinned in pyproject.toml) is used for these few patterns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any

import regex
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
)

from . import patterns

DEFAULT_FALLBACK_SECONDS = 1.0  # backtracking time per event when the caller sets no budget (command line)


class BudgetExceeded(Exception):
    """The deadline passed before the rule was decided."""


@dataclass(frozen=True)
class Unknown:
    """A value the event alone cannot decide (placeholder, time part, regex no engine here can run)."""

    reason: str


class Pattern:
    """String and regex values (RE2 sources, OR-ed), searched in a value's UTF-8 bytes. Compiled
    on first use: most rules are never tried against a given kind of event.

    `plain`, when every value is an ASCII string with wildcards at most at its ends: the same test
    as str operations on an ASCII event value (lowercased unless `cased`), which is what RE2's
    case-insensitive match is on ASCII text, at a tenth of the cost of a call into RE2. Values with
    other characters always go to RE2."""

    __slots__ = ("sources", "plain", "_regexps")

    def __init__(self, sources: tuple[str, ...], plain: Plain | None = None):
        self.sources = sources
        self.plain = plain
        self._regexps = None

    def __reduce__(self):  # pickled without its RE2 programs (they do not pickle): each process compiles its own
        return Pattern, (self.sources, self.plain)

    def search(self, text: bytes) -> bool:
        if self._regexps is None:
            try:
                self._regexps = [patterns.any_of(self.sources)]
            except patterns.re2.error:  # too big for one program: one per value
                self._regexps = [patterns.any_of((source,)) for source in self.sources]
        return any(regexp.search(text) is not None for regexp in self._regexps)


class Plain:
    """Whole values (a set), prefixes, suffixes and substrings (tuples), case-folded and cased apart."""

    __slots__ = ("equal", "starts", "ends", "contains", "cased")

    def __init__(self, simple: list[tuple[str, str, bool]]):
        """simple: (mode: equal / starts / ends / contains, ASCII literal, cased)."""
        folded = [(mode, literal.lower()) for mode, literal, cased in simple if not cased]
        self.equal, self.starts, self.ends, self.contains = _grouped(folded)
        cased = [(mode, literal) for mode, literal, is_cased in simple if is_cased]
        self.cased = _grouped(cased) if cased else None

    def __reduce__(self):
        return _plain, (self.equal, self.starts, self.ends, self.contains, self.cased)

    def test(self, lower: str, raw: str) -> bool:
        if (
            lower in self.equal
            or lower.startswith(self.starts)
            or lower.endswith(self.ends)
            or any(literal in lower for literal in self.contains)
        ):
            return True
        if self.cased is None:
            return False
        equal, starts, ends, contains = self.cased
        return raw in equal or raw.startswith(starts) or raw.endswith(ends) or any(c in raw for c in contains)


def _grouped(literals: list[tuple[str, str]]) -> tuple:
    equal = frozenset(literal for mode, literal in literals if mode == "equal")
    return (equal, *(tuple(literal for mode, literal in literals if mode == kind) for kind in MODES[1:]))


MODES = ("equal", "starts", "ends", "contains")


def _plain(equal, starts, ends, contains, cased) -> Plain:  # a Plain from its parts, as pickled (matching.stored)
    plain = Plain.__new__(Plain)
    plain.equal, plain.starts, plain.ends, plain.contains, plain.cased = equal, starts, ends, contains, cased
    return plain


@dataclass
class RegexBudget:
    """Seconds of backtracking-regex time left, shared by the events of one request."""

    seconds: float
    cut_off: list[str] = field(default_factory=list)  # patterns a search of which ran out of time

    def cut(self, pattern: str) -> None:
        self.cut_off.append(pattern)


class Fallback:
    """A rule regex RE2 refuses, run by the `regex` module within the event's RegexBudget."""

    __slots__ = ("pattern", "flags", "_compiled")

    FLAGS = {"IGNORECASE": regex.IGNORECASE, "MULTILINE": regex.MULTILINE, "DOTALL": regex.DOTALL}

    def __init__(self, pattern: str, flags: frozenset[str]):
        self.pattern, self.flags, self._compiled = pattern, flags, None

    def __reduce__(self):  # without the compiled program, as Pattern
        return Fallback, (self.pattern, self.flags)

    def search(self, text: str, budget: RegexBudget) -> bool | None:
        if self._compiled is None:
            try:
                self._compiled = regex.compile(self.pattern, sum(self.FLAGS.get(f, 0) for f in self.flags))
            except (regex.error, RecursionError, OverflowError):
                self._compiled = False
        if self._compiled is False:
            return None
        if budget.seconds <= 0:
            budget.cut(self.pattern)
            return None
        started = time.monotonic()
        try:
            return self._compiled.search(text, timeout=budget.seconds) is not None
        except TimeoutError:
            budget.cut(self.pattern)
            return None
        finally:
            budget.seconds -= time.monotonic() - started


class EventView:
    """An event as evaluation reads it: fields found case-insensitively, values encoded once.

    `carried` (lowercase field names), for an event seen as a category it is mapped to (a Security
    4688 as process_creation, catalog.core.taxonomy.mapping): a field it lacks and does not carry is
    unknown, not absent. `renamed`: Sigma field (lowercase) -> the event's own key it was read from."""

    __slots__ = (
        *("event", "lowered", "deadline", "regexes", "plain", "carried", "renamed"),
        *("_bytes", "_all_values", "_ascii"),
    )

    def __init__(
        self,
        event: dict[str, Any],
        deadline: float | None = None,
        regexes: RegexBudget | None = None,
        plain: bool = True,
        carried: frozenset[str] | None = None,
        renamed: dict[str, str] | None = None,
    ):
        self.event = event
        self.carried = carried
        self.renamed = renamed or {}
        self.lowered = {key.lower(): key for key in event}
        self.deadline = deadline
        self.regexes = regexes if regexes is not None else RegexBudget(DEFAULT_FALLBACK_SECONDS)
        self.plain = plain  # False: every string test through RE2 (the reference, as before `Plain`)
        self._bytes: dict[str, bytes] = {}
        self._all_values: list[bytes] | None = None
        self._ascii: dict[str, tuple[str, str] | None] = {}

    def ascii(self, key: str) -> tuple[str, str] | None:
        """(lowercased, as is) when the value's text is ASCII, else None."""
        if key not in self._ascii:
            value = self.event[key]
            text = value if value.__class__ is str else str(value)
            self._ascii[key] = (text.lower(), text) if self.plain and text.isascii() else None
        return self._ascii[key]

    def lookup(self, name: str) -> str | None:
        """The event's key for a rule's field name (exact, else case-insensitive), or None."""
        return name if name in self.event else self.lowered.get(name.lower())

    def unknown(self, name: str) -> bool:
        """A field the event lacks and, seen as a mapped category, cannot carry (see the class)."""
        return self.carried is not None and name.lower() not in self.carried

    def text(self, key: str) -> bytes:
        if key not in self._bytes:
            self._bytes[key] = patterns.as_bytes(self.event[key])
        return self._bytes[key]

    def all_values(self) -> list[bytes]:
        if self._all_values is None:
            self._all_values = [self.text(key) for key, value in self.event.items() if value is not None]
        return self._all_values

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise BudgetExceeded


def keyword(value, text: bytes, view: EventView) -> bool | None:
    """A keyword value (no field) against one value of the event."""
    if value.__class__ is Pattern:
        if value.plain is not None and view.plain and text.isascii():
            decoded = text.decode("ascii")
            return value.plain.test(decoded.lower(), decoded)
        return value.search(text)
    if value.__class__ is Fallback:
        return value.search(text.decode("utf-8"), view.regexes)
    return None if value.__class__ is Unknown else False


def compare(value, key: str | None, view: EventView) -> bool | None:
    """A field's value (key: the event's key for the field, None when absent) against one rule value."""
    if value.__class__ is Pattern:  # most values: checked first, without isinstance's ABC lookups
        if key is None or view.event[key] is None:
            return False
        if value.plain is not None:
            texts = view.ascii(key)
            if texts is not None:
                return value.plain.test(*texts)
        return value.search(view.text(key))
    if value.__class__ is Unknown:
        return None
    if value.__class__ is Fallback:
        if key is None or view.event[key] is None:
            return False
        return value.search(view.text(key).decode("utf-8"), view.regexes)
    actual = None if key is None else view.event[key]
    # `null` is a field the event does not have (or holds as JSON null), `''` an empty one: the Sigma specification
    # names them apart, SigmaHQ's rules filter both (the firewall rule's `ApplicationPath: null` and, for svchost,
    # `ApplicationPath: ''`), and the backends convert them apart (Splunk `NOT f=*`, Lucene `NOT _exists_:f`).
    # `exists` is its opposite. docs/design.md, "Reading events".
    if isinstance(value, SigmaNull):
        return actual is None
    if isinstance(value, SigmaExists):
        return (actual is not None) == value.exists
    if key is None or actual is None:
        return False
    if isinstance(value, SigmaFieldReference):
        other_key = view.lookup(value.field)
        other = None if other_key is None else view.event[other_key]
        if other is None:
            return False
        a, b = str(actual).lower(), str(other).lower()
        return a.startswith(b) if value.starts_with else a.endswith(b) if value.ends_with else a == b
    if isinstance(value, SigmaCIDRExpression):
        try:
            return ip_address(str(actual)) in value.network
        except ValueError:
            return False
    if isinstance(value, SigmaCompareExpression):
        number = as_number(actual)
        if number is None:
            return False
        limit = value.number.number
        return {
            CompareOperators.LT: number < limit,
            CompareOperators.LTE: number <= limit,
            CompareOperators.GT: number > limit,
            CompareOperators.GTE: number >= limit,
            CompareOperators.NEQ: number != limit,
        }[value.op]
    if isinstance(value, SigmaNumber):
        number = as_number(actual)
        return number is not None and number == value.number
    if isinstance(value, SigmaBool):
        return str(actual).lower() == str(value.boolean).lower()
    return False


def as_number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
