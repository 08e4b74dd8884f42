"""HTML pages. Thin on purpose: each view asks catalog.browse/queries and renders one template.

A page with an invalid filter still renders (status 400) with the error beside the form and the
valid filters applied; an unknown id is a 404. Every page's JSON twin is the same path under /api/
and calls the same query function (tests/browse/test_read_path.py).
"""

from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from catalog.browse.queries import answers, attack, events, facets, fields, indicators, rule_page, rules
from catalog.browse.queries import overview as overview_queries
from catalog.browse.queries.filtersets import SORTS, RuleFilterSet
from catalog.browse.queries.indicator_search import INDICATOR_KINDS, INDICATOR_POLARITIES, IndicatorFilterSet
from catalog.changes.history import rule_history
from catalog.conversion.query_section import query_section
from catalog.conversion.requested import CONVERSION_PARAMETERS
from catalog.models import Indicator
from catalog.platform import fragments
from catalog.platform.paging import paginate, paginate_read
from catalog.platform.parameters import reads_parameters

INDICATORS_PER_PAGE = 50
RULES_OF_INDICATOR_PER_PAGE = 100


@reads_parameters()
def overview(request):
    return render(request, "browse/overview.html", overview_queries.overview())


@reads_parameters(*RuleFilterSet.base_filters, "page")
def rule_list(request):
    filterset = rules.rule_filterset(request.GET, catalog_state=fragments.state(request))
    # The unfiltered list's facet block is kept per catalog version (catalog.platform.fragments): counted only
    # when it is not.
    facets_key = facets.fragment_key(request, filterset) if fragments.enabled() else ""
    kept = fragments.get_many([facets_key] if facets_key else [])
    context = {
        "filterset": filterset,
        "page": paginate(request, rules.listing(rules.filtered_rules(filterset)), rules.PER_PAGE),
        "facets": [] if facets_key in kept else facets.rule_facets(filterset),
        "facets_fragment": facets_key,
        "kept_fragments": kept,
        "sorts": list(SORTS),
    }
    context.update(answers.search_context(filterset, context["page"]))
    return render(request, "browse/rule_list.html", context, status=400 if filterset.errors else 200)


# The rule page's queries, all made here (its templates make none): rule_page.QUERIES, the history's
# versions (1; a rule an import changed adds its current indicators and, past HISTORY_LIMIT versions,
# their count) and the Query section's cached conversion (1; a first view converts and stores it).
# With its parts kept for this catalog version (catalog.platform.fragments): the rule and the conversion.
# Both without the page cache's version read, which the page cache makes when it is on.
RULE_PAGE_QUERIES = rule_page.QUERIES + 1 + 1
KEPT_RULE_PAGE_QUERIES = 1 + 1


@reads_parameters(*CONVERSION_PARAMETERS)  # the "Query" section (catalog.conversion.query_section)
def rule_detail(request, rule_uuid):
    keys = rule_page.fragment_keys(request, rule_uuid) if fragments.enabled() else {}
    kept = fragments.get_many(keys.values())
    if keys and len(kept) == len(keys):  # rendered for this catalog version: only the Query section is new
        rule = rule_page.kept_page_rule(rule_uuid)
        context = {"rule": rule}
    else:
        page = rule_page.rule_page(rule_uuid)
        rule = page.rule if page is not None else None
        context = {"page": page, "rule": rule, "common": indicators.COMMON_INDICATOR}
        if page is not None:
            context.update(rule_history(rule))  # the "History" section (changes/_history.html)
    if rule is None:
        raise Http404("No such rule in the catalog.")
    context.update(rule_fragments=keys, kept_fragments=kept)
    context["query_section"] = query_section(rule, request.GET)  # the "Query" section (conversion/_query.html)
    return render(request, "browse/rule_detail.html", context)


@reads_parameters(*IndicatorFilterSet.base_filters, "page")
def indicator_list(request):
    filterset = indicators.indicator_filterset(request.GET)
    context = {
        "filterset": filterset,
        "page": paginate(request, indicators.searched_indicators(filterset), INDICATORS_PER_PAGE),
        "fields": indicators.indicator_fields(),
        "kinds": INDICATOR_KINDS,
        "polarities": INDICATOR_POLARITIES,
        "keywords_slug": fields.KEYWORDS_SLUG,
        "common": indicators.COMMON_INDICATOR,
    }
    return render(request, "browse/indicator_list.html", context, status=400 if filterset.errors else 200)


@reads_parameters("page", "excluded_page")
def indicator_detail(request, pk):
    indicator = get_object_or_404(Indicator, pk=pk)
    looking = indicators.indicator_rules(indicator, indicators.LOOKED_FOR)
    page = paginate_read(request, looking, RULES_OF_INDICATOR_PER_PAGE)
    excluding = indicators.indicator_rules(indicator, indicators.EXCLUDED)
    excluded_page = paginate_read(request, excluding, RULES_OF_INDICATOR_PER_PAGE, param="excluded_page")
    if not page.paginator.count and not excluded_page.paginator.count:  # only hidden rules carry it
        raise Http404("No public rule carries this indicator.")
    context = {
        "indicator": indicator,
        "page": page,
        "excluded_page": excluded_page,
        "same_value": indicators.same_value_indicators(indicator),
        "field_param": fields.field_param(indicator.field),
        "common": indicators.COMMON_INDICATOR,
    }
    return render(request, "browse/indicator_detail.html", context)


