"""Changing curation: one edit applied to one rule or many, saved as curation only, and logged.

`hidden` is never assigned here: the rules whose visibility changes are handed to
catalog.publishing.visibility.set_visibility, which writes the column, recounts corpus counts and bumps
the catalog version. The other curation columns are saved with a curation-only UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog.curation.audit import log_changes
from catalog.curation.fields import STORED_FIELDS, changed_fields, clean_level, curation_of
from catalog.curation.tags import add_local_tag, clean_tag, remove_local_tag
from catalog.models import CURATION_FIELDS, Rule
from catalog.publishing import visibility
from catalog.publishing.versioning import bump_version
from catalog.search import index as search_index


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

    def validate(self) -> None:
        """Raise CurationError for an invalid level or tag, before anything is written."""
        if self.level is not None:
            clean_level(self.level)
        for tag in [*self.add_tags, *self.remove_tags]:
            clean_tag(tag)


@dataclass
class Change:
    """A rule whose curation changed: the fields (CURATION_FIELDS order) and its `hidden` from now on."""

    rule: Rule
    fields: list[str]
    hidden: bool


def set_verified(rule: Rule, verified: bool, username: str, now: datetime | None = None) -> None:
    """Verifying stamps who and when (once: re-verifying keeps the first stamp); unverifying clears both."""
    if verified and not rule.verified:
        rule.verified, rule.verified_by, rule.verified_at = True, username, now or timezone.now()
    elif not verified:
        rule.verified, rule.verified_by, rule.verified_at = False, "", None


def _apply(rule: Rule, edit: Edit, username: str, now: datetime) -> None:
    """Everything but `hidden`, in memory."""
    if edit.note is not None:
        rule.note = edit.note
    if edit.fp_note is not None:
        rule.fp_note = edit.fp_note
    if edit.verified is not None:
        set_verified(rule, edit.verified, username, now)
    for tag in edit.add_tags:
        add_local_tag(rule, tag)
    for tag in edit.remove_tags:
        remove_local_tag(rule, tag)
    if edit.level is not None:
        rule.level_override = clean_level(edit.level)


def change_of(rule: Rule, before: dict, hidden: bool | None) -> Change | None:
    """Compare a rule's curation now (with `hidden` as asked; None: as it is) to `before`."""
    after = curation_of(rule)
    if hidden is not None:
        after["hidden"] = hidden
    fields = changed_fields(before, after)
    if not fields:
        return None
    rule.refresh_tag_text()
    return Change(rule, fields, after["hidden"])


def apply_edit_many(rules, edit: Edit, user) -> list[Change]:
    """Apply one edit to many rules (bulk actions): one UPDATE batch and one log INSERT.

    Returns the rules that actually changed. Values are validated before anything is written, so
    an invalid tag or level changes nothing.
    """
    edit.validate()
    now = timezone.now()
    changes = []
    for rule in rules:
        before = curation_of(rule)
        _apply(rule, edit, user.username, now)
        change = change_of(rule, before, edit.hidden)
        if change:
            changes.append(change)
    if changes:
        save_changes(changes, user)
    return changes


def apply_edit(rule: Rule, edit: Edit, user) -> list[str]:
    """Apply an edit to one rule, save and log it; return the changed field names (empty: nothing to do)."""
    changes = apply_edit_many([rule], edit, user)
    if changes and "hidden" in changes[0].fields:
        rule.refresh_from_db(fields=["hidden"])  # written by catalog.publishing.visibility, not on this object
    return changes[0].fields if changes else []


def save_changes(changes: list[Change], user) -> None:
    """Save changed rules' curation in batches, change visibility, log each rule, and tell the page cache.

    bulk_update sends no post_save signal, so the catalog version (which keys the public page
    cache) is bumped here; when visibility changed, set_visibility recounts and bumps once.
    """
    with transaction.atomic():
        with visibility.deferred():
            stored = [c.rule for c in changes if set(c.fields) - {"hidden"}]
            Rule.objects.bulk_update(stored, [*STORED_FIELDS, "tag_text"], batch_size=500)
            search_index.refresh(rule.pk for rule in stored)  # tags are searched
            visibility_changed = _set_hidden(changes)
            log_changes(user, [(c.rule, c.fields) for c in changes])
        if not visibility_changed:
            bump_version()


def save_form(rule: Rule, hidden: bool | None) -> None:
    """The admin form's save: the curation columns, then `hidden` through visibility when it changed."""
    rule.refresh_tag_text()
    with transaction.atomic():
        rule.save(update_fields=[*STORED_FIELDS, "tag_text"])
        search_index.refresh([rule.pk])  # tags are searched
        if hidden is not None:
            visibility.set_visibility(Rule.objects.filter(pk=rule.pk), hidden=hidden)


def _set_hidden(changes: list[Change]) -> bool:
    changed = 0
    for value in (True, False):
        pks = [c.rule.pk for c in changes if "hidden" in c.fields and c.hidden is value]
        for start in range(0, len(pks), 500):
            changed += visibility.set_visibility(Rule.objects.filter(pk__in=pks[start : start + 500]), hidden=value)
    return bool(changed)


def rules_for_curation(queryset):
    """Only what curation reads and writes: bulk actions over thousands of rules stay light."""
    return (
        queryset.select_related(None)
        .prefetch_related(None)
        .only("pk", "uuid", "title", "tags", "tag_text", *CURATION_FIELDS)
    )
