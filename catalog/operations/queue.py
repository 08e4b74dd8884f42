"""The background job queue as operations see it: how many jobs are in each state, and how long the
oldest queued one has waited.

The jobs users see are two tables (ImportJob, MatchJob, both a catalog.models.task_jobs.TaskJob), each run
by a django.tasks task in a worker (`manage.py db_worker`). Health (readiness) and metrics ask only
`queue_state()` and `queue_problem()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from catalog.models.jobs import ImportJob
from catalog.models.matching_jobs import MatchJob
from catalog.models.task_jobs import TaskJob

QUEUES = {"import": ImportJob, "match": MatchJob}
STATES = tuple(TaskJob.Status.values)  # queued, running, done, failed: the states every job shares


@dataclass
class QueueState:
    jobs: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> state -> count
    oldest_queued_seconds: dict[str, float | None] = field(default_factory=dict)  # kind -> age, None if none


def queue_state() -> QueueState:
    """Jobs by kind and state, and each kind's oldest queued job's age: two indexed queries per kind."""
    now = timezone.now()
    state = QueueState()
    for kind, model in QUEUES.items():
        counts = dict.fromkeys(STATES, 0)
        for status, count in model.objects.order_by().values_list("status").annotate(n=Count("pk")):
            counts[status] = count
        state.jobs[kind] = counts
        oldest = model.objects.filter(status=TaskJob.Status.QUEUED).aggregate(oldest=Min("requested_at"))["oldest"]
        state.oldest_queued_seconds[kind] = None if oldest is None else max(0.0, (now - oldest).total_seconds())
    return state


def queue_problem(state: QueueState) -> str:
    """Why the queue is not ready ("" when it is): a queued job older than
    CATALOG_HEALTH_QUEUE_MAX_AGE_SECONDS (0, the default, never fails on age: a stuck queue is a
    reason to alert, from the metrics, not to take every web node out of the load balancer)."""
    limit = settings.CATALOG_HEALTH_QUEUE_MAX_AGE_SECONDS
    if not limit:
        return ""
    for kind, age in state.oldest_queued_seconds.items():
        if age is not None and age > limit:
            return f"the oldest queued {kind} job has waited {age:.0f} s (more than {limit:g} s)"
    return ""
