"""POST /coverage/sysmon/: a Sysmon configuration file, read into the profile it logs, from the /coverage/ page.

The page's twin of POST /api/coverage/ {"sysmon_config": ...}: the same reading (catalog.coverage.profile,
defusedxml with its size and depth limits) and the same `coverage` rate per client. The events the
configuration logs are added to the profile the page shows (its hidden fields), and the browser is
sent to /coverage/ with them in the URL, where the profile lives, so the result can be bookmarked and
shared like any other. The form (templates/coverage/sysmon_upload_form.html) is self-contained: the
coverage page includes it; a refused upload is answered by a page of its own, with the form again.
"""

from __future__ import annotations

import codecs
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog.coverage.profile import Profile, ProfileError, from_query, from_sysmon_config, with_events
from catalog.platform.throttling import CoverageRateThrottle, refused_page, throttle_wait

TEMPLATE = "coverage/sysmon_upload.html"
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, headers and the profile's hidden fields around the file


class SysmonConfigForm(forms.Form):
    config = forms.FileField(
        label="Sysmon configuration (XML)",
        help_text="The events its filters log (an event type with an exclude filter, or an include filter with "
        "a condition) are added to the profile.",
    )


def max_bytes() -> int:
    """A configuration's characters in UTF-16 (two bytes each), the widest encoding one comes in."""
    return settings.CATALOG_MAX_SYSMON_CONFIG_CHARS * 2


def config_text(uploaded) -> str:
    """The file's text: UTF-16 when it starts with its byte-order mark (as Windows tools write it), else UTF-8."""
    data = uploaded.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise ProfileError(f"{uploaded.name}: more than {max_bytes():,} bytes.")
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{uploaded.name} is not UTF-8 or UTF-16 text (byte {exc.start}).") from None


def refused_upload(request, template: str, context: dict, limit: int, at_most: str):
    """The coverage uploads' guard, before the body is read: the client's `coverage` rate (429), then the declared
    size against `limit` plus the multipart overhead (413, "Upload of N bytes: <at_most> <limit>."). None: go on."""
    wait = throttle_wait(CoverageRateThrottle, request)
    if wait is not None:
        return refused_page(request, template, context, wait, "coverage requests")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + MULTIPART_OVERHEAD:
        context["refusal"] = f"Upload of {length:,} bytes: {at_most} {limit:,}."
        return render(request, template, context, status=413)
    return None


@require_POST
def sysmon_upload(request):
    context = {"form": SysmonConfigForm(), "back": reverse("coverage:page")}
    refused = refused_upload(request, TEMPLATE, context, max_bytes(), "a Sysmon configuration may have at most")
    if refused is not None:
        return refused
    form = context["form"] = SysmonConfigForm(request.POST, request.FILES)
    try:
        current = from_query(request.POST)  # the profile the page showed, kept
        context.update(profile=current, back=_page_url(current))
        if not form.is_valid():
            return render(request, TEMPLATE, context, status=400)
        logged = from_sysmon_config(config_text(form.cleaned_data["config"]))
    except ProfileError as exc:
        context["refusal"] = str(exc)
        return render(request, TEMPLATE, context, status=400)
    response = HttpResponseRedirect(_page_url(with_events(current, logged.events)))
    response.status_code = 303  # see the page with a GET
    return response


def _page_url(profile: Profile) -> str:
    query = urlencode(profile.params())
    return reverse("coverage:page") + ("?" + query if query else "")
