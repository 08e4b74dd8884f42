"""Does a logged event match a rule? Sigma semantics on a flat event (field -> value).

Rules are rebuilt from what the catalog stores (each predicate's field, modifiers and values as
written, and the condition tree), never from the files. pySigma applies the modifiers, so encodings
(base64, base64offset, utf16, wide, windash) produce exactly the strings Sigma means; this module
only compares the results with the event:
- strings: wildcards `*` and `?`, case-insensitive unless `cased`; keywords match any value;
- regular expressions (with i/m/s), CIDR ranges, numeric comparisons, `exists`, `null`, field
  references, negation (`neq`); `all` joins values with AND.
Strings and regexes run on RE2 (catalog.core.sigma.patterns), in time linear in the value's length; a
regex RE2 cannot run falls back to the `regex` module within a time budget (catalog.core.sigma.values).

Evaluation is three-valued: a placeholder (`expand`), a time part or a fallback regex that ran out of
time is *unknown* (None), and unknown is not false: `not unknown` is unknown, `unknown or true` is true,
`unknown and false` is false. A rule fires only when a condition is definitely true, so
`not <selection with a placeholder>` no longer fires on any event.

A deadline (time.monotonic() value) bounds the work: past it, `BudgetExceeded` is raised between
items, and the caller reports its results as partial.

Each item also gets its `need` (catalog.core.sigma.requirements): the literals an event must hold for it
to be true, from which catalog.matching.engine builds its index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sigma.conditions import ConditionAND
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    Placeholder,
    SigmaCasedString,
    SigmaExpansion,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from . import expansion, patterns, requirements
from .logged_events import flatten_event, load_events  # noqa: F401  (their home before logged_events)
from .values import (  # noqa: F401  (Pattern, Unknown, BudgetExceeded: imported from here by callers)
    BudgetExceeded,
    EventView,
    Fallback,
    Pattern,
    Plain,
    Unknown,
    compare,
    keyword,
)


@dataclass
class Item:
    """One predicate, its values turned by pySigma into what must be compared."""

    field: str | None
    values: list
    all_values: bool
    negated: bool
    need: Any = None  # what an event must hold for it to be true (catalog.core.sigma.requirements)


@dataclass
class Block:
    """A detection block: maps OR-ed (a list of maps), the items of each map AND-ed."""

    groups: list[list[Item]]


@dataclass
class CompiledRule:
    conditions: list[Any]  # JSON trees (see catalog.core.sigma.conditions)
    blocks: dict[str, Block]
    problems: list[str] = field(default_factory=list)  # why parts of it can never be decided


def compile_rule(
    condition_tree: list[Any],
    predicates: Iterable[tuple[str, int, str, list[str], list[Any]]],
    max_variants: int = expansion.DEFAULT_MAX_VARIANTS,
) -> CompiledRule:
    """predicates: (block name, group, field, modifiers, values) as the catalog stores them.

    An item whose windash / base64offset values would take the rule past `max_variants` values is not
    expanded (pySigma would, into 5**n values): it is unknown, and the problem says why.

    Raises ValueError for a condition tree that is not a non-empty list of trees (a rule stored
    without a usable condition), which would otherwise fail later, on every event it meets."""
    trees_ok = isinstance(condition_tree, list) and all(isinstance(tree, dict) for tree in condition_tree)
    if not trees_ok or not condition_tree:
        raise ValueError(f"no usable condition tree ({type(condition_tree).__name__} stored)")
    blocks: dict[str, dict[int, list[Item]]] = {}
    problems: list[str] = []
    expanded = 0
    for block, group, field_name, modifiers, values in predicates:
        key = "|".join([field_name or "", *modifiers]) if field_name or modifiers else None
        if expansion.EXPANDING.intersection(modifiers):
            count, dashes = expansion.item_variants(modifiers, values)
            if expanded + count > max_variants:
                reason = expansion.too_many(
                    expanded + count, expansion.Item(block, key or "", count, dashes), max_variants, per="rule"
                )
                problems.append(reason)
                item = Item(field_name or None, [Unknown(reason)], False, False, requirements.ALWAYS)
                blocks.setdefault(block, {}).setdefault(group, []).append(item)
                continue
            expanded += count
        item = SigmaDetectionItem.from_mapping(key, values if len(values) != 1 else values[0])
        all_values = item.value_linking is ConditionAND
        anywhere = item.field is None  # keywords: found anywhere in any value
        if all_values:  # each value must hold: one program per value (its expansions OR-ed in it)
            prepared = [v for value in item.value for v in _prepare([value], anywhere, problems)]
        else:
            prepared = _prepare(item.value, anywhere, problems)
        negated = bool(getattr(item, "negated", False))
        need = requirements.item_need(item.field, item.value, all_values, negated, anywhere)
        compiled = Item(item.field, prepared, all_values, negated, need)
        blocks.setdefault(block, {}).setdefault(group, []).append(compiled)
    return CompiledRule(
        condition_tree, {name: Block(list(groups.values())) for name, groups in blocks.items()}, problems
    )


def _prepare(values: list, anywhere: bool, problems: list[str]) -> list:
    """OR-ed pySigma values as evaluation compares them: every string and regex among them joined
    into one RE2 program (a `Pattern`), what the event cannot decide as `Unknown`, the rest as is."""
    sources, others, simple = [], [], []
    for value in _flat(values):
        if isinstance(value, SigmaRegularExpression):
            source = patterns.regex_source(str(value.regexp), frozenset(flag.name for flag in value.flags))
            if isinstance(source, patterns.Uncompilable):  # reported, and run by the backtracking fallback
                problems.append(str(source))
                others.append(Fallback(str(value.regexp), frozenset(flag.name for flag in value.flags)))
            else:
                sources.append(source)
        elif isinstance(value, SigmaTimestampPart):
            others.append(Unknown("time parts cannot be read from the event"))
        elif isinstance(value, SigmaString):
            if any(isinstance(part, Placeholder) for part in value.s):
                others.append(Unknown("placeholders stand for lists the catalog does not hold"))
            else:
                cased = isinstance(value, SigmaCasedString)
                sources.append(patterns.wildcard_source(tuple(value.s), cased, anywhere))
                simple.append(_simple(value.s, cased, anywhere))
        else:
            others.append(value)
    if not sources:
        return others
    plain = Plain(simple) if len(simple) == len(sources) and None not in simple else None
    return [Pattern(tuple(sources), plain), *others]


def _simple(parts, cased: bool, anywhere: bool) -> tuple[str, str, bool] | None:
    """(mode, literal, cased) for an ASCII string with `*` at most at its ends, else None (see Plain)."""
    parts = list(parts)
    starts_open = anywhere or (bool(parts) and parts[0] is SpecialChars.WILDCARD_MULTI)
    ends_open = anywhere or (bool(parts) and parts[-1] is SpecialChars.WILDCARD_MULTI)
    while parts and parts[0] is SpecialChars.WILDCARD_MULTI:
        parts.pop(0)
    while parts and parts[-1] is SpecialChars.WILDCARD_MULTI:
        parts.pop()
    if len(parts) > 1 or (parts and not isinstance(parts[0], str)):
        return None
    literal = parts[0] if parts else ""
    if not literal.isascii() or (not literal and (starts_open or ends_open)):
        return None
    mode = {(False, False): "equal", (False, True): "starts", (True, False): "ends", (True, True): "contains"}
    return mode[(starts_open, ends_open)], literal, cased


def _flat(values):
    for value in values:
        if isinstance(value, SigmaExpansion):
            yield from _flat(value.values)
        else:
            yield value


def matches(rule: CompiledRule, event: dict[str, Any] | EventView) -> bool:
    """True when one of the rule's conditions definitely holds for the event (unknown is not true)."""
    view = event if isinstance(event, EventView) else EventView(event)
    return any(_holds(tree, rule, view) is True for tree in rule.conditions)


