"""/rules/<id>/indicators/: every value a rule looks for and excludes, page by page.

The rule page shows the first values of each table (catalog.browse.queries.rule_page.INDICATORS_SHOWN);
a rule with thousands (a driver block list of hashes) links here, where both tables are paginated in
the database: two pages of at most INDICATORS_PER_PAGE rows, 5 queries for any rule.
"""

from django.http import Http404
from django.shortcuts import render

from catalog.browse.queries import indicators, rule_page
from catalog.platform.paging import paginate_read
from catalog.platform.parameters import reads_parameters

INDICATOR_PAGE_PARAMETERS = ("page", "excluded_page")


@reads_parameters(*INDICATOR_PAGE_PARAMETERS)
def rule_indicators(request, rule_uuid):
    rule = rule_page.indicator_page_rule(rule_uuid)
    if rule is None:
        raise Http404("No such rule in the catalog.")
    per_page = rule_page.INDICATORS_PER_PAGE
    looked = paginate_read(request, rule_page.rule_indicator_queryset(rule, rule_page.LOOKED_FOR), per_page)
    excluded = paginate_read(
        request, rule_page.rule_indicator_queryset(rule, rule_page.EXCLUDED), per_page, param="excluded_page"
    )
    context = {
        "rule": rule,
        "looked": looked,
        "looked_rows": rule_page.indicator_rows(looked.object_list),
        "excluded": excluded,
        "excluded_rows": rule_page.indicator_rows(excluded.object_list),
        "common": indicators.COMMON_INDICATOR,
    }
    return render(request, "browse/rule_indicators.html", context)
