"""Curation: the curator-owned state of a rule, and the one place that changes it.

The admin, the `curate` command and `import_curation` all go through these functions, so the
rules are the same everywhere: verifying stamps who and when, local tags keep the tag filter
column (`Rule.tag_text`) in step, only curation columns are ever saved (an import running at the
same time can never be overwritten with stale Sigma content), and every change leaves an admin
history entry (LogEntry) naming the user and the fields.
"""

from __future__ import annotations

import json
import re
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import capfirst

from catalog.models import CURATION_FIELDS, LEVELS, CatalogVersion, Rule
from catalog.visibility import recount_corpus

CURATOR_GROUP = "curator"
# Commands run without --user are recorded under this (inactive, password-less) account.
SYSTEM_USERNAME = "system"
EXPORT_FORMAT = "sigma-catalog-curation"
EXPORT_VERSION = 1

DEFAULTS = {
    "note": "",
    "verified": False,
    "verified_by": "",
    "verified_at": None,
    "hidden": False,
    "local_tags_added": [],
    "local_tags_removed": [],
    "level_override": "",
    "fp_note": "",
}
assert set(DEFAULTS) == set(CURATION_FIELDS), "curation.DEFAULTS must follow models.CURATION_FIELDS"

# A tag is one token: the tag filter column joins tags with "|", and the admin edits them comma-separated.
TAG_RE = re.compile(r"^[^\s,|]+$")


class CurationError(ValueError):
    """A curation value that cannot be applied; the message says which and why."""


# -- values -------------------------------------------------------------------------------------
def clean_tag(tag: str) -> str:
    tag = (tag or "").strip()
    if not tag:
        raise CurationError("a tag cannot be empty")
    if not TAG_RE.match(tag):
        raise CurationError(f"invalid tag {tag!r}: a tag is one word without spaces, commas or '|'")
    return tag


def clean_tags(tags) -> list[str]:
    """A list of valid tags, duplicates (case-insensitive) dropped, order kept."""
    result, seen = [], set()
    for tag in tags:
        tag = clean_tag(tag)
        if tag.lower() not in seen:
            seen.add(tag.lower())
            result.append(tag)
    return result


def parse_tag_text(text: str) -> list[str]:
    """'a, b c' -> ['a', 'b', 'c']: the admin's comma (or space) separated tag input."""
    return clean_tags(t for t in re.split(r"[,\s]+", text or "") if t)


def format_tags(tags) -> str:
    return ", ".join(tags or [])


def clean_level(level: str) -> str:
    level = (level or "").strip().lower()
    if level in ("", "none"):
        return ""
    if level not in LEVELS:
        raise CurationError(f"invalid level {level!r}: use one of {', '.join(LEVELS)} (or 'none' to clear)")
    return level


def curation_of(rule: Rule) -> dict:
    return {name: getattr(rule, name) for name in CURATION_FIELDS}


def is_curated(rule: Rule) -> bool:
    return any(getattr(rule, name) != default for name, default in DEFAULTS.items())


# Labels where the model's default verbose name reads badly.
LABELS = {"fp_note": "False-positive note"}


def field_label(name: str) -> str:
    """The label the admin form uses for a field, so all history entries read alike."""
    return LABELS.get(name) or str(capfirst(Rule._meta.get_field(name).verbose_name))


# -- changing a rule -------------------------------------------------------------------------------
def set_verified(rule: Rule, verified: bool, username: str, now: datetime | None = None) -> None:
    """Verifying stamps who and when (once: re-verifying keeps the first stamp); unverifying clears both."""
    if verified and not rule.verified:
        rule.verified, rule.verified_by, rule.verified_at = True, username, now or timezone.now()
    elif not verified:
        rule.verified, rule.verified_by, rule.verified_at = False, "", None


def add_local_tag(rule: Rule, tag: str) -> None:
    """Make `tag` one of the rule's effective tags (undoing a local removal if there is one)."""
    tag = clean_tag(tag)
    rule.local_tags_removed = [t for t in rule.local_tags_removed if t.lower() != tag.lower()]
    if tag.lower() not in {t.lower() for t in rule.effective_tags}:
        rule.local_tags_added = [*rule.local_tags_added, tag]
    rule.refresh_tag_text()


def remove_local_tag(rule: Rule, tag: str) -> None:
    """Take `tag` out of the effective tags: drop a local addition, or hide the Sigma tag locally.

    A removed Sigma tag stays removed after re-imports, as long as the Sigma rule still carries it.
    """
    tag = clean_tag(tag)
    rule.local_tags_added = [t for t in rule.local_tags_added if t.lower() != tag.lower()]
    removed = {t.lower() for t in rule.local_tags_removed}
    if tag.lower() in {t.lower() for t in rule.tags} and tag.lower() not in removed:
        rule.local_tags_removed = [*rule.local_tags_removed, tag]
    rule.refresh_tag_text()


def changed_fields(before: dict, rule: Rule) -> list[str]:
    return [name for name in CURATION_FIELDS if before[name] != getattr(rule, name)]


def save_curation(rule: Rule, hidden_changed: bool = False) -> None:
    """Save only the curation columns (and the tag column they feed): never Sigma content."""
    rule.refresh_tag_text()
    with transaction.atomic():
        rule.save(update_fields=[*CURATION_FIELDS, "tag_text"])
        if hidden_changed:
            recount_corpus()  # hidden rules do not count in the corpus counts


