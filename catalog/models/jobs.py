"""ImportJob: a re-import asked for in the admin, run by a background task, with its outcome.

Imported by catalog.models, so it is one of the `catalog` app's tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportJob(models.Model):
    """One source re-imported in the background; the web request only queues it.

    A request that ran the import itself hit the worker timeout on large sources (a 500, the
    import rolled back, nothing recorded). The job row outlives both the request and the task.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    source = models.ForeignKey("catalog.Source", on_delete=models.CASCADE, related_name="import_jobs")
    roots = models.JSONField(default=list)  # the folders to read, resolved and checked when queued
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The django.tasks result that runs it (catalog/importing/jobs.py), to tell a dead job from a slow one.
    task_id = models.CharField(max_length=64, blank=True)
    import_run = models.ForeignKey(
        "catalog.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.TextField(blank=True)  # the import's summary line, as `import_rules` prints it
    message = models.TextField(blank=True)  # why it failed

    class Meta:
        app_label = "catalog"
        ordering = ["-requested_at", "-pk"]

    def __str__(self):
        return f"Import job #{self.pk} ({self.source.name if self.source_id else '?'}, {self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
