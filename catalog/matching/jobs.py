"""Uploaded event files matched outside the request/response cycle.

The mechanism: the upload request saves the file (several files: one ZIP archive of them, `enqueue_files`)
through STORAGES["uploads"] (catalog/matching/storage.py), saves a MatchJob row and enqueues the
`run_match_job` task (django.tasks; with the default database backend, in the same transaction); the
browser is sent to the job's status page, which reloads itself until the job is done, showing events
done of total. A worker (`manage.py db_worker`, on any machine that shares the database and the upload
storage) runs the task: it reads the upload through the
same storage, reports progress on the row and deletes the upload when it ends, done or failed.

The files of one job are matched one after another by its one task, into one set of results: each file's own
limits apply to it (CATALOG_MATCH_MAX_UPLOAD_BYTES, CATALOG_MATCH_MAX_FILE_EVENTS), the job's time budget to all.
Spreading one job's files over several workers (a task per file, then one merging their groupers' states, as
catalog.matching.scanning merges a local scan's pieces) is left out: a job is at most a few hundred MiB, and
the queue already runs the jobs of several uploads side by side.

A job whose task will never finish (failed, gone, or running far past CATALOG_MATCH_JOB_SECONDS: its
worker died) is marked failed and its upload deleted when a status page or a task next looks
(`reconcile`, from the task's result: catalog/platform/job_lifecycle.py, the lifecycle every job shares).
Finished jobs are deleted after CATALOG_MATCH_JOB_KEEP_HOURS. Whenever jobs are purged or given up, every
stored upload that no live job owns, and that is older than CATALOG_MATCH_ORPHAN_GRACE_SECONDS (a file
being saved for a job not yet saved is young), is deleted too (`purge_orphans`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django_tasks import task

from catalog.core.sigma.event_files import EventFileError, count_events
from catalog.matching import engine
from catalog.matching.correlating import Correlator
from catalog.matching.grouping import Grouper, match_file
from catalog.matching.quotas import QuotaRefused, check_quota
from catalog.matching.storage import delete_upload, local_copy, upload_storage
from catalog.models.matching_jobs import MatchJob
from catalog.models.task_jobs import ACTIVE
from catalog.platform import job_lifecycle as lifecycle

log = logging.getLogger(__name__)
BUNDLE = "files"  # the file_format of a job of several files (stored as one ZIP archive)


def job_dir() -> Path:
    """The local folder of the default upload storage (CATALOG_MATCH_JOB_DIR), created if missing."""
    folder = Path(settings.CATALOG_MATCH_JOB_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def enqueue(uploaded: UploadedFile, file_format: str, client: str = "") -> MatchJob:
    """Store an uploaded file and queue its task.

    The client's and the site's caps are checked again with the stored size (QuotaRefused); a queue that
    refuses the task is a 503 (QuotaRefused too), leaving neither the job nor the upload behind."""
    return _queue(uploaded, _safe_name(uploaded.name), file_format, uploaded.size, client)


def enqueue_files(uploads: list[tuple[UploadedFile, str]], client: str = "") -> MatchJob:
    """Store several uploaded files ((file, format) each) as one job, and queue its task.

    One file is stored as it is. Several are stored as one uncompressed ZIP archive (file_format BUNDLE), each
    member named `<number>-<format>-<file name>`, so the job keeps one stored upload (and the cleanup of uploads
    stays as it is); its task matches them one after another into one set of results (`run_job`)."""
    if len(uploads) == 1:
        return enqueue(*uploads[0], client=client)
    names = [_safe_name(uploaded.name) for uploaded, _ in uploads]
    size = sum(uploaded.size for uploaded, _ in uploads)
    check_quota(client, size)
    with tempfile.TemporaryFile() as bundle:
        with zipfile.ZipFile(bundle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for number, ((uploaded, kind), name) in enumerate(zip(uploads, names, strict=True)):
                with archive.open(f"{number:03d}-{kind}-{name}", "w", force_zip64=True) as member:
                    for piece in uploaded.chunks():
                        member.write(piece)
        bundle.seek(0)
        label = f"{len(names)} files: " + ", ".join(names)
        return _queue(File(bundle), label[:250], BUNDLE, size, client)


def _queue(content, file_name: str, file_format: str, size: int, client: str) -> MatchJob:
    check_quota(client, size)
    job = MatchJob(file_name=file_name, file_format=file_format, size_bytes=size, client=client)
    name = ""
    try:
        name = upload_storage().save(f"{job.token}.upload", content)
        job.file_path = name
        job.save()
    except BaseException:
        delete_upload(name)  # a full disk or a failed save must not leave the file behind
        raise
    try:
        job.task_id = run_match_job.enqueue(job.pk).id
        job.save(update_fields=["task_id"])
    except Exception as exc:  # the queue refused it: no job, no upload, and a 503 rather than a 500
        MatchJob.objects.filter(pk=job.pk).delete()
        delete_upload(name)
        log.exception("cannot queue the match task of %s", job.token)
        raise QuotaRefused("The matching queue is unavailable: try again later.", 503) from exc
    return job


def _safe_name(name: str) -> str:
    name = os.path.basename(name or "upload").replace("\x00", "")
    return name[:200] or "upload"


def active_jobs() -> int:
    return MatchJob.objects.filter(status__in=ACTIVE).count()


@task()
def run_match_job(job_id: int) -> str:
    """The task: match one queued job's file (a job already given up, or run, is left alone)."""
    reconcile()
    purge_old()
    return lifecycle.run(MatchJob, job_id, run_job)


