"""POST /coverage/sample/ (a sample of logs read into a profile) and GET /coverage/compare/ (declared next to sampled).

The upload form sits on /coverage/ (templates/coverage/sample_upload_form.html) with the profile the page shows
as hidden fields: that is the *declared* profile. The files (EVTX, JSON, JSON lines) are read as /match/ reads
them (catalog.coverage.sample) into the profile they show (catalog.coverage.inferred), and the answer is a page:
what the sample holds (events, records, every field's presence rate), the comparison with the declared profile
(catalog.coverage.compare), and links to /coverage/ with the sample's profile, which lives in the URL like any
other (events, log sources, and the fields never filled), and to /coverage/compare/, the comparison as a
bookmarkable GET (the declared profile's parameters, the sample's prefixed `sample_`; the presence rates are
only on the upload's page).

Bounded per request: the declared Content-Length against CATALOG_COVERAGE_SAMPLE_MAX_BYTES before the body is
read, the `coverage` rate per client (as the Sysmon upload), match's per-event limits, and only the first
CATALOG_COVERAGE_SAMPLE_EVENTS events are read (the page says so when it stopped there): reading is about 0.1
CPU-second per 1,000 events, so a page never waits on a queue; `manage.py infer_profile` reads every event.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog.core.sigma.event_files import EVTX_MAGIC, EventFileError, FileLimits
from catalog.core.sigma.logged_events import EventLimits
from catalog.coverage.compare import compare
from catalog.coverage.inferred import inferred_profile, report
from catalog.coverage.profile import PROFILE_PARAMETERS, Profile, ProfileError, from_query, parse
from catalog.coverage.sample import read_sample
from catalog.coverage.upload_views import refused_upload
from catalog.platform.multiple_files import MultipleFileField
from catalog.platform.parameters import reads_parameters

TEMPLATE = "coverage/sample.html"
SAMPLE = "sample_"  # the prefix of the sample's profile parameters on /coverage/compare/


class Refused(ValueError):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class SampleForm(forms.Form):
    files = MultipleFileField(label="Event files (EVTX, JSON, JSON lines)")


def limits() -> FileLimits:
    per_event = EventLimits(
        max_fields=settings.CATALOG_MATCH_MAX_FIELDS,
        max_value_chars=settings.CATALOG_MATCH_MAX_VALUE_CHARS,
        max_depth=settings.CATALOG_MATCH_MAX_DEPTH,
    )
    return FileLimits(settings.CATALOG_COVERAGE_SAMPLE_MAX_BYTES, 1 << 62, per_event)  # events: stopped at the cap


def _kind(uploaded) -> str:
    head = uploaded.read(8)
    uploaded.seek(0)
    name = uploaded.name.lower()
    if head == EVTX_MAGIC:
        return "evtx"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".json") or head.lstrip()[:1] in (b"{", b"["):
        return "json"
    raise Refused(f"{_shown(uploaded.name)}: neither an EVTX file (no ElfFile signature) nor JSON.")


def _shown(name: str) -> str:
    return name.replace("\x00", "")[:200]


def read_uploads(uploads, folder: Path):
    """The sample of the uploaded files (each copied into `folder` when it is held in memory)."""
    total = sum(uploaded.size for uploaded in uploads)
    if total > settings.CATALOG_COVERAGE_SAMPLE_MAX_BYTES:
        raise Refused(f"{total:,} bytes of files: at most {settings.CATALOG_COVERAGE_SAMPLE_MAX_BYTES:,}.", 413)
    files = []
    for number, uploaded in enumerate(uploads):
        kind = _kind(uploaded)
        path = getattr(uploaded, "temporary_file_path", None)
        if path is None:
            path = folder / f"{number}.{kind}"
            with open(path, "wb") as handle:
                shutil.copyfileobj(uploaded, handle)
        files.append((Path(path() if callable(path) else path), _shown(uploaded.name), kind))
    try:
        return read_sample(files, limits(), settings.CATALOG_COVERAGE_SAMPLE_EVENTS)
    except EventFileError as exc:
        raise Refused(str(exc)) from None


@require_POST
def sample_upload(request):
    context = {"form": SampleForm(), "back": reverse("coverage:page"), **_caps()}
    refused = refused_upload(request, TEMPLATE, context, settings.CATALOG_COVERAGE_SAMPLE_MAX_BYTES, "at most")
    if refused is not None:
        return refused
    form = context["form"] = SampleForm(request.POST, request.FILES)
    try:
        declared = context["declared"] = from_query(request.POST)
        context["back"] = _page_url(declared)
        if not form.is_valid():
            return render(request, TEMPLATE, context, status=400)
        with tempfile.TemporaryDirectory(prefix="coverage-sample-") as folder:
            sample = read_uploads(form.cleaned_data["files"], Path(folder))
    except (ProfileError, Refused) as exc:
        context["refusal"] = str(exc)
        return render(request, TEMPLATE, context, status=getattr(exc, "status", 400))
    profile = inferred_profile(sample)
    context["reading"] = report(sample, profile)
    context |= _compared(declared, profile)
    return render(request, TEMPLATE, context)


@reads_parameters(*PROFILE_PARAMETERS, *(SAMPLE + name for name in PROFILE_PARAMETERS))
def compare_page(request):
    """/coverage/compare/?events=...&sample_events=...&sample_unfilled=...: the declared profile next to a sample's."""
    context = {"form": SampleForm(), "back": reverse("coverage:page"), **_caps()}
    try:
        declared = context["declared"] = from_query(request.GET)
        sample = parse(*(request.GET.getlist(SAMPLE + name) for name in PROFILE_PARAMETERS))
    except ProfileError as exc:
        context["refusal"] = str(exc)
        return render(request, TEMPLATE, context, status=400)
    context["back"] = _page_url(declared)
    if sample:
        context.update(_compared(declared, sample))
    return render(request, TEMPLATE, context)


def _compared(declared: Profile, sample: Profile) -> dict:
    query = sample.query()
    prefixed = urlencode([(SAMPLE + name, value) for name, value in sample.params().items()])
    return {
        "sample_profile": sample,
        "comparison": compare(declared, sample),
        "sample_url": reverse("coverage:page") + ("?" + query if query else ""),
        "compare_url": reverse("coverage:compare") + "?" + "&".join(q for q in (declared.query(), prefixed) if q),
    }


def _caps() -> dict:
    return {
        "max_events": settings.CATALOG_COVERAGE_SAMPLE_EVENTS,
        "max_bytes": settings.CATALOG_COVERAGE_SAMPLE_MAX_BYTES,
    }


def _page_url(profile: Profile) -> str:
    query = profile.query()
    return reverse("coverage:page") + ("?" + query if query else "")
