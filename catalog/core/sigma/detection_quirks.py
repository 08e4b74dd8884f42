"""Repairs inside a detection that keep its meaning: spelling of modifiers, value types, names.

Each repair is one that any reader of the rule would make the same way (`|Contains` is `|contains`,
`|any` is what a list of values already means, `Port|contains: 445` means the text "445"); each
becomes a warning with its line. What cannot be repaired faithfully (a null block name, a null value
under a string modifier) is an error naming its line, where pySigma's own message would be cryptic.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sigma.modifiers import modifier_mapping

from .blocks import find_key_line, key_line

Lines = list[tuple[int, str]]

KNOWN_MODIFIERS = frozenset(modifier_mapping)
# Modifiers that compare text: numbers, booleans and dates under them are meant as text.
STRING_MODIFIERS = frozenset(
    {
        "contains",
        "startswith",
        "endswith",
        "base64",
        "base64offset",
        "wide",
        "utf16",
        "utf16le",
        "utf16be",
        "windash",
        "re",
        "cased",
    }
)
NULL_SPELLINGS = ("~", "null", "Null", "NULL")
PLAIN_SCALARS = (int, float, bool, type(None))


def fix_detection(raw: dict, text: str, warnings: Lines, errors: Lines) -> None:
    """Repair the `detection` (or `filter`) blocks of `raw` in place."""
    for owner in ("detection", "filter"):
        blocks = raw.get(owner)
        if not isinstance(blocks, dict):
            continue
        if None in blocks:
            # `~:` as a block name: no condition can name it, and a null name breaks the stages.
            line = next((found for k in NULL_SPELLINGS if (found := find_key_line(text, k))), 1)
            errors.append((line, f"{owner} block with a null name ('~:'); give it a name"))
            return
        if owner == "detection" and "timeframe" in blocks:
            blocks = _move_timeframe(raw, blocks)
        renamed = {}
        for name, block in blocks.items():
            if not isinstance(name, str):
                warnings.append(
                    (key_line(text, str(name)), f"{owner} block name {name!r} is not text; read as '{name}'")
                )
                name = str(name).lower() if isinstance(name, bool) else str(name)
            renamed[name] = block if name == "condition" else _fix_block(block, text, warnings, errors)
        raw[owner] = renamed


def _move_timeframe(raw: dict, blocks: dict) -> dict:
    """`detection.timeframe` (Sigma 1.0: the time window of an aggregation) is no detection block:
    read as one, its value (`15m`) became a keyword the rule "looks for". It is kept as the rule's
    `timeframe` (a custom field) unless the rule already has one at its top level."""
    blocks = dict(blocks)
    timeframe = blocks.pop("timeframe")
    raw.setdefault("timeframe", timeframe)
    return blocks


def _fix_block(block: Any, text: str, warnings: Lines, errors: Lines) -> Any:
    if isinstance(block, list):
        return [_fix_items(item, text, warnings, errors) if isinstance(item, dict) else item for item in block]
    if isinstance(block, dict):
        return _fix_items(block, text, warnings, errors)
    return block


def _fix_items(items: dict, text: str, warnings: Lines, errors: Lines) -> dict:
    if all(_plain(key, value) for key, value in items.items()):
        return items  # the common case: nothing to repair, nothing to copy
    fixed: dict = {}
    for key, value in items.items():
        new_key = _fix_key(key, text, warnings)
        if new_key in fixed or (new_key != key and new_key in items):
            new_key = key  # two spellings of one key: leave both as written for pySigma to judge
        fixed[new_key] = _fix_values(new_key, key, value, text, warnings, errors)
    return fixed


def _plain(key: Any, value: Any) -> bool:
    """Whether an item needs no repair: a text (or null) key with known modifiers and values that
    suit them (text under text modifiers; otherwise text, numbers, booleans or null, but no dates)."""
    if type(key) is str:
        if "|" in key:
            modifiers = key.split("|")[1:]
            if not KNOWN_MODIFIERS.issuperset(modifiers):
                return False
            texts_only = not STRING_MODIFIERS.isdisjoint(modifiers)
        else:
            texts_only = False
    elif key is not None:
        return False
    else:
        texts_only = False
    for item in value if type(value) is list else (value,):
        kind = type(item)
        if kind is not str and (texts_only or kind not in PLAIN_SCALARS):
            return False
    return True


def _fix_key(key: Any, text: str, warnings: Lines) -> Any:
    if key is None:
        return key  # a null field is how Sigma writes keyword lists
    if not isinstance(key, str):
        spelled = str(key).lower() if isinstance(key, bool) else str(key)
        warnings.append((key_line(text, spelled), f"field name {key!r} is not text; read as '{spelled}'"))
        return spelled
    if "|" not in key:
        return key
    field, *modifiers = key.split("|")
    kept = []
    for modifier in modifiers:
        lowered = modifier.strip().lower()
        if lowered == "utf16le":
            kept.append("wide")  # the v2.1 name of `wide`, which pySigma 1.x only knows by its older name
        elif modifier in KNOWN_MODIFIERS:
            kept.append(modifier)
        elif lowered in KNOWN_MODIFIERS:
            kept.append(lowered)
            warnings.append((key_line(text, key), f"modifier '{modifier}' in '{key}' read as '{lowered}'"))
        elif lowered in ("", "any"):
            what = "an empty modifier" if not lowered else "'|any' is not a Sigma modifier (a list already matches any)"
            warnings.append((key_line(text, key), f"{what} in '{key}'; ignored"))
        else:
            kept.append(modifier)  # unknown: pySigma reports it as the error it is
    return "|".join([field, *kept])


def _fix_values(key: Any, written_key: Any, value: Any, text: str, warnings: Lines, errors: Lines) -> Any:
    modifiers = set(key.split("|")[1:]) if isinstance(key, str) else set()
    values = value if isinstance(value, list) else [value]

    def line() -> int:  # looked up only for a message: a search per item would be quadratic
        return key_line(text, str(written_key))

    if any(isinstance(v, (dt.date, dt.datetime)) for v in values):
        warnings.append((line(), f"'{key}' has a date value; read as text (YYYY-MM-DD)"))
        values = [v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v for v in values]
    if modifiers & STRING_MODIFIERS:
        if any(v is None for v in values):
            errors.append((line(), f"'{key}' has a null value; its modifiers compare text, so it needs a string"))
        if any(isinstance(v, (bool, int, float)) for v in values):
            message = f"'{key}' has a number or boolean value; its modifiers compare text, so it is read as text"
            warnings.append((line(), message))
            values = [_as_text(v) for v in values]
    return values if isinstance(value, list) else values[0]


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value
