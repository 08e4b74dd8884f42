"""Does a logged event match a rule? Sigma semantics on a flat event (field -> value).

Rules are rebuilt from what the catalog stores (each predicate's field, modifiers and values as
written, and the condition tree), never from the files. pySigma applies the modifiers, so encodings
(base64, base64offset, utf16, wide, windash) produce exactly the strings Sigma means; this module
only compares the results with the event:
- strings: wildcards `*` and `?`, case-insensitive unless `cased`; keywords match any value;
- regular expressions (with i/m/s), CIDR ranges, numeric comparisons, `exists`, `null`, field
  references, negation (`neq`); `all` joins values with AND;
- placeholders (`expand`) and time parts cannot be decided from the event alone: they never match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
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
    SpecialChars,
)


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


def compile_rule(
    condition_tree: list[Any], predicates: Iterable[tuple[str, int, str, list[str], list[Any]]]
) -> CompiledRule:
    """predicates: (block name, group, field, modifiers, values) as the catalog stores them."""
    blocks: dict[str, dict[int, list[Item]]] = {}
    for block, group, field, modifiers, values in predicates:
        key = "|".join([field or "", *modifiers]) if field or modifiers else None
        item = SigmaDetectionItem.from_mapping(key, values if len(values) != 1 else values[0])
        compiled = Item(
            item.field, item.value, item.value_linking is ConditionAND, bool(getattr(item, "negated", False))
        )
        blocks.setdefault(block, {}).setdefault(group, []).append(compiled)
    return CompiledRule(condition_tree, {name: Block(list(groups.values())) for name, groups in blocks.items()})


def matches(rule: CompiledRule, event: dict[str, Any]) -> bool:
    """True when any of the rule's conditions holds for the event."""
    lowered = {key.lower(): value for key, value in event.items()}
    return any(_holds(tree, rule, event, lowered) for tree in rule.conditions)


def _holds(tree, rule, event, lowered) -> bool:
    if "ref" in tree:
        block = rule.blocks.get(tree["ref"])
        return block is not None and any(all(_item(i, event, lowered) for i in group) for group in block.groups)
    args = tree["args"]
    if tree["op"] == "not":
        return not _holds(args[0], rule, event, lowered)
    results = (_holds(arg, rule, event, lowered) for arg in args)
    return all(results) if tree["op"] == "and" else any(results)


def _lookup(field: str, event, lowered) -> tuple[bool, Any]:
    if field in event:
        return True, event[field]
    key = field.lower()
    return (True, lowered[key]) if key in lowered else (False, None)


def _item(item: Item, event, lowered) -> bool:
    if item.field is None:  # keywords: a value anywhere in the event
        texts = [str(v) for v in event.values() if v is not None]
        checks = (any(_string(value, text, anywhere=True) for text in texts) for value in _flat(item.values))
    else:
        present, actual = _lookup(item.field, event, lowered)
        checks = (_value(value, present, actual, event, lowered) for value in item.values)
    result = all(checks) if item.all_values else any(checks)
    return not result if item.negated else result


def _flat(values):
    for value in values:
        if isinstance(value, SigmaExpansion):
            yield from value.values
        else:
            yield value


def _value(value, present: bool, actual, event, lowered) -> bool:
    if isinstance(value, SigmaExpansion):
        return any(_value(v, present, actual, event, lowered) for v in value.values)
    if isinstance(value, SigmaNull):
        return not present or actual in (None, "")
    if isinstance(value, SigmaExists):
        return present == value.exists
    if not present or actual is None:
        return False
    if isinstance(value, SigmaFieldReference):
        other_present, other = _lookup(value.field, event, lowered)
        if not other_present or other is None:
            return False
        a, b = str(actual).lower(), str(other).lower()
        return a.startswith(b) if value.starts_with else a.endswith(b) if value.ends_with else a == b
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
        return _regex(str(value.regexp), flags).search(str(actual)) is not None
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
    if isinstance(value, SigmaTimestampPart):
        return False
    if isinstance(value, SigmaNumber):
        number = _number(actual)
        return number is not None and number == value.number
    if isinstance(value, SigmaBool):
        return str(actual).lower() == str(value.boolean).lower()
    if isinstance(value, SigmaString):
        return _string(value, str(actual))
    return False


