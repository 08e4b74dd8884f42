"""Match jobs as their status page and its API twin read them (catalog/matching/file_views.py)."""

from __future__ import annotations

from django.http import Http404

from catalog.matching.jobs import reconcile
from catalog.models.matching_jobs import MatchJob


def job_status(token) -> MatchJob:
    """The job with this token (Http404 if none); a job whose process died is marked failed first."""
    job = MatchJob.objects.filter(token=token).first()
    if job is None:
        raise Http404("No such match job (finished jobs are kept for a day).")
    if not job.finished:
        reconcile()
        job.refresh_from_db()
    return job


def job_json(job: MatchJob, job_url: str) -> dict:
    return {
        "job": str(job.token),
        "url": job_url,
        "status": job.status,
        "file": job.file_name,
        "format": job.file_format,
        "bytes": job.size_bytes,
        "events_done": job.events_done,
        "total_events": job.total_events,
        "percent": job.percent,
        "message": job.message,
        "results": job.results if job.status == MatchJob.Status.DONE else None,
    }
