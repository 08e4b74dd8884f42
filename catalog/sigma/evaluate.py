"""Does a logged event match a rule? Sigma semantics on a flat event (field -> value).

Rules are rebuilt from what the catalog stores (each predicate's field, modifiers and values as
written, and the condition tree), never from the files. pySigma applies the modifiers, so encodings
(base64, base64offset, utf16, wide, windash) produce exactly the strings Sigma means; this module
only compares the results with the event:
- strings: wildcards `*` and `?`, case-insensitive unless `cased`; keywords match any value;
- regular expressions (with i/m/s), CIDR ranges, numeric comparisons, `exists`, `null`, field
  references, negation (`neq`); `all` joins values with AND.
Strings and regexes run on RE2 (catalog.sigma.patterns), in time linear in the value's length.

Evaluation is three-valued: a placeholder (`expand`), a time part or a regex RE2 cannot run is
*unknown* (None), and unknown is not false: `not unknown` is unknown, `unknown or true` is true,
`unknown and false` is false. A rule fires only when a condition is definitely true, so
`not <selection with a placeholder>` no longer fires on any event.

A deadline (time.monotonic() value) bounds the work: past it, `BudgetExceeded` is raised between
items, and the caller reports its results as partial.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any

from sigma.conditions import ConditionAND
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
)

from . import patterns
from .logged_events import flatten_event, load_events  # noqa: F401  (their home before logged_events)


class BudgetExceeded(Exception):
    """The deadline passed before the rule was decided."""


@dataclass(frozen=True)
class Unknown:
    """A value the event alone cannot decide (placeholder, time part, regex RE2 cannot run)."""

    reason: str


class Pattern:
    """String and regex values (RE2 sources, OR-ed), searched in a value's UTF-8 bytes. Compiled
    on first use: most rules are never tried against a given kind of event."""

    __slots__ = ("sources", "_regexps")

    def __init__(self, sources: tuple[str, ...]):
        self.sources = sources
        self._regexps = None

    def search(self, text: bytes) -> bool:
        if self._regexps is None:
            try:
                self._regexps = [patterns.any_of(self.sources)]
            except patterns.re2.error:  # too big for one program: one per value
                self._regexps = [patterns.any_of((source,)) for source in self.sources]
        return any(regexp.search(text) is not None for regexp in self._regexps)


@dataclass
class Item:
    """One predicate, its values turned by pySigma into what must be compared."""

    field: str | None
    values: list
    all_values: bool
    negated: bool


@dataclass
class Block:
    """A detection block: maps OR-ed (a list of maps), the items of each map AND-ed."""

    groups: list[list[Item]]


@dataclass
class CompiledRule:
    conditions: list[Any]  # JSON trees (see catalog.sigma.conditions)
    blocks: dict[str, Block]
    problems: list[str] = field(default_factory=list)  # why parts of it can never be decided


def compile_rule(
    condition_tree: list[Any], predicates: Iterable[tuple[str, int, str, list[str], list[Any]]]
) -> CompiledRule:
    """predicates: (block name, group, field, modifiers, values) as the catalog stores them."""
    blocks: dict[str, dict[int, list[Item]]] = {}
    problems: list[str] = []
    for block, group, field_name, modifiers, values in predicates:
        key = "|".join([field_name or "", *modifiers]) if field_name or modifiers else None
        item = SigmaDetectionItem.from_mapping(key, values if len(values) != 1 else values[0])
        all_values = item.value_linking is ConditionAND
        anywhere = item.field is None  # keywords: found anywhere in any value
        if all_values:  # each value must hold: one program per value (its expansions OR-ed in it)
            prepared = [v for value in item.value for v in _prepare([value], anywhere, problems)]
        else:
            prepared = _prepare(item.value, anywhere, problems)
        compiled = Item(item.field, prepared, all_values, bool(getattr(item, "negated", False)))
        blocks.setdefault(block, {}).setdefault(group, []).append(compiled)
    return CompiledRule(
        condition_tree, {name: Block(list(groups.values())) for name, groups in blocks.items()}, problems
    )


def _prepare(values: list, anywhere: bool, problems: list[str]) -> list:
    """OR-ed pySigma values as evaluation compares them: every string and regex among them joined
    into one RE2 program (a `Pattern`), what the event cannot decide as `Unknown`, the rest as is."""
    sources, others = [], []
    for value in _flat(values):
        if isinstance(value, SigmaRegularExpression):
            source = patterns.regex_source(str(value.regexp), frozenset(flag.name for flag in value.flags))
            if isinstance(source, patterns.Uncompilable):
                problems.append(str(source))
                others.append(Unknown(str(source)))
            else:
                sources.append(source)
        elif isinstance(value, SigmaTimestampPart):
            others.append(Unknown("time parts cannot be read from the event"))
        elif isinstance(value, SigmaString):
            if any(isinstance(part, Placeholder) for part in value.s):
                others.append(Unknown("placeholders stand for lists the catalog does not hold"))
            else:
                sources.append(patterns.wildcard_source(tuple(value.s), isinstance(value, SigmaCasedString), anywhere))
        else:
            others.append(value)
    return [Pattern(tuple(sources)), *others] if sources else others


def _flat(values):
    for value in values:
        if isinstance(value, SigmaExpansion):
            yield from _flat(value.values)
        else:
            yield value


class EventView:
    """An event as evaluation reads it: fields found case-insensitively, values encoded once."""

    __slots__ = ("event", "lowered", "deadline", "_bytes", "_all_values")

    def __init__(self, event: dict[str, Any], deadline: float | None = None):
        self.event = event
        self.lowered = {key.lower(): key for key in event}
        self.deadline = deadline
        self._bytes: dict[str, bytes] = {}
        self._all_values: list[bytes] | None = None

    def lookup(self, name: str) -> str | None:
        """The event's key for a rule's field name (exact, else case-insensitive), or None."""
        return name if name in self.event else self.lowered.get(name.lower())

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


def matches(rule: CompiledRule, event: dict[str, Any] | EventView) -> bool:
    """True when one of the rule's conditions definitely holds for the event (unknown is not true)."""
    view = event if isinstance(event, EventView) else EventView(event)
    return any(_holds(tree, rule, view) is True for tree in rule.conditions)


