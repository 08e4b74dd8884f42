"""The rule list's exports for SOC leads: an ATT&CK Navigator layer and a CSV of rules.

Both take the rule list's filters (the shared RuleFilterSet), so "high and critical Windows rules"
can be exported exactly as they are listed on /rules/; both are written by catalog.exports.files.
"""

from django.http import JsonResponse
from django.urls import reverse

from catalog.browse.queries import rules as rule_queries
from catalog.browse.queries.filtersets import RuleFilterSet
from catalog.exports.export_throttle import export_throttled
from catalog.exports.files import csv_response, layer_response
from catalog.platform.parameters import reads_parameters


def _filtered_or_refused(request):
    """(the rules the list's filters select, None), or (None, the answer: a 400 naming the bad filters, or
    the export throttle's 429)."""
    filterset = rule_queries.rule_filterset(request.GET)
    if not filterset.is_valid():
        return None, JsonResponse({"errors": filterset.errors}, status=400)
    return filterset.qs, export_throttled(request)


@reads_parameters(*RuleFilterSet.base_filters)
def navigator_layer(request):
    """ATT&CK Navigator layer (format 4.5): each technique scored by the number of matching rules."""
    rules, refused = _filtered_or_refused(request)
    if refused is not None:
        return refused
    description = "Rules per technique" + (f" (filters: {request.GET.urlencode()})" if request.GET else "")
    return layer_response(
        request,
        rules,
        "Sigma rule catalog coverage",
        description,
        reverse("browse:rule-list"),
        "sigma-catalog-layer.json",
        stream=True,
    )


@reads_parameters(*RuleFilterSet.base_filters)
def rules_csv(request):
    """The filtered rule list as CSV, one row per rule."""
    rules, refused = _filtered_or_refused(request)
    if refused is not None:
        return refused
    return csv_response(request, rules, "sigma-rules.csv")