def save_many(changes: list[tuple[Rule, list[str]]], user) -> None:
    """Save changed rules' curation in batches, log each one, and tell the page cache.

    bulk_update sends no post_save signal, so the catalog version (which keys the public page
    cache) is bumped here; a single-rule save bumps it through the signal.
    """
    with transaction.atomic():
        Rule.objects.bulk_update([r for r, _ in changes], [*CURATION_FIELDS, "tag_text"], batch_size=500)
        log_changes(user, changes)
        if any("hidden" in fields for _, fields in changes):
            recount_corpus()  # hidden rules do not count in the corpus counts
        CatalogVersion.bump()


def change_message(fields: list[str]) -> list[dict]:
    """The admin's own structured message, so LogEntry.get_change_message() renders it."""
    return [{"changed": {"fields": [field_label(name) for name in fields]}}]


def log_changes(user, changes: list[tuple[Rule, list[str]]]) -> None:
    """One admin history entry per changed rule, naming the fields, in one INSERT."""
    content_type = ContentType.objects.get_for_model(Rule)
    LogEntry.objects.bulk_create(
        [
            LogEntry(
                user_id=user.pk,
                content_type_id=content_type.pk,
                object_id=str(rule.pk),
                object_repr=str(rule)[:200],
                action_flag=CHANGE,
                change_message=json.dumps(change_message(fields)),
            )
            for rule, fields in changes
            if fields
        ]
    )


def system_user():
    """The account that command-line changes without --user are recorded under."""
    user, created = get_user_model().objects.get_or_create(username=SYSTEM_USERNAME, defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def resolve_user(username: str | None):
    """--user NAME must be an existing account; no name means the system account."""
    if not username:
        return system_user()
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CurationError(f"unknown user {username!r}") from None


def get_rule(rule_id: str) -> Rule:
    try:
        value = uuid_module.UUID(str(rule_id).strip())
    except ValueError:
        raise CurationError(
            f"{rule_id!r} is not a rule id (a UUID such as 1c67a717-32ba-409b-a45d-0fb704a73a81)"
        ) from None
    try:
        return Rule.objects.get(uuid=value)
    except Rule.DoesNotExist:
        raise CurationError(f"no rule with id {value} in the catalog") from None


@dataclass
class Edit:
    """What one `curate` invocation (or bulk action) asks for; None means 'leave as is'."""

    note: str | None = None
    fp_note: str | None = None
    verified: bool | None = None
    hidden: bool | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    level: str | None = None


def _apply(rule: Rule, edit: Edit, username: str, now: datetime) -> None:
    if edit.note is not None:
        rule.note = edit.note
    if edit.fp_note is not None:
        rule.fp_note = edit.fp_note
    if edit.verified is not None:
        set_verified(rule, edit.verified, username, now)
    if edit.hidden is not None:
        rule.hidden = edit.hidden
    for tag in edit.add_tags:
        add_local_tag(rule, tag)
    for tag in edit.remove_tags:
        remove_local_tag(rule, tag)
    if edit.level is not None:
        rule.level_override = clean_level(edit.level)


def apply_edit_many(rules, edit: Edit, user) -> list[tuple[Rule, list[str]]]:
    """Apply one edit to many rules (bulk actions): one UPDATE batch and one log INSERT.

    Returns (rule, changed fields) for the rules that actually changed. Values are validated
    before anything is written, so an invalid tag or level changes nothing.
    """
    if edit.level is not None:
        clean_level(edit.level)
    for tag in [*edit.add_tags, *edit.remove_tags]:
        clean_tag(tag)
    now = timezone.now()
    changes = []
    for rule in rules:
        before = curation_of(rule)
        _apply(rule, edit, user.username, now)
        fields = changed_fields(before, rule)
        if fields:
            rule.refresh_tag_text()
            changes.append((rule, fields))
    if changes:
        save_many(changes, user)
    return changes


def apply_edit(rule: Rule, edit: Edit, user) -> list[str]:
    """Apply an edit to one rule, save and log it; return the changed field names (empty: nothing to do)."""
    changes = apply_edit_many([rule], edit, user)
    return changes[0][1] if changes else []


def rules_for_curation(queryset):
    """Only what curation reads and writes: bulk actions over thousands of rules stay light."""
    return (
        queryset.select_related(None)
        .prefetch_related(None)
        .only("pk", "uuid", "title", "tags", "tag_text", *CURATION_FIELDS)
    )


# -- export and import -----------------------------------------------------------------------------
def entry_of(rule: Rule) -> dict:
    """A rule's curation as JSON; the title is informational (ignored on import)."""
    entry = {"title": rule.title}
    for name in CURATION_FIELDS:
        value = getattr(rule, name)
        entry[name] = value.isoformat() if isinstance(value, datetime) else value
    return entry


def curated_rules():
    """Rules with any non-default curation (a filter the database answers, not a loop)."""
    from django.db.models import Q

    query = Q()
    for name, default in DEFAULTS.items():
        query |= Q(**{f"{name}__isnull": False}) if default is None else ~Q(**{name: default})
    return Rule.objects.filter(query)


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
        if name not in DEFAULTS:
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
    changes = []
    for rule_id, values in entries.items():
        rule = rules.get(rule_id)
        if rule is None:
            continue
        before = curation_of(rule)
        for name, value in values.items():
            setattr(rule, name, value)
        if rule.verified:  # restored stamps are kept; a bare `"verified": true` is stamped now
            rule.verified_by = rule.verified_by or user.username
            rule.verified_at = rule.verified_at or now
        else:
            rule.verified_by, rule.verified_at = "", None
        fields = changed_fields(before, rule)
        if fields:
            rule.refresh_tag_text()
            changes.append((rule, fields))
    result.changed = len(changes)
    result.unchanged = len(rules) - len(changes)
    if not dry_run and changes:
        save_many(changes, user)
    result.applied = not dry_run
    return result
