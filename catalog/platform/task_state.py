"""What a job's task says about the job: the one place the job pages ask the task backend.

The job rows (ImportJob, MatchJob) stay the user-facing records; the task result (django.tasks, see
catalog/importing/jobs.py,
catalog/matching/jobs.py) is the source of truth for whether a worker still has the job. A job is given up as
failed when its task is gone (pruned, or the queue was emptied), failed (the worker was stopped in the
middle, or the task itself broke), ended without writing the job's outcome, or has been running longer
than it ever may (the database backend cannot tell a worker killed outright from a slow one).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import TaskResultStatus, default_task_backend
from django_tasks.exceptions import TaskResultDoesNotExist

from catalog.platform.rq_abandoned import fail_abandoned_rq_tasks

# A job saved without a task id (the enqueue failed after the row was saved) is given up after this long.
NO_TASK_GRACE = timedelta(minutes=2)


def task_problem(task_id: str, requested_at, give_up_after: timedelta) -> str:
    """Why the unfinished job of this task will never finish ("" while it still may)."""
    now = timezone.now()
    if not task_id:
        return "no task was queued for this job" if now - requested_at > NO_TASK_GRACE else ""
    try:
        result = default_task_backend.get_result(task_id)
        if result.status == TaskResultStatus.RUNNING:  # perhaps on an RQ worker that died: RQ's record says
            fail_abandoned_rq_tasks()
            result = default_task_backend.get_result(task_id)
    except TaskResultDoesNotExist:
        return f"its task {task_id} is gone from the queue"
    if result.status == TaskResultStatus.FAILED:
        error = result.errors[-1] if result.errors else None
        lines = (error.traceback or "").strip().splitlines() if error else []
        detail = lines[-1] if lines else (error.exception_class_path if error else "no error recorded")
        return f"its task failed (the worker was stopped or broke): {detail}"
    if result.status == TaskResultStatus.SUCCESSFUL:
        return "its task ended without recording the job's outcome"
    started = result.started_at
    if result.status == TaskResultStatus.RUNNING and started and now - started > give_up_after:
        return f"its task has run for more than {give_up_after} (its worker probably died)"
    return ""