@reads_parameters(*fields.LOGSOURCE_KEYS)
def field_list(request):
    def content():
        logsource = {key: request.GET.get(key, "").strip() for key in fields.LOGSOURCE_KEYS}
        choices = fields.logsource_choices()
        return {
            "rows": fields.field_table(logsource),
            "selects": [(key, choices[key], value) for key, value in logsource.items()],
        }

    return render_kept(request, "browse/field_list.html", "fields", content)


@reads_parameters("page", "rules_page")
def field_detail(request, name):
    field_name = fields.field_from_param(name)
    summary = fields.field_summary(field_name)  # its counts, from the summary table
    if summary is None:
        raise Http404("No live rule tests this field.")
    field_indicators = paginate(
        request, fields.field_indicators(field_name), INDICATORS_PER_PAGE, count=summary["indicators"]
    )
    context = {
        "field": field_name,
        "indicators": field_indicators,
        "rules": paginate(
            request, fields.field_rules(field_name), rules.PER_PAGE, param="rules_page", count=summary["rules"]
        ),
        "logsources": fields.field_logsources(field_name),
        "common": indicators.COMMON_INDICATOR,
    }
    context["rules_looking"] = sum(ls["rules_looking"] for ls in context["logsources"])
    context["rules_excluding"] = sum(ls["rules_excluding"] for ls in context["logsources"])
    return render(request, "browse/field_detail.html", context)


@reads_parameters("uncovered")
def attack_matrix(request):
    def content():
        detail = attack.attack_matrix()
        if request.GET.get("uncovered") == "1":  # techniques no rule covers (telemetry profiles: /coverage/)
            detail = attack.uncovered_only(detail)
        return detail

    return render_kept(request, "browse/attack_matrix.html", "attack", content)


@reads_parameters("page")
def technique_detail(request, technique_id):
    detail = attack.technique_detail(technique_id)
    if detail is None:
        raise Http404("No such ATT&CK technique.")
    if technique_id != detail["technique"].technique_id:
        return redirect("browse:technique-detail", detail["technique"].technique_id, permanent=True)
    tagged = rules.rule_filterset(
        {"technique": detail["technique"].technique_id}, catalog_state=fragments.state(request)
    )
    tagged = rules.filtered_rules(tagged)
    detail["page"] = paginate(request, rules.listing(tagged), rules.PER_PAGE, count=detail["count"])
    return render(request, "browse/technique_detail.html", detail)


@reads_parameters("page", "uncovered")
def tactic_detail(request, shortname):
    detail = attack.tactic_detail(shortname)
    if detail is None:
        raise Http404("No such ATT&CK tactic.")
    if shortname != detail["tactic"].shortname:
        return redirect("browse:tactic-detail", detail["tactic"].shortname, permanent=True)
    if request.GET.get("uncovered") == "1":
        detail = attack.uncovered_only(detail)
    tagged = rules.filtered_rules(
        rules.rule_filterset({"tactic": detail["tactic"].shortname}, catalog_state=fragments.state(request))
    )
    detail["page"] = paginate(request, rules.listing(tagged), rules.PER_PAGE, count=detail["tactic"].rule_count)
    return render(request, "browse/tactic_detail.html", detail)


@reads_parameters()
def event_list(request):
    return render_kept(request, "browse/event_list.html", "events", lambda: {"events": events.event_table()})


@reads_parameters("page")
def event_detail(request, provider, event):
    spelled = events.canonical(provider, event)
    if spelled is not None and spelled != (provider, event):  # /events/security/4688/ -> /events/Security/4688/
        return canonical_redirect(request, "browse:event-detail", *spelled)
    event_type = events.event_type(provider, event)
    if event_type is None:
        raise Http404("No such event in the catalog.")
    rules_page = rules.listing(events.event_rules(event_type))
    page = paginate(request, rules_page, rules.PER_PAGE, count=event_type.rule_count)
    context = {"event": event_type, "page": page, "facts": events.event_facts(event_type)}
    return render(request, "browse/event_detail.html", context)


def canonical_redirect(request, name: str, *args):
    """A permanent redirect to the canonical URL, the query string kept."""
    url = reverse(name, args=args)
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(f"{url}?{query}" if query else url)


@reads_parameters()
def logsource_list(request):
    return render_kept(
        request, "browse/logsource_list.html", "logsources", lambda: {"rows": list(events.logsource_counts())}
    )


def render_kept(request, template: str, name: str, content):
    """A whole-catalog page whose content block (`{% fragment content_fragment %}`) depends on the catalog and
    the page's query alone: kept per catalog version (catalog.platform.fragments); `content()` gives its
    context, asked only when it is not kept."""
    key = fragments.key(fragments.version(request), name, request.GET.urlencode()) if fragments.enabled() else ""
    kept = fragments.get_many([key] if key else [])
    context = {} if key in kept else content()
    context.update(content_fragment=key, kept_fragments=kept)
    return render(request, template, context)
