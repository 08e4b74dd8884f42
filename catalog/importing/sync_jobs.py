"""Git syncs in the background: the admin's "sync now", a new git source saved in the admin, and push webhooks.

Each is an ImportJob of kind `sync`, run by the `run_sync_job` task (django.tasks, like the admin's re-imports:
catalog/importing/jobs.py), so the request returns at once and Admin -> Import jobs shows the outcome. A
burst of pushes queues one sync: a sync already queued (not yet started) for the source is reused, and the
one that runs fetches whatever was pushed before it started.
"""

from __future__ import annotations

import traceback

from django.db import transaction
from django_tasks import task

from catalog.importing.syncing import sync
from catalog.models.jobs import ImportJob
from catalog.platform import job_lifecycle as lifecycle


def enqueue_sync(source, user=None) -> tuple[ImportJob, bool]:
    """(the queued sync job of `source`, whether it is new); an already queued one is reused."""
    with transaction.atomic():
        waiting = (
            ImportJob.objects.select_for_update()
            .filter(source=source, kind=ImportJob.Kind.SYNC, status=ImportJob.Status.QUEUED)
            .first()
        )
        if waiting is not None:
            return waiting, False
        job = ImportJob.objects.create(source=source, kind=ImportJob.Kind.SYNC, requested_by=user)
        job.task_id = run_sync_job.enqueue(job.pk).id
        ImportJob.objects.filter(pk=job.pk).update(task_id=job.task_id)
    return job, True


@task()
def run_sync_job(job_id: int) -> str:
    """The task: run one queued sync job; its outcome."""
    return lifecycle.run(ImportJob, job_id, run_job, ImportJob.objects.select_related("source"))


def run_job(job: ImportJob) -> None:
    try:
        result = sync(job.source)
    except BaseException as exc:  # a worker stopped mid-sync (SystemExit) is recorded too, then re-raised
        detail = traceback.format_exc(limit=-8) if not isinstance(exc, (SystemExit, ValueError)) else ""
        message = f"{type(exc).__name__}: {exc}\n{detail}".strip()
        lifecycle.finish(ImportJob, job.pk, ImportJob.Status.FAILED, message=message)
        if not isinstance(exc, Exception):
            raise
        return
    run_id = result.report.run_id if result.report else None
    if result.ok:
        lifecycle.finish(ImportJob, job.pk, ImportJob.Status.DONE, summary=result.summary(), import_run_id=run_id)
    else:
        lifecycle.finish(ImportJob, job.pk, ImportJob.Status.FAILED, message=result.summary(), import_run_id=run_id)
