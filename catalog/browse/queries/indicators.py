"""Indicators: the search of /indicators/ and /api/indicators/, one indicator's rules, its same-value pivots.

An indicator is listed while a live rule looks for it or excludes it (one of its two counts,
recounted by catalog.publishing.visibility whenever a rule's visibility changes, is above 0): one used only by
hidden or retired rules would otherwise show as a row with counts 0 whose page lists nothing.
"""

from __future__ import annotations

import functools

from django.db.models import F, IntegerField, Q
from django.db.models.expressions import ExpressionWrapper

from catalog.browse.queries import stored_counts
from catalog.browse.queries.indicator_search import IndicatorFilterSet
from catalog.models import FieldSummary, Indicator, Polarity, RuleIndicator, public_rules_q

COMMON_INDICATOR = 10  # corpus count from which an indicator counts as widely used
SAME_VALUE_LIMIT = 20
ORDER = ("-corpus_count", "-exclude_count", "field", "kind", "value", "pk")  # most used first, stable
SORTED_ALWAYS = 500  # a value search's matches sorted whatever the number of listed indicators (sorted_by_size)
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
    order = EXCLUDED_ORDER if excluded else ORDER
    found = filterset.qs.order_by(*order)
    if valid and filterset.form.cleaned_data.get("value"):
        found.by_size = functools.partial(sorted_by_size, order)  # read by catalog.platform.paging
    if valid and not any(value not in (None, "", [], ()) for value in filterset.form.cleaned_data.values()):
        # Every listed indicator: their number is a summary total, so paginators need not count them
        # (a scan of every indicator: 250,000 at 20x SigmaHQ). Read by catalog.platform.paging.
        found.known_count = stored_counts.counts_of("total").get("indicators", 0)
    return found


def sorted_by_size(order: tuple, queryset, top: int, count: int):
    """A value search's order, asked for as suits its size. The database can walk the order's index and keep the
    matching indicators until the page's end (`top`), reading about top x listed / count of them; or find the
    matches through the value's trigram index and sort them, reading `count`. Each way costs 2-3 us a row on
    PostgreSQL at 20x SigmaHQ, so the walk is kept while count x count > top x listed. PostgreSQL's planner guesses
    a value's matches at about 2,300 whatever the value, and walked for `whoami` (65 matches): 37,000 indicators
    read, 28-83 ms, against 1.7 ms found by trigrams and sorted. The sort is asked for by an order key no index
    holds (the count + 0). Up to SORTED_ALWAYS matches are sorted without asking how many indicators are listed
    (one query less: sorting them costs about a millisecond, less than walking would at any size)."""
    if count > SORTED_ALWAYS and count * count > top * stored_counts.counts_of("total").get("indicators", 0):
        return queryset
    first, *rest = order
    unindexed = ExpressionWrapper(F(first.lstrip("-")) + 0, output_field=IntegerField())
    return queryset.order_by(unindexed.desc() if first.startswith("-") else unindexed.asc(), *rest)


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
