"""Uploaded event files matched outside the request/response cycle.

The mechanism, and why: the upload request stores the file under CATALOG_MATCH_JOB_DIR, queues a
MatchJob row and, once it is committed, starts a detached `manage.py run_match_jobs` process (its
own session, so it outlives the web worker and its timeout); the browser is sent to the job's
status page, which reloads itself until the job is done, showing events done of total. This is
the pattern the admin's re-imports already use (catalog/jobs/runner.py), chosen for the same
reasons: no broker and no daemon to deploy, the same code on SQLite and PostgreSQL (the job row is
the only channel between request and process), and a job cannot die with a web worker. A thread
in the web worker would be smaller but is killed with it (gunicorn restarts workers on timeouts
and after deploys), leaving jobs "running" forever.

Runners take a per-database lock, so files are matched one at a time per host: matching is CPU
bound and a second runner would only halve both. A job whose process died is marked failed when
a status page or runner next looks (`reconcile`). Uploads are deleted once read; finished jobs are
deleted after CATALOG_MATCH_JOB_KEEP_HOURS. A runner killed outright (kill -9, a reboot) cannot
delete its upload, so whenever jobs are purged or marked failed, every file of the job folder that
no live job owns, and that is older than CATALOG_MATCH_ORPHAN_GRACE_SECONDS (a file being written
for a job not yet saved is young), is deleted too (`purge_orphans`).
"""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.jobs import detached
from catalog.jobs.detached import HOST
from catalog.matching_files.grouping import match_file
from catalog.matching_files.quotas import check_quota
from catalog.models.matching_jobs import MatchJob
from catalog.sigma.event_files import EventFileError

log = logging.getLogger(__name__)
COMMAND = "run_match_jobs"
ACTIVE = (MatchJob.Status.QUEUED, MatchJob.Status.RUNNING)


