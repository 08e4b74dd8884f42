"""Repairs for what real rule repositories get wrong, before pySigma sees the rule.

Third-party rule sets are messy: metadata in the wrong type or format, values pySigma refuses for
reasons that do not change what the rule detects. Such a rule is still useful, so it is repaired
here, faithfully and with a warning naming the line, instead of being dropped. Only a detection or
condition that cannot be parsed is an error.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from .blocks import find_key_line, key_line
from .loading import RawDocument

Lines = list[tuple[int, str]]  # (line in the document, message)


def fix_quirks(raw: dict, doc: RawDocument) -> tuple[Lines, Lines]:
    """(warnings, errors) after repairing `raw` in place; errors mean the rule cannot be used."""
    warnings: Lines = []
    errors: Lines = []
    _fix_detection(raw, doc, warnings, errors)
    _fix_logsource(raw, doc, warnings)
    _fix_id(raw, doc, warnings)
    _fix_dates(raw, doc, warnings)
    return warnings, errors


def _fix_detection(raw: dict, doc: RawDocument, warnings: Lines, errors: Lines) -> None:
    for owner in ("detection", "filter"):
        blocks = raw.get(owner)
        if not isinstance(blocks, dict):
            continue
        if None in blocks:
            # `~:` (null) as a block name: no condition can name it, and a null name breaks the stages.
            line = next((line for k in ("~", "null", "Null", "NULL") if (line := find_key_line(doc.text, k))), 1)
            errors.append((line, f"{owner} block with a null name ('~:'); give it a name"))
            return
        if "utf16le" in doc.text:
            raw[owner] = {name: _alias_modifiers(block) for name, block in blocks.items()}


def _alias_modifiers(block: Any) -> Any:
    """`utf16le` is the v2.1 name of `wide`, which pySigma 1.x only knows by its older name."""
    if isinstance(block, list):
        return [_alias_modifiers(item) for item in block]
    if isinstance(block, dict):
        return {
            (re.sub(r"\|utf16le(?=\||$)", "|wide", key) if isinstance(key, str) else key): value
            for key, value in block.items()
        }
    return block


def _fix_logsource(raw: dict, doc: RawDocument, warnings: Lines) -> None:
    logsource = raw.get("logsource")
    if isinstance(logsource, dict):
        for key, value in list(logsource.items()):
            if isinstance(value, list):
                chosen = str(value[0]) if value else ""
                logsource[key] = chosen
                warnings.append((key_line(doc.text, key), f"logsource {key} is a list {value!r}; using '{chosen}'"))


def _fix_id(raw: dict, doc: RawDocument, warnings: Lines) -> None:
    rule_id = raw.get("id")
    if rule_id is not None:
        try:
            raw["id"] = str(uuid.UUID(str(rule_id)))
        except ValueError:
            warnings.append(
                (key_line(doc.text, "id"), f"id '{rule_id}' is not a UUID; a stable id is derived from the file path")
            )
            raw.pop("id")


def _fix_dates(raw: dict, doc: RawDocument, warnings: Lines) -> None:
    for key in ("date", "modified"):
        value = raw.get(key)
        if isinstance(value, str):
            parsed = _parse_date(value)
            if parsed is None:
                warnings.append((key_line(doc.text, key), f"{key} '{value}' is not a date (YYYY-MM-DD); ignored"))
                raw.pop(key)
            else:
                if "/" in value:
                    warnings.append(
                        (key_line(doc.text, key), f"{key} '{value}' uses '/', the specification asks for YYYY-MM-DD")
                    )
                raw[key] = parsed
        elif isinstance(value, dt.datetime):
            raw[key] = value.date()


def _parse_date(value: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None
