"""/match/ uploads: EVTX, JSON and JSON-lines files of events (one or several per upload), matched by a background job.

The request only checks and stores the files: its declared size (Content-Length) before the body is
read, the stored size, the rate limit /match/ uses, and the job caps (catalog/matching/quotas.py:
jobs per client, 429; jobs and queued bytes site-wide, 503), from the declared size first; then it
queues a MatchJob (catalog/matching/jobs.py explains the mechanism) and sends the browser to
the job's status page, which reloads itself until the results are there. Limits: each file's
(CATALOG_MATCH_MAX_UPLOAD_BYTES, CATALOG_MATCH_MAX_FILE_EVENTS), and the upload's (CATALOG_MATCH_MAX_UPLOAD_FILES
files, CATALOG_MATCH_MAX_UPLOAD_TOTAL_BYTES in all). Event counts are checked
by the job before any event is parsed (EVTX chunk headers, JSON lines), and a bad file fails the job
with the file, place and problem.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, parser_classes, throttle_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from catalog.core.sigma.event_files import EVTX_MAGIC
from catalog.matching.engine import uncompilable_rules
from catalog.matching.jobs import enqueue_files
from catalog.matching.quotas import QuotaRefused, check_quota, client_key
from catalog.matching.status import job_json, job_status
from catalog.matching.views import EventForm
from catalog.platform.multiple_files import MultipleFileField
from catalog.platform.throttling import AnonRateThrottle, MatchRateThrottle, match_wait

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and headers around the file in a multipart body


class Refused(Exception):
    def __init__(self, message: str, status: int, retry_after: int | None = None):
        super().__init__(message)
        self.message, self.status, self.retry_after = message, status, retry_after


class UploadForm(forms.Form):
    file = MultipleFileField(help_text="Windows .evtx files, or JSON / JSON lines (.json, .jsonl, .ndjson).")


def total_limit() -> int:
    """The most bytes one upload may hold, all its files together."""
    return min(
        settings.CATALOG_MATCH_MAX_UPLOAD_TOTAL_BYTES,
        settings.CATALOG_MATCH_MAX_UPLOAD_BYTES * settings.CATALOG_MATCH_MAX_UPLOAD_FILES,
    )


def check_upload(request) -> None:
    """Refuse from the declared length before the body is read, and when the client or the site has too
    many jobs (or bytes) waiting."""
    limit = total_limit()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused("Invalid Content-Length.", 400) from None
    if length > limit + MULTIPART_OVERHEAD:
        raise Refused(f"Upload of {length:,} bytes: an upload may have at most {limit:,} bytes.", 413)
    try:  # the file is at least the body less the multipart framing
        check_quota(client_key(request), max(0, length - MULTIPART_OVERHEAD))
    except QuotaRefused as exc:
        raise Refused(exc.message, exc.status, exc.retry_after) from None


def queue_files(uploads: list, client: str):
    """Check the stored uploads (each file, their number and total size) and queue one job for them."""
    most, total = settings.CATALOG_MATCH_MAX_UPLOAD_FILES, sum(uploaded.size for uploaded in uploads)
    if len(uploads) > most:
        raise Refused(f"{len(uploads)} files: an upload may have at most {most}.", 413)
    checked = [(uploaded, file_kind(uploaded)) for uploaded in uploads]
    if total > total_limit():
        raise Refused(f"{total:,} bytes in all: an upload may have at most {total_limit():,} bytes.", 413)
    try:
        return enqueue_files(checked, client)
    except QuotaRefused as exc:
        raise Refused(exc.message, exc.status, exc.retry_after) from None


def file_kind(uploaded) -> str:
    """One uploaded file's format (evtx, json, jsonl), within the per-file limit; Refused with what is wrong."""
    limit = settings.CATALOG_MATCH_MAX_UPLOAD_BYTES
    if uploaded.size > limit:
        raise Refused(f"{uploaded.name}: {uploaded.size:,} bytes (at most {limit:,} bytes).", 413)
    if "\x00" in uploaded.name:
        raise Refused("NUL character in the file name.", 400)
    head = uploaded.read(8)
    uploaded.seek(0)
    name = uploaded.name.lower()
    if head == EVTX_MAGIC:
        kind = "evtx"
    elif name.endswith((".jsonl", ".ndjson")):
        kind = "jsonl"
    elif name.endswith(".json") or head.lstrip()[:1] in (b"{", b"["):
        kind = "json"
    else:
        raise Refused(f"{uploaded.name}: neither an EVTX file (no ElfFile signature) nor JSON.", 400)
    return kind


@require_POST
def match_upload(request):
    context = {"form": EventForm(), "upload_form": UploadForm(), "results": None, "unevaluable": uncompilable_rules()}
    wait = match_wait(request)
    try:
        if wait is not None:
            raise Refused(f"Too many matches from your address: try again in {wait} s.", 429, wait)
        check_upload(request)
        form = context["upload_form"] = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            raise Refused(" ".join(form.errors.get("file", ["No file."])), 400)
        job = queue_files(form.cleaned_data["file"], client_key(request))
    except Refused as exc:
        context["upload_refusal"] = exc.message
        response = render(request, "matching/match.html", context, status=exc.status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    return redirect("matching:job", token=job.token)


@require_http_methods(["GET"])
def job_page(request, token):
    job = job_status(token)
    return render(request, "matching/job.html", {"job": job, "results": job.results or {}})


@extend_schema(
    request={"multipart/form-data": OpenApiTypes.OBJECT},
    responses={
        202: OpenApiTypes.OBJECT,
        400: OpenApiTypes.OBJECT,
        413: OpenApiTypes.OBJECT,
        429: OpenApiTypes.OBJECT,
        503: OpenApiTypes.OBJECT,
    },
    description="Upload event files as the multipart field `file` (.evtx, .json, .jsonl), repeated for several "
    "files (up to CATALOG_MATCH_MAX_UPLOAD_FILES, matched as one job: samples and timeline entries then name "
    "their `file`, and `results.files` lists each file's events). Answer 202 with the "
    "job's status URL; GET it until `status` is done (or failed), then `results` holds the hits grouped by rule "
    "(with sample events and their explanations) and a timeline (each entry's `fields`: [{field, value}] of "
    "Computer, User, Image, CommandLine, TargetFilename as the event carries them). 429 (with Retry-After): "
    "this client already has CATALOG_MATCH_MAX_JOBS_PER_CLIENT files waiting; 503: the site's queue (jobs or "
    "bytes) is full.",
)
@api_view(["POST"])
@parser_classes([MultiPartParser])
@throttle_classes([AnonRateThrottle, MatchRateThrottle])
def match_upload_api(request):
    try:
        check_upload(request)
        uploads = request.FILES.getlist("file")
        if not uploads:
            raise Refused("Send the events file as the multipart field `file` (repeated for several files).", 400)
        job = queue_files(uploads, client_key(request))
    except Refused as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return Response({"error": exc.message}, status=exc.status, headers=headers)
    url = request.build_absolute_uri(reverse("matching:api-job", args=[job.token]))
    return Response(job_json(job, url), status=202, headers={"Location": url})


@extend_schema(responses={200: OpenApiTypes.OBJECT}, description="A match job's progress and, once done, results.")
@api_view(["GET"])
def match_job_api(request, token):
    job = job_status(token)
    return Response(job_json(job, request.build_absolute_uri(reverse("matching:api-job", args=[token]))))
