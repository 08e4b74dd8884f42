"""HTML pages. Thin on purpose: each view asks catalog.queries and renders one template.

A page with an invalid filter still renders (status 400) with the error beside the form and the
valid filters applied; an unknown id is a 404. Every page's JSON twin is the same path under /api/.
"""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from catalog import queries
from catalog.models import Indicator
from catalog.queries.filters import INDICATOR_KINDS, SORTS, IndicatorFilterSet
from catalog.queries.history import rule_history

RULES_PER_PAGE = 50
INDICATORS_PER_PAGE = 50
RULES_OF_INDICATOR_PER_PAGE = 100


def paginate(request, queryset, per_page, param="page"):
    """One page of a queryset (2 queries); a bad or out-of-range page number gives the nearest page."""
    return Paginator(queryset, per_page).get_page(request.GET.get(param))


def overview(request):
    return render(request, "catalog/overview.html", queries.overview())


def rule_list(request):
    filterset = queries.rule_filterset(request.GET)
    context = {
        "filterset": filterset,
        "page": paginate(request, queries.filtered_rules(filterset), RULES_PER_PAGE),
        "facets": queries.rule_facets(filterset),
        "sorts": list(SORTS),
    }
    return render(request, "catalog/rule_list.html", context, status=400 if filterset.errors else 200)


def rule_detail(request, rule_uuid):
    page = queries.rule_page(rule_uuid)
    if page is None:
        raise Http404("No such rule in the catalog.")
    context = {"page": page, "rule": page.rule, "common": queries.COMMON_INDICATOR}
    context.update(rule_history(page.rule))  # the "History" section (catalog/_history.html)
    return render(request, "catalog/rule_detail.html", context)


def indicator_list(request):
    filterset = IndicatorFilterSet(request.GET, queryset=Indicator.objects.all())
    context = {
        "filterset": filterset,
        "page": paginate(request, queries.searched_indicators(filterset), INDICATORS_PER_PAGE),
        "fields": queries.indicator_fields(),
        "kinds": INDICATOR_KINDS,
        "keywords_slug": queries.KEYWORDS_SLUG,
        "common": queries.COMMON_INDICATOR,
    }
    return render(request, "catalog/indicator_list.html", context, status=400 if filterset.errors else 200)


def indicator_detail(request, pk):
    indicator = get_object_or_404(Indicator, pk=pk)
    context = {
        "indicator": indicator,
        "page": paginate(request, queries.indicator_rules(indicator), RULES_OF_INDICATOR_PER_PAGE),
        "same_value": queries.same_value_indicators(indicator),
        "field_param": queries.field_param(indicator.field),
        "common": queries.COMMON_INDICATOR,
    }
    return render(request, "catalog/indicator_detail.html", context)


def field_list(request):
    logsource = {key: request.GET.get(key, "").strip() for key in ("product", "category", "service")}
    choices = queries.logsource_choices()
    context = {
        "rows": queries.field_table(logsource),
        "selects": [(key, choices[key], value) for key, value in logsource.items()],
    }
    return render(request, "catalog/field_list.html", context)


def field_detail(request, name):
    field_name = queries.field_from_param(name)
    indicators = paginate(request, queries.field_indicators(field_name), INDICATORS_PER_PAGE)
    if not indicators.paginator.count:
        raise Http404("No indicator uses this field.")
    context = {
        "field": field_name,
        "indicators": indicators,
        "rules": paginate(request, queries.field_rules(field_name), RULES_PER_PAGE, param="rules_page"),
        "logsources": queries.field_logsources(field_name),
        "common": queries.COMMON_INDICATOR,
    }
    return render(request, "catalog/field_detail.html", context)


def attack_matrix(request):
    return render(request, "catalog/attack_matrix.html", queries.attack_matrix())


def technique_detail(request, technique_id):
    detail = queries.technique_detail(technique_id)
    if detail is None:
        raise Http404("No such ATT&CK technique.")
    if technique_id != detail["technique"].technique_id:
        return redirect("technique-detail", detail["technique"].technique_id, permanent=True)
    rules = queries.rule_filterset({"technique": detail["technique"].technique_id}).qs
    detail["page"] = paginate(request, queries.listing(rules), RULES_PER_PAGE)
    return render(request, "catalog/technique_detail.html", detail)


def tactic_detail(request, shortname):
    detail = queries.tactic_detail(shortname)
    if detail is None:
        raise Http404("No such ATT&CK tactic.")
    if shortname != detail["tactic"].shortname:
        return redirect("tactic-detail", detail["tactic"].shortname, permanent=True)
    rules = queries.rule_filterset({"tactic": detail["tactic"].shortname}).qs
    detail["page"] = paginate(request, queries.listing(rules), RULES_PER_PAGE)
    return render(request, "catalog/tactic_detail.html", detail)


def event_list(request):
    return render(request, "catalog/event_list.html", {"events": queries.event_table()})


def event_detail(request, provider, event):
    event_type = queries.event_type(provider, event)
    if event_type is None:
        raise Http404("No such event in the catalog.")
    rules = queries.listing(queries.live_rules().filter(events=event_type).order_by("title", "pk"))
    return render(
        request, "catalog/event_detail.html", {"event": event_type, "page": paginate(request, rules, RULES_PER_PAGE)}
    )


def logsource_list(request):
    return render(request, "catalog/logsource_list.html", {"rows": queries.logsource_table()})
