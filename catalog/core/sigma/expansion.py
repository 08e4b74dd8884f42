"""How many values a rule's detection becomes once pySigma applies its modifiers, counted before it does.

pySigma applies modifiers while it parses a rule, and two of them multiply values: `windash` turns
every dash or slash that starts a word into five variants (-, /, en dash, em dash, horizontal bar),
so a value with n of them becomes 5**n values, and `base64offset` makes three of each. Eight dashes
are 390,625 values: seconds of parsing, hundreds of MB, then a query of that many terms for every
backend and a matcher program as large. The count here is exact for these modifiers (it runs
pySigma's own windash pattern over the value's text parts, without expanding them) and costs one
scan of the text, so a rule over the limit is refused, naming its largest item, before pySigma
expands anything. Every other value counts as one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sigma.types import SigmaString

from .loading import Limits

# pySigma's SigmaWindowsDashModifier: a dash or slash at the start of a word, and what it becomes.
WINDASH = re.compile("\\B[-/]\\b")
WINDASH_VARIANTS = 5
FACTORS = {"base64offset": 3}  # values made of each value by other modifiers (the rest make one)
EXPANDING = frozenset({"windash", *FACTORS})
DEFAULT_MAX_VARIANTS = Limits.max_variants


@dataclass(frozen=True)
class Item:
    """One detection item as written: block, `field|modifiers` key, and how many values it makes."""

    block: str
    key: str
    variants: int
    dashes: int  # windash positions in its largest value (0 without windash)


def value_variants(value: Any, modifiers: list[str] | tuple[str, ...]) -> tuple[int, int]:
    """(values pySigma makes of one written value under these modifiers, its windash positions)."""
    factor = 1
    for modifier in modifiers:
        factor *= FACTORS.get(modifier, 1)
    dashes = 0
    if "windash" in modifiers and isinstance(value, str):
        parts = SigmaString(value).s  # wildcards and escapes read as pySigma reads them
        dashes = sum(len(WINDASH.findall(part)) for part in parts if isinstance(part, str))
        if dashes:
            factor *= WINDASH_VARIANTS**dashes
    return factor, dashes


def item_variants(modifiers: list[str] | tuple[str, ...], values: Any) -> tuple[int, int]:
    """(values one detection item makes, most windash positions in one of its values)."""
    total, most = 0, 0
    for value in values if isinstance(values, list) else [values]:
        count, dashes = value_variants(value, modifiers)
        total += count
        most = max(most, dashes)
    return total, most


def detection_items(view: dict) -> Iterator[Item]:
    """Every item of a rule's `detection` (or a filter's `filter`) blocks as pySigma will read them."""
    for owner in ("detection", "filter"):
        blocks = view.get(owner)
        if not isinstance(blocks, dict):
            continue
        for name, block in blocks.items():
            if name == "condition":
                continue
            for mapping in block if isinstance(block, list) else [block]:
                if isinstance(mapping, dict):
                    for key, values in mapping.items():
                        modifiers = str(key).split("|")[1:] if key is not None else []
                        count, dashes = item_variants(modifiers, values)
                        yield Item(str(name), "" if key is None else str(key), count, dashes)
                else:  # a keyword
                    yield Item(str(name), "", 1, 0)


def rule_variants(view: dict) -> tuple[int, Item | None]:
    """(values the rule's expanding items make, the largest of them). Items without an expanding
    modifier are left out: their values are the YAML's own, which the loader's node limit bounds."""
    total, largest = 0, None
    for item in detection_items(view):
        if not EXPANDING.intersection(item.key.split("|")[1:]):
            continue
        total += item.variants
        if largest is None or item.variants > largest.variants:
            largest = item
    return total, largest


def too_many(total: int, largest: Item | None, limit: int, already: int = 0, per: str = "file") -> str:
    """The problem of a rule whose values (with `already` counted for the file before it) pass the limit."""
    if total + already <= limit:
        return ""
    where = f"'{largest.key}' in '{largest.block}'" if largest and largest.key else "its detection"
    why = (
        f" (windash makes {WINDASH_VARIANTS} variants of each of its {largest.dashes} dashes or slashes)"
        if largest and largest.dashes
        else ""
    )
    whole = f" ({already:,} before it in the file)" if already else ""
    count = largest.variants if largest else total
    rule = "" if count == total and not already else f"; the rule makes {total:,} such values{whole}"
    return (
        f"{where} expands to {count:,} values{why}{rule}, over the limit of {limit:,} per {per} "
        "(values made by windash and base64offset); write fewer dashes under windash, or list the variants"
    )
