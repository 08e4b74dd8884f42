"""Indicators: the search of /indicators/ and /api/indicators/, one indicator's rules, its same-value pivots.

An indicator is listed while a live rule carries it (its corpus count, recounted by
catalog.visibility whenever a rule's visibility changes, is above 0): one used only by hidden or
retired rules would otherwise show as a row with count 0 whose page lists nothing.
"""

from __future__ import annotations

from django.db.models import Count

from catalog.models import Indicator, RuleIndicator, public_rules_q
from catalog.queries.filters import IndicatorFilterSet

COMMON_INDICATOR = 10  # corpus count from which an indicator counts as widely used
SAME_VALUE_LIMIT = 20
ORDER = ("-corpus_count", "field", "kind", "value", "pk")  # most used first, stable for pagination


def listed_indicators():
    """Indicators carried by at least one live rule."""
    return Indicator.objects.filter(corpus_count__gt=0)


def indicator_filterset(data) -> IndicatorFilterSet:
    return IndicatorFilterSet(data, queryset=listed_indicators())


def searched_indicators(filterset: IndicatorFilterSet):
    """The indicator search's results (its valid filters applied), most used first."""
    return filterset.qs.order_by(*ORDER)


def indicator_fields() -> list[dict]:
    """Every field of a listed indicator with its number of indicators, for the search form's select."""
    return list(listed_indicators().order_by().values("field").annotate(n=Count("pk")).order_by("field"))


def indicator_rules(indicator: Indicator):
    """RuleIndicator rows of an indicator's public rules, live ones first, then retired ones.

    Empty when only hidden rules carry it: such an indicator has no public page at all.
    """
    return (
        RuleIndicator.objects.filter(public_rules_q("rule"), indicator=indicator)
        .select_related("rule", "rule__source")
        .order_by("rule__retired", "rule__title", "rule__pk")
    )


def same_value_indicators(indicator: Indicator, limit: int = SAME_VALUE_LIMIT) -> list[Indicator]:
    """The same value under other fields or kinds: a hunter's next pivot (one query)."""
    return list(
        listed_indicators()
        .filter(value=indicator.value)
        .exclude(pk=indicator.pk)
        .order_by("-corpus_count", "field", "kind")[:limit]
    )
