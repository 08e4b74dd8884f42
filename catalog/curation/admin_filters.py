"""Sidebar filter of the rule admin: rules by curation state."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q

from catalog.curation.fields import curated_rules


class CurationFilter(admin.SimpleListFilter):
    title = "curation"
    parameter_name = "curation"
    QUERIES = {
        "curated": ("any curation", None),
        "verified": ("verified", Q(verified=True)),
        "unverified": ("not verified", Q(verified=False)),
        "hidden": ("hidden", Q(hidden=True)),
        "note": ("has a note", ~Q(note="")),
        "fp_note": ("has a false-positive note", ~Q(fp_note="")),
        "local_tags": ("has local tags", ~Q(local_tags_added=[]) | ~Q(local_tags_removed=[])),
        "level_override": ("level overridden", ~Q(level_override="")),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.QUERIES.items()]

    def queryset(self, request, queryset):
        if self.value() == "curated":
            return queryset.filter(pk__in=curated_rules().values("pk"))
        if self.value() in self.QUERIES:
            return queryset.filter(self.QUERIES[self.value()][1])
        return queryset
