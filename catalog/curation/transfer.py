"""Curation files: `export_curation` writes every curated rule's curation, `import_curation` restores it.

The file is JSON keyed by rule id, so a catalog rebuilt from scratch gets its curation back. An
import is all or nothing, validated before anything is written, and changes only what differs.
"""

from __future__ import annotations

import json
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.curation.edits import Change, change_of, save_changes
from catalog.curation.fields import CURATION_DEFAULTS, CurationError, clean_level, curated_rules, curation_of
from catalog.curation.tags import clean_tags
from catalog.models import CURATION_FIELDS, Rule

EXPORT_FORMAT = "sigma-catalog-curation"
EXPORT_VERSION = 1


def entry_of(rule: Rule) -> dict:
    """A rule's curation as JSON; the title is informational (ignored on import)."""
    entry = {"title": rule.title}
    for name in CURATION_FIELDS:
        value = getattr(rule, name)
        entry[name] = value.isoformat() if isinstance(value, datetime) else value
    return entry


def export_data() -> dict:
    rules = {str(rule.uuid): entry_of(rule) for rule in curated_rules().order_by("uuid")}
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "rules": dict(sorted(rules.items())),
    }


@dataclass
class ImportResult:
    entries: int = 0
    changed: int = 0
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)  # rule ids not in the catalog
    applied: bool = False

    def summary(self) -> str:
        return (
            f"{self.entries} {'entry' if self.entries == 1 else 'entries'}: {self.changed} changed, "
            f"{self.unchanged} unchanged, "
            f"{len(self.missing)} unknown rule ids" + ("" if self.applied or not self.entries else "; nothing applied")
        )


class CurationFileError(CurationError):
    """A curation file that cannot be read; `problems` lists every issue found, with its place."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _validate_entry(key: str, entry, problems: list[str]) -> dict:
    place = f"rules[{key!r}]"
    if not isinstance(entry, dict):
        problems.append(f"{place}: expected an object of curation fields, got {type(entry).__name__}")
        return {}
    values = {}
    for name, value in entry.items():
        where = f"{place}.{name}"
        if name == "title":
            continue
        if name not in CURATION_DEFAULTS:
            problems.append(f"{where}: unknown field (known: {', '.join(CURATION_FIELDS)})")
            continue
        try:
            values[name] = _clean_value(name, value)
        except CurationError as exc:
            problems.append(f"{where}: {exc}")
    return values


def _clean_value(name: str, value):
    if name in ("note", "fp_note", "verified_by"):
        if not isinstance(value, str):
            raise CurationError("expected a string")
        return value
    if name in ("verified", "hidden"):
        if not isinstance(value, bool):
            raise CurationError("expected true or false")
        return value
    if name in ("local_tags_added", "local_tags_removed"):
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise CurationError("expected a list of tag strings")
        return clean_tags(value)
    if name == "level_override":
        if not isinstance(value, str):
            raise CurationError("expected a string")
        return clean_level(value)
    if name == "verified_at":
        if value is None:
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise CurationError(f"expected an ISO date and time or null, got {value!r}")
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.utc)
    raise AssertionError(name)


def parse_export(text: str) -> dict[str, dict]:
    """The entries of a curation file by rule id (lowercase), validated; raises CurationFileError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CurationFileError([f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]) from None
    if isinstance(data, dict) and "rules" in data and "format" in data:
        if data["format"] != EXPORT_FORMAT:
            raise CurationFileError([f"format is {data['format']!r}, expected {EXPORT_FORMAT!r}"])
        if data.get("version") != EXPORT_VERSION:
            raise CurationFileError([f"version {data.get('version')!r} is not supported (expected {EXPORT_VERSION})"])
        data = data["rules"]
    if not isinstance(data, dict):
        raise CurationFileError(
            [f"expected an object keyed by rule id (or an export_curation file), got {type(data).__name__}"]
        )
    problems: list[str] = []
    entries = {}
    for key, entry in data.items():
        try:
            rule_id = str(uuid_module.UUID(key))
        except (ValueError, AttributeError):
            problems.append(f"rules[{key!r}]: not a rule id (UUID)")
            continue
        values = _validate_entry(key, entry, problems)
        if rule_id in entries:
            problems.append(f"rules[{key!r}]: the same rule id appears twice")
        entries[rule_id] = values
    if problems:
        raise CurationFileError(problems)
    return entries


def _restore(rule: Rule, values: dict, username: str, now: datetime) -> Change | None:
    """Set one entry's values (all but `hidden`, which visibility writes) and say what changed."""
    before = curation_of(rule)
    for name, value in values.items():
        if name != "hidden":
            setattr(rule, name, value)
    if rule.verified:  # restored stamps are kept; a bare `"verified": true` is stamped now
        rule.verified_by = rule.verified_by or username
        rule.verified_at = rule.verified_at or now
    else:
        rule.verified_by, rule.verified_at = "", None
    return change_of(rule, before, values.get("hidden"))


def import_entries(entries: dict[str, dict], user, allow_missing: bool = False, dry_run: bool = False) -> ImportResult:
    """Apply curation entries (fields absent from an entry are left as they are).

    All or nothing: with unknown rule ids and no `allow_missing`, nothing is applied and the ids
    are listed in the result. Applying the same entries twice changes nothing the second time.
    """
    result = ImportResult(entries=len(entries))
    rules = {}
    ids = list(entries)
    for start in range(0, len(ids), 500):
        for rule in Rule.objects.filter(uuid__in=ids[start : start + 500]):
            rules[str(rule.uuid)] = rule
    result.missing = sorted(set(entries) - set(rules))
    if result.missing and not allow_missing:
        return result
    now = timezone.now()
    changes = [
        change
        for rule_id, values in entries.items()
        if rule_id in rules and (change := _restore(rules[rule_id], values, user.username, now))
    ]
    result.changed = len(changes)
    result.unchanged = len(rules) - len(changes)
    if not dry_run and changes:
        save_changes(changes, user)
    result.applied = not dry_run
    return result
