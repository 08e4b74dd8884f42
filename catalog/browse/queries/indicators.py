"""Indicators: the search of /indicators/ and /api/indicators/, one indicator's rules, its same-value pivots.

An indicator is listed while a live rule looks for it or excludes it (one of its two counts,
recounted by catalog.publishing.visibility whenever a rule's visibility changes, is above 0): one used only by
hidden or retired rules would otherwise show as a row with counts 0 whose page lists nothing.
"""

from __future__ import annotations

from django.db.models import F, Q

from catalog.browse.queries import stored_counts
from catalog.browse.queries.indicator_search import IndicatorFilterSet
from catalog.models import FieldSummary, Indicator, Polarity, RuleIndicator, public_rules_q

COMMON_INDICATOR = 10  # corpus count from which an indicator counts as widely used
SAME_VALUE_LIMIT = 20
ORDER = ("-corpus_count", "-exclude_count", "field", "kind", "value", "pk")  # most used first, stable
EXCLUDED_ORDER = ("-exclude_count", "-corpus_count", "field", "kind", "value", "pk")
# Which rule-indicator polarities put a rule in an indicator's "looks for" and "excludes" lists.
LOOKED_FOR = (Polarity.LOOKS_FOR, Polarity.BOTH)
EXCLUDED = (Polarity.EXCLUDES, Polarity.BOTH)


def listed_indicators():
    """Indicators that at least one live rule looks for or excludes."""
    return Indicator.objects.filter(Q(corpus_count__gt=0) | Q(exclude_count__gt=0))


def indicator_filterset(data) -> IndicatorFilterSet:
    return IndicatorFilterSet(data, queryset=listed_indicators())


def searched_indicators(filterset: IndicatorFilterSet):
    """The indicator search's results (its valid filters applied), most used first (most excluded, for exclusions)."""
    valid = filterset.is_valid()
    excluded = valid and filterset.form.cleaned_data.get("polarity") == Polarity.EXCLUDES
    found = filterset.qs.order_by(*(EXCLUDED_ORDER if excluded else ORDER))
    if valid and not any(value not in (None, "", [], ()) for value in filterset.form.cleaned_data.values()):
        # Every listed indicator: their number is a summary total, so paginators need not count them
        # (a scan of every indicator: 250,000 at 20x SigmaHQ). Read by catalog.platform.paging.
        found.known_count = stored_counts.counts_of("total").get("indicators", 0)
    return found


def indicator_fields() -> list[dict]:
    """Every field of a listed indicator with its number of indicators, for the search form's select
    (from the field summary table: a listed indicator is one a live rule uses)."""
    return list(FieldSummary.objects.filter(whole=True).values("field", n=F("indicators")).order_by("field"))


def indicator_rules(indicator: Indicator, polarities=(*LOOKED_FOR, Polarity.EXCLUDES)):
    """RuleIndicator rows of an indicator's public rules, live ones first, then retired ones.

    `polarities` picks the rules that look for it (LOOKED_FOR) or exclude it (EXCLUDED); a rule
    doing both is in both. Empty when only hidden rules carry it: such an indicator has no public page.
    """
    return (
        RuleIndicator.objects.filter(public_rules_q("rule"), indicator=indicator, polarity__in=polarities)
        .select_related("rule", "rule__source")
        .order_by("rule__retired", "rule__title", "rule__pk")
    )


def same_value_indicators(indicator: Indicator, limit: int = SAME_VALUE_LIMIT) -> list[Indicator]:
    """The same value under other fields or kinds: a hunter's next pivot (one query)."""
    return list(
        listed_indicators()
        .filter(value=indicator.value)
        .exclude(pk=indicator.pk)
        .order_by("-corpus_count", "-exclude_count", "field", "kind")[:limit]
    )
