"""MatchJob (an uploaded event file matched in the background) and RuleTestEvent (logged events that
test a rule, e.g. SigmaHQ's regression_data). Imported by catalog.models, so both are `catalog` tables.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from catalog.models.task_jobs import TaskJob


class MatchJob(TaskJob):
    """One uploaded file, matched outside the request by a background task (see jobs.py).

    The row is the whole interface between the web request and the task: the request stores the
    file and queues the row; the task reports progress (events done of total) and the grouped
    results on it; the status page polls it. Its token, not its pk, is in the URL: the results hold
    the uploaded events, which only the uploader's link shows.
    """

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=1000, blank=True)  # the upload's name in STORAGES["uploads"]
    file_format = models.CharField(max_length=8, blank=True)  # evtx, json, jsonl
    size_bytes = models.PositiveBigIntegerField(default=0)
    # Who queued it (catalog.matching.quotas.client_key): per-client caps count a client's live jobs.
    client = models.CharField(max_length=200, blank=True, db_index=True)
    total_events = models.PositiveIntegerField(null=True, blank=True)  # None until known
    events_done = models.PositiveIntegerField(default=0)
    # Indexed here (not on ImportJob's table): finished match jobs are purged by age.
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    results = models.JSONField(default=dict, blank=True)  # see catalog.matching.grouping

    def __str__(self):
        return f"Match job {self.token} ({self.file_name}, {self.status})"

    @property
    def percent(self) -> int:
        if not self.total_events:
            return 100 if self.finished else 0
        return min(100, round(100 * self.events_done / self.total_events))


class RuleTestEvent(models.Model):
    """A file of logged events that a rule must fire on, found beside the imported rule folders."""

    rule = models.ForeignKey("catalog.Rule", on_delete=models.CASCADE, related_name="test_events")
    source = models.ForeignKey("catalog.Source", on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=1000)  # relative to the repository, e.g. regression_data/rules/...
    event_count = models.PositiveIntegerField(default=0)
    events = models.JSONField(default=list, blank=True)  # the flattened events (the first few)

    class Meta:
        app_label = "catalog"
        ordering = ["rule", "path"]

    def __str__(self):
        return f"{self.path} ({self.event_count} events)"