def _any(results) -> bool | None:
    """Kleene OR: true if any is true, else unknown if any is unknown (also used by catalog.core.sigma.explain)."""
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


# The same Kleene logic, written out as loops (this is the hot path of matching): OR is true if any part is
# true, else unknown (None) if any is unknown; AND is false if any part is false, else unknown if any
# is. Parts are evaluated in order and the first deciding one stops the loop.


def _holds(tree, rule: CompiledRule, view: EventView) -> bool | None:
    if "ref" in tree:
        block = rule.blocks.get(tree["ref"])
        if block is None:
            return False
        unknown = False
        for group in block.groups:
            result = True
            for item in group:
                value = _item(item, view)
                if value is False:
                    result = False
                    break
                if value is None:
                    result = None
            if result is True:
                return True
            unknown = unknown or result is None
        return None if unknown else False
    args = tree["args"]
    op = tree["op"]
    if op == "not":
        result = _holds(args[0], rule, view)
        return None if result is None else not result
    if op == "and":
        result = True
        for arg in args:
            value = _holds(arg, rule, view)
            if value is False:
                return False
            if value is None:
                result = None
        return result
    unknown = False
    for arg in args:
        value = _holds(arg, rule, view)
        if value is True:
            return True
        unknown = unknown or value is None
    return None if unknown else False


def _item(item: Item, view: EventView) -> bool | None:
    if view.deadline is not None:
        view.check_deadline()
    every = item.all_values
    result = every  # AND starts true, OR false
    if item.field is None:  # keywords: a value anywhere in the event
        texts = view.all_values()
        for value in item.values:
            found = False
            for text in texts:
                check = keyword(value, text, view)
                if check is True:
                    found = True
                    break
                if check is None:
                    found = None
            if _decides(found, every):
                result = found
                break
            if found is None:
                result = None
    else:
        key = view.lookup(item.field)
        if key is None and view.carried is not None and view.unknown(item.field):
            return None  # a field the mapped event does not carry: undecidable, negated or not
        for value in item.values:
            check = compare(value, key, view)
            if _decides(check, every):
                result = check
                break
            if check is None:
                result = None
    return (None if result is None else not result) if item.negated else result


def _decides(check, every: bool) -> bool:
    """A false part decides an AND (`all`), a true part an OR."""
    return check is False if every else check is True
