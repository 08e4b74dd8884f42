"""The indicator search's parameters (/indicators/ and /api/indicators/), apart from the rule filters
(catalog.browse.queries.filtersets) because a rule filter runs an indicator search
(catalog.browse.queries.indicators) itself.
"""

import django_filters

from catalog.browse.queries.kept_forms import KeptFormFilterSet
from catalog.models import Indicator, Polarity
from catalog.search import substring

INDICATOR_KINDS = [
    "eq",
    "starts_with",
    "ends_with",
    "match",
    "keyword",
    "regex",
    "cidr",
    "exists",
    "null",
    "neq",
    "fieldref",
    "lt",
    "lte",
    "gt",
    "gte",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
]

INDICATOR_POLARITIES = [
    (Polarity.LOOKS_FOR.value, "looked for"),
    (Polarity.EXCLUDES.value, "excluded"),
    (Polarity.BOTH.value, "both looked for and excluded"),
]


class IndicatorFilterSet(KeptFormFilterSet):
    """Filters of /indicators/ and /api/indicators/: field, kind and a case-insensitive value substring."""

    field = django_filters.CharFilter(field_name="field")
    kind = django_filters.ChoiceFilter(choices=[(k, k) for k in INDICATOR_KINDS])
    value = django_filters.CharFilter(method="filter_value", label="Value contains")
    min_count = django_filters.NumberFilter(field_name="corpus_count", lookup_expr="gte", label="At least N rules")
    polarity = django_filters.ChoiceFilter(
        choices=INDICATOR_POLARITIES,
        method="filter_polarity",
        label="Polarity",
        help_text="looks_for: some live rule looks for it; excludes: some live rule excludes it; both: both happen",
    )

    class Meta:
        model = Indicator
        fields = []

    def filter_polarity(self, queryset, name, value):
        if value == Polarity.LOOKS_FOR:
            return queryset.filter(corpus_count__gt=0)
        if value == Polarity.EXCLUDES:
            return queryset.filter(exclude_count__gt=0)
        return queryset.filter(corpus_count__gt=0, exclude_count__gt=0)

    def filter_value(self, queryset, name, value):
        # Indicator values are stored casefolded unless cased/regex: match both forms.
        return queryset.filter(substring.value_contains(value))