def _string(value, text: str, anywhere: bool = False) -> bool:
    if not isinstance(value, SigmaString) or any(isinstance(part, Placeholder) for part in value.s):
        return False
    parts = tuple(value.s)
    return _pattern(parts, isinstance(value, SigmaCasedString), anywhere).fullmatch(text) is not None


@lru_cache(maxsize=50_000)
def _pattern(parts: tuple, cased: bool, anywhere: bool) -> re.Pattern:
    """A Sigma string as a regular expression: `*` any run, `?` one character, the rest literal."""
    pieces = []
    for part in parts:
        if part is SpecialChars.WILDCARD_MULTI:
            pieces.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            pieces.append(".")
        else:
            pieces.append(re.escape(part))
    body = "".join(pieces)
    return re.compile(f".*{body}.*" if anywhere else body, re.DOTALL | (0 if cased else re.IGNORECASE))


@lru_cache(maxsize=10_000)
def _regex(pattern: str, flags: int) -> re.Pattern:
    return re.compile(pattern, flags)


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def flatten_event(data: dict) -> dict[str, Any]:
    """A logged event as the flat field -> value map Sigma rules are written against.

    Windows events rendered from EVTX as JSON ({"Event": {"System": ..., "EventData": ...}}) give
    their EventData (and UserData) fields plus the System ones Sigma uses (EventID, Channel,
    Computer, Provider_Name, ...); any other JSON object is flattened, nested keys joined by dots
    and also reachable by their last part.
    """
    event = data.get("Event") if isinstance(data.get("Event"), dict) else None
    if event is None:
        return _flattened(data)
    flat: dict[str, Any] = {}
    system = event.get("System") or {}
    for key, value in system.items():
        if key == "Provider" and isinstance(value, dict):
            attributes = value.get("#attributes") or {}
            flat["Provider_Name"] = attributes.get("Name")
            flat["Provider_Guid"] = attributes.get("Guid")
        elif key == "TimeCreated" and isinstance(value, dict):
            flat["TimeCreated"] = (value.get("#attributes") or {}).get("SystemTime")
        elif key == "EventID" and isinstance(value, dict):
            flat["EventID"] = value.get("#text")
        elif not isinstance(value, dict):
            flat[key] = value
    for section in ("EventData", "UserData"):
        body = event.get(section)
        if isinstance(body, dict):
            data_list = body.get("Data")
            if isinstance(data_list, list):  # <Data Name="...">value</Data> rendered as a list
                for entry in data_list:
                    if isinstance(entry, dict):
                        name = (entry.get("#attributes") or {}).get("Name")
                        if name:
                            flat[name] = entry.get("#text")
            flat.update({k: v for k, v in _flattened(body).items() if k not in flat and k != "Data"})
    # Some providers (Windows Defender) name fields with spaces; Sigma writes them without.
    for key in [k for k in flat if " " in k]:
        flat.setdefault(key.replace(" ", ""), flat[key])
    return flat


def _flattened(data: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key == "#attributes":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            for sub_key, sub_value in _flattened(value, f"{name}.").items():
                flat[sub_key] = sub_value
                flat.setdefault(sub_key.rsplit(".", 1)[-1], sub_value)
        else:
            flat[name] = value
    return flat


def load_events(text: str) -> list[dict]:
    """Every JSON object in a text: one event, a list of them, or several objects one after another
    (as EVTX-to-JSON tools write them)."""
    decoder = json.JSONDecoder()
    events: list[dict] = []
    position, text = 0, text.lstrip("\ufeff")
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return events
        value, position = decoder.raw_decode(text, position)
        events.extend(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict))