def _any(results) -> bool | None:
    """Kleene OR: true if any is true, else unknown if any is unknown."""
    unknown = False
    for result in results:
        if result is True:
            return True
        unknown = unknown or result is None
    return None if unknown else False


def _all(results) -> bool | None:
    """Kleene AND: false if any is false, else unknown if any is unknown."""
    unknown = False
    for result in results:
        if result is False:
            return False
        unknown = unknown or result is None
    return None if unknown else True


def _holds(tree, rule: CompiledRule, view: EventView) -> bool | None:
    if "ref" in tree:
        block = rule.blocks.get(tree["ref"])
        if block is None:
            return False
        return _any(_all(_item(i, view) for i in group) for group in block.groups)
    args = tree["args"]
    if tree["op"] == "not":
        result = _holds(args[0], rule, view)
        return None if result is None else not result
    results = (_holds(arg, rule, view) for arg in args)
    return _all(results) if tree["op"] == "and" else _any(results)


def _item(item: Item, view: EventView) -> bool | None:
    view.check_deadline()
    if item.field is None:  # keywords: a value anywhere in the event
        texts = view.all_values()
        checks = (_any(_keyword(value, text) for text in texts) for value in item.values)
    else:
        key = view.lookup(item.field)
        checks = (_value(value, key, view) for value in item.values)
    result = _all(checks) if item.all_values else _any(checks)
    return (None if result is None else not result) if item.negated else result


def _keyword(value, text: bytes) -> bool | None:
    if value.__class__ is Pattern:
        return value.search(text)
    return None if value.__class__ is Unknown else False


def _value(value, key: str | None, view: EventView) -> bool | None:
    if value.__class__ is Pattern:  # most values: checked first, without isinstance's ABC lookups
        return key is not None and view.event[key] is not None and value.search(view.text(key))
    if value.__class__ is Unknown:
        return None
    actual = None if key is None else view.event[key]
    if isinstance(value, SigmaNull):
        return key is None or actual in (None, "")
    if isinstance(value, SigmaExists):
        return (key is not None) == value.exists
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
        number = _number(actual)
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
        number = _number(actual)
        return number is not None and number == value.number
    if isinstance(value, SigmaBool):
        return str(actual).lower() == str(value.boolean).lower()
    return False


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
