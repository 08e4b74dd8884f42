"""Coverage exports for SOC leads: an ATT&CK Navigator layer and a CSV of rules.

Both take the rule list's filters (the shared RuleFilterSet), so "high and critical Windows rules"
can be exported exactly as they are listed on /rules/.

The rule list's exports stream (StreamingHttpResponse): the filters are checked first (a 400 is a
400), then the first bytes leave before any rule is read, and the rules are read through a database
cursor in chunks of EXPORT_CHUNK with their techniques prefetched per chunk, written and forgotten.
So an export's memory is the same for 10 rules or 75,000. A single rule's downloads share the code,
unstreamed.
"""

import csv
import json
from collections import Counter

from django.db.models import Count
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse

from catalog.models import Rule
from catalog.queries import rules as rule_queries
from catalog.reference import attack

# Cells that a spreadsheet would run as a formula are prefixed, so an exported rule cannot inject one.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXPORT_CHUNK = 500
CSV_HEADER = [
    "id",
    "title",
    "status",
    "level",
    "product",
    "category",
    "service",
    "techniques",
    "tags",
    "author",
    "modified",
    "source",
    "path",
    "url",
]


def _filtered(request):
    filterset = rule_queries.rule_filterset(request.GET)
    return filterset, (filterset.qs if filterset.is_valid() else None)


def navigator_layer(request):
    """ATT&CK Navigator layer (format 4.5): each technique scored by the number of matching rules."""
    filterset, rules = _filtered(request)
    if rules is None:
        return JsonResponse({"errors": filterset.errors}, status=400)
    description = "Rules per technique" + (f" (filters: {request.GET.urlencode()})" if request.GET else "")
    return layer_response(
        request,
        rules,
        "Sigma rule catalog coverage",
        description,
        reverse("rule-list"),
        "sigma-catalog-layer.json",
        stream=True,
    )


def layer_response(request, rules, name: str, description: str, source_path: str, filename: str, stream=False):
    """The Navigator layer of `rules` as a download; the rule list's export (streamed) and a rule page's share it.

    Its size is bounded by the number of ATT&CK techniques, not of rules: the rules are counted in
    the database (one GROUP BY), after the layer's opening has been sent.
    """
    head = {
        "name": name,
        "description": description,
        "domain": "enterprise-attack",
        "versions": {"attack": "19", "navigator": "5.1.0", "layer": "4.5"},
        "sorting": 3,
    }
    source = request.build_absolute_uri(source_path)
    pieces = _layer_pieces(rules, head, source)
    response = StreamingHttpResponse(pieces) if stream else HttpResponse("".join(pieces))
    response["Content-Type"] = "application/json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _layer_pieces(rules, head: dict, source: str):
    yield json.dumps(head, indent=2)[:-2] + ",\n"  # the object stays open: the counts follow
    counts = Counter(
        dict(
            Rule.techniques.through.objects.filter(rule__in=rules.order_by().values("pk"))
            .values("technique__technique_id")
            .annotate(n=Count("rule_id", distinct=True))
            .values_list("technique__technique_id", "n")
        )
    )
    data = attack.load()
    top = max(counts.values(), default=1)
    rest = {
        "gradient": {"colors": ["#e8f0fe", "#1a56c4"], "minValue": 0, "maxValue": top},
        "techniques": [
            {
                "techniqueID": tid,
                "score": n,
                "comment": f"{n} rule{'s' if n != 1 else ''}",
                "enabled": True,
                "showSubtechniques": False,
            }
            for tid, n in sorted(counts.items())
            if data.technique(tid).known
        ],
        "metadata": [{"name": "source", "value": source}],
    }
    yield json.dumps(rest, indent=2)[1:]  # without its opening brace: the members continue the object


def rules_csv(request):
    """The filtered rule list as CSV, one row per rule."""
    filterset, rules = _filtered(request)
    if rules is None:
        return JsonResponse({"errors": filterset.errors}, status=400)
    return csv_response(request, rules, "sigma-rules.csv")


def csv_response(request, rules, filename: str, stream=True):
    """`rules` as CSV, one row per rule, as a download; the rule list's export and a rule page's share it."""
    lines = _csv_lines(request, rules)
    response = StreamingHttpResponse(lines) if stream else HttpResponse("".join(lines))
    response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Line:
    """A file-like object whose write returns what it is given: csv.writer then produces lines."""

    def write(self, text: str) -> str:
        return text


def _csv_lines(request, rules):
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_HEADER)
    base = request.build_absolute_uri("/").rstrip("/")
    ordered = rule_queries.listing(rules.order_by("title", "pk"))
    for rule in ordered.iterator(chunk_size=EXPORT_CHUNK):
        yield writer.writerow(
            [
                _cell(value)
                for value in (
                    rule.uuid,
                    rule.title,
                    rule.status,
                    rule.effective_level,
                    rule.product,
                    rule.category,
                    rule.service,
                    " ".join(t.technique_id for t in rule.techniques.all()),
                    " ".join(rule.effective_tags),
                    rule.author,
                    rule.modified or "",
                    rule.source.name,
                    rule.path,
                    base + reverse("rule-detail", args=[rule.uuid]),
                )
            ]
        )


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
