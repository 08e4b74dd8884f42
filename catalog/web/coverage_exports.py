"""Coverage exports for SOC leads: an ATT&CK Navigator layer and a CSV of rules.

Both take the rule list's filters (the shared RuleFilterSet), so "high and critical Windows rules"
can be exported exactly as they are listed on /rules/.
"""

import csv
from collections import Counter

from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.urls import reverse

from catalog.models import Rule
from catalog.queries import rules as rule_queries
from catalog.reference import attack

# Cells that a spreadsheet would run as a formula are prefixed, so an exported rule cannot inject one.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
        request, rules, "Sigma rule catalog coverage", description, reverse("rule-list"), "sigma-catalog-layer.json"
    )


def layer_response(request, rules, name: str, description: str, source_path: str, filename: str):
    """The Navigator layer of `rules` as a download; the rule list's export and a rule page's share it."""
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
    layer = {
        "name": name,
        "description": description,
        "domain": "enterprise-attack",
        "versions": {"attack": "19", "navigator": "5.1.0", "layer": "4.5"},
        "sorting": 3,
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
        "metadata": [{"name": "source", "value": request.build_absolute_uri(source_path)}],
    }
    response = JsonResponse(layer, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def rules_csv(request):
    """The filtered rule list as CSV, one row per rule."""
    filterset, rules = _filtered(request)
    if rules is None:
        return JsonResponse({"errors": filterset.errors}, status=400)
    return csv_response(request, rules, "sigma-rules.csv")


def csv_response(request, rules, filename: str):
    """`rules` as CSV, one row per rule, as a download; the rule list's export and a rule page's share it."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(
        [
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
    )
    for rule in rule_queries.listing(rules.order_by("title", "pk")):
        writer.writerow(
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
                    request.build_absolute_uri(reverse("rule-detail", args=[rule.uuid])),
                )
            ]
        )
    return response


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
