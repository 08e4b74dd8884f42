"""ImportJob: a re-import asked for in the admin, run by a background task, with its outcome.

Imported by catalog.models, so it is one of the `catalog` app's tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models.task_jobs import TaskJob


class ImportJob(TaskJob):
    """One source re-imported in the background; the web request only queues it.

    A request that ran the import itself hit the worker timeout on large sources (a 500, the
    import rolled back, nothing recorded). The job row outlives both the request and the task.
    """

    class Kind(models.TextChoices):
        REIMPORT = "reimport", "re-import"
        SYNC = "sync", "git sync"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REIMPORT)
    source = models.ForeignKey("catalog.Source", on_delete=models.CASCADE, related_name="import_jobs")
    roots = models.JSONField(default=list)  # the folders to read, resolved and checked when queued
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    import_run = models.ForeignKey(
        "catalog.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.TextField(blank=True)  # the import's summary line, as `import_rules` prints it

    def __str__(self):
        what = "Sync job" if self.kind == self.Kind.SYNC else "Import job"
        return f"{what} #{self.pk} ({self.source.name if self.source_id else '?'}, {self.status})"
