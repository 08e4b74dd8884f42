"""The rule list as a SIEM import file: /rules/export/splunk.conf, elastic.ndjson, sentinel.json.

The filters are /rules/'s (the shared RuleFilterSet, over public rules: a hidden rule is never
exported) plus `target` (ES|QL or EQL instead of Lucene for Elastic) and `pipeline`. Curators'
level overrides are used. Rules that cannot be converted are listed in the file's closing report.

- Without filters (the whole catalog) nothing is converted in the request: the file built for the
  current catalog version is served from storage (catalog.exports.built_exports), with its
  Content-Length and an ETag; when it is not built yet the answer is 202 with Retry-After, and one build
  is started in the background (catalog.exports.export_queue).
- With filters the request converts the rules itself, streamed (catalog.exports.exporting), so a
  filter may select at most CATALOG_EXPORT_MAX_FILTERED_RULES rules (a 400 says so and points to the
  whole-catalog file). Filtering the stored build was the other way; it would need per-rule pieces of
  each stored file, while the conversion cache already makes a repeated filtered export cheap.
- Pipelines are canonical (pySigma's order: priority, then id): another spelling of the same set is
  redirected to the canonical URL, so it shares the cached queries and the stored file.
- Every download counts against the `export` rate (CATALOG_RATE_EXPORT).
"""

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponseNotModified, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import parse_etags

from catalog.browse.queries import rules as rule_queries
from catalog.browse.queries.filtersets import RuleFilterSet
from catalog.conversion.converter import choose
from catalog.conversion.formats import FORMATS
from catalog.conversion.requested import CONVERSION_PARAMETERS
from catalog.conversion.targets import UnknownChoice
from catalog.exports import export_queue
from catalog.exports.built_exports import current_version, find_export, storage
from catalog.exports.export_throttle import client_id, export_throttled
from catalog.exports.exporting import canonical_choice, export_rules, ordered_ids, pipeline_spelling
from catalog.platform.parameters import reads_parameters
from catalog.platform.stream_failures import guarded

# URL file name -> (bulk format, file name stem).
EXPORTS = {
    "splunk.conf": ("savedsearches", "savedsearches"),
    "elastic.ndjson": ("ndjson", "elastic-rules"),
    "sentinel.json": ("arm", "sentinel-analytics-rules"),
}
STREAM_KIND = {"savedsearches": "lines", "ndjson": "lines", "arm": "json"}


@reads_parameters(*RuleFilterSet.base_filters, *CONVERSION_PARAMETERS)
def siem_export(request, filename):
    if filename not in EXPORTS:
        raise Http404(f"No export named {filename!r}: {', '.join(EXPORTS)}.")
    export_id, stem = EXPORTS[filename]
    export_format = FORMATS[export_id]
    filterset = rule_queries.rule_filterset(request.GET)
    if not filterset.is_valid():
        return JsonResponse({"errors": filterset.errors}, status=400)
    target = request.GET.get("target") or export_format.default_target
    try:
        if target not in export_format.targets:
            raise UnknownChoice(f"{export_format.label} takes the targets {', '.join(export_format.targets)}.")
        asked = choose(target, request.GET.get("pipeline"))
    except UnknownChoice as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    choice = canonical_choice(asked)
    if request.GET.get("pipeline", "").strip() and request.GET["pipeline"] != pipeline_spelling(choice):
        query = request.GET.copy()
        query["pipeline"] = pipeline_spelling(choice)
        return redirect(f"{request.path}?{query.urlencode()}")
    if throttled := export_throttled(request):
        return throttled
    download_name = f"sigma-{stem}-{choice.target.id}.{export_format.extension}"
    rules_url = request.build_absolute_uri(reverse("browse:rule-list"))
    if not filters_used(filterset):
        return whole_catalog(request, choice, export_format, download_name, rules_url)
    count = filterset.qs.count()
    if count > settings.CATALOG_EXPORT_MAX_FILTERED_RULES:
        whole = f"{request.path}?target={choice.target.id}&pipeline={pipeline_spelling(choice)}"
        return JsonResponse(
            {
                "error": f"These filters select {count} rules; a filtered export converts at most "
                f"{settings.CATALOG_EXPORT_MAX_FILTERED_RULES}. Narrow the filters, or download the whole "
                f"catalog's export, built in the background: {whole}",
                "whole_catalog": whole,
            },
            status=400,
        )
    base = rules_url.rstrip("/")
    pieces = export_rules(lambda: ordered_ids(filterset.qs), export_id, choice, lambda uuid: f"{base}/{uuid}/")
    response = StreamingHttpResponse(
        guarded(pieces, STREAM_KIND[export_id], request.get_full_path()), content_type=export_format.content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{download_name}"'
    response["X-Accel-Buffering"] = "no"  # a proxy passes the stream on as it comes
    return response


def filters_used(filterset) -> bool:
    data = rule_queries.cleaned(filterset)
    return any(value not in (None, "", [], ()) for name, value in data.items() if name != "sort")


def whole_catalog(request, choice, export_format, download_name: str, rules_url: str):
    """The stored file of the current catalog version, or a 202 that starts its build."""
    version = current_version()
    stored = find_export(choice, version)
    if stored is not None:
        if stored.etag in parse_etags(request.META.get("HTTP_IF_NONE_MATCH", "")):
            response = HttpResponseNotModified()
            response["ETag"] = stored.etag
            return response
        response = FileResponse(storage().open(stored.name, "rb"), content_type=export_format.content_type)
        response["Content-Length"] = str(stored.size)
        response["Content-Disposition"] = f'attachment; filename="{download_name}"'
        response["ETag"] = stored.etag
        response["X-Export-Version"] = version
        return response
    queued = export_queue.enqueue(choice, rules_url, client_id(request))
    retry = settings.CATALOG_EXPORT_RETRY_SECONDS
    if queued.refused:
        message = f"This export is not built yet, and no build could start: {queued.refused}. Try again later."
    elif queued.started:
        message = "This export is being built for the current catalog version; it started now. Try again shortly."
    else:
        message = "This export is being built for the current catalog version. Try again shortly."
    response = JsonResponse(
        {
            "status": "refused" if queued.refused else "building",
            "message": message,
            "retry_after": retry,
            "target": choice.target.id,
            "pipeline": pipeline_spelling(choice),
        },
        status=queued.status,
    )
    response["Retry-After"] = str(retry)
    response["Cache-Control"] = "no-store"
    return response