def job_dir() -> Path:
    folder = Path(settings.CATALOG_MATCH_JOB_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def enqueue(uploaded, file_format: str, client: str = "") -> MatchJob:
    """Store an uploaded file (Django UploadedFile) and queue its job; the runner starts on commit.

    The client's and the site's caps are checked again with the stored size (QuotaRefused)."""
    check_quota(client, uploaded.size)
    job = MatchJob(
        file_name=_safe_name(uploaded.name), file_format=file_format, size_bytes=uploaded.size, client=client
    )
    path = job_dir() / f"{job.token}.upload"
    try:
        with open(path, "wb") as handle:
            for piece in uploaded.chunks():
                handle.write(piece)
        job.file_path = str(path)
        job.save()
    except BaseException:
        path.unlink(missing_ok=True)  # a full disk or a failed save must not leave the file behind
        raise
    transaction.on_commit(start_runner)
    return job


def _safe_name(name: str) -> str:
    name = os.path.basename(name or "upload").replace("\x00", "")
    return name[:200] or "upload"


def active_jobs() -> int:
    return MatchJob.objects.filter(status__in=ACTIVE).count()


def start_runner() -> int | None:
    """A detached runner for the queued jobs, on the database this process uses; its pid."""
    queued = MatchJob.objects.filter(status=MatchJob.Status.QUEUED, pid__isnull=True)
    pid = detached.start_runner(COMMAND, queued, MatchJob.Status.FAILED)
    if pid is None:  # the queued jobs were just marked failed: their uploads will never be read
        purge_orphans()
    return pid


def run_queued_jobs() -> int:
    """Run queued jobs one at a time until none is left; returns how many ran."""
    reconcile()
    purge_old()
    ran = 0
    with detached.runner_lock("match"):
        while (job := _claim_next()) is not None:
            run_job(job)
            ran += 1
    return ran


def _claim_next() -> MatchJob | None:
    while True:
        pk = MatchJob.objects.filter(status=MatchJob.Status.QUEUED).order_by("pk").values_list("pk", flat=True).first()
        if pk is None:
            return None
        if MatchJob.objects.filter(pk=pk, status=MatchJob.Status.QUEUED).update(
            status=MatchJob.Status.RUNNING, started_at=timezone.now(), pid=os.getpid(), host=HOST
        ):
            return MatchJob.objects.get(pk=pk)


def run_job(job: MatchJob) -> None:
    """Match the job's file, recording progress and then the grouped results (or the failure)."""
    path = Path(job.file_path)

    def progress(done: int, total: int | None) -> None:
        MatchJob.objects.filter(pk=job.pk).update(events_done=done, total_events=total)

    try:
        budget = settings.CATALOG_MATCH_JOB_SECONDS
        results = match_file(path, job.file_name, progress=progress, budget_seconds=budget, kind=job.file_format)
    except EventFileError as exc:
        _finish(job, MatchJob.Status.FAILED, message=str(exc))
    except Exception as exc:  # noqa: BLE001 - recorded on the row, which the uploader sees
        _finish(job, MatchJob.Status.FAILED, message=f"{type(exc).__name__}: {exc}")
    else:
        _finish(
            job, MatchJob.Status.DONE, results=results, events_done=results["events"], total_events=results["events"]
        )
    finally:
        path.unlink(missing_ok=True)


def _finish(job: MatchJob, status: str, **fields) -> None:
    MatchJob.objects.filter(pk=job.pk).update(status=status, finished_at=timezone.now(), file_path="", **fields)


def reconcile() -> int:
    """Mark failed every active job of this host whose process is gone; returns how many."""
    now = timezone.now()
    dead = []
    for job in MatchJob.objects.filter(status__in=ACTIVE).only("pk", "pid", "host", "requested_at"):
        if job.host == HOST and job.pid is not None and not detached.process_alive(job.pid, COMMAND):
            dead.append((job.pk, "the matching process ended without a result"))
        elif job.pid is None and now - job.requested_at > timedelta(minutes=2):
            dead.append((job.pk, "no matching process was started for this job"))
    for pk, message in dead:
        MatchJob.objects.filter(pk=pk, status__in=ACTIVE).update(
            status=MatchJob.Status.FAILED, finished_at=now, message=message, file_path=""
        )
    if dead:
        purge_orphans()
    return len(dead)


def purge_old() -> int:
    """Delete finished jobs older than CATALOG_MATCH_JOB_KEEP_HOURS (their results hold uploaded events),
    and the uploads no live job owns."""
    cutoff = timezone.now() - timedelta(hours=settings.CATALOG_MATCH_JOB_KEEP_HOURS)
    deleted, _ = MatchJob.objects.filter(requested_at__lt=cutoff).exclude(status__in=ACTIVE).delete()
    purge_orphans()
    return deleted


def purge_orphans() -> int:
    """Delete every file of the job folder that no queued or running job owns and that nobody has written
    for CATALOG_MATCH_ORPHAN_GRACE_SECONDS; returns how many.

    The live jobs are read before the folder is listed: a job saved in between has a file younger than the
    grace age (it is written just before its row is saved), so it is never taken for an orphan."""
    owned = {
        os.path.realpath(path)
        for path in MatchJob.objects.filter(status__in=ACTIVE).exclude(file_path="").values_list("file_path", flat=True)
    }
    folder = Path(settings.CATALOG_MATCH_JOB_DIR)
    if not folder.is_dir():
        return 0
    oldest = time.time() - settings.CATALOG_MATCH_ORPHAN_GRACE_SECONDS
    removed = 0
    for entry in os.scandir(folder):
        try:
            if not entry.is_file(follow_symlinks=False) and not entry.is_symlink():
                continue
            if os.path.realpath(entry.path) in owned or entry.stat(follow_symlinks=False).st_mtime > oldest:
                continue
            os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:
            continue  # deleted meanwhile by its runner or another purge
        except OSError as exc:
            log.warning("cannot remove the orphaned upload %s: %s", entry.path, exc)
    return removed
