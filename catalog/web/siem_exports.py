"""The filtered rule list as a SIEM import file: /rules/export/splunk.conf, elastic.ndjson, sentinel.json.

The filters are /rules/'s (the shared RuleFilterSet, over public rules: a hidden rule is never
exported) plus `target` (ES|QL or EQL instead of Lucene for Elastic) and `pipeline`. Curators'
level overrides are used. The file is streamed (catalog.conversion.exporting): its first bytes
leave before any rule is converted and memory stays flat whatever the number of rules. Rules
that cannot be converted are listed in the file's closing report.
"""

from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.urls import reverse

from catalog.conversion.converter import choose
from catalog.conversion.exporting import export_rules, ordered_ids
from catalog.conversion.formats import FORMATS
from catalog.conversion.targets import UnknownChoice
from catalog.queries import rules as rule_queries

# URL file name -> (bulk format, file name stem).
EXPORTS = {
    "splunk.conf": ("savedsearches", "savedsearches"),
    "elastic.ndjson": ("ndjson", "elastic-rules"),
    "sentinel.json": ("arm", "sentinel-analytics-rules"),
}


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
        choice = choose(target, request.GET.get("pipeline"))
    except UnknownChoice as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    base = request.build_absolute_uri(reverse("rule-list")).rstrip("/")
    pieces = export_rules(lambda: ordered_ids(filterset.qs), export_id, choice, lambda uuid: f"{base}/{uuid}/")
    response = StreamingHttpResponse(pieces, content_type=export_format.content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="sigma-{stem}-{choice.target.id}.{export_format.extension}"'
    )
    response["X-Accel-Buffering"] = "no"  # a proxy passes the stream on as it comes
    return response
