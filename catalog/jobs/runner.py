"""Running admin-triggered imports in the background, and telling a dead job from a slow one.

The admin queues an ImportJob and, once that row is committed, starts a detached
`manage.py run_import_jobs` process (its own session, so it outlives the web worker and a
worker timeout). The process takes a lock, then runs queued jobs one at a time until none is
left, recording each outcome on its row: SQLite allows one writer (a second import would fail
with "database is locked"), and on PostgreSQL imports queue on an advisory lock anyway. Nothing
else is needed: no broker, no long-running daemon, the same code on SQLite and PostgreSQL.

A job whose process died (killed, machine restarted) would stay "running" forever; `reconcile`
marks it failed when its process is gone, and is run whenever the admin lists or shows jobs.
"""

from __future__ import annotations

import os
import signal
import threading
import traceback
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.importing.files import confined_to
from catalog.importing.importer import import_paths
from catalog.importing.reimport import source_roots
from catalog.jobs import detached
from catalog.jobs.roots import allowed_roots, check_roots
from catalog.models.jobs import ImportJob

HOST = detached.HOST
COMMAND = "run_import_jobs"
# A job on another host cannot be checked for a live process; after this long it is given up.
GIVE_UP_AFTER = timedelta(hours=6)
ACTIVE = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


def enqueue(source, user) -> ImportJob:
    """Queue a re-import of `source`, started when the current transaction commits.

    Raises ReimportError (no folders) or RootNotAllowed (folders outside CATALOG_IMPORT_ROOTS).
    """
    roots = check_roots(source_roots(source))
    job = ImportJob.objects.create(source=source, roots=roots, requested_by=user)
    transaction.on_commit(start_runner)
    return job


def start_runner() -> int | None:
    """Start a detached runner process for the queued jobs; returns its pid (None: it could not start)."""
    queued = ImportJob.objects.filter(status=ImportJob.Status.QUEUED, pid__isnull=True)
    return detached.start_runner(COMMAND, queued, ImportJob.Status.FAILED)


# -- the runner process --------------------------------------------------------------------------------
def run_queued_jobs() -> int:
    """Run queued jobs one at a time until none is left; returns how many ran."""
    reconcile()
    ran = 0
    with _runner_lock():
        while (job := _claim_next()) is not None:
            run_job(job)
            ran += 1
    return ran


def _claim_next() -> ImportJob | None:
    """The oldest queued job, marked running by this process (another runner may take it first)."""
    while True:
        job_id = (
            ImportJob.objects.filter(status=ImportJob.Status.QUEUED).order_by("pk").values_list("pk", flat=True).first()
        )
        if job_id is None:
            return None
        claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.RUNNING, started_at=timezone.now(), pid=os.getpid(), host=HOST
        )
        if claimed:
            return ImportJob.objects.select_related("source").get(pk=job_id)


def run_job(job: ImportJob) -> None:
    """Import the job's folders and record the outcome; any exception is recorded as the failure."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if _main_thread() else None
    try:
        roots = check_roots(job.roots)  # again: settings or symlinks may have changed since it was queued
        with confined_to(allowed_roots()):  # every file read, links followed, must resolve inside the roots
            report = import_paths(roots, source=job.source.name)
    except BaseException as exc:
        detail = traceback.format_exc(limit=-8) if not isinstance(exc, (SystemExit, ValueError)) else ""
        _finish(job, ImportJob.Status.FAILED, message=f"{type(exc).__name__}: {exc}\n{detail}".strip())
        if not isinstance(exc, Exception):
            raise
    else:
        _finish(job, ImportJob.Status.DONE, summary=report.summary(), import_run_id=report.run_id)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _finish(job: ImportJob, status: str, **fields) -> None:
    ImportJob.objects.filter(pk=job.pk).update(status=status, finished_at=timezone.now(), **fields)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def lock_path() -> Path:
    """The import runners' lock for the database this process uses."""
    return detached.lock_path("import")


def _runner_lock():
    return detached.runner_lock("import")


# -- dead jobs ----------------------------------------------------------------------------------------
def reconcile() -> int:
    """Mark failed every queued or running job whose process is gone; returns how many."""
    now = timezone.now()
    dead = []
    for job in ImportJob.objects.filter(status__in=ACTIVE).only("pk", "pid", "host", "requested_at"):
        if job.host == HOST and job.pid is not None:
            if not process_alive(job.pid):
                dead.append((job.pk, f"the import process (pid {job.pid} on {job.host}) ended without a result"))
        elif job.pid is None and now - job.requested_at > timedelta(minutes=2):
            dead.append((job.pk, "no import process was started for this job"))
        elif now - job.requested_at > GIVE_UP_AFTER:
            dead.append((job.pk, f"no result after {GIVE_UP_AFTER} (process {job.pid} on {job.host})"))
    for pk, message in dead:
        ImportJob.objects.filter(Q(pk=pk), Q(status__in=ACTIVE)).update(
            status=ImportJob.Status.FAILED, finished_at=now, message=message
        )
    return len(dead)


def process_alive(pid: int) -> bool:
    """Whether `pid` is a live run_import_jobs process (not a zombie, not a reused pid) on this host."""
    return detached.process_alive(pid, COMMAND)
