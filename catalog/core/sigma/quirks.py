"""Repairs for what real rule repositories get wrong, before pySigma sees the rule.

Third-party rule sets are messy: metadata in the wrong type or format, values pySigma refuses for
reasons that do not change what the rule detects. Such a rule is still useful, so it is repaired
here, faithfully and with a warning naming the line, instead of being dropped. Only a detection or
condition that cannot be parsed is an error.

`raw` (what the catalog shows) keeps the author's values wherever they can be shown; the *view*
given to pySigma leaves out what pySigma would refuse for metadata reasons only (a tag without a
namespace, a missing log source), since the catalog reads those fields from `raw`.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import uuid
from typing import Any

from .blocks import key_line
from .detection_quirks import fix_detection
from .loading import RawDocument

Lines = list[tuple[int, str]]  # (line in the document, message)
LIST_FIELDS = ("references", "falsepositives", "tags", "fields")
TEXT_FIELDS = ("title", "name", "author", "description", "license")
TAG = re.compile(r"^[^.\s]+\.\S")
# Unambiguous date spellings seen in rule repositories, besides YYYY-MM-DD.
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y")
DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
PLACEHOLDER_LOGSOURCE = {"category": "unspecified"}


def fix_quirks(raw: dict, doc: RawDocument, path: str = "") -> tuple[dict, Lines, Lines]:
    """(view for pySigma, warnings, errors) after repairing `raw` in place; errors make the rule unusable."""
    warnings: Lines = []
    errors: Lines = []
    text = doc.text
    fix_detection(raw, text, warnings, errors)
    _fix_kind(raw, text, warnings)
    _fix_title(raw, text, path, warnings)
    _fix_texts(raw, text, warnings)
    _fix_lists(raw, text, warnings)
    _fix_tags(raw, text, warnings)
    _fix_logsource(raw, text, warnings)
    _fix_id(raw, text, warnings)
    _fix_dates(raw, text, warnings)
    view = dict(raw)
    view.pop("__invalid_id__", None)
    if raw.get("tags"):
        view["tags"] = [tag for tag in raw["tags"] if TAG.match(tag)]
    if not _has_logsource(raw) and not isinstance(raw.get("correlation"), dict):
        view["logsource"] = PLACEHOLDER_LOGSOURCE
    return view, warnings, errors


def _fix_kind(raw: dict, text: str, warnings: Lines) -> None:
    """`correlation:` or `filter:` holding a note, in a rule with a detection: it is a rule."""
    for key in ("correlation", "filter"):
        if key in raw and not isinstance(raw[key], dict) and "detection" in raw:
            warnings.append((key_line(text, key), f"'{key}' is not a {key} block here; kept as a custom field"))
            raw[f"x_{key}"] = raw.pop(key)


def _fix_title(raw: dict, text: str, path: str, warnings: Lines) -> None:
    title = raw.get("title")
    if title is None or title == "" or title == []:
        stem = posixpath.splitext(posixpath.basename(path.replace("\\", "/")))[0] or "untitled rule"
        raw["title"] = stem
        warnings.append((1, f"rule has no title; using its file name '{stem}'"))
    elif not isinstance(title, str):
        raw["title"] = _joined(title)
        warnings.append((key_line(text, "title"), f"title is not text; read as '{raw['title']}'"))


def _fix_texts(raw: dict, text: str, warnings: Lines) -> None:
    for key in TEXT_FIELDS[1:]:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raw[key] = _joined(value)
            warnings.append((key_line(text, key), f"{key} is not text; read as '{_short(raw[key])}'"))


def _fix_lists(raw: dict, text: str, warnings: Lines) -> None:
    for key in LIST_FIELDS:
        value = raw.get(key)
        if value is None or (type(value) is list and all(type(item) is str for item in value)):
            continue
        if not isinstance(value, list):
            raw[key] = [value]
            warnings.append((key_line(text, key), f"{key} is not a list; read as one entry"))
            value = raw[key]
        if any(item is None for item in value):
            warnings.append((key_line(text, key), f"empty entries in {key} ignored"))
        raw[key] = [_joined(item) if not isinstance(item, str) else item for item in value if item is not None]


def _fix_tags(raw: dict, text: str, warnings: Lines) -> None:
    bad = [tag for tag in raw.get("tags") or [] if not TAG.match(tag)]
    if bad:
        shown = ", ".join(repr(tag) for tag in bad[:5])
        warnings.append(
            (key_line(text, "tags"), f"tags without a namespace (namespace.name): {shown}; kept as written")
        )


def _fix_logsource(raw: dict, text: str, warnings: Lines) -> None:
    logsource = raw.get("logsource")
    if isinstance(raw.get("correlation"), dict):
        return  # correlations have no log source of their own
    if not _has_logsource(raw):
        what = (
            "missing"
            if "logsource" not in raw
            else "empty"
            if not logsource
            else f"not a mapping ({_short(logsource)})"
        )
        warnings.append((key_line(text, "logsource"), f"logsource is {what}; the rule applies to no known log source"))
        raw["logsource"] = logsource if isinstance(logsource, dict) else {}
        return
    for key, value in list(logsource.items()):
        if isinstance(value, list):
            chosen = str(value[0]) if value else ""
            logsource[key] = chosen
            warnings.append((key_line(text, key), f"logsource {key} is a list {value!r}; using '{chosen}'"))
        elif value is not None and not isinstance(value, str):
            logsource[key] = _joined(value)
            warnings.append((key_line(text, key), f"logsource {key} is not text; read as '{logsource[key]}'"))


def _has_logsource(raw: dict) -> bool:
    logsource = raw.get("logsource")
    return isinstance(logsource, dict) and any(v not in (None, "", []) for v in logsource.values())


def _fix_id(raw: dict, text: str, warnings: Lines) -> None:
    rule_id = raw.get("id")
    if rule_id is None:
        raw.pop("id", None)
        return
    try:
        raw["id"] = str(uuid.UUID(str(rule_id)))
    except ValueError:
        raw["__invalid_id__"] = (key_line(text, "id"), str(rule_id))
        raw.pop("id")


def _fix_dates(raw: dict, text: str, warnings: Lines) -> None:
    for key in ("date", "modified"):
        value = raw.get(key)
        if isinstance(value, dt.datetime):
            raw[key] = value.date()
        elif value is not None and not isinstance(value, dt.date):
            written = str(value)
            parsed = parse_date(written)
            if parsed is None:
                warnings.append((key_line(text, key), f"{key} '{written}' is not a date (YYYY-MM-DD); ignored"))
                raw.pop(key)
            else:
                if written.strip() != parsed.isoformat():
                    warnings.append(
                        (key_line(text, key), f"{key} '{written}' read as {parsed.isoformat()} (write YYYY-MM-DD)")
                    )
                raw[key] = parsed


def parse_date(value: str) -> dt.date | None:
    """A date from the spellings rule authors use, or None when it is not one (or is ambiguous)."""
    value = value.strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(value).date()  # "2021-05-03T10:00:00", "2021-05-03 10:00"
    except ValueError:
        pass
    match = DAY_MONTH_YEAR.match(value)
    if match:
        first, second, year = (int(part) for part in match.groups())
        # Only when one part cannot be a month: 03/05/2021 could be either.
        day, month = (first, second) if first > 12 >= second else (second, first) if second > 12 >= first else (0, 0)
        try:
            return dt.date(year, month, day) if day else None
        except ValueError:
            return None
    return None


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_joined(v) for v in value if v is not None)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return "" if value is None else str(value)


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
