"""Running admin-triggered imports in the background, and telling a dead job from a slow one.

The admin queues an ImportJob and, in the same transaction, enqueues the `run_import_job` task
(django.tasks; the database backend by default, so the job and its task are committed together). A
worker (`manage.py db_worker`) runs the task outside any web request, so a large source never hits the
worker timeout; the task records the outcome on the job row, which the admin shows. SQLite allows one
writer, so run one worker there; on PostgreSQL imports queue on an advisory lock anyway.

A job whose task will never finish (failed, gone, or running far longer than any import) would stay
"running" forever; `reconcile` marks it failed from the task's result, and is run whenever the admin lists
or shows jobs. Claiming, finishing and giving up are the lifecycle every job shares
(catalog/platform/job_lifecycle.py).
"""

from __future__ import annotations

import traceback
from datetime import timedelta

from django.conf import settings
from django_tasks import task

from catalog.importing.files import confined_to
from catalog.importing.importer import import_paths
from catalog.importing.reimport import source_roots
from catalog.importing.roots import allowed_roots, check_roots
from catalog.models.jobs import ImportJob
from catalog.platform import job_lifecycle as lifecycle


def enqueue(source, user) -> ImportJob:
    """Queue a re-import of `source` as a task.

    Raises ReimportError (no folders) or RootNotAllowed (folders outside CATALOG_IMPORT_ROOTS).
    """
    roots = check_roots(source_roots(source))
    job = ImportJob.objects.create(source=source, roots=roots, requested_by=user)
    job.task_id = run_import_job.enqueue(job.pk).id
    ImportJob.objects.filter(pk=job.pk).update(task_id=job.task_id)
    return job


@task()
def run_import_job(job_id: int) -> str:
    """The task: run one queued job (a job already given up, or run, is left alone); its outcome."""
    return lifecycle.run(ImportJob, job_id, run_job, ImportJob.objects.select_related("source"))


def run_job(job: ImportJob) -> None:
    """Import the job's folders and record the outcome; any exception is recorded as the failure."""
    try:
        roots = check_roots(job.roots)  # again: settings or symlinks may have changed since it was queued
        with confined_to(allowed_roots()):  # every file read, links followed, must resolve inside the roots
            report = import_paths(roots, source=job.source.name)
    except BaseException as exc:  # a worker stopped mid-import (SystemExit) is recorded too, then re-raised
        detail = traceback.format_exc(limit=-8) if not isinstance(exc, (SystemExit, ValueError)) else ""
        lifecycle.finish(
            ImportJob, job.pk, ImportJob.Status.FAILED, message=f"{type(exc).__name__}: {exc}\n{detail}".strip()
        )
        if not isinstance(exc, Exception):
            raise
    else:
        lifecycle.finish(
            ImportJob, job.pk, ImportJob.Status.DONE, summary=report.summary(), import_run_id=report.run_id
        )


def reconcile() -> int:
    """Mark failed every queued or running job whose task will never finish it; returns how many."""
    return lifecycle.reconcile(ImportJob, timedelta(seconds=settings.CATALOG_TASK_GIVE_UP_SECONDS))
