"""The one lifecycle of a job run by a background task, whatever the job does (ImportJob, MatchJob: both
catalog.models.task_jobs.TaskJob).

queued -> running: `claim`, by its task, which runs a job only once and never one already given up;
running -> done or failed: `finish`, with the job's outcome;
queued or running -> failed: `reconcile`, when the task's result says it will never finish the job
(catalog/platform/task_state.py: failed, gone, ended without an outcome, or running too long).
The job pages call `reconcile` before showing a job, so its state is the one its task result implies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from catalog.models.task_jobs import ACTIVE, TaskJob
from catalog.platform.task_state import task_problem

Status = TaskJob.Status


def claim(model: type[TaskJob], pk: int) -> bool:
    """Mark the queued job running; False if it is not queued (given up meanwhile, or claimed already)."""
    claimed = model.objects.filter(pk=pk, status=Status.QUEUED).update(status=Status.RUNNING, started_at=timezone.now())
    return bool(claimed)


def finish(model: type[TaskJob], pk: int, status: str, **fields) -> None:
    """Record the job's outcome (DONE or FAILED), with whatever else the job records (`fields`)."""
    model.objects.filter(pk=pk).update(status=status, finished_at=timezone.now(), **fields)


def run(model: type[TaskJob], pk: int, work: Callable[[TaskJob], None], rows: QuerySet | None = None) -> str:
    """A task's body: claim the job, `work` on it (which calls `finish`), and return the status it ended in
    ("not queued" for a job not claimed). `rows` is where the job is read from (select_related, say)."""
    if not claim(model, pk):
        return "not queued"
    work((model.objects.all() if rows is None else rows).get(pk=pk))
    return model.objects.values_list("status", flat=True).get(pk=pk)


def reconcile(
    model: type[TaskJob], give_up: timedelta, on_failed: Callable[[TaskJob], None] | None = None, **fields
) -> int:
    """Mark failed every queued or running job whose task will never finish it; returns how many.

    A job running longer than `give_up` is taken for one whose worker died. `fields` are set on each job
    failed (as `finish` sets them); `on_failed(job)` is then called with the job as it was read, those fields
    still holding their old values (to delete a file the job owned, say), unless the job ended meanwhile."""
    dead = []
    for job in model.objects.filter(status__in=ACTIVE).only("pk", "task_id", "requested_at", *fields):
        if problem := task_problem(job.task_id, job.requested_at, give_up):
            dead.append((job, problem))
    for job, message in dead:
        failed = model.objects.filter(pk=job.pk, status__in=ACTIVE).update(
            status=Status.FAILED, finished_at=timezone.now(), message=message, **fields
        )
        if failed and on_failed is not None:
            on_failed(job)
    return len(dead)
