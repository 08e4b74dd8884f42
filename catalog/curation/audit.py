"""Who a curation change is recorded under, and the admin history entry (LogEntry) it leaves."""

from __future__ import annotations

import json
import uuid as uuid_module

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType

from catalog.curation.fields import CurationError, field_label
from catalog.models import Rule

# Commands run without --user are recorded under this (inactive, password-less) account.
SYSTEM_USERNAME = "system"


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
    """The rule a command names by its Sigma id, or a CurationError saying what is wrong with the id."""
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
