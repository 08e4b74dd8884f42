"""The curation fields of a rule: their defaults, labels and valid values.

Defaults are the model fields' own defaults, so they are written down once (in models.Rule): an
import leaves curation at these values, and "curated" means any field differs from them.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.text import capfirst

from catalog.models import CURATION_FIELDS, LEVELS, Rule


class CurationError(ValueError):
    """A curation value that cannot be applied; the message says which and why."""


def _model_default(name: str):
    return Rule._meta.get_field(name).get_default()


# {field: default} in CURATION_FIELDS order. Lists are fresh copies per call of the model default;
# this dict is read, never mutated.
CURATION_DEFAULTS = {name: _model_default(name) for name in CURATION_FIELDS}

# Every curation column except `hidden`, which only catalog.publishing.visibility writes.
STORED_FIELDS = [name for name in CURATION_FIELDS if name != "hidden"]

# Labels where the model's default verbose name reads badly.
LABELS = {"fp_note": "False-positive note"}


def field_label(name: str) -> str:
    """The label the admin form uses for a field, so all history entries read alike."""
    return LABELS.get(name) or str(capfirst(Rule._meta.get_field(name).verbose_name))


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
    return any(getattr(rule, name) != default for name, default in CURATION_DEFAULTS.items())


def changed_fields(before: dict, after: dict) -> list[str]:
    """The curation fields that differ, in CURATION_FIELDS order (the order history entries list them)."""
    return [name for name in CURATION_FIELDS if before[name] != after[name]]


def curated_rules():
    """Rules with any non-default curation (a filter the database answers, not a loop)."""
    query = Q()
    for name, default in CURATION_DEFAULTS.items():
        query |= Q(**{f"{name}__isnull": False}) if default is None else ~Q(**{name: default})
    return Rule.objects.filter(query)