def run_job(job: MatchJob) -> None:
    """Match the job's file, recording progress and then the grouped results (or the failure)."""

    def progress(done: int, total: int | None) -> None:
        MatchJob.objects.filter(pk=job.pk).update(events_done=done, total_events=total)

    try:
        budget = settings.CATALOG_MATCH_JOB_SECONDS
        engine.warm()  # the compiled catalog loaded first, then spared the collector's passes while the file is matched
        with local_copy(job.file_path) as path, engine.collector_spared():
            if job.file_format == BUNDLE:
                results = match_bundle(path, progress, budget)
            else:
                results = match_file(
                    path, job.file_name, progress=progress, budget_seconds=budget, kind=job.file_format
                )
    except EventFileError as exc:
        _finish(job, MatchJob.Status.FAILED, message=str(exc))
    except BaseException as exc:  # recorded on the row, which the uploader sees; a stopped worker re-raises
        _finish(job, MatchJob.Status.FAILED, message=f"{type(exc).__name__}: {exc}")
        if not isinstance(exc, Exception):
            raise
    else:
        _finish(
            job, MatchJob.Status.DONE, results=results, events_done=results["events"], total_events=results["events"]
        )
    finally:
        delete_upload(job.file_path)


def match_bundle(path: Path, progress, budget_seconds: float) -> dict:
    """The files of a job of several (a ZIP archive, `enqueue_files`), matched in order into one grouper: hits
    grouped by rule over all files, each sample and timeline entry naming its file, and `files` (each file's
    name, format, events and events with hits). One budget of time for all of them."""
    deadline = time.monotonic() + budget_seconds
    grouper = Grouper()
    correlator = Correlator.for_catalog()  # over every file, in the order they were given
    files = []
    with tempfile.TemporaryDirectory(prefix="match-files-") as folder, zipfile.ZipFile(path) as archive:
        members = []
        for number, info in enumerate(archive.infolist()):
            _, kind, name = info.filename.split("-", 2)
            local = Path(folder) / f"{number:03d}.{kind}"
            with archive.open(info) as stored, open(local, "wb") as out:
                shutil.copyfileobj(stored, out, 1024 * 1024)
            members.append((local, name, kind))
        counts = [count_events(local, name, kind) for local, name, kind in members]
        total = None if None in counts else sum(counts)
        for local, name, kind in members:
            before, hit_before = grouper.events, grouper.hit_events
            match_file(
                local, name, progress=lambda done, _, base=before: progress(base + done, total),
                budget_seconds=max(0.0, deadline - time.monotonic()), kind=kind, grouper=grouper, labelled=True,
                correlator=correlator,
            )  # fmt: skip
            events, hits = grouper.events - before, grouper.hit_events - hit_before
            files.append({"file": name, "format": kind, "events": events, "hit_events": hits})
            if not grouper.complete:
                break
    return {**grouper.result(), "files": files, "format": BUNDLE, "correlations": correlator.summary()}


def _finish(job: MatchJob, status: str, **fields) -> None:
    lifecycle.finish(MatchJob, job.pk, status, file_path="", **fields)  # a finished job owns no upload


def reconcile() -> int:
    """Mark failed every active job whose task will never finish it, deleting its upload; returns how many."""
    give_up = timedelta(seconds=2 * settings.CATALOG_MATCH_JOB_SECONDS + 60)
    dead = lifecycle.reconcile(MatchJob, give_up, on_failed=lambda job: delete_upload(job.file_path), file_path="")
    if dead:
        purge_orphans()
    return dead


def purge_old() -> int:
    """Delete finished jobs older than CATALOG_MATCH_JOB_KEEP_HOURS (their results hold uploaded events),
    and the uploads no live job owns."""
    cutoff = timezone.now() - timedelta(hours=settings.CATALOG_MATCH_JOB_KEEP_HOURS)
    deleted, _ = MatchJob.objects.filter(requested_at__lt=cutoff).exclude(status__in=ACTIVE).delete()
    purge_orphans()
    return deleted


def purge_orphans() -> int:
    """Delete every stored upload that no queued or running job owns and that nobody has written for
    CATALOG_MATCH_ORPHAN_GRACE_SECONDS; returns how many.

    The live jobs are read before the storage is listed: a job saved in between has a file younger than the
    grace age (it is stored just before its row is saved), so it is never taken for an orphan."""
    owned = set(MatchJob.objects.filter(status__in=ACTIVE).exclude(file_path="").values_list("file_path", flat=True))
    storage = upload_storage()
    try:
        _folders, names = storage.listdir("")
    except FileNotFoundError:
        return 0
    oldest = timezone.now() - timedelta(seconds=settings.CATALOG_MATCH_ORPHAN_GRACE_SECONDS)
    removed = 0
    for name in names:
        try:
            if name in owned or storage.get_modified_time(name) > oldest:
                continue
            storage.delete(name)
            removed += 1
        except FileNotFoundError:
            continue  # deleted meanwhile by its task or another purge
        except OSError as exc:
            log.warning("cannot remove the orphaned upload %s: %s", name, exc)
    return removed
