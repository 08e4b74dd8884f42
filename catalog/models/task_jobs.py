"""TaskJob: what every job run by a background task (django.tasks) records, whatever the job does.

ImportJob and MatchJob inherit it: the same states, timestamps, task id and failure message, so one
lifecycle (catalog/platform/job_lifecycle.py) claims, finishes and gives up either kind. Abstract: each
kind keeps its own `catalog` table.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class TaskJob(models.Model):
    """A job row: the user-facing record of a background task, from queued to done or failed."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The django.tasks result that runs the job, to tell a dead job from a slow one (catalog/platform/task_state.py).
    task_id = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)  # why it failed

    class Meta:
        abstract = True
        app_label = "catalog"
        ordering = ["-requested_at", "-pk"]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


ACTIVE = (TaskJob.Status.QUEUED, TaskJob.Status.RUNNING)  # a worker may still run it
FINISHED = (TaskJob.Status.DONE, TaskJob.Status.FAILED)
