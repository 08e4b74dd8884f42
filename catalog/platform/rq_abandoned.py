"""RQ tasks whose worker died outright (kill -9, a lost machine): failed from RQ's own record of them.

An RQ worker renews a heartbeat on the job it runs; when the worker dies with its work-horse the job stays
"started" until the heartbeat expires (RQ's job-monitoring interval plus 60 s, about 90 s), and then RQ's
StartedJobRegistry cleanup moves it to the failed registry (AbandonedJobError). RQ's workers run that
cleanup only every 10 minutes, so the job pages run it when they look at a running task: a killed worker's
job then shows as failed about 90 s after the kill, on any node. (A work-horse killed alone is failed at
once by its worker; the database backend has no heartbeat: catalog/platform/task_state.py's give-up time.)
"""

from __future__ import annotations

from django.conf import settings


def fail_abandoned_rq_tasks() -> None:
    """Move the expired "started" jobs of every RQ queue to failed (no-op on the other task backends)."""
    if getattr(settings, "CATALOG_TASKS_BACKEND", "") != "rq":
        return
    import django_rq
    from django_tasks_rq import Job
    from rq.registry import StartedJobRegistry

    for name in settings.RQ_QUEUES:
        StartedJobRegistry(queue=django_rq.get_queue(name, job_class=Job), job_class=Job).cleanup()
