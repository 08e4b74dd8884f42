"""Deleting rules publishes once: corpus counts, telemetry needs, summary and field counts, a new version.

A deleted rule leaves the live set, so what a deletion must be followed by is `visibility.publish()`, not only a
new version: catalog.apps connects Rule's post_delete to it. Django sends post_delete once per deleted row, so a
deletion of many rules must run inside `deleting()`, where each row only notes the change and one publish
follows in the same transaction. Without it each row rewrote every summary (the admin's "delete selected" on
SigmaHQ's 3,780 rules: 3,780 rewrites of half a second each), and none recounted the corpus counts or the
field counts. (A source can only be deleted once it has no rules: Rule.source is PROTECT.)
"""

from __future__ import annotations

import contextlib

from django.contrib import admin
from django.db import transaction

from catalog.publishing import visibility


@contextlib.contextmanager
def deleting():
    """One transaction, and one publish at its end however many rules the block deletes."""
    with transaction.atomic(), visibility.deferred():
        yield


class PublishOnceOnDelete(admin.ModelAdmin):
    """An admin whose deletions (one object, or the "delete selected" action) publish once."""

    def delete_model(self, request, obj):
        with deleting():
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with deleting():
            super().delete_queryset(request, queryset)
